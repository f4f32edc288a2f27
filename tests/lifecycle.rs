//! Container lifecycle: create, start, state, kill, delete, run, list, and the
//! errors each operation gives in the wrong state.

mod common;

use common::*;
use std::time::Duration;

/// A bundle whose process waits for a signal (see probe `sleep-forever`).
fn sleeper(rt: &Runtime) -> Bundle {
    let mut bundle = rt.bundle();
    bundle.probe(&["sleep-forever"]);
    bundle
}

#[test]
fn create_reports_created_state() {
    let rt = Runtime::new();
    let bundle = sleeper(&rt);
    let id = rt.new_id();
    let pid_file = rt.work.join("init.pid");
    // A relative --bundle must be stored as an absolute path.
    let rel = bundle.dir.file_name().unwrap().to_str().unwrap();
    rt.cmd_in(
        &rt.work,
        &[
            "create",
            "--bundle",
            rel,
            "--pid-file",
            pid_file.to_str().unwrap(),
            &id,
        ],
    )
    .assert_ok("create");

    let state = rt.state(&id);
    assert_eq!(state["status"], "created", "{state}");
    assert_eq!(state["id"], id.as_str());
    assert!(
        state["ociVersion"].as_str().is_some_and(|v| !v.is_empty()),
        "ociVersion missing: {state}"
    );
    let pid = state["pid"].as_i64().expect("pid in state");
    assert!(pid > 0, "{state}");
    assert!(
        process_alive(pid as i32),
        "init {pid} of a created container is not alive"
    );
    let bundle_dir = bundle.dir.canonicalize().unwrap();
    assert_eq!(state["bundle"], bundle_dir.to_str().unwrap(), "{state}");
    let written = std::fs::read_to_string(&pid_file).unwrap();
    assert_eq!(
        written.trim().parse::<i64>().ok(),
        Some(pid),
        "pid file holds {written:?}"
    );
}

#[test]
fn start_runs_and_default_kill_stops() {
    let rt = Runtime::new();
    let bundle = sleeper(&rt);
    let id = rt.new_id();
    rt.create_running(&id, &bundle);
    rt.kill(&id, None).assert_ok("kill with the default signal");
    rt.wait_status(&id, "stopped");
    rt.delete(&id).assert_ok("delete");
}

#[test]
fn kill_accepts_signal_name_prefixed_name_and_number() {
    let rt = Runtime::new();
    let bundle = sleeper(&rt);
    for signal in ["KILL", "SIGKILL", "9"] {
        let id = rt.new_id();
        rt.create_running(&id, &bundle);
        rt.kill(&id, Some(signal))
            .assert_ok(&format!("kill {signal}"));
        rt.wait_status(&id, "stopped");
        rt.delete(&id).assert_ok("delete");
    }
}

#[test]
fn delete_removes_stopped_container() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&["exit", "0"]);
    let id = rt.new_id();
    rt.create_ok(&id, &bundle);
    rt.start(&id).assert_ok("start");
    rt.wait_status(&id, "stopped");
    rt.delete(&id).assert_ok("delete");
    rt.try_state(&id)
        .assert_failed("state after delete")
        .assert_stderr_contains("does not exist");
    assert!(rt.list_ids().is_empty());
}

#[test]
fn start_of_running_container_fails() {
    let rt = Runtime::new();
    let bundle = sleeper(&rt);
    let id = rt.new_id();
    rt.create_running(&id, &bundle);
    rt.start(&id).assert_failed("second start");
    assert_eq!(rt.state(&id)["status"], "running");
}

#[test]
fn start_of_stopped_container_fails() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&["exit", "0"]);
    let id = rt.new_id();
    rt.create_ok(&id, &bundle);
    rt.start(&id).assert_ok("start");
    rt.wait_status(&id, "stopped");
    rt.start(&id).assert_failed("start of a stopped container");
    assert_eq!(rt.state(&id)["status"], "stopped");
}

#[test]
fn delete_of_running_container_needs_force() {
    let rt = Runtime::new();
    let bundle = sleeper(&rt);
    let id = rt.new_id();
    let state = rt.create_running(&id, &bundle);
    let pid = state["pid"].as_i64().unwrap() as i32;
    rt.delete(&id)
        .assert_failed("delete of a running container");
    assert_eq!(rt.state(&id)["status"], "running");
    assert!(process_alive(pid));

    rt.delete_force(&id).assert_ok("delete --force");
    rt.try_state(&id)
        .assert_failed("state after delete --force");
    wait_process_gone(pid);
}

#[test]
fn delete_force_of_unknown_id_succeeds() {
    let rt = Runtime::new();
    // containerd's shim relies on this being idempotent.
    rt.delete_force("no-such-container")
        .assert_ok("delete --force of an unknown id");
}

#[test]
fn delete_of_created_container_kills_init() {
    let rt = Runtime::new();
    let bundle = sleeper(&rt);
    let id = rt.new_id();
    let state = rt.create_ok(&id, &bundle);
    let pid = state["pid"].as_i64().unwrap() as i32;
    rt.delete(&id).assert_ok("delete of a created container");
    rt.try_state(&id)
        .assert_failed("state after delete")
        .assert_stderr_contains("does not exist");
    wait_process_gone(pid);
}

#[test]
fn kill_of_stopped_container_fails() {
    let rt = Runtime::new();
    let bundle = sleeper(&rt);
    let id = rt.new_id();
    rt.create_running(&id, &bundle);
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
    let out = rt.kill(&id, Some("KILL"));
    out.assert_failed("kill of a stopped container");
    assert!(
        out.stderr.contains("container not running") || out.stderr.contains("already stopped"),
        "unexpected message: {out:?}"
    );
}

#[test]
fn run_returns_exit_code() {
    let rt = Runtime::new();
    for code in [0, 3] {
        let mut bundle = rt.bundle();
        bundle.probe(&["exit", &code.to_string()]);
        let out = rt.run(&rt.new_id(), &bundle);
        assert_eq!(out.code, code, "{out:?}");
    }
}

#[test]
fn run_returns_128_plus_signal_when_killed() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    // Without a pid namespace the shell is not pid 1, so SIGKILL from inside
    // reaches it.
    bundle.without_namespace("pid").shell("kill -9 $$");
    let out = rt.run(&rt.new_id(), &bundle);
    assert_eq!(out.code, 137, "{out:?}");
}

#[test]
fn run_forwards_sigterm_to_container() {
    assert_run_forwards(libc::SIGTERM, "TERM");
}

/// Signal 34 is SIGRTMIN to runc and Docker; musl, which hull links, keeps
/// it for itself and leaves it out of a filled signal set. 37 is
/// `RTMIN+3`, what systemd in a container stops on.
#[test]
fn run_forwards_realtime_signals_to_container() {
    assert_run_forwards(34, "34");
    assert_run_forwards(37, "37");
}

/// `hull run` of a shell that exits 42 on `trap`, sent `sig` once ready.
fn assert_run_forwards(sig: i32, trap: &str) {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.readonly_root(false).shell(&format!(
        "trap 'exit 42' {trap}; touch /tmp/ready; sleep 100 & wait"
    ));
    let id = rt.new_id();
    rt.track(&id);
    let run = rt.spawn(&["run", "--bundle", bundle.dir.to_str().unwrap(), &id]);
    let ready = bundle.rootfs().join("tmp/ready");
    let deadline = std::time::Instant::now() + STATUS_TIMEOUT;
    while !ready.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "container never became ready"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: plain kill(2) of the child runtime process.
    assert_eq!(unsafe { libc::kill(run.pid(), sig) }, 0);
    let out = run.wait(COMMAND_TIMEOUT);
    assert_eq!(out.code, 42, "signal {sig}: {out:?}");
}

#[test]
fn run_detach_leaves_container_running() {
    let rt = Runtime::new();
    let bundle = sleeper(&rt);
    let id = rt.new_id();
    rt.run_with(&id, &bundle, &["--detach"])
        .assert_ok("run --detach");
    let state = rt.wait_status(&id, "running");
    assert!(process_alive(state["pid"].as_i64().unwrap() as i32));
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
    rt.delete(&id).assert_ok("delete");
}

#[test]
fn run_deletes_container_afterwards() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&["exit", "0"]);
    let id = rt.new_id();
    rt.run(&id, &bundle).assert_ok("run");
    rt.try_state(&id)
        .assert_failed("state after run")
        .assert_stderr_contains("does not exist");
    assert!(rt.list_ids().is_empty());
}

#[test]
fn run_keep_keeps_stopped_container() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&["exit", "0"]);
    let id = rt.new_id();
    rt.run_with(&id, &bundle, &["--keep"])
        .assert_ok("run --keep");
    assert_eq!(rt.state(&id)["status"], "stopped");
    assert_eq!(rt.list_ids(), vec![id.clone()]);
    rt.delete(&id).assert_ok("delete");
}

#[test]
fn list_shows_containers_in_all_formats() {
    let rt = Runtime::new();
    let bundle = sleeper(&rt);
    let id = rt.new_id();
    let state = rt.create_ok(&id, &bundle);
    let pid = state["pid"].as_i64().unwrap();

    let table = rt.list(&[]);
    table.assert_ok("list");
    let mut lines = table.stdout.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    for column in ["ID", "PID", "STATUS", "BUNDLE", "CREATED"] {
        assert!(header.contains(&column), "header lacks {column}: {table:?}");
    }
    let row: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(row.first(), Some(&id.as_str()), "{table:?}");
    assert!(
        row.contains(&pid.to_string().as_str()) && row.contains(&"created"),
        "{table:?}"
    );

    let json = rt.list(&["--format", "json"]);
    json.assert_ok("list --format json");
    let entries = json.json();
    let entries = entries
        .as_array()
        .expect("list --format json prints an array");
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["id"], id.as_str());
    assert_eq!(entries[0]["pid"], pid);
    assert_eq!(entries[0]["status"], "created");
    assert_eq!(
        entries[0]["bundle"],
        bundle.dir.canonicalize().unwrap().to_str().unwrap()
    );

    assert_eq!(rt.list_ids(), vec![id.clone()]);
    rt.delete_force(&id).assert_ok("delete --force");
    let empty = rt.list(&["--format", "json"]);
    empty.assert_ok("list --format json");
    let empty = empty.json();
    assert!(
        empty.is_null() || empty.as_array().is_some_and(|a| a.is_empty()),
        "{empty}"
    );
}

#[test]
fn create_with_existing_id_fails() {
    let rt = Runtime::new();
    let bundle = sleeper(&rt);
    let id = rt.new_id();
    let first = rt.create_ok(&id, &bundle);
    rt.create(&id, &bundle)
        .assert_failed("second create")
        .assert_stderr_contains("already exists");
    let state = rt.state(&id);
    assert_eq!(state["status"], "created");
    assert_eq!(
        state["pid"], first["pid"],
        "the first container was replaced"
    );
}

#[test]
fn concurrent_create_of_one_id_has_one_winner() {
    // hull only: runc 1.1.5 races here (both creates can fail, or the loser
    // removes the winner's state and leaves its init behind).
    if !is_hull() {
        skip!("concurrent create is only checked for hull");
    }
    let rt = Runtime::new();
    let bundle = sleeper(&rt);
    let id = rt.new_id();
    let outs: Vec<Output> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| s.spawn(|| rt.create(&id, &bundle)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners = outs.iter().filter(|o| o.success()).count();
    assert_eq!(winners, 1, "{outs:?}");
    let loser = outs.iter().find(|o| !o.success()).unwrap();
    loser
        .assert_failed("losing create")
        .assert_stderr_contains("already exists");
    assert_eq!(rt.state(&id)["status"], "created");
    assert_eq!(rt.list_ids(), vec![id.clone()]);
}

#[test]
fn kill_of_created_container_stops_it() {
    let rt = Runtime::new();
    let bundle = sleeper(&rt);
    // The init waits for `start`; as a pid namespace's init it would ignore
    // signals it has no handler for.
    for signal in [Some("TERM"), None] {
        let id = rt.new_id();
        let state = rt.create_ok(&id, &bundle);
        assert_eq!(state["status"], "created", "{state}");
        let pid = state["pid"].as_i64().unwrap() as i32;
        rt.kill(&id, signal)
            .assert_ok(&format!("kill {signal:?} of a created container"));
        rt.wait_status(&id, "stopped");
        wait_process_gone(pid);
        rt.delete(&id).assert_ok("delete");
    }
}

#[test]
fn relative_pid_file_is_written_in_cwd() {
    let rt = Runtime::new();
    let bundle = sleeper(&rt);
    let cwd = rt.host_dir("cwd");
    let id = rt.new_id();
    rt.track(&id);
    rt.cmd_in(
        &cwd,
        &[
            "create",
            "--bundle",
            bundle.dir.to_str().unwrap(),
            "--pid-file",
            "init.pid",
            &id,
        ],
    )
    .assert_ok("create with a relative --pid-file");
    let pid = rt.state(&id)["pid"].as_i64().expect("pid in state");
    let written = std::fs::read_to_string(cwd.join("init.pid"))
        .unwrap_or_else(|e| panic!("no init.pid in the runtime's cwd {}: {e}", cwd.display()));
    assert_eq!(
        written.trim().parse::<i64>().ok(),
        Some(pid),
        "pid file holds {written:?}"
    );
    let entries = dir_entries(&cwd);
    assert_eq!(
        entries,
        vec!["init.pid".to_string()],
        "files left in the cwd"
    );
    rt.delete_force(&id).assert_ok("delete --force");
}

#[test]
fn kill_all_of_stopped_container_succeeds_and_plain_kill_says_not_running() {
    // runc 1.1.5 answers both this way; containerd's shim sends `kill --all
    // ID 9` after every exit of a container in a shared pid namespace and
    // takes "container not running" for an exit that already happened.
    let rt = Runtime::new();
    let bundle = sleeper(&rt);
    let id = rt.new_id();
    rt.create_running(&id, &bundle);
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
    for signal in ["9", "KILL", "SIGTERM", "15"] {
        let out = rt.cmd(&["kill", "--all", &id, signal]);
        out.assert_ok(&format!("kill --all {signal} of a stopped container"));
        let out = rt.kill(&id, Some(signal));
        assert_eq!(out.code, 1, "kill {signal} of a stopped container: {out:?}");
        out.assert_stderr_contains("container not running");
    }
    rt.cmd(&["kill", "--all", "no-such-container", "9"])
        .assert_failed("kill --all of an unknown id")
        .assert_stderr_contains("does not exist");
    rt.delete(&id).assert_ok("delete");
}

#[test]
fn kill_all_of_stopped_container_reaches_what_its_init_left() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    // Without a pid namespace of its own, the init's child outlives it in
    // the container's cgroup. The duration is unique to find it.
    let marker = (100_000 + std::process::id()).to_string();
    bundle
        .without_namespace("pid")
        .shell(&format!("sleep {marker} & exit 0"));
    let id = rt.new_id();
    rt.create_ok(&id, &bundle);
    rt.start(&id).assert_ok("start");
    rt.wait_status(&id, "stopped");
    let left = pids_with_arg(&marker);
    assert_eq!(left.len(), 1, "the init's child: {left:?}");
    rt.kill(&id, Some("KILL"))
        .assert_failed("kill without --all of a stopped container");
    assert!(
        process_alive(left[0]),
        "kill without --all reached the child"
    );
    rt.cmd(&["kill", "--all", &id, "KILL"])
        .assert_ok("kill --all of a stopped container");
    wait_process_gone(left[0]);
    rt.delete(&id).assert_ok("delete");
}
