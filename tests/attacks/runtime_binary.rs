//! CVE-2019-5736 and CVE-2016-9962: the runtime binary and the waiting init
//! as a container process can reach them.

use crate::common::*;
use crate::wait_for_file;
use serde_json::{json, Value};
use std::path::PathBuf;

/// The interpreter line of CVE-2019-5736: whoever execs this script runs
/// its own /proc/self/exe, which for a runtime process is the runtime binary.
const SELF_EXE_SCRIPT: &[u8] = b"#!/proc/self/exe\n";

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
        exec_codes.push(rt.exec(&id, &[], &["/bin/evil"]).code);
        exec_codes.push(rt.exec(&id, &[], &["/bin/true"]).code);
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
        rt.exec(&id, &["--detach"], &["/bin/probe", "exe-hunt", "/shared"])
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
    let out = rt.exec(&id, &[], &cmd);
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
    let out = rt.exec(&id, &[], &["/bin/probe", "ls", "/proc/1/fd"]);
    let fds = out.json()["entries"].clone();
    assert!(
        fds.as_array().is_some_and(|a| !a.is_empty()),
        "no fds listed: {out:?}"
    );
    for fd in fds.as_array().unwrap() {
        let path = format!("/proc/1/fd/{}", fd.as_str().unwrap());
        let result = rt
            .exec(&id, &[], &["/bin/probe", "open", &path, "path"])
            .json();
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
    let out = rt.exec(
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

/// The re-exec from a read-only bind happens at the binary's entry point
/// (before the C library's start-up, src/security/exe_guard_entry.c) for
/// `create`, `run` and `exec` of a writable binary, whatever global flags
/// come first; `state` is not re-executed at all.
#[test]
fn a_writable_binary_is_reexecuted_at_its_entry_point() {
    if !is_hull() {
        skip!("hull-only");
    }
    const AT_ENTRY: &str = "exe guard: re-executed at the entry point";
    let rt = Runtime::with_binary_copy();
    let mut bundle = rt.bundle();
    bundle.args(&["/bin/true"]);
    let id = rt.new_id();
    rt.track(&id);
    let dir = bundle.dir.to_str().unwrap();
    let log_format = ["--log-format", "text", "--debug"];
    let mut create = log_format.to_vec();
    create.extend_from_slice(&["create", "--bundle", dir, &id]);
    rt.cmd(&create)
        .assert_ok("create")
        .assert_stderr_contains(AT_ENTRY);
    let mut exec = log_format.to_vec();
    exec.extend_from_slice(&["exec", &id, "/bin/true"]);
    let out = rt.cmd(&exec);
    // The init still waits for `start`: exec into it is refused or runs,
    // as runc does; either way its guard ran first.
    out.assert_stderr_contains(AT_ENTRY);
    let mut state = log_format.to_vec();
    state.extend_from_slice(&["state", &id]);
    let out = rt.cmd(&state);
    out.assert_ok("state");
    assert!(!out.stderr.contains("exe guard"), "{out:?}");
    rt.delete_force(&id).assert_ok("delete");
}
