//! Fds a container process gets beyond stdio: `--preserve-fds N` and
//! socket activation (LISTEN_FDS/LISTEN_PID passed on as runc does).

mod common;

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::Command;

use common::*;
use serde_json::Value;

/// A host file holding `text`, opened for reading.
fn host_file(rt: &Runtime, name: &str, text: &str) -> (File, String) {
    let path = rt.host_dir("fds").join(name);
    std::fs::write(&path, text).unwrap();
    (File::open(&path).unwrap(), path.display().to_string())
}

/// The (fd, target) pairs of the probe's report.
fn fds(report: &Value) -> Vec<(i64, String)> {
    report["fds"]
        .as_array()
        .expect("fds in the report")
        .iter()
        .map(|f| {
            (
                f["fd"].as_i64().unwrap(),
                f["target"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn preserve_fds_passes_exactly_the_next_n_fds() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&[]);
    let (three, three_path) = host_file(&rt, "three", "3");
    let (four, _) = host_file(&rt, "four", "4");
    let id = rt.new_id();
    rt.track(&id);
    let dir = bundle.dir.to_str().unwrap().to_string();
    let out = rt
        .spawn_configured(
            None,
            &["run", "--bundle", &dir, "--preserve-fds", "1", &id],
            |cmd| pass_fds(cmd, vec![three.as_raw_fd(), four.as_raw_fd()]),
        )
        .wait(COMMAND_TIMEOUT);
    out.assert_ok("run --preserve-fds 1");
    let seen = fds(&out.json());
    let numbers: Vec<i64> = seen.iter().map(|(fd, _)| *fd).collect();
    assert_eq!(numbers, [0, 1, 2, 3], "fd 4 was not asked for: {seen:?}");
    assert_eq!(seen[3].1, three_path, "fd 3 is the caller's fd 3");
}

#[test]
fn socket_activation_fds_come_first_with_listen_env() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&[]);
    let (listen, listen_path) = host_file(&rt, "listen", "L");
    let (extra, extra_path) = host_file(&rt, "extra", "E");
    let id = rt.new_id();
    rt.track(&id);
    let work = rt.host_dir("out");
    let (stdout, stderr) = (work.join("stdout"), work.join("stderr"));
    // LISTEN_PID must be the runtime's own pid: the shell's, kept by exec.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("LISTEN_PID=$$ LISTEN_FDS=1 exec \"$@\"")
        .arg("sh")
        .arg(&rt.bin)
        .arg("--root")
        .arg(&rt.root)
        .args(["run", "--bundle", bundle.dir.to_str().unwrap()])
        .args(["--preserve-fds", "1", &id])
        .stdin(std::process::Stdio::null())
        .stdout(File::create(&stdout).unwrap())
        .stderr(File::create(&stderr).unwrap());
    pass_fds(&mut cmd, vec![listen.as_raw_fd(), extra.as_raw_fd()]);
    let status = cmd.status().expect("run the runtime through sh");
    let err = std::fs::read_to_string(&stderr).unwrap();
    assert!(status.success(), "run failed: {status}: {err}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&stdout).unwrap())
        .unwrap_or_else(|e| panic!("probe output is not JSON: {e}: {err}"));
    let seen = fds(&report);
    let numbers: Vec<i64> = seen.iter().map(|(fd, _)| *fd).collect();
    assert_eq!(numbers, [0, 1, 2, 3, 4], "{seen:?}");
    assert_eq!(seen[3].1, listen_path, "the listen fd comes first");
    assert_eq!(seen[4].1, extra_path, "then the --preserve-fds one");
    assert_eq!(report["env"]["LISTEN_FDS"], "1");
    assert_eq!(report["env"]["LISTEN_PID"], "1");
}

#[test]
fn listen_fds_for_another_pid_are_not_passed() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&[]);
    let (listen, _) = host_file(&rt, "listen", "L");
    let id = rt.new_id();
    rt.track(&id);
    let dir = bundle.dir.to_str().unwrap().to_string();
    // LISTEN_PID names another process: the fds were not meant for us.
    let out = rt
        .spawn_configured(None, &["run", "--bundle", &dir, &id], |cmd| {
            cmd.env("LISTEN_FDS", "1").env("LISTEN_PID", "1");
            pass_fds(cmd, vec![listen.as_raw_fd()]);
        })
        .wait(COMMAND_TIMEOUT);
    out.assert_ok("run");
    let report = out.json();
    let numbers: Vec<i64> = fds(&report).iter().map(|(fd, _)| *fd).collect();
    assert_eq!(numbers, [0, 1, 2]);
    assert!(
        report["env"].get("LISTEN_FDS").is_none(),
        "{}",
        report["env"]
    );
}

#[test]
fn preserve_fds_beyond_what_was_passed_is_refused() {
    // Without the check, hull's own fds (its log, the state dir's lock,
    // exec.fifo) would take the free numbers and reach the container.
    // runc 1.1.5 passes whatever sits there.
    if !is_hull() {
        skip!("runc 1.1.5 passes whatever fds sit past --preserve-fds");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.args(&["/bin/true"]);
    let log = rt.work.join("hull.log");
    let dir = bundle.dir.to_str().unwrap().to_string();
    for cmd in ["create", "run"] {
        let id = rt.new_id();
        let out = rt.cmd(&[
            "--log",
            log.to_str().unwrap(),
            cmd,
            "--preserve-fds",
            "2",
            "--bundle",
            &dir,
            &id,
        ]);
        out.assert_failed(&format!("{cmd} --preserve-fds 2 without fds 3 and 4"));
        out.assert_stderr_contains("--preserve-fds 2: fd 3 is not open");
        assert_eq!(out.stderr.trim().lines().count(), 1, "{out:?}");
    }
    let id = rt.new_id();
    rt.create_running(&id, &{
        let mut b = rt.bundle();
        b.args(&["/bin/sleep", "1000"]);
        b
    });
    let out = rt.exec(&id, &["--preserve-fds", "1"], &["/bin/true"]);
    out.assert_failed("exec --preserve-fds 1 without fd 3");
    out.assert_stderr_contains("fd 3 is not open");
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
    rt.delete(&id).assert_ok("delete");
    rt.assert_nothing_left();
}
