//! `exec`: a new process joins every namespace of a running container, gets
//! the process settings (from --process or the command line), and its exit
//! code is the runtime's.

mod common;

use common::*;
use serde_json::{json, Value};

/// A running container whose init sleeps; returns its id and init pid.
fn running(rt: &Runtime) -> (String, i32) {
    let mut bundle = rt.bundle();
    bundle.probe(&["sleep-forever"]);
    let id = rt.new_id();
    let state = rt.create_running(&id, &bundle);
    (id, state["pid"].as_i64().unwrap() as i32)
}

#[test]
fn exec_joins_every_namespace_of_the_container() {
    let rt = Runtime::new();
    let (id, init) = running(&rt);
    let out = rt.exec(&id, &[], &["/bin/probe"]);
    out.assert_ok("exec probe");
    let report = out.json();
    assert_ne!(report["pid"], 1, "the exec'd process is not the init");
    for (kind, probe_name) in [
        ("pid", "pid"),
        ("net", "net"),
        ("ipc", "ipc"),
        ("uts", "uts"),
        ("mnt", "mnt"),
        ("cgroup", "cgroup"),
    ] {
        assert_eq!(
            report["namespaces"][probe_name].as_str(),
            ns_inode(init, kind).as_deref(),
            "{kind} namespace differs from the init's"
        );
    }
    let fds: Vec<i64> = report["fds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fd"].as_i64().unwrap())
        .collect();
    assert_eq!(fds, vec![0, 1, 2], "leaked fds: {}", report["fds"]);
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}

#[test]
fn exit_code_is_the_processes() {
    let rt = Runtime::new();
    let (id, _) = running(&rt);
    let out = rt.exec(&id, &[], &["/bin/sh", "-c", "exit 5"]);
    assert_eq!(out.code, 5, "{out:?}");
    let out = rt.exec(&id, &[], &["/bin/sh", "-c", "kill -9 $$"]);
    assert_eq!(out.code, 137, "{out:?}");
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}

#[test]
fn command_line_overrides_user_env_and_cwd() {
    let rt = Runtime::new();
    let (id, _) = running(&rt);
    let out = rt.exec(
        &id,
        &[
            "--user",
            "1000:1001",
            "-g",
            "20",
            "-e",
            "FOO=bar",
            "--cwd",
            "/tmp",
        ],
        &["/bin/probe"],
    );
    out.assert_ok("exec with overrides");
    let r = out.json();
    assert_eq!(r["uid"], 1000);
    assert_eq!(r["gid"], 1001);
    assert_eq!(r["groups"], json!([20]), "{r}");
    assert_eq!(r["cwd"], "/tmp");
    assert_eq!(r["env"]["FOO"], "bar");
    // The rest of the environment is the container's.
    assert!(r["env"]["PATH"].is_string(), "{}", r["env"]);
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}

#[test]
fn process_file_is_used_as_given() {
    let rt = Runtime::new();
    let (id, _) = running(&rt);
    let dir = rt.host_dir("process");
    let file = dir.join("process.json");
    let process: Value = json!({
        "args": ["/bin/probe"],
        "env": ["PATH=/bin", "ONLY=this"],
        "cwd": "/etc",
        "user": {"uid": 7, "gid": 8},
        "noNewPrivileges": true
    });
    std::fs::write(&file, process.to_string()).unwrap();
    let out = rt.exec(&id, &["--process", file.to_str().unwrap()], &[]);
    out.assert_ok("exec --process");
    let r = out.json();
    assert_eq!(r["uid"], 7);
    assert_eq!(r["gid"], 8);
    assert_eq!(r["cwd"], "/etc");
    // HOME is added when missing (runc's rule): uid 7 has no passwd entry.
    assert_eq!(
        r["env"],
        json!({"PATH": "/bin", "ONLY": "this", "HOME": "/"})
    );
    assert_eq!(r["no_new_privs"], 1);
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}

#[test]
fn detached_exec_writes_its_pid() {
    let rt = Runtime::new();
    let (id, init) = running(&rt);
    let dir = rt.host_dir("pid");
    let pid_file = dir.join("exec.pid");
    rt.exec(
        &id,
        &["--detach", "--pid-file", pid_file.to_str().unwrap()],
        &["/bin/probe", "sleep-forever"],
    )
    .assert_ok("exec --detach");
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(process_alive(pid), "the detached process is not running");
    assert_eq!(ns_inode(pid, "pid"), ns_inode(init, "pid"));
    // Killing the container's init takes the exec'd process along.
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
    wait_process_gone(pid);
}

#[test]
fn exec_errors() {
    let rt = Runtime::new();
    let (id, _) = running(&rt);
    let out = rt.exec(&id, &[], &["nosuch-program"]);
    out.assert_failed("exec of a missing program");
    out.assert_stderr_contains("nosuch-program");
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
    let out = rt.exec(&id, &[], &["/bin/true"]);
    out.assert_failed("exec in a stopped container");
    if is_hull() {
        out.assert_stderr_contains("not running");
    }
    let out = rt.exec("no-such-container", &[], &["/bin/true"]);
    out.assert_failed("exec in an unknown container");
    out.assert_stderr_contains("does not exist");
}

#[test]
fn exec_lsm_flags_are_checked_like_the_config() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("runc's messages differ");
    }
    let apparmor = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y");
    let selinux = std::path::Path::new("/sys/fs/selinux/enforce").exists();
    let (id, _) = running(&rt);
    // On a host without the LSM the label cannot be applied: refused,
    // naming the field, and nothing runs.
    if !apparmor {
        rt.exec(&id, &["--apparmor", "unconfined-x"], &["/bin/true"])
            .assert_failed("exec --apparmor")
            .assert_stderr_contains("process.apparmorProfile");
    }
    if !selinux {
        rt.exec(
            &id,
            &["--process-label", "system_u:system_r:x"],
            &["/bin/true"],
        )
        .assert_failed("exec --process-label")
        .assert_stderr_contains("process.selinuxLabel");
    }
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}
