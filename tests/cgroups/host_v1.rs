//! Cgroups on this host's v1 hierarchies, beyond the shared suite: the
//! init in every hierarchy, /proc/self/cgroup, pause/resume, ps, kill --all,
//! delete, joined cgroups, exec --cgroup, refused values.

use super::backend::{cg_path, cgroup_dirs, has_v1, read, v1_dir};
use super::checks::check;
use crate::common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[track_caller]
pub fn assert_no_cgroup(path: &str) {
    let left = cgroup_dirs(path);
    for dir in &left {
        // Ours (named after this test's id): removed so nothing outlives it.
        let _ = std::fs::remove_dir(dir);
    }
    assert!(left.is_empty(), "cgroup dirs left behind: {left:?}");
}

/// A bundle with `resources` and a cgroupsPath of its own.
pub fn bundle_with(rt: &Runtime, id: &str, resources: Value) -> Bundle {
    let mut b = rt.bundle();
    b.set("/linux/cgroupsPath", json!(cg_path(id)));
    b.set("/linux/resources", resources);
    b
}

/// Skip the test, naming the v1 hierarchies this host lacks.
macro_rules! needs_v1 {
    ($controllers:expr) => {
        let missing: Vec<&&str> = $controllers.iter().filter(|c| !has_v1(c)).collect();
        if !missing.is_empty() {
            skip!("needs cgroup v1 hierarchies for {missing:?}");
        }
    };
}

/// The init is in every hierarchy's cgroup before it runs, and the
/// default device rules are listed (the limits: checks.rs).
#[test]
fn v1_init_is_in_every_hierarchy_with_the_device_rules() {
    needs_v1!(&["memory", "cpu", "pids", "cpuset"]);
    let rt = Runtime::new();
    let id = rt.new_id();
    let path = cg_path(&id);
    let resources = check("memory-cpu-pids-cpuset").resources;
    let mut b = bundle_with(&rt, &id, serde_json::from_str(resources).unwrap());
    b.probe(&["sleep-forever"]);
    rt.create_ok(&id, &b);
    let pid = rt.state(&id)["pid"].as_i64().unwrap().to_string();
    for ctrl in ["memory", "cpu", "pids", "cpuset", "freezer", "devices"] {
        if has_v1(ctrl) {
            let procs = read(&v1_dir(ctrl, &path), "cgroup.procs");
            assert!(
                procs.lines().any(|l| l == pid),
                "{ctrl}: {procs:?} lacks {pid}"
            );
        } else {
            skip_note!("no {ctrl} hierarchy: its cgroup.procs is not checked");
        }
    }
    if has_v1("devices") {
        let list = read(&v1_dir("devices", &path), "devices.list");
        assert!(list.lines().any(|l| l == "c 1:3 rwm"), "{list}");
        assert!(!list.lines().any(|l| l == "a *:* rwm"), "{list}");
    } else {
        skip_note!("no devices hierarchy: devices.list is not checked");
    }
    rt.delete(&id).assert_ok("delete");
    assert_no_cgroup(&path);
}

#[test]
fn the_process_sees_its_cgroup() {
    needs_v1!(&["memory"]);
    let rt = Runtime::new();
    let id = rt.new_id();
    let path = cg_path(&id);
    let mut b = bundle_with(&rt, &id, json!({}));
    b.probe(&[]);
    let out = rt.run(&id, &b);
    out.assert_ok("run");
    let report = out.json();
    let lines: Vec<&str> = report["cgroup"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with(&format!(":memory:{path}"))),
        "{lines:?}"
    );
    assert_no_cgroup(&path);
}

#[test]
fn default_cgroup_is_named_after_the_id_below_our_own() {
    needs_v1!(&["memory"]);
    let rt = Runtime::new();
    let id = rt.new_id();
    let mut b = rt.bundle();
    b.probe(&[]);
    let out = rt.run(&id, &b);
    out.assert_ok("run");
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let own_mem = own
        .lines()
        .find_map(|l| l.split_once(":memory:").map(|x| x.1))
        .unwrap();
    let want = format!("{}/{id}", own_mem.trim_end_matches('/'));
    let report = out.json();
    assert!(
        report["cgroup"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().ends_with(&format!(":memory:{want}"))),
        "want {want}: {}",
        report["cgroup"]
    );
}

/// The number a looping container writes to /out/count.
pub fn counter(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join("count"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

#[track_caller]
pub fn wait_counter_past(dir: &Path, after: u64) -> u64 {
    let deadline = Instant::now() + STATUS_TIMEOUT;
    loop {
        let now = counter(dir);
        if now > after {
            return now;
        }
        assert!(Instant::now() < deadline, "counter stuck at {now}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn counting_bundle(rt: &Runtime, id: &str, out: &Path) -> Bundle {
    let mut b = bundle_with(rt, id, json!({}));
    b.add_mount(json!({"destination": "/out", "type": "bind",
        "source": out.to_str().unwrap(), "options": ["rbind", "rw"]}));
    b.shell(
        "i=0; while :; do i=$((i+1)); echo $i > /out/count.tmp; mv /out/count.tmp /out/count; done",
    );
    b
}

#[test]
fn pause_freezes_and_resume_thaws() {
    needs_v1!(&["freezer"]);
    let rt = Runtime::new();
    let id = rt.new_id();
    let path = cg_path(&id);
    let out = rt.host_dir("out");
    rt.create_running(&id, &counting_bundle(&rt, &id, &out));
    wait_counter_past(&out, 0);
    rt.cmd(&["pause", &id]).assert_ok("pause");
    assert_eq!(rt.state(&id)["status"], "paused");
    assert_eq!(read(&v1_dir("freezer", &path), "freezer.state"), "FROZEN");
    let list = rt.list(&["--format", "json"]).json();
    assert_eq!(list[0]["status"], "paused", "{list}");
    let frozen_at = counter(&out);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(counter(&out), frozen_at, "the counter moved while paused");
    rt.cmd(&["pause", &id])
        .assert_failed("pause of a paused container");
    rt.cmd(&["resume", &id]).assert_ok("resume");
    assert_eq!(rt.state(&id)["status"], "running");
    wait_counter_past(&out, frozen_at);
    rt.cmd(&["resume", &id])
        .assert_failed("resume of a running container")
        .assert_stderr_contains("not paused");
    // delete --force works on a paused container.
    rt.cmd(&["pause", &id]).assert_ok("pause");
    rt.delete_force(&id)
        .assert_ok("delete --force of a paused container");
    assert_no_cgroup(&path);
}

#[test]
fn a_created_container_can_be_paused() {
    needs_v1!(&["freezer"]);
    let rt = Runtime::new();
    let id = rt.new_id();
    let mut b = bundle_with(&rt, &id, json!({}));
    b.probe(&["sleep-forever"]);
    rt.create_ok(&id, &b);
    rt.cmd(&["pause", &id])
        .assert_ok("pause of a created container");
    assert_eq!(rt.state(&id)["status"], "paused");
    rt.start(&id).assert_failed("start of a paused container");
    rt.cmd(&["resume", &id]).assert_ok("resume");
    assert_eq!(rt.state(&id)["status"], "created");
    rt.start(&id).assert_ok("start after resume");
    rt.wait_status(&id, "running");
    rt.delete_force(&id).assert_ok("delete --force");
    assert_no_cgroup(&cg_path(&id));
}

#[test]
fn kill_works_on_a_paused_container() {
    needs_v1!(&["freezer"]);
    let rt = Runtime::new();
    let id = rt.new_id();
    let mut b = bundle_with(&rt, &id, json!({}));
    b.probe(&["sleep-forever"]);
    let pid = rt.create_running(&id, &b)["pid"].as_i64().unwrap() as i32;
    rt.cmd(&["pause", &id]).assert_ok("pause");
    rt.kill(&id, Some("KILL"))
        .assert_ok("kill of a paused container");
    wait_process_gone(pid);
    assert_eq!(rt.state(&id)["status"], "stopped");
    rt.delete(&id).assert_ok("delete");
    assert_no_cgroup(&cg_path(&id));
}

#[test]
fn ps_lists_the_container_processes() {
    let rt = Runtime::new();
    let id = rt.new_id();
    let mut b = bundle_with(&rt, &id, json!({}));
    b.shell("sleep 1000 & sleep 1000 & exec sleep 1000");
    let init = rt.create_running(&id, &b)["pid"].as_i64().unwrap();
    // The children appear once the shell forked them.
    let deadline = Instant::now() + STATUS_TIMEOUT;
    let pids = loop {
        let out = rt.cmd(&["ps", "--format", "json", &id]);
        out.assert_ok("ps --format json");
        let pids: Vec<i64> = serde_json::from_str(out.stdout.trim()).unwrap();
        if pids.len() == 3 {
            break pids;
        }
        assert!(Instant::now() < deadline, "ps: {pids:?}");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(pids.contains(&init), "{pids:?} lacks the init {init}");
    let table = rt.cmd(&["ps", &id]);
    table.assert_ok("ps");
    assert!(table.stdout.starts_with("UID"), "{table:?}");
    assert_eq!(table.stdout.lines().count(), 4, "{table:?}");
    rt.delete_force(&id).assert_ok("delete --force");
    for pid in pids {
        assert!(!process_alive(pid as i32), "{pid} outlived delete");
    }
    assert_no_cgroup(&cg_path(&id));
}

/// A container without its own pid namespace whose init forks sleepers.
fn shared_pid_ns_bundle(rt: &Runtime, id: &str, script: &str) -> Bundle {
    let mut b = bundle_with(rt, id, json!({}));
    b.without_namespace("pid");
    b.shell(script);
    b
}

fn cgroup_pids(id: &str) -> Vec<i32> {
    let dir = v1_dir("pids", &cg_path(id));
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect()
}

#[test]
fn kill_all_signals_every_process_of_the_cgroup() {
    needs_v1!(&["pids"]);
    let rt = Runtime::new();
    let id = rt.new_id();
    let b = shared_pid_ns_bundle(&rt, &id, "sleep 1000 & sleep 1000 & exec sleep 1000");
    rt.create_running(&id, &b);
    let deadline = Instant::now() + STATUS_TIMEOUT;
    while cgroup_pids(&id).len() < 3 {
        assert!(Instant::now() < deadline, "{:?}", cgroup_pids(&id));
        std::thread::sleep(Duration::from_millis(10));
    }
    let pids = cgroup_pids(&id);
    rt.cmd(&["kill", "--all", &id, "KILL"])
        .assert_ok("kill --all");
    for pid in &pids {
        wait_process_gone(*pid);
    }
    rt.delete(&id).assert_ok("delete");
    assert_no_cgroup(&cg_path(&id));
}

#[test]
fn delete_kills_what_the_init_left_behind() {
    needs_v1!(&["pids"]);
    let rt = Runtime::new();
    let id = rt.new_id();
    // Without a pid namespace the sleeper outlives the init.
    let b = shared_pid_ns_bundle(&rt, &id, "sleep 1000 & echo $! > /dev/null; exit 0");
    rt.create_ok(&id, &b);
    rt.start(&id).assert_ok("start");
    rt.wait_status(&id, "stopped");
    let left = cgroup_pids(&id);
    assert_eq!(
        left.len(),
        1,
        "the sleeper should still be in the cgroup: {left:?}"
    );
    rt.delete(&id).assert_ok("delete");
    wait_process_gone(left[0]);
    assert_no_cgroup(&cg_path(&id));
}

#[test]
fn failed_create_removes_the_cgroup() {
    let rt = Runtime::new();
    let id = rt.new_id();
    let mut b = bundle_with(&rt, &id, json!({"pids": {"limit": 10}}));
    b.args(&["/no/such/binary"]);
    rt.create(&id, &b)
        .assert_failed("create of a missing binary");
    assert_no_cgroup(&cg_path(&id));
    assert!(rt.list_ids().is_empty());
}

#[test]
fn bad_values_fail_before_anything_is_made() {
    let rt = Runtime::new();
    let cases = [
        (
            json!({"memory": {"limit": -5}}),
            "linux.resources.memory.limit: -5",
        ),
        (
            json!({"cpu": {"quota": 500, "period": 100000}}),
            "linux.resources.cpu.quota: 500",
        ),
        (
            json!({"cpu": {"cpus": "4096"}}),
            "linux.resources.cpu.cpus: \"4096\"",
        ),
        (
            json!({"cpu": {"shares": 1}}),
            "linux.resources.cpu.shares: 1",
        ),
        (
            json!({"unified": {"../x": "1"}}),
            "linux.resources.unified \"../x\"",
        ),
        (
            json!({"devices": [{"allow": true, "access": "rwx"}]}),
            "linux.resources.devices[0].access",
        ),
    ];
    for (resources, want) in cases {
        let id = rt.new_id();
        let b = bundle_with(&rt, &id, resources);
        let out = rt.create(&id, &b);
        out.assert_failed(want);
        if is_hull() {
            out.assert_stderr_contains(want);
        }
        assert_no_cgroup(&cg_path(&id));
    }
    if is_hull() && has_v1("memory") {
        // cgroup v2 keys have no place on a v1 host.
        let id = rt.new_id();
        let b = bundle_with(&rt, &id, json!({"unified": {"memory.high": "100000"}}));
        rt.create(&id, &b)
            .assert_failed("unified on v1")
            .assert_stderr_contains("linux.resources.unified");
        assert_no_cgroup(&cg_path(&id));
    }
    assert!(rt.root_entries().is_empty(), "{:?}", rt.root_entries());
}

#[test]
fn joined_cgroup_is_left_in_place() {
    needs_v1!(&["pids"]);
    if !is_hull() {
        skip!("joining an existing cgroup and leaving it is hull's behaviour");
    }
    let rt = Runtime::new();
    let id = rt.new_id();
    let path = cg_path(&id);
    // A cgroup that exists before the container is shared: joined, limits
    // written only when set, neither emptied nor removed on delete.
    for dir in cgroup_mount_dirs() {
        std::fs::create_dir(dir.join(path.trim_start_matches('/'))).unwrap();
    }
    let cpuset = v1_dir("cpuset", &path);
    if cpuset.exists() {
        for f in ["cpuset.cpus", "cpuset.mems"] {
            std::fs::write(cpuset.join(f), read(Path::new("/sys/fs/cgroup/cpuset"), f)).unwrap();
        }
    }
    let mut b = bundle_with(&rt, &id, json!({"pids": {"limit": 9}}));
    b.probe(&[]);
    rt.run(&id, &b).assert_ok("run in a joined cgroup");
    assert_eq!(read(&v1_dir("pids", &path), "pids.max"), "9");
    let left = cgroup_dirs(&path);
    for dir in &left {
        std::fs::remove_dir(dir).unwrap();
    }
    assert!(
        left.contains(&v1_dir("pids", &path)),
        "a joined cgroup was removed: {left:?}"
    );
}

/// Mount points of the hierarchies under /sys/fs/cgroup.
fn cgroup_mount_dirs() -> Vec<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    mounts
        .lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let mp = pre.split(' ').nth(4)?;
            (post.starts_with("cgroup") && mp.starts_with("/sys/fs/cgroup/"))
                .then(|| PathBuf::from(mp))
        })
        .collect()
}

fn v2_view_available() -> bool {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    mounts.lines().any(|l| {
        l.split_once(" - ").is_some_and(|(pre, post)| {
            post.starts_with("cgroup2 ")
                && pre
                    .split(' ')
                    .nth(4)
                    .is_some_and(|mp| mp.starts_with("/sys/fs/cgroup"))
        })
    })
}

#[test]
fn without_clone3_the_init_still_joins_every_cgroup() {
    if !is_hull() {
        skip!("the clone3 fallback is hull's");
    }
    let rt = Runtime::new();
    let id = rt.new_id();
    let path = cg_path(&id);
    let mut b = bundle_with(&rt, &id, json!({"pids": {"limit": 20}}));
    b.probe(&[]);
    rt.track(&id);
    let out = rt.cmd_without_syscalls(
        &[libc::SYS_clone3],
        &["--debug", "run", "--bundle", b.dir.to_str().unwrap(), &id],
    );
    out.assert_ok("run without clone3");
    // The fallback ran (a host without a cgroup2 hierarchy never clones into one).
    if v2_view_available() {
        out.assert_stderr_contains("clone3 is not available");
    }
    let report = out.json();
    let lines: Vec<&str> = report["cgroup"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    // Every hierarchy, the cgroup2 one (joined through cgroup.procs here) too.
    for line in &lines {
        let own = line.splitn(3, ':').nth(2).unwrap();
        assert!(
            own.ends_with(&path),
            "{line} is not the container's cgroup: {lines:?}"
        );
    }
    assert_no_cgroup(&path);
}

#[test]
fn exec_into_a_sub_cgroup() {
    needs_v1!(&["pids"]);
    let rt = Runtime::new();
    let id = rt.new_id();
    let path = cg_path(&id);
    let mut b = bundle_with(&rt, &id, json!({"pids": {"limit": 100}}));
    b.probe(&["sleep-forever"]);
    rt.create_running(&id, &b);
    let sub = v1_dir("pids", &path).join("sub");
    std::fs::create_dir(&sub).unwrap();
    // Only the pids hierarchy has the sub-cgroup: the others stay the
    // container's own.
    let out = rt.cmd(&["exec", "--cgroup", "pids:sub", &id, "/bin/probe"]);
    out.assert_ok("exec --cgroup pids:sub");
    let lines: Vec<String> = out.json()["cgroup"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    let pids_line = lines.iter().find(|l| l.split(':').nth(1) == Some("pids"));
    assert!(
        pids_line.is_some_and(|l| l.ends_with(&format!("{path}/sub"))),
        "{lines:?}"
    );
    let memory_line = lines.iter().find(|l| l.split(':').nth(1) == Some("memory"));
    if let Some(line) = memory_line {
        assert!(line.ends_with(&path), "{line}");
    }
    if is_hull() {
        for (value, message) in [
            ("pids:../escape", "without \"..\""),
            ("pids:missing", "is not a cgroup"),
            ("nosuchcontroller:sub", "no cgroup hierarchy"),
        ] {
            rt.cmd(&["exec", "--cgroup", value, &id, "/bin/true"])
                .assert_failed(value)
                .assert_stderr_contains(message);
        }
    }
    // The exec'd probe is gone: its sub-cgroup can go before the container.
    std::fs::remove_dir(&sub).unwrap();
    rt.delete_force(&id).assert_ok("delete --force");
    assert_no_cgroup(&path);
}

/// The first whole block device's "major:minor" (/sys/block/*/dev).
fn a_block_device() -> Option<String> {
    let mut devs: Vec<String> = std::fs::read_dir("/sys/block")
        .ok()?
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with("loop"))
        .filter_map(|e| std::fs::read_to_string(e.path().join("dev")).ok())
        .map(|d| d.trim().to_string())
        .collect();
    devs.sort();
    devs.into_iter().next()
}

/// `update -r` with per-device I/O limits (runc 1.3.3/1.4 learned them):
/// each device's value is set, and a later update of one device leaves
/// the others' as they were.
#[test]
fn update_sets_per_device_io_limits() {
    needs_v1!(&["blkio"]);
    if !is_hull() {
        skip!("runc 1.1.5's update ignores per-device blockIO (runc 1.3.3 and 1.4 apply it)");
    }
    let Some(dev) = a_block_device() else {
        skip!("no block device in /sys/block");
    };
    let (major, minor) = dev.split_once(':').unwrap();
    let (major, minor): (i64, i64) = (major.parse().unwrap(), minor.parse().unwrap());
    let rt = Runtime::new();
    let id = rt.new_id();
    let path = cg_path(&id);
    let mut b = bundle_with(&rt, &id, json!({}));
    b.probe(&["sleep-forever"]);
    rt.create_ok(&id, &b);
    let update = |resources: Value| {
        let file = rt.host_dir("blkio").join(format!("{}.json", rt.new_id()));
        std::fs::write(&file, resources.to_string()).unwrap();
        rt.cmd(&["update", "-r", file.to_str().unwrap(), &id])
            .assert_ok("update -r with per-device limits");
    };
    let dev_limit = |rate| json!([{"major": major, "minor": minor, "rate": rate}]);
    update(json!({"blockIO": {"throttleReadIOPSDevice": dev_limit(100),
        "throttleWriteBpsDevice": dev_limit(1048576)}}));
    let blkio = v1_dir("blkio", &path);
    assert_eq!(
        read(&blkio, "blkio.throttle.read_iops_device").trim(),
        format!("{dev} 100")
    );
    assert_eq!(
        read(&blkio, "blkio.throttle.write_bps_device").trim(),
        format!("{dev} 1048576")
    );
    update(json!({"blockIO": {"throttleReadIOPSDevice": dev_limit(200)}}));
    assert_eq!(
        read(&blkio, "blkio.throttle.read_iops_device").trim(),
        format!("{dev} 200")
    );
    assert_eq!(
        read(&blkio, "blkio.throttle.write_bps_device").trim(),
        format!("{dev} 1048576")
    );
    rt.delete_force(&id).assert_ok("delete --force");
    assert_no_cgroup(&path);
}
