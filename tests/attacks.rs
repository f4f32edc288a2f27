//! Known container-runtime escapes, one test each: a malicious bundle or
//! container process attacks the runtime, and the test asserts that the
//! attack failed and that the host is unchanged (see tests/README.md).

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The interpreter line of CVE-2019-5736: whoever execs this script runs
/// its own /proc/self/exe, which for a runtime process is the runtime binary.
const SELF_EXE_SCRIPT: &[u8] = b"#!/proc/self/exe\n";

/// `exec FLAGS ID COMMAND`.
fn exec(rt: &Runtime, id: &str, flags: &[&str], command: &[&str]) -> Output {
    let mut args = vec!["exec"];
    args.extend_from_slice(flags);
    args.push(id);
    args.extend_from_slice(command);
    rt.cmd(&args)
}

/// Poll (bounded) until `path` exists.
#[track_caller]
fn wait_for_file(path: &Path) {
    let deadline = Instant::now() + STATUS_TIMEOUT;
    while !path.exists() {
        assert!(Instant::now() < deadline, "{path:?} never appeared");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A bundle whose rootfs holds /bin/evil (`#!/proc/self/exe`) and a
/// read-write bind of a host dir at /shared; returns the host dir.
fn evil_bundle(rt: &Runtime) -> (Bundle, PathBuf) {
    let mut bundle = rt.bundle();
    write_rootfs_file(&bundle.rootfs(), "/bin/evil", SELF_EXE_SCRIPT, 0o755);
    let shared = rt.host_dir("shared");
    bundle.add_mount(
        json!({"destination": "/shared", "type": "bind", "source": shared, "options": ["bind"]}),
    );
    (bundle, shared)
}

/// CVE-2019-5736 through `exec`: the container's init hunts /proc for a
/// process whose exe is not its own and opens it for writing, while the
/// test runs `exec /bin/evil` (a `#!/proc/self/exe` script) so the exec'd
/// process runs the runtime binary inside the container. The binary (a copy)
/// must stay unchanged.
#[test]
fn cve_2019_5736_exec_cannot_overwrite_runtime_binary() {
    let rt = Runtime::with_binary_copy();
    let (mut bundle, shared) = evil_bundle(&rt);
    bundle.probe(&["exe-hunt", "/shared"]);
    // Detached: no runtime process may keep running the binary, or the
    // kernel's ETXTBSY would hide a successful attack.
    let id = rt.new_id();
    rt.create_running(&id, &bundle);
    wait_for_file(&shared.join("ready"));
    let mut exec_codes = Vec::new();
    for _ in 0..20 {
        exec_codes.push(exec(&rt, &id, &[], &["/bin/evil"]).code);
        exec_codes.push(exec(&rt, &id, &[], &["/bin/true"]).code);
        if !rt.binary_still_elf() {
            rt.assert_binary_unchanged();
        }
    }
    std::fs::write(shared.join("stop"), "1").unwrap();
    wait_for_file(&shared.join("report"));
    rt.wait_status(&id, "stopped");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(shared.join("report")).unwrap()).unwrap();
    assert_eq!(
        report["written"],
        json!([]),
        "the container opened a runtime binary for writing: {report}"
    );
    rt.assert_binary_unchanged();
    rt.delete(&id).assert_ok("delete");
    eprintln!("exec exit codes: {exec_codes:?}; hunter: {report}");
}

/// CVE-2019-5736 through the init: a container's process is
/// `#!/proc/self/exe`, so its init execs the runtime binary. Twice:
/// - alone, with a process exec'd into the created container waiting to
///   open /proc/1/exe (it dies with the pid namespace, but races it);
/// - in a pod, joining the pid namespace of a container whose init hunts,
///   stops the runtime binary's process and writes once it is gone.
///
/// The binary (a copy) must stay unchanged.
#[test]
fn cve_2019_5736_init_cannot_overwrite_runtime_binary() {
    let rt = Runtime::with_binary_copy();
    for _ in 0..3 {
        let (mut bundle, shared) = evil_bundle(&rt);
        bundle.args(&["/bin/evil"]);
        let id = rt.new_id();
        rt.create(&id, &bundle).assert_ok("create");
        exec(
            &rt,
            &id,
            &["--detach"],
            &["/bin/probe", "exe-hunt", "/shared"],
        )
        .assert_ok("exec the hunter");
        wait_for_file(&shared.join("ready"));
        rt.start(&id).assert_ok("start");
        rt.wait_status(&id, "stopped");
        if !rt.binary_still_elf() {
            rt.assert_binary_unchanged();
        }
        rt.delete(&id).assert_ok("delete");
    }

    let (mut pod, shared) = evil_bundle(&rt);
    pod.probe(&["exe-hunt", "/shared"]);
    let pod_id = rt.new_id();
    let pod_pid = rt.create_running(&pod_id, &pod)["pid"].as_i64().unwrap();
    wait_for_file(&shared.join("ready"));
    let (mut member, _) = evil_bundle(&rt);
    member
        .args(&["/bin/evil"])
        .namespace(json!({"type": "pid", "path": format!("/proc/{pod_pid}/ns/pid")}));
    for _ in 0..10 {
        let id = rt.new_id();
        rt.create(&id, &member).assert_ok("create a pod member");
        rt.start(&id).assert_ok("start the pod member");
        rt.wait_status(&id, "stopped");
        rt.delete(&id).assert_ok("delete");
        if !rt.binary_still_elf() {
            rt.assert_binary_unchanged();
        }
    }
    std::fs::write(shared.join("stop"), "1").unwrap();
    wait_for_file(&shared.join("report"));
    rt.wait_status(&pod_id, "stopped");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(shared.join("report")).unwrap()).unwrap();
    eprintln!("hunter in the pod: {report}");
    assert_eq!(
        report["written"],
        json!([]),
        "the pod opened a runtime binary for writing: {report}"
    );
    rt.assert_binary_unchanged();
}

/// CVE-2019-5736 and CVE-2016-9962: while the init waits for `start` it is
/// the runtime binary, so a process exec'd into the created container must
/// not open its exe (for writing or at all), ptrace it, or read its memory
/// or environment. After `start` pid 1 is the container's own program and
/// the same operations work: the denial came from the init being
/// non-dumpable, nothing else.
#[test]
fn cve_2019_5736_2016_9962_waiting_init_is_out_of_reach() {
    let rt = Runtime::with_binary_copy();
    let mut bundle = rt.bundle();
    bundle.probe(&["sleep-forever"]);
    let id = rt.new_id();
    rt.create_ok(&id, &bundle);
    let ops = [
        "open",
        "/proc/1/exe",
        "w",
        "--",
        "open",
        "/proc/1/exe",
        "rw",
        "--",
        "open",
        "/proc/1/exe",
        "path",
        "--",
        "read",
        "/proc/1/exe",
        "--",
        "ptrace",
        "1",
        "--",
        "read",
        "/proc/1/mem",
        "--",
        "read",
        "/proc/1/environ",
        "--",
        "read",
        "/proc/1/cwd/..",
        "--",
        "ls",
        "/proc/1/root/",
    ];
    let mut cmd = vec!["/bin/probe"];
    cmd.extend_from_slice(&ops);
    let out = exec(&rt, &id, &[], &cmd);
    out.assert_ok("exec the probe into the created container");
    let results = out.json();
    let names = [
        "open exe O_WRONLY",
        "open exe O_RDWR",
        "open exe O_PATH",
        "read exe",
        "ptrace attach",
        "read mem",
        "read environ",
        "read cwd",
        "ls root",
    ];
    let mut worked: Vec<String> = names
        .iter()
        .zip(results.as_array().unwrap())
        .filter(|(_, result)| result["ok"] != false)
        .map(|(name, result)| format!("{name}: {result}"))
        .collect();
    // Its fd numbers can be listed (the dir belongs to root), never opened.
    let out = exec(&rt, &id, &[], &["/bin/probe", "ls", "/proc/1/fd"]);
    let fds = out.json()["entries"].clone();
    assert!(
        fds.as_array().is_some_and(|a| !a.is_empty()),
        "no fds listed: {out:?}"
    );
    for fd in fds.as_array().unwrap() {
        let path = format!("/proc/1/fd/{}", fd.as_str().unwrap());
        let result = exec(&rt, &id, &[], &["/bin/probe", "open", &path, "path"]).json();
        if result["ok"] != false {
            worked.push(format!("open {path} O_PATH: {result}"));
        }
    }
    if !is_hull() {
        // runc's waiting init is a sealed copy of runc that the container
        // may open O_PATH: only writing, ptrace, mem and environ count.
        worked.retain(|w| {
            ["O_WRONLY", "O_RDWR", "ptrace", "mem", "environ"]
                .iter()
                .any(|k| w.contains(k))
        });
    }
    assert!(
        worked.is_empty(),
        "the waiting init is reachable from the container: {worked:#?}"
    );
    rt.start(&id).assert_ok("start");
    rt.wait_status(&id, "running");
    let out = exec(
        &rt,
        &id,
        &[],
        &[
            "/bin/probe",
            "open",
            "/proc/1/exe",
            "path",
            "--",
            "read",
            "/proc/1/environ",
        ],
    );
    out.assert_ok("exec the probe into the started container");
    for result in out.json().as_array().unwrap() {
        assert_eq!(
            result["ok"], true,
            "the container's own pid 1 should be reachable: {result}"
        );
    }
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
    rt.assert_binary_unchanged();
}

/// fd numbers of a probe report.
fn fd_numbers(report: &Value) -> Vec<i64> {
    report["fds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fd"].as_i64().unwrap())
        .collect()
}

/// CVE-2024-21626: no fd of the runtime or the host reaches the container
/// but stdio and exactly `--preserve-fds N` (container.rs checks plain
/// stdio); neither for the init nor for `exec`.
#[test]
fn cve_2024_21626_only_stdio_and_preserved_fds_reach_the_container() {
    use std::os::fd::AsRawFd;
    let rt = Runtime::new();
    let host = rt.host_dir("fds");
    std::fs::write(host.join("secret"), "host secret").unwrap();
    let dir_fd = std::fs::File::open(&host).unwrap();
    let file_fd = std::fs::File::open(host.join("secret")).unwrap();
    let extra_fd = std::fs::File::open("/").unwrap();
    let fds = [
        dir_fd.as_raw_fd(),
        file_fd.as_raw_fd(),
        extra_fd.as_raw_fd(),
    ];
    let mut bundle = rt.bundle();
    bundle.probe(&[]);
    let id = rt.new_id();
    rt.track(&id);
    let dir = bundle.dir.to_str().unwrap().to_string();
    let out = rt
        .spawn_with_fds(&["run", "--preserve-fds", "2", "--bundle", &dir, &id], &fds)
        .wait(COMMAND_TIMEOUT);
    out.assert_ok("run --preserve-fds 2");
    let report = out.json();
    assert_eq!(
        fd_numbers(&report),
        vec![0, 1, 2, 3, 4],
        "{}",
        report["fds"]
    );
    assert_eq!(report["fds"][1 + 2]["target"], host.to_str().unwrap());

    bundle.probe(&["sleep-forever"]);
    let id = rt.new_id();
    rt.create_running(&id, &bundle);
    let out = rt
        .spawn_with_fds(&["exec", "--preserve-fds", "1", &id, "/bin/probe"], &fds)
        .wait(COMMAND_TIMEOUT);
    out.assert_ok("exec --preserve-fds 1");
    let report = out.json();
    assert_eq!(fd_numbers(&report), vec![0, 1, 2, 3], "{}", report["fds"]);
    let out = rt
        .spawn_with_fds(&["exec", &id, "/bin/probe"], &fds)
        .wait(COMMAND_TIMEOUT);
    out.assert_ok("exec without --preserve-fds");
    let report = out.json();
    assert_eq!(fd_numbers(&report), vec![0, 1, 2], "{}", report["fds"]);
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}

/// A cwd result of the probe is inside the container's root.
#[track_caller]
fn assert_cwd_inside(result: &Value, what: &str) {
    let cwd = result["cwd"].as_str().unwrap_or("");
    assert!(
        result["ok"] == true && cwd.starts_with('/') && result["same_inode"] == true,
        "{what}: the cwd is outside the container's root: {result}"
    );
}

/// CVE-2024-21626: `process.cwd` (and `exec --cwd`) through /proc/self/fd/N
/// would leave the process in a directory of the runtime's fds, outside
/// the rootfs. Create must fail, or the cwd must be inside the root.
#[test]
fn cve_2024_21626_cwd_through_proc_self_fd_stays_inside() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    // The same through a symlink in the rootfs: /fdN -> /proc/self/fd/N.
    for fd in 3..=10 {
        std::os::unix::fs::symlink(
            format!("/proc/self/fd/{fd}"),
            bundle.rootfs().join(format!("fd{fd}")),
        )
        .unwrap();
    }
    let cwds: Vec<String> = (3..=10)
        .flat_map(|fd| [format!("/proc/self/fd/{fd}"), format!("/fd{fd}")])
        .collect();
    for cwd in &cwds {
        bundle.cwd(cwd).probe(&["cwd"]);
        let id = rt.new_id();
        let out = rt.run(&id, &bundle);
        if out.success() {
            assert_cwd_inside(&out.json(), &format!("process.cwd {cwd}"));
        } else {
            out.assert_failed(&format!("run with process.cwd {cwd}"));
        }
        rt.assert_nothing_left();
    }
    bundle.cwd("/").probe(&["sleep-forever"]);
    let id = rt.new_id();
    rt.create_running(&id, &bundle);
    for cwd in &cwds {
        let out = exec(&rt, &id, &["--cwd", cwd], &["/bin/probe", "cwd"]);
        if out.success() {
            assert_cwd_inside(&out.json(), &format!("exec --cwd {cwd}"));
        } else {
            out.assert_failed(&format!("exec --cwd {cwd}"));
        }
    }
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}

/// Mount lines of a probe report (for messages).
fn mounts_of(report: &Value) -> String {
    report["mountinfo"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| format!("{} {}", m["mount_point"], m["fs_type"]))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// Host mount lines at "/", "/etc" and "/proc": their number must not change.
fn host_root_mounts() -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    text.lines()
        .filter(|l| {
            matches!(
                l.split(' ').nth(4),
                Some("/") | Some("/etc") | Some("/proc")
            )
        })
        .map(String::from)
        .collect()
}

/// CVE-2019-19921 class: a rootfs whose /proc is a symlink to "/" must not
/// get procfs mounted over the root (of the rootfs, or of the host).
#[test]
fn cve_2019_19921_proc_symlink_to_root_stays_inside() {
    let rt = Runtime::new();
    let host_before = host_root_mounts();
    let mut bundle = rt.bundle();
    let rootfs = bundle.rootfs();
    std::fs::remove_dir(rootfs.join("proc")).unwrap();
    std::os::unix::fs::symlink("/", rootfs.join("proc")).unwrap();
    bundle.probe(&["report", "--", "ls", "/"]);
    let out = rt.run(&rt.new_id(), &bundle);
    if out.success() {
        let results = out.json();
        let root = find_mount(&results[0], "/").expect("no / mount");
        assert_ne!(root["fs_type"], "proc", "procfs is the container's /");
        assert!(
            results[1]["entries"]
                .as_array()
                .unwrap()
                .contains(&json!("bin")),
            "/ is not the rootfs: {}",
            results[1]
        );
    } else {
        out.assert_failed("run with /proc -> /");
    }
    rt.assert_nothing_left();
    assert_eq!(host_root_mounts(), host_before, "the host's mounts changed");
    assert!(
        std::fs::read_link(rootfs.join("proc")).is_ok(),
        "the rootfs's /proc symlink was replaced"
    );
}

/// CVE-2021-30465 class (mounts.rs has a symlink to a host temp dir): a
/// mount destination that is a symlink to the absolute host path /etc, and
/// one reached through a `..` chain, land inside the rootfs.
#[test]
fn cve_2021_30465_symlinked_and_dotdot_destinations_stay_inside() {
    let rt = Runtime::new();
    let host_before = host_root_mounts();
    let host_hostname = snapshot(Path::new("/etc/hostname"));
    let source = rt.host_dir("volume");
    std::fs::write(source.join("marker"), "volume").unwrap();
    // Should the `..` chain be joined as a string, its mount point would be
    // created at this host path.
    let escape_name = unique_name("dotdot");
    let mut bundle = rt.bundle();
    std::os::unix::fs::symlink("/etc", bundle.rootfs().join("evil")).unwrap();
    bundle
        .add_mount(json!({"destination": "/evil", "type": "bind", "source": source, "options": ["bind", "ro"]}))
        .add_mount(json!({
            "destination": format!("/a/{}tmp/{escape_name}", "../".repeat(12)),
            "type": "tmpfs", "source": "tmpfs", "options": ["size=64k"]
        }));
    bundle.probe(&[
        "report",
        "--",
        "read",
        "/etc/marker",
        "--",
        "ls",
        &format!("/tmp/{escape_name}"),
    ]);
    let out = rt.run(&rt.new_id(), &bundle);
    if out.success() {
        let results = out.json();
        assert_eq!(
            results[1]["content"],
            "volume",
            "the bind through /evil -> /etc is not at the rootfs's /etc: {}",
            mounts_of(&results[0])
        );
        let tmpfs = find_mount(&results[0], &format!("/tmp/{escape_name}"));
        assert!(
            tmpfs.is_some_and(|m| m["fs_type"] == "tmpfs"),
            "the `..` destination is not mounted inside: {}",
            mounts_of(&results[0])
        );
    } else {
        out.assert_failed("run with escaping mount destinations");
    }
    rt.assert_nothing_left();
    let host_escape = Path::new("/tmp").join(&escape_name);
    assert!(
        !host_escape.exists(),
        "the `..` chain created {host_escape:?} on the host"
    );
    assert_eq!(host_root_mounts(), host_before, "the host's mounts changed");
    assert_eq!(snapshot(Path::new("/etc/hostname")), host_hostname);
    assert_eq!(dir_entries(&source), vec!["marker".to_string()]);
}

/// Masked and read-only paths that are symlinks to an absolute host path are
/// resolved inside the rootfs: the rootfs's copy of that path is masked or
/// made read-only, the host's is untouched.
#[test]
fn masked_and_readonly_symlinks_stay_inside() {
    let rt = Runtime::new();
    let host = rt.host_dir("host-secret");
    std::fs::write(host.join("file"), "host").unwrap();
    let host_before = snapshot(&host);
    let host_file_before = snapshot(&host.join("file"));
    let mut bundle = rt.bundle();
    let rootfs = bundle.rootfs();
    // The same absolute path exists in the rootfs, so an inside resolution
    // has something to mask.
    let inside = rootfs.join(host.strip_prefix("/").unwrap());
    std::fs::create_dir_all(&inside).unwrap();
    std::fs::write(inside.join("file"), "rootfs copy").unwrap();
    std::os::unix::fs::symlink(host.join("file"), rootfs.join("etc/masked")).unwrap();
    std::os::unix::fs::symlink(&host, rootfs.join("etc/rodir")).unwrap();
    bundle
        .readonly_root(false)
        .set("/linux/maskedPaths", json!(["/etc/masked"]))
        .set("/linux/readonlyPaths", json!(["/etc/rodir"]));
    let results = rt.probe(
        &mut bundle,
        &[
            "read",
            "/etc/masked",
            "--",
            "write",
            "/etc/masked",
            "pwned",
            "--",
            "write",
            "/etc/rodir/new",
        ],
    );
    assert!(
        results[0]["ok"] == false || results[0]["len"] == 0,
        "the masked path shows content: {}",
        results[0]
    );
    assert_eq!(
        results[2]["errno"], EROFS,
        "the read-only path is writable: {}",
        results[2]
    );
    assert_eq!(snapshot(&host), host_before, "the host dir changed");
    assert_eq!(snapshot(&host.join("file")), host_file_before);
    assert_eq!(
        std::fs::read_to_string(inside.join("file")).unwrap(),
        "rootfs copy"
    );
}

/// Device nodes follow the rootfs's /dev only inside it: /dev as a symlink
/// to an absolute host dir gets no device nodes there.
#[test]
fn device_nodes_through_symlinked_dev_stay_inside() {
    let rt = Runtime::new();
    let host = rt.host_dir("host-dev");
    for with_tmpfs in [true, false] {
        let mut bundle = rt.bundle();
        let rootfs = bundle.rootfs();
        std::fs::remove_dir(rootfs.join("dev")).unwrap();
        std::os::unix::fs::symlink(&host, rootfs.join("dev")).unwrap();
        bundle.set(
            "/linux/devices",
            json!([{"path": "/dev/sub/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666}]),
        );
        if !with_tmpfs {
            // No tmpfs: the nodes are made in the rootfs's own /dev.
            bundle.edit(|c| {
                c["mounts"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|m| m["destination"] != "/dev")
            });
        }
        bundle.probe(&["stat", "/dev/null", "--", "stat", "/dev/sub/mynull"]);
        let out = rt.run(&rt.new_id(), &bundle);
        if out.success() {
            let results = out.json();
            for r in results.as_array().unwrap() {
                assert_eq!(
                    (r["type"].as_str(), r["major"].as_u64(), r["minor"].as_u64()),
                    (Some("char"), Some(1), Some(3)),
                    "tmpfs {with_tmpfs}: {r}"
                );
            }
        } else {
            out.assert_failed("run with /dev -> host dir");
        }
        rt.assert_nothing_left();
        assert_eq!(
            dir_entries(&host),
            Vec::<String>::new(),
            "tmpfs {with_tmpfs}: device nodes were made in the host dir"
        );
        assert!(host_mounts_under(&host).is_empty());
    }
}

/// renameat2(RENAME_EXCHANGE): swap two paths atomically.
fn exchange(a: &Path, b: &Path) -> bool {
    let ca = std::ffi::CString::new(a.to_str().unwrap()).unwrap();
    let cb = std::ffi::CString::new(b.to_str().unwrap()).unwrap();
    // SAFETY: valid C strings; renameat2 has no other preconditions.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    rc == 0
}

/// CVE-2021-30465 / CVE-2024-45310: while containers are created, a thread
/// keeps swapping a directory of the rootfs with a symlink to a host dir.
/// Whichever the runtime sees, the host dir never gets a mount or a file.
#[test]
fn cve_2021_30465_symlink_swap_race_stays_inside() {
    const ROUNDS: usize = 200;
    let rt = Runtime::new();
    let host = rt.host_dir("race-target");
    let mut bundle = rt.bundle();
    let rootfs = bundle.rootfs();
    std::fs::create_dir(rootfs.join("race")).unwrap();
    std::os::unix::fs::symlink(&host, rootfs.join("race-link")).unwrap();
    let volume = rt.host_dir("race-volume");
    std::fs::write(volume.join("marker"), "volume").unwrap();
    bundle
        .add_mount(json!({"destination": "/race/sub", "type": "tmpfs", "source": "tmpfs", "options": ["size=64k"]}))
        .add_mount(json!({"destination": "/race/vol", "type": "bind", "source": volume, "options": ["bind", "ro"]}))
        .probe(&["exit", "0"]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let stop = stop.clone();
        let (a, b) = (rootfs.join("race"), rootfs.join("race-link"));
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if exchange(&a, &b) {
                    swaps += 1;
                }
            }
            swaps
        })
    };
    let mut created = 0;
    for _ in 0..ROUNDS {
        let id = rt.new_id();
        if rt.create(&id, &bundle).success() {
            created += 1;
            rt.delete_force(&id).assert_ok("delete --force");
        }
        if !dir_entries(&host).is_empty() {
            break;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    eprintln!("{created} of {ROUNDS} creates succeeded during {swaps} swaps");
    assert!(swaps > 0, "the swapper never swapped");
    assert_eq!(
        dir_entries(&host),
        Vec::<String>::new(),
        "mount points were made in the host dir"
    );
    assert!(host_mounts_under(&host).is_empty());
    assert_eq!(dir_entries(&volume), vec!["marker".to_string()]);
    rt.assert_nothing_left();
}

/// A bundle whose /dev is a bind of a bundle dir (so no device is made):
/// returns the bundle and that dir, which holds the fake nodes.
fn bundle_with_bound_dev(rt: &Runtime) -> (Bundle, PathBuf) {
    let mut bundle = rt.bundle();
    let dev = bundle.dir.join("dev");
    std::fs::create_dir(&dev).unwrap();
    bundle.edit(|c| {
        let mounts = c["mounts"].as_array_mut().unwrap();
        for m in mounts.iter_mut() {
            if m["destination"] == "/dev" {
                *m = json!({"destination": "/dev", "type": "bind", "source": dev, "options": ["rbind"]});
            }
        }
        mounts.retain(|m| m["destination"] != "/dev/pts" && m["destination"] != "/dev/shm"
            && m["destination"] != "/dev/mqueue");
    });
    (bundle, dev)
}

/// Makes a fake /dev/null at the path it is given.
type MakeFake<'a> = dyn Fn(&Path) + 'a;

/// CVE-2025-31133: the masked paths are covered with the container's
/// /dev/null. When /dev comes from the bundle, /dev/null may be a regular
/// file, a symlink (to a host file, or to a procfs file the container could
/// then write through a masked path) or another device (1:5, /dev/zero).
/// The runtime must refuse, or mask with a verified 1:3: a masked file
/// reads empty, and the fake's target is never written.
#[test]
fn cve_2025_31133_fake_dev_null_never_masks() {
    let rt = Runtime::new();
    let host = rt.host_dir("null-target");
    std::fs::write(host.join("file"), "host file").unwrap();
    let host_before = snapshot(&host.join("file"));
    let fakes: [(&str, &MakeFake); 4] = [
        ("a regular file", &|p: &Path| {
            std::fs::write(p, "fake null").unwrap()
        }),
        ("a symlink to a host file", &|p: &Path| {
            std::os::unix::fs::symlink(host.join("file"), p).unwrap()
        }),
        // The uts namespace's hostname: harmless to write, and visible.
        ("a symlink into procfs", &|p: &Path| {
            std::os::unix::fs::symlink("/proc/sys/kernel/hostname", p).unwrap()
        }),
        ("char device 1:5", &|p: &Path| mknod_char(p, 1, 5)),
    ];
    for (what, make) in fakes {
        let (mut bundle, dev) = bundle_with_bound_dev(&rt);
        make(&dev.join("null"));
        bundle.hostname("masked-leak").probe(&[
            "read",
            "/proc/timer_list",
            "--",
            "write",
            "/proc/timer_list",
            "pwned",
            "--",
            "stat",
            "/proc/timer_list",
        ]);
        let out = rt.run(&rt.new_id(), &bundle);
        if out.success() {
            let results = out.json();
            assert!(
                results[0]["ok"] == false || results[0]["len"] == 0,
                "/dev/null as {what}: the masked /proc/timer_list shows {}",
                results[0]
            );
            assert_eq!(
                (
                    results[2]["type"].as_str(),
                    results[2]["major"].as_u64(),
                    results[2]["minor"].as_u64()
                ),
                (Some("char"), Some(1), Some(3)),
                "/dev/null as {what}: /proc/timer_list is masked with {}",
                results[2]
            );
        } else {
            out.assert_failed(&format!("run with /dev/null as {what}"));
            if is_hull() {
                out.assert_stderr_contains("/dev/null");
            }
        }
        rt.assert_nothing_left();
        assert_eq!(
            snapshot(&host.join("file")),
            host_before,
            "/dev/null as {what}"
        );
        let fake = dev.join("null");
        if std::fs::symlink_metadata(&fake).unwrap().is_file() {
            let content = std::fs::read_to_string(&fake).unwrap();
            assert_eq!(content, "fake null", "/dev/null as {what}: written");
        }
    }
}

/// CVE-2025-52881 class: sysctls and oom_score_adj are written to the
/// kernel, never to whatever the container's /proc shows: here a bind of a
/// host dir over /proc (with fake sys/ and self/ files), and a rootfs
/// without a proc mount whose /proc/sys is a symlink to a host dir.
#[test]
fn cve_2025_52881_procfs_writes_ignore_a_fake_proc() {
    let rt = Runtime::new();
    let fake = rt.host_dir("fake-proc");
    let fake_sysctl = fake.join("sys/net/ipv4/ip_forward");
    std::fs::create_dir_all(fake_sysctl.parent().unwrap()).unwrap();
    std::fs::write(&fake_sysctl, "fake\n").unwrap();
    std::fs::create_dir_all(fake.join("self")).unwrap();
    std::fs::write(fake.join("self/oom_score_adj"), "fake\n").unwrap();
    let sysctl_before = snapshot(&fake_sysctl);
    let oom_before = snapshot(&fake.join("self/oom_score_adj"));
    let host_ip_forward = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();

    for variant in ["bind over /proc", "/proc/sys symlink"] {
        let mut bundle = rt.bundle();
        if variant == "bind over /proc" {
            bundle.add_mount(json!({"destination": "/proc", "type": "bind", "source": fake, "options": ["rbind"]}));
        } else {
            bundle.edit(|c| {
                c["mounts"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|m| m["destination"] != "/proc")
            });
            std::os::unix::fs::symlink(fake.join("sys"), bundle.rootfs().join("proc/sys")).unwrap();
        }
        bundle
            .set("/linux/sysctl", json!({"net.ipv4.ip_forward": "1"}))
            .set("/process/oomScoreAdj", json!(123))
            .probe(&["sleep-forever"]);
        let id = rt.new_id();
        let out = rt.create(&id, &bundle);
        if out.success() {
            let pid = rt.state(&id)["pid"].as_i64().unwrap();
            // The kernel got the values: read them from the host's side.
            assert_eq!(
                std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj"))
                    .unwrap()
                    .trim(),
                "123",
                "{variant}: oomScoreAdj not applied"
            );
            let inside = std::process::Command::new("nsenter")
                .args([
                    "-t",
                    &pid.to_string(),
                    "-n",
                    "cat",
                    "/proc/sys/net/ipv4/ip_forward",
                ])
                .output()
                .expect("run nsenter");
            assert_eq!(
                String::from_utf8_lossy(&inside.stdout).trim(),
                "1",
                "{variant}: the sysctl did not reach the container's network namespace"
            );
            rt.delete_force(&id).assert_ok("delete --force");
        } else {
            out.assert_failed(&format!("create with {variant}"));
        }
        rt.assert_nothing_left();
        assert_eq!(
            snapshot(&fake_sysctl),
            sysctl_before,
            "{variant}: sysctl went to a file"
        );
        assert_eq!(
            snapshot(&fake.join("self/oom_score_adj")),
            oom_before,
            "{variant}: oom_score_adj went to a file"
        );
        assert_eq!(
            std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
            host_ip_forward
        );
    }
}

/// The probe's capability sets as numbers.
fn cap_sets(report: &Value) -> Vec<(String, u64)> {
    ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]
        .iter()
        .map(|k| {
            let hex = report["capabilities"][*k].as_str().unwrap_or("");
            (
                k.to_string(),
                u64::from_str_radix(hex, 16).unwrap_or(u64::MAX),
            )
        })
        .collect()
}

#[track_caller]
fn assert_caps(report: &Value, want: &[(&str, u64)], what: &str) {
    let sets = cap_sets(report);
    for (key, value) in want {
        let got = sets.iter().find(|(k, _)| k == key).unwrap().1;
        assert_eq!(
            got, *value,
            "{what}: {key} {got:#x}: {}",
            report["capabilities"]
        );
    }
}

/// Two probe reports printed by one shell (own, then the setuid copy's).
fn two_reports(out: &Output) -> (Value, Value) {
    let mut lines = out.stdout.lines().filter(|l| l.starts_with('{'));
    let parse = |l: Option<&str>| -> Value {
        serde_json::from_str(l.unwrap_or_else(|| panic!("missing report: {out:?}"))).unwrap()
    };
    (parse(lines.next()), parse(lines.next()))
}

/// A process whose `process.user` is not root cannot regain capabilities:
/// with empty sets it has none; a setuid-root binary does not raise its
/// euid under noNewPrivileges, and without it gets only what the bounding
/// set allows (the control that proves the setuid bit works here); `exec
/// --user 1000` gets none either.
#[test]
fn non_root_process_cannot_regain_capabilities() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    let suid = bundle.rootfs().join("bin/suid-probe");
    std::fs::copy(probe_path(), &suid).unwrap();
    std::os::unix::fs::chown(&suid, Some(0), Some(0)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let empty =
        json!({"bounding": [], "effective": [], "permitted": [], "inheritable": [], "ambient": []});
    bundle
        .set("/process/user", json!({"uid": 1000, "gid": 1000}))
        .set("/process/capabilities", empty.clone())
        .set("/process/noNewPrivileges", json!(true))
        .shell("/bin/probe; /bin/suid-probe");
    let none = [
        ("CapInh", 0),
        ("CapPrm", 0),
        ("CapEff", 0),
        ("CapBnd", 0),
        ("CapAmb", 0),
    ];

    let out = rt.run(&rt.new_id(), &bundle);
    out.assert_ok("run as uid 1000 with noNewPrivileges");
    let (own, suid_report) = two_reports(&out);
    assert_eq!(
        (own["uid"].as_u64(), own["euid"].as_u64()),
        (Some(1000), Some(1000))
    );
    assert_caps(&own, &none, "uid 1000, empty sets");
    assert_eq!(
        suid_report["euid"], 1000,
        "setuid worked under noNewPrivileges"
    );
    assert_caps(
        &suid_report,
        &none,
        "setuid-root binary under noNewPrivileges",
    );

    // Without noNewPrivileges setuid works (euid 0), but only the bounding
    // set's capabilities come with it.
    bundle
        .set("/process/noNewPrivileges", json!(false))
        .set("/process/capabilities/bounding", json!(["CAP_KILL"]));
    let out = rt.run(&rt.new_id(), &bundle);
    out.assert_ok("run as uid 1000 without noNewPrivileges");
    let (own, suid_report) = two_reports(&out);
    assert_caps(
        &own,
        &[("CapPrm", 0), ("CapEff", 0), ("CapAmb", 0)],
        "uid 1000",
    );
    assert_eq!(
        suid_report["euid"], 0,
        "control: the setuid bit had no effect"
    );
    assert_caps(
        &suid_report,
        &[
            ("CapPrm", 1 << 5),
            ("CapEff", 1 << 5),
            ("CapBnd", 1 << 5),
            ("CapAmb", 0),
        ],
        "setuid-root binary with bounding {CAP_KILL}",
    );

    // exec --user 1000 into a container with empty sets.
    bundle
        .set("/process/user", json!({"uid": 0, "gid": 0}))
        .set("/process/capabilities", empty)
        .set("/process/noNewPrivileges", json!(true))
        .probe(&["sleep-forever"]);
    let id = rt.new_id();
    rt.create_running(&id, &bundle);
    let out = exec(
        &rt,
        &id,
        &["--user", "1000:1000"],
        &["/bin/sh", "-c", "/bin/probe; /bin/suid-probe"],
    );
    out.assert_ok("exec --user 1000");
    let (own, suid_report) = two_reports(&out);
    assert_eq!(own["uid"], 1000);
    assert_caps(&own, &none, "exec --user 1000");
    assert_eq!(
        suid_report["euid"], 1000,
        "setuid worked in exec under noNewPrivileges"
    );
    assert_caps(&suid_report, &none, "exec'd setuid-root binary");
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}

/// Read the pty master until the probe's JSON array is complete (bounded).
fn read_pty_json(master: &mut std::fs::File) -> Value {
    use std::io::Read;
    let deadline = Instant::now() + STATUS_TIMEOUT;
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(start) = seen.find('[') {
            if let Ok(v) = serde_json::from_str::<Value>(seen[start..].trim()) {
                return v;
            }
        }
        assert!(Instant::now() < deadline, "no JSON on the pty: {seen:?}");
        let mut fds = [nix::poll::PollFd::new(
            std::os::fd::AsFd::as_fd(master),
            nix::poll::PollFlags::POLLIN,
        )];
        if nix::poll::poll(&mut fds, 100u16).unwrap_or(0) == 0 {
            continue;
        }
        match master.read(&mut buf) {
            Ok(0) => panic!("the pty closed before the JSON: {seen:?}"),
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n]).replace("\r\n", "\n")),
            Err(e) if e.raw_os_error() == Some(libc::EIO) => {
                panic!("the pty closed before the JSON: {seen:?}")
            }
            Err(e) => panic!("read the pty: {e}"),
        }
    }
}

/// CVE-2025-52565: the pty is bind-mounted on /dev/console. When /dev comes
/// from the bundle, /dev/console may be a symlink, to a procfs file of the
/// container or to a host file: the pty must never be mounted over either
/// (a create that refuses is fine), and the host file stays unchanged.
#[test]
fn cve_2025_52565_console_symlink_is_not_followed() {
    use std::os::unix::net::UnixListener;
    let rt = Runtime::new();
    let host = rt.host_dir("console-target");
    std::fs::write(host.join("file"), "host file").unwrap();
    let host_before = snapshot(&host.join("file"));
    for target in [
        PathBuf::from("/proc/sys/kernel/hostname"),
        host.join("file"),
    ] {
        let (mut bundle, dev) = bundle_with_bound_dev(&rt);
        mknod_char(&dev.join("null"), 1, 3);
        std::os::unix::fs::symlink("pts/ptmx", dev.join("ptmx")).unwrap();
        std::fs::create_dir(dev.join("pts")).unwrap();
        std::os::unix::fs::symlink(&target, dev.join("console")).unwrap();
        bundle
            .add_mount(
                json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
                "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]}),
            )
            .set("/process/terminal", json!(true))
            // Only stat: reading a pty mounted over the file would block.
            .probe(&[
                "stat",
                "/proc/sys/kernel/hostname",
                "--",
                "stat",
                "/dev/console",
            ]);
        let socket = rt.host_dir("console").join("console.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let receiver = std::thread::spawn(move || receive_fd_within(&listener, COMMAND_TIMEOUT));
        let id = rt.new_id();
        let out = rt.create_with(
            &id,
            &bundle,
            &["--console-socket", socket.to_str().unwrap()],
        );
        let master = receiver.join().unwrap();
        if is_hull() && out.success() {
            panic!("/dev/console -> {target:?}: create should refuse the symlink");
        }
        if out.success() {
            let mut master = std::fs::File::from(master.expect("no pty master received"));
            rt.start(&id).assert_ok("start");
            let results = read_pty_json(&mut master);
            rt.wait_status(&id, "stopped");
            rt.delete(&id).assert_ok("delete");
            assert_eq!(
                results[0]["type"], "file",
                "/dev/console -> {target:?}: the pty covers /proc/sys/kernel/hostname: {results}"
            );
        } else {
            out.assert_failed(&format!("create with /dev/console -> {target:?}"));
            if is_hull() {
                out.assert_stderr_contains("/dev/console");
            }
        }
        rt.assert_nothing_left();
        assert_eq!(
            snapshot(&host.join("file")),
            host_before,
            "/dev/console -> {target:?}"
        );
    }
}
