//! The "v2 view": every runtime command runs in a private mount namespace
//! where /sys/fs/cgroup is the host's cgroup2 hierarchy (on this hybrid host
//! the one at /sys/fs/cgroup/unified, whose only controller is hugetlb).
//! Creation, CLONE_INTO_CGROUP, the freezer, cgroup.kill and the device
//! eBPF program all work there; limits of absent controllers fail clearly.

use super::*;

/// The host's cgroup2 hierarchy, as seen from here.
fn v2_root() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    mounts.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        let mp = pre.split(' ').nth(4)?;
        (post.starts_with("cgroup2 ") && mp.starts_with("/sys/fs/cgroup"))
            .then(|| PathBuf::from(mp))
    })
}

/// A Runtime whose binary is a wrapper entering the v2 view first.
fn v2_runtime() -> Option<(Runtime, PathBuf)> {
    let root = v2_root().or_else(|| {
        eprintln!("skipped: no cgroup2 hierarchy under /sys/fs/cgroup");
        None
    })?;
    if !is_hull() {
        eprintln!("skipped: the v2 view wraps the hull binary");
        return None;
    }
    let mut rt = Runtime::new();
    let wrapper = rt.work.join("hull-v2-view");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec unshare -m --propagation private sh -c 'umount -R /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && exec \"$0\" \"$@\"' {} \"$@\"\n",
            rt.bin.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    rt.bin = wrapper;
    Some((rt, root))
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
    let Some((rt, root)) = v2_runtime() else {
        return;
    };
    let id = rt.new_id();
    let path = cg_path(&id);
    let deny_all = json!([{"allow": false, "access": "rwm"}]);
    let out = rt.run(&id, &loop0_bundle(&rt, &id, deny_all));
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
    let out = rt.run(&id, &loop0_bundle(&rt, &id, rules));
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
    let Some((rt, root)) = v2_runtime() else {
        return;
    };
    let id = rt.new_id();
    let path = cg_path(&id);
    let dir = root.join(path.trim_start_matches('/'));
    let out = rt.host_dir("out");
    rt.create_running(&id, &counting_bundle(&rt, &id, &out));
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
    let Some((rt, root)) = v2_runtime() else {
        return;
    };
    let id = rt.new_id();
    let path = cg_path(&id);
    let mut b = bundle_with(&rt, &id, json!({}));
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
    let Some((rt, root)) = v2_runtime() else {
        return;
    };
    let available = read(&root, "cgroup.controllers");
    if available.split_whitespace().any(|c| c == "memory") {
        eprintln!("skipped: this cgroup2 hierarchy has the memory controller");
        return;
    }
    let id = rt.new_id();
    let mut b = bundle_with(&rt, &id, json!({"memory": {"limit": 16777216}}));
    b.probe(&[]);
    rt.create(&id, &b)
        .assert_failed("memory limit without a memory controller")
        .assert_stderr_contains(
            "linux.resources.memory.limit: the \"memory\" controller is not available in cgroup",
        );
    assert_no_v2_cgroup(&root, &cg_path(&id));
    let id = rt.new_id();
    let mut b = bundle_with(&rt, &id, json!({"unified": {"memory.high": "1000000"}}));
    b.probe(&[]);
    rt.create(&id, &b)
        .assert_failed("unified key of an absent controller")
        .assert_stderr_contains("\"memory\" controller is not available");
    assert_no_v2_cgroup(&root, &cg_path(&id));
}

/// The v2 runtime, when its hierarchy offers every one of `controllers`
/// (a real cgroup v2 host or VM; not this hybrid host's cgroup2).
fn v2_with(controllers: &[&str]) -> Option<(Runtime, PathBuf)> {
    let (rt, root) = v2_runtime()?;
    let available = read(&root, "cgroup.controllers");
    let missing: Vec<&&str> = controllers
        .iter()
        .filter(|c| !available.split_whitespace().any(|a| a == **c))
        .collect();
    if !missing.is_empty() {
        eprintln!("skipped: the cgroup2 hierarchy lacks {missing:?} (needs a cgroup v2 host)");
        return None;
    }
    Some((rt, root))
}

#[test]
fn v2_limits_are_written_with_runcs_conversions() {
    let Some((rt, root)) = v2_with(&["memory", "cpu", "pids"]) else {
        return;
    };
    let id = rt.new_id();
    let path = cg_path(&id);
    let mut b = bundle_with(
        &rt,
        &id,
        json!({
            "memory": {"limit": 67108864, "reservation": 33554432, "swap": 100663296},
            "cpu": {"shares": 1024, "quota": 50000, "period": 100000},
            "pids": {"limit": 42},
            "unified": {"memory.high": "60000000"}
        }),
    );
    b.probe(&["sleep-forever"]);
    rt.create_ok(&id, &b);
    let dir = root.join(path.trim_start_matches('/'));
    assert_eq!(read(&dir, "memory.max"), "67108864");
    assert_eq!(read(&dir, "memory.low"), "33554432");
    if dir.join("memory.swap.max").exists() {
        // memsw 96 MiB - memory 64 MiB.
        assert_eq!(read(&dir, "memory.swap.max"), "33554432");
    }
    assert_eq!(read(&dir, "memory.high"), "60000000");
    assert_eq!(read(&dir, "cpu.weight"), "39");
    assert_eq!(read(&dir, "cpu.max"), "50000 100000");
    assert_eq!(read(&dir, "pids.max"), "42");
    rt.cmd(&[
        "update",
        "--memory",
        "32m",
        "--pids-limit",
        "7",
        "--cpu-quota",
        "20000",
        &id,
    ])
    .assert_ok("update");
    assert_eq!(read(&dir, "memory.max"), "33554432");
    assert_eq!(read(&dir, "pids.max"), "7");
    assert_eq!(read(&dir, "cpu.max"), "20000 100000");
    rt.delete_force(&id).assert_ok("delete --force");
    assert_no_v2_cgroup(&root, &path);
}

#[test]
fn v2_pids_limit_stops_forks() {
    let Some((rt, root)) = v2_with(&["pids"]) else {
        return;
    };
    let id = rt.new_id();
    let mut b = bundle_with(&rt, &id, json!({"pids": {"limit": 4}}));
    b.shell("for i in 1 2 3 4 5 6; do sleep 30 & done; exit 0");
    let out = rt.run(&id, &b);
    assert!(
        out.stderr.contains("fork") || out.stderr.contains("Resource temporarily unavailable"),
        "no fork failed under pids.max 4: {out:?}"
    );
    assert_no_v2_cgroup(&root, &cg_path(&id));
}

#[test]
fn v2_memory_limit_oom_kills_and_events_report_it() {
    let Some((rt, root)) = v2_with(&["memory"]) else {
        return;
    };
    let id = rt.new_id();
    let watch = OomWatch::start(&rt, &id);
    assert_eq!(watch.first["type"], "stats", "{}", watch.first);
    assert!(watch.saw_oom(), "events never reported an oom");
    rt.delete_force(&id).assert_ok("delete --force");
    assert_no_v2_cgroup(&root, &cg_path(&id));
}
