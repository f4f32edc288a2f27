//! The "v2 view": every runtime command runs in a private mount namespace
//! where /sys/fs/cgroup is the host's cgroup2 hierarchy (on this hybrid host
//! the one at /sys/fs/cgroup/unified, whose only controller is hugetlb).
//! Creation, CLONE_INTO_CGROUP, the freezer, cgroup.kill and the device
//! eBPF program all work there; limits of absent controllers fail clearly.
//! (Its limit checks and limits that bite: suite.rs, with the other backends.)

use super::backend::{cg_path, read, On};
use super::checks::Backend;
use super::host_v1::{bundle_with, counter, counting_bundle, wait_counter_past};
use crate::common::*;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// The v2 view's runtime and the hierarchy's mount point here, or skip.
macro_rules! v2_view_or_skip {
    () => {
        match On::new(Backend::V2View) {
            Ok(on) => {
                let root = on.v2_root.clone().unwrap();
                (on, root)
            }
            Err(reason) => skip!("{reason}"),
        }
    };
}

/// Remove `path` from the cgroup2 hierarchy if a failed test left it, and
/// fail when it was there.
#[track_caller]
fn assert_no_v2_cgroup(root: &Path, path: &str) {
    let dir = root.join(path.trim_start_matches('/'));
    let existed = dir.exists();
    let _ = std::fs::remove_dir(&dir);
    assert!(!existed, "cgroup {dir:?} left behind");
}

fn loop0_bundle(rt: &Runtime, id: &str, rules: Value) -> Bundle {
    let mut b = bundle_with(rt, id, json!({"devices": rules}));
    b.set(
        "/linux/devices",
        json!([{"path": "/dev/loop0", "type": "b", "major": 7, "minor": 0, "fileMode": 438}]),
    );
    b.probe(&[
        "read",
        "/dev/null",
        "--",
        "read",
        "/dev/loop0",
        "--",
        "report",
    ]);
    b
}

#[test]
fn v2_view_clone_into_cgroup_and_device_filter() {
    let (on, root) = v2_view_or_skip!();
    let rt = &on.rt;
    let id = rt.new_id();
    let path = cg_path(&id);
    let deny_all = json!([{"allow": false, "access": "rwm"}]);
    let out = rt.run(&id, &loop0_bundle(rt, &id, deny_all));
    out.assert_ok("run");
    let results = out.json();
    assert_eq!(results[0]["ok"], true, "/dev/null must open: {results}");
    assert_eq!(
        results[1]["errno"], 1,
        "/dev/loop0 must be denied (EPERM): {results}"
    );
    // Born in its cgroup: /proc/self/cgroup shows it on the cgroup2 line.
    let lines = results[2]["cgroup"].as_array().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.as_str().unwrap() == format!("0::{path}")),
        "{lines:?}"
    );
    assert_no_v2_cgroup(&root, &path);

    // The same device, allowed for reading by a later rule: not EPERM.
    let id = rt.new_id();
    let rules = json!([{"allow": false, "access": "rwm"},
        {"allow": true, "type": "b", "major": 7, "minor": 0, "access": "r"}]);
    let out = rt.run(&id, &loop0_bundle(rt, &id, rules));
    out.assert_ok("run");
    let results = out.json();
    assert_ne!(
        results[1]["errno"], 1,
        "allowed /dev/loop0 was denied: {results}"
    );
    assert_no_v2_cgroup(&root, &cg_path(&id));
}

#[test]
fn v2_view_pause_resume_kill_and_delete() {
    let (on, root) = v2_view_or_skip!();
    let rt = &on.rt;
    let id = rt.new_id();
    let path = cg_path(&id);
    let dir = root.join(path.trim_start_matches('/'));
    let out = rt.host_dir("out");
    rt.create_running(&id, &counting_bundle(rt, &id, &out));
    wait_counter_past(&out, 0);
    rt.cmd(&["pause", &id]).assert_ok("pause");
    assert_eq!(read(&dir, "cgroup.freeze"), "1");
    assert!(read(&dir, "cgroup.events").contains("frozen 1"));
    assert_eq!(rt.state(&id)["status"], "paused");
    let frozen_at = counter(&out);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(counter(&out), frozen_at, "the counter moved while paused");
    rt.cmd(&["resume", &id]).assert_ok("resume");
    assert_eq!(read(&dir, "cgroup.freeze"), "0");
    wait_counter_past(&out, frozen_at);
    let pids: Vec<i64> =
        serde_json::from_str(rt.cmd(&["ps", "--format", "json", &id]).stdout.trim()).unwrap();
    assert!(!pids.is_empty());
    // kill --all on v2 signals every pid of cgroup.procs; delete uses cgroup.kill.
    rt.cmd(&["kill", "--all", &id, "KILL"])
        .assert_ok("kill --all");
    for pid in &pids {
        wait_process_gone(*pid as i32);
    }
    rt.delete(&id).assert_ok("delete");
    assert!(!dir.exists(), "{dir:?} left after delete");
}

#[test]
fn v2_view_delete_force_empties_the_cgroup() {
    let (on, root) = v2_view_or_skip!();
    let rt = &on.rt;
    let id = rt.new_id();
    let path = cg_path(&id);
    let mut b = bundle_with(rt, &id, json!({}));
    b.without_namespace("pid");
    b.shell("sleep 1000 & exec sleep 1000");
    rt.create_running(&id, &b);
    let dir = root.join(path.trim_start_matches('/'));
    let deadline = Instant::now() + STATUS_TIMEOUT;
    let pids = loop {
        let pids: Vec<i32> = read(&dir, "cgroup.procs")
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        if pids.len() == 2 {
            break pids;
        }
        assert!(Instant::now() < deadline, "{pids:?}");
        std::thread::sleep(Duration::from_millis(10));
    };
    rt.cmd(&["pause", &id]).assert_ok("pause");
    rt.delete_force(&id)
        .assert_ok("delete --force of a paused container");
    for pid in pids {
        wait_process_gone(pid);
    }
    assert_no_v2_cgroup(&root, &path);
}

#[test]
fn v2_view_absent_controller_fails_clearly() {
    let (on, root) = v2_view_or_skip!();
    let rt = &on.rt;
    let available = read(&root, "cgroup.controllers");
    if available.split_whitespace().any(|c| c == "memory") {
        skip!("this cgroup2 hierarchy has the memory controller");
    }
    let id = rt.new_id();
    let mut b = bundle_with(rt, &id, json!({"memory": {"limit": 16777216}}));
    b.probe(&[]);
    rt.create(&id, &b)
        .assert_failed("memory limit without a memory controller")
        .assert_stderr_contains(
            "linux.resources.memory.limit: the \"memory\" controller is not available in cgroup",
        );
    assert_no_v2_cgroup(&root, &cg_path(&id));
    let id = rt.new_id();
    let mut b = bundle_with(rt, &id, json!({"unified": {"memory.high": "1000000"}}));
    b.probe(&[]);
    rt.create(&id, &b)
        .assert_failed("unified key of an absent controller")
        .assert_stderr_contains("\"memory\" controller is not available");
    assert_no_v2_cgroup(&root, &cg_path(&id));
}
