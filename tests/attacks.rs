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

/// CVE-2019-5736 through the init: the container's process is
/// `#!/proc/self/exe`, so its init execs the runtime binary as pid 1, while
/// a process exec'd into the created container waits to open /proc/1/exe and
/// write to it. The binary (a copy) must stay unchanged.
#[test]
fn cve_2019_5736_init_cannot_overwrite_runtime_binary() {
    let rt = Runtime::with_binary_copy();
    for _ in 0..5 {
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
    for (name, result) in names.iter().zip(results.as_array().unwrap()) {
        assert_eq!(
            result["ok"], false,
            "{name} of the waiting init worked: {result}"
        );
    }
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
        assert_eq!(result["ok"], false, "open {path} worked: {result}");
    }
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
    for fd in 3..=10 {
        let cwd = format!("/proc/self/fd/{fd}");
        bundle.cwd(&cwd).probe(&["cwd"]);
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
    for fd in 3..=10 {
        let cwd = format!("/proc/self/fd/{fd}");
        let out = exec(&rt, &id, &["--cwd", &cwd], &["/bin/probe", "cwd"]);
        if out.success() {
            assert_cwd_inside(&out.json(), &format!("exec --cwd {cwd}"));
        } else {
            out.assert_failed(&format!("exec --cwd {cwd}"));
        }
    }
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}
