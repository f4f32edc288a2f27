//! Runs inside test containers (as /bin/probe) and prints what it sees as JSON,
//! so the integration tests assert facts instead of parsing shell output.
//!
//! `probe` alone prints a report object. Otherwise the arguments are operations
//! separated by `--` (`probe read /a -- stat /b`); one operation prints one
//! object, several print an array in order. Operations:
//!   report | read PATH | write PATH [DATA] | stat PATH | ls PATH
//!   exit N | sleep SECONDS | sleep-forever
//!   mkdir PATH | personality VALUE (hex or decimal; 0xffffffff only reads it)
//!   ioprio (the process's I/O priority: class and level)
//! Failures are reported as `{"ok":false,"errno":N,"error":"..."}`; the probe
//! never panics on a missing file. In `rlimits`, `null` means unlimited.
//! `sleep-forever` exits with 128+N on SIGTERM, SIGINT, SIGHUP, SIGUSR1 and
//! SIGUSR2: a pid 1 without handlers would ignore those signals.

use serde_json::{json, Map, Value};
use std::ffi::CStr;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        emit(&report());
        return;
    }
    let ops: Vec<&[String]> = args
        .split(|a| a == "--")
        .filter(|op| !op.is_empty())
        .collect();
    let mut results = Vec::new();
    for op in &ops {
        // Operations that do not return must print what came before them.
        if matches!(op[0].as_str(), "exit" | "sleep-forever") {
            flush_results(&ops, &mut results);
        }
        results.push(run_op(op));
    }
    flush_results(&ops, &mut results);
}

fn flush_results(ops: &[&[String]], results: &mut Vec<Value>) {
    if results.is_empty() {
        return;
    }
    if ops.len() == 1 {
        emit(&results[0]);
    } else {
        // Several operations always print one array; exit/sleep-forever show as
        // a partial array before the process ends, which is all a test needs.
        emit(&Value::Array(std::mem::take(results)));
    }
    results.clear();
}

fn emit(v: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

fn run_op(op: &[String]) -> Value {
    let arg = |i: usize| op.get(i).map(String::as_str).unwrap_or("");
    match op[0].as_str() {
        "report" => report(),
        "read" => read_path(arg(1)),
        "write" => write_path(arg(1), op.get(2).map(String::as_str).unwrap_or("probe")),
        "stat" => stat_path(arg(1)),
        "ls" => list_dir(arg(1)),
        "exit" => std::process::exit(arg(1).parse().unwrap_or(1)),
        "sleep" => {
            let secs: f64 = arg(1).parse().unwrap_or(1.0);
            std::thread::sleep(std::time::Duration::from_secs_f64(secs));
            json!({"ok": true})
        }
        "sleep-forever" => sleep_forever(),
        "mkdir" => match std::fs::create_dir(arg(1)) {
            Ok(()) => json!({"ok": true}),
            Err(e) => io_error(&e),
        },
        "personality" => personality(arg(1)),
        "ioprio" => {
            // SAFETY: ioprio_get(IOPRIO_WHO_PROCESS, self) takes integers only.
            let rc = unsafe { libc::syscall(libc::SYS_ioprio_get, 1, 0) };
            if rc < 0 {
                io_error(&std::io::Error::last_os_error())
            } else {
                json!({"ok": true, "class": rc >> 13, "level": rc & 0x1fff})
            }
        }
        other => json!({"ok": false, "errno": 0, "error": format!("unknown operation: {other}")}),
    }
}

fn personality(value: &str) -> Value {
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => value.parse(),
    };
    let Ok(persona) = parsed else {
        return json!({"ok": false, "errno": 0, "error": format!("bad value {value:?}")});
    };
    // SAFETY: personality takes an integer and changes nothing else.
    let rc = unsafe { libc::personality(persona as libc::c_ulong) };
    if rc < 0 {
        return io_error(&std::io::Error::last_os_error());
    }
    json!({"ok": true, "previous": rc})
}

fn io_error(e: &std::io::Error) -> Value {
    json!({"ok": false, "errno": e.raw_os_error().unwrap_or(0), "error": e.to_string()})
}

fn read_path(path: &str) -> Value {
    let mut buf = Vec::new();
    match std::fs::File::open(path).and_then(|f| f.take(1 << 16).read_to_end(&mut buf)) {
        Ok(n) => json!({"ok": true, "len": n, "content": String::from_utf8_lossy(&buf)}),
        Err(e) => io_error(&e),
    }
}

fn write_path(path: &str, data: &str) -> Value {
    let res = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .and_then(|mut f| f.write_all(data.as_bytes()));
    match res {
        Ok(()) => json!({"ok": true}),
        Err(e) => io_error(&e),
    }
}

fn stat_path(path: &str) -> Value {
    let md = match std::fs::symlink_metadata(path) {
        Ok(md) => md,
        Err(e) => return io_error(&e),
    };
    let ft = md.file_type();
    let kind = if ft.is_symlink() {
        "symlink"
    } else if ft.is_dir() {
        "dir"
    } else if ft.is_char_device() {
        "char"
    } else if ft.is_block_device() {
        "block"
    } else if ft.is_fifo() {
        "fifo"
    } else if ft.is_socket() {
        "socket"
    } else {
        "file"
    };
    let rdev = md.rdev();
    let target = std::fs::read_link(path)
        .ok()
        .map(|t| t.to_string_lossy().into_owned());
    json!({
        "ok": true, "type": kind, "mode": md.mode() & 0o7777, "uid": md.uid(), "gid": md.gid(),
        "size": md.size(), "major": libc::major(rdev), "minor": libc::minor(rdev), "target": target,
    })
}

fn list_dir(path: &str) -> Value {
    match std::fs::read_dir(path) {
        Ok(rd) => {
            let mut names: Vec<String> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            json!({"ok": true, "entries": names})
        }
        Err(e) => io_error(&e),
    }
}

extern "C" fn exit_on_signal(sig: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(128 + sig) }
}

fn sleep_forever() -> ! {
    for sig in [
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGHUP,
        libc::SIGUSR1,
        libc::SIGUSR2,
    ] {
        // SAFETY: the handler only calls _exit.
        unsafe {
            libc::signal(
                sig,
                exit_on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
            )
        };
    }
    loop {
        // SAFETY: pause has no preconditions.
        unsafe { libc::pause() };
    }
}

/// Open fds as (number, link target), listed before the report opens anything.
fn open_fds() -> Value {
    let mut fds = Vec::new();
    // SAFETY: the path is a valid C string; the DIR is closed below.
    let dir = unsafe { libc::opendir(c"/proc/self/fd".as_ptr()) };
    if dir.is_null() {
        return json!({"ok": false, "error": std::io::Error::last_os_error().to_string()});
    }
    // SAFETY: dir is a valid DIR pointer.
    let own = unsafe { libc::dirfd(dir) };
    loop {
        // SAFETY: dir is valid; the entry is read before the next readdir.
        let ent = unsafe { libc::readdir(dir) };
        if ent.is_null() {
            break;
        }
        // SAFETY: d_name is NUL-terminated.
        let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) }
            .to_string_lossy()
            .into_owned();
        let Ok(fd) = name.parse::<i32>() else {
            continue;
        };
        if fd == own {
            continue;
        }
        let target = std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .map(|t| t.to_string_lossy().into_owned())
            .unwrap_or_default();
        fds.push(json!({"fd": fd, "target": target}));
    }
    // SAFETY: dir came from opendir and is closed once.
    unsafe { libc::closedir(dir) };
    Value::Array(fds)
}

fn report() -> Value {
    let fds = open_fds();
    let mut r = Map::new();
    // SAFETY: these getters have no preconditions.
    let (pid, ppid, uid, euid, gid, egid) = unsafe {
        (
            libc::getpid(),
            libc::getppid(),
            libc::getuid(),
            libc::geteuid(),
            libc::getgid(),
            libc::getegid(),
        )
    };
    r.insert("pid".into(), json!(pid));
    r.insert("ppid".into(), json!(ppid));
    r.insert("uid".into(), json!(uid));
    r.insert("euid".into(), json!(euid));
    r.insert("gid".into(), json!(gid));
    r.insert("egid".into(), json!(egid));
    r.insert("groups".into(), json!(groups()));
    // SAFETY: utsname is plain data; uname fills the struct it is given.
    let uts = unsafe {
        let mut uts: libc::utsname = std::mem::zeroed();
        libc::uname(&mut uts);
        uts
    };
    // SAFETY: uname NUL-terminates its fields.
    let field = |f: &[libc::c_char]| {
        unsafe { CStr::from_ptr(f.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    };
    r.insert("hostname".into(), json!(field(&uts.nodename)));
    r.insert("domainname".into(), json!(field(&uts.domainname)));
    let mut ns = Map::new();
    for name in ["pid", "net", "ipc", "uts", "mnt", "cgroup", "user", "time"] {
        let link = std::fs::read_link(format!("/proc/self/ns/{name}")).ok();
        ns.insert(
            name.into(),
            json!(link.map(|l| l.to_string_lossy().into_owned())),
        );
    }
    r.insert("namespaces".into(), Value::Object(ns));
    r.insert("mountinfo".into(), mountinfo());
    r.insert("rlimits".into(), rlimits());
    r.insert(
        "cwd".into(),
        json!(std::env::current_dir()
            .ok()
            .map(|p| p.to_string_lossy().into_owned())),
    );
    let env: Map<String, Value> = std::env::vars_os()
        .map(|(k, v)| (k.to_string_lossy().into_owned(), json!(v.to_string_lossy())))
        .collect();
    r.insert("env".into(), Value::Object(env));
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let status_field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .map(|v| v.trim().to_string())
    };
    r.insert("umask".into(), json!(status_field("Umask")));
    let mut caps = Map::new();
    for key in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        caps.insert(key.into(), json!(status_field(key)));
    }
    r.insert("capabilities".into(), Value::Object(caps));
    let num = |key: &str| status_field(key).and_then(|v| v.parse::<i64>().ok());
    r.insert("no_new_privs".into(), json!(num("NoNewPrivs")));
    r.insert("seccomp".into(), json!(num("Seccomp")));
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    r.insert("cgroup".into(), json!(cgroup.lines().collect::<Vec<_>>()));
    let oom = std::fs::read_to_string("/proc/self/oom_score_adj").ok();
    r.insert(
        "oom_score_adj".into(),
        json!(oom.and_then(|s| s.trim().parse::<i64>().ok())),
    );
    r.insert("fds".into(), fds);
    Value::Object(r)
}

fn groups() -> Vec<u32> {
    // SAFETY: a zero-sized query returns the count; the buffer is then sized for it.
    let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    if n <= 0 {
        return Vec::new();
    }
    let mut buf = vec![0 as libc::gid_t; n as usize];
    // SAFETY: buf holds n entries.
    let n = unsafe { libc::getgroups(n, buf.as_mut_ptr()) };
    buf.truncate(n.max(0) as usize);
    buf
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mountinfo() -> Value {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let split = |s: &str| s.split(',').map(String::from).collect::<Vec<_>>();
    let mounts: Vec<Value> = text
        .lines()
        .filter_map(|line| {
            let (pre, post) = line.split_once(" - ")?;
            let pre: Vec<&str> = pre.split(' ').collect();
            let post: Vec<&str> = post.split(' ').collect();
            if pre.len() < 6 || post.len() < 3 {
                return None;
            }
            Some(json!({
                "id": pre[0].parse::<u64>().ok(), "parent": pre[1].parse::<u64>().ok(),
                "dev": pre[2], "root": unescape(pre[3]), "mount_point": unescape(pre[4]),
                "options": split(pre[5]), "fs_type": post[0], "source": unescape(post[1]),
                "super_options": split(post[2]),
            }))
        })
        .collect();
    Value::Array(mounts)
}

fn rlimits() -> Value {
    let names: [(&str, libc::__rlimit_resource_t); 16] = [
        ("RLIMIT_CPU", libc::RLIMIT_CPU),
        ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE),
        ("RLIMIT_DATA", libc::RLIMIT_DATA),
        ("RLIMIT_STACK", libc::RLIMIT_STACK),
        ("RLIMIT_CORE", libc::RLIMIT_CORE),
        ("RLIMIT_RSS", libc::RLIMIT_RSS),
        ("RLIMIT_NPROC", libc::RLIMIT_NPROC),
        ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE),
        ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK),
        ("RLIMIT_AS", libc::RLIMIT_AS),
        ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS),
        ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING),
        ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE),
        ("RLIMIT_NICE", libc::RLIMIT_NICE),
        ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO),
        ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME),
    ];
    let value = |v: libc::rlim_t| {
        if v == libc::RLIM_INFINITY {
            Value::Null
        } else {
            json!(v)
        }
    };
    let mut out = Map::new();
    for (name, res) in names {
        let mut rl = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: rl is a valid rlimit to fill.
        if unsafe { libc::getrlimit(res, &mut rl) } == 0 {
            out.insert(
                name.into(),
                json!({"soft": value(rl.rlim_cur), "hard": value(rl.rlim_max)}),
            );
        }
    }
    Value::Object(out)
}
