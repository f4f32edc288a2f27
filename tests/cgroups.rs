//! Cgroups on this host: v1 limits written and read back, limits that bite,
//! pause/resume, update, ps, kill --all, delete, and the "v2 view" (a private
//! mount namespace where /sys/fs/cgroup is the host's cgroup2 hierarchy).

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Whether `controller` has a cgroup v1 hierarchy at /sys/fs/cgroup/NAME.
fn has_v1(controller: &str) -> bool {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    mounts.lines().any(|l| {
        let Some((pre, post)) = l.split_once(" - ") else {
            return false;
        };
        pre.split(' ').nth(4) == Some(&format!("/sys/fs/cgroup/{controller}"))
            && post.starts_with("cgroup ")
    })
}

/// The cgroup path a test uses: named after the container id, so the
/// runtime guard also reports it when left behind.
fn cg_path(id: &str) -> String {
    format!("/hull-test-{id}")
}

fn v1_dir(controller: &str, path: &str) -> PathBuf {
    Path::new("/sys/fs/cgroup")
        .join(controller)
        .join(path.trim_start_matches('/'))
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("read {:?}: {e}", dir.join(file)))
        .trim()
        .to_string()
}

/// Every directory of `path` in any hierarchy (there must be none after delete).
fn cgroup_dirs(path: &str) -> Vec<PathBuf> {
    std::fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join(path.trim_start_matches('/')))
        .filter(|p| p.is_dir())
        .collect()
}

#[track_caller]
fn assert_no_cgroup(path: &str) {
    let left = cgroup_dirs(path);
    for dir in &left {
        // Ours (named after this test's id): removed so nothing outlives it.
        let _ = std::fs::remove_dir(dir);
    }
    assert!(left.is_empty(), "cgroup dirs left behind: {left:?}");
}

/// A bundle with `resources` and a cgroupsPath of its own.
fn bundle_with(rt: &Runtime, id: &str, resources: Value) -> Bundle {
    let mut b = rt.bundle();
    b.set("/linux/cgroupsPath", json!(cg_path(id)));
    b.set("/linux/resources", resources);
    b
}

fn needs_v1(controllers: &[&str]) -> bool {
    let missing: Vec<&&str> = controllers.iter().filter(|c| !has_v1(c)).collect();
    if !missing.is_empty() {
        eprintln!("skipped: needs cgroup v1 hierarchies for {missing:?}");
        return false;
    }
    true
}

#[test]
fn v1_limits_are_written() {
    if !needs_v1(&["memory", "cpu", "pids", "cpuset"]) {
        return;
    }
    let rt = Runtime::new();
    let id = rt.new_id();
    let path = cg_path(&id);
    let mut b = bundle_with(
        &rt,
        &id,
        json!({
            "memory": {"limit": 67108864, "reservation": 33554432},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
            "pids": {"limit": 42}
        }),
    );
    b.probe(&["sleep-forever"]);
    rt.create_ok(&id, &b);
    let mem = v1_dir("memory", &path);
    assert_eq!(read(&mem, "memory.limit_in_bytes"), "67108864");
    assert_eq!(read(&mem, "memory.soft_limit_in_bytes"), "33554432");
    let cpu = v1_dir("cpu", &path);
    assert_eq!(read(&cpu, "cpu.shares"), "512");
    assert_eq!(read(&cpu, "cpu.cfs_quota_us"), "50000");
    assert_eq!(read(&cpu, "cpu.cfs_period_us"), "100000");
    assert_eq!(read(&v1_dir("pids", &path), "pids.max"), "42");
    assert_eq!(read(&v1_dir("cpuset", &path), "cpuset.cpus"), "0");
    // The init is in every hierarchy's cgroup before it runs.
    let pid = rt.state(&id)["pid"].as_i64().unwrap().to_string();
    for ctrl in ["memory", "cpu", "pids", "cpuset", "freezer", "devices"] {
        if has_v1(ctrl) {
            let procs = read(&v1_dir(ctrl, &path), "cgroup.procs");
            assert!(
                procs.lines().any(|l| l == pid),
                "{ctrl}: {procs:?} lacks {pid}"
            );
        }
    }
    if has_v1("devices") {
        let list = read(&v1_dir("devices", &path), "devices.list");
        assert!(list.lines().any(|l| l == "c 1:3 rwm"), "{list}");
        assert!(!list.lines().any(|l| l == "a *:* rwm"), "{list}");
    }
    rt.delete(&id).assert_ok("delete");
    assert_no_cgroup(&path);
}

#[test]
fn the_process_sees_its_cgroup() {
    if !needs_v1(&["memory"]) {
        return;
    }
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
    if !needs_v1(&["memory"]) {
        return;
    }
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

#[test]
fn pids_limit_stops_forks() {
    if !needs_v1(&["pids"]) {
        return;
    }
    let rt = Runtime::new();
    let id = rt.new_id();
    let mut b = bundle_with(&rt, &id, json!({"pids": {"limit": 4}}));
    // sh + 3 sleeps fill the limit; the 4th and later forks fail.
    b.shell("for i in 1 2 3 4 5 6; do sleep 30 & done; exit 0");
    let out = rt.run(&id, &b);
    assert!(
        out.stderr.contains("fork") || out.stderr.contains("Resource temporarily unavailable"),
        "no fork failed under pids.limit 4: {out:?}"
    );
    assert_no_cgroup(&cg_path(&id));
}

#[test]
fn memory_limit_oom_kills_and_events_report_it() {
    if !needs_v1(&["memory"]) {
        return;
    }
    let rt = Runtime::new();
    let id = rt.new_id();
    let path = cg_path(&id);
    let watch = OomWatch::start(&rt, &id);
    let first = &watch.first;
    assert_eq!(first["type"], "stats", "{first}");
    assert_eq!(first["id"], id.as_str());
    assert_eq!(
        first["data"]["memory"]["usage"]["limit"], 16777216,
        "{first}"
    );
    assert!(watch.saw_oom(), "events never reported an oom");
    let oom = read(&v1_dir("memory", &path), "memory.oom_control");
    assert!(!oom.contains("oom_kill 0"), "{oom}");
    // The init survived: only the child was killed.
    assert_eq!(rt.state(&id)["status"], "running");
    rt.delete_force(&id).assert_ok("delete --force");
    assert_no_cgroup(&path);
}

/// A running container (memory limit 16 MiB) whose child grows a string
/// past the limit once /trigger/go exists, the init staying alive, and
/// `events --interval 50ms` watching it from its first stats event on.
struct OomWatch {
    trigger: PathBuf,
    events: std::process::Child,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
    first: Value,
}

impl OomWatch {
    fn start(rt: &Runtime, id: &str) -> OomWatch {
        let trigger = rt.host_dir("trigger");
        let mut b = bundle_with(
            rt,
            id,
            json!({"memory": {"limit": 16777216, "swap": 16777216}}),
        );
        b.add_mount(json!({"destination": "/trigger", "type": "bind",
            "source": trigger.to_str().unwrap(), "options": ["rbind", "rw"]}));
        b.shell("(while [ ! -e /trigger/go ]; do sleep 0.05; done; s=a; while :; do s=$s$s; done) & exec sleep 1000");
        rt.create_running(id, &b);
        let mut events = std::process::Command::new(&rt.bin)
            .arg("--root")
            .arg(&rt.root)
            .args(["events", "--interval", "50ms", id])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(events.stdout.take().unwrap()).lines();
        let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        OomWatch {
            trigger,
            events,
            lines,
            first,
        }
    }

    /// Set the hog going; whether `events` reported an oom (bounded).
    fn saw_oom(mut self) -> bool {
        std::fs::write(self.trigger.join("go"), "").unwrap();
        let saw = self
            .lines
            .by_ref()
            .take(2000)
            .any(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap()["type"] == "oom");
        let _ = self.events.kill();
        let _ = self.events.wait();
        saw
    }
}

/// The number a looping container writes to /out/count.
fn counter(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join("count"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

#[track_caller]
fn wait_counter_past(dir: &Path, after: u64) -> u64 {
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

fn counting_bundle(rt: &Runtime, id: &str, out: &Path) -> Bundle {
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
    if !needs_v1(&["freezer"]) {
        return;
    }
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
    if !needs_v1(&["freezer"]) {
        return;
    }
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
    if !needs_v1(&["freezer"]) {
        return;
    }
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
fn update_rewrites_the_limits() {
    if !needs_v1(&["memory", "cpu", "pids"]) {
        return;
    }
    let rt = Runtime::new();
    let id = rt.new_id();
    let path = cg_path(&id);
    let mut b = bundle_with(
        &rt,
        &id,
        json!({"memory": {"limit": 67108864}, "pids": {"limit": 50}}),
    );
    b.probe(&["sleep-forever"]);
    rt.create_running(&id, &b);
    rt.cmd(&[
        "update",
        "--memory",
        "32m",
        "--memory-swap",
        "64m",
        "--pids-limit",
        "7",
        "--cpu-share",
        "256",
        "--cpu-quota",
        "30000",
        "--cpu-period",
        "100000",
        &id,
    ])
    .assert_ok("update");
    let mem = v1_dir("memory", &path);
    assert_eq!(read(&mem, "memory.limit_in_bytes"), "33554432");
    if mem.join("memory.memsw.limit_in_bytes").exists() {
        assert_eq!(read(&mem, "memory.memsw.limit_in_bytes"), "67108864");
    }
    assert_eq!(read(&v1_dir("pids", &path), "pids.max"), "7");
    assert_eq!(read(&v1_dir("cpu", &path), "cpu.shares"), "256");
    assert_eq!(read(&v1_dir("cpu", &path), "cpu.cfs_quota_us"), "30000");
    // LinuxResources JSON, as containerd sends it.
    let file = rt.work.join("resources.json");
    std::fs::write(
        &file,
        r#"{"memory":{"limit":-1,"swap":-1},"pids":{"limit":-1}}"#,
    )
    .unwrap();
    rt.cmd(&["update", "-r", file.to_str().unwrap(), &id])
        .assert_ok("update -r");
    assert_eq!(read(&v1_dir("pids", &path), "pids.max"), "max");
    assert!(read(&mem, "memory.limit_in_bytes").parse::<u64>().unwrap() > 1 << 40);
    // A bad value names the flag's field and changes nothing.
    let out = rt.cmd(&["update", "--cpu-share", "1", &id]);
    out.assert_failed("update with shares 1");
    if is_hull() {
        out.assert_stderr_contains("cpu.shares: 1");
    }
    assert_eq!(read(&v1_dir("cpu", &path), "cpu.shares"), "256");
    rt.cmd(&["update", "--l3-cache-schema", "L3:0=f", &id])
        .assert_failed("update with RDT");
    rt.delete_force(&id).assert_ok("delete --force");
    assert_no_cgroup(&path);
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
    if !needs_v1(&["pids"]) {
        return;
    }
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
    if !needs_v1(&["pids"]) {
        return;
    }
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
    if !needs_v1(&["pids"]) || !is_hull() {
        return;
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

#[path = "cgroups/v2_view.rs"]
mod v2_view;

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
        return;
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
    if !needs_v1(&["pids"]) {
        return;
    }
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
