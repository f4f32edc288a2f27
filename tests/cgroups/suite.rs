//! The checks every backend runs: the limit table (checks.rs), and limits
//! that bite (pids.max stops forks, a memory limit OOM-kills and `events`
//! reports it). One `#[test]` per backend; each skip says why.

use super::backend::*;
use super::checks::{Backend, Controller, Need, Step, Want, LIMIT_CHECKS};
use crate::common::*;
use serde_json::{json, Value};
use std::io::BufRead;
use std::path::PathBuf;

/// The backend, or the skip line saying why not and a return.
macro_rules! on_or_skip {
    ($backend:expr, $needs:expr) => {
        match On::with($backend, $needs) {
            Ok(on) => on,
            Err(reason) => skip!("{:?}: {reason}", $backend),
        }
    };
}

fn limit_checks(backend: Backend) {
    let on = on_or_skip!(backend, &[]);
    for check in LIMIT_CHECKS {
        if let Err(reason) = on.supports(check.needs) {
            skip_note!("limit check {:?} on {backend:?}: {reason}", check.name);
            continue;
        }
        run_limit_check(&on, check);
    }
}

fn run_limit_check(on: &On, check: &super::checks::LimitCheck) {
    let rt = &on.rt;
    let id = rt.new_id();
    let path = cg_path(&id);
    let resources: Value = serde_json::from_str(check.resources).unwrap();
    let mut b = on.bundle_with(&id, resources);
    b.probe(&["sleep-forever"]);
    rt.create_running(&id, &b);
    let version = on.backend.version();
    for (i, step) in check.steps.iter().enumerate() {
        let at = format!("{} step {i} on {:?}", check.name, on.backend);
        match step {
            Step::Expect(list) => {
                for expect in list.iter().filter(|e| e.version == version) {
                    let file = on.limit_file(&path, expect.file);
                    if let Some(feature) = expect.only_with {
                        if !file.exists() {
                            skip_note!("{at}: {} ({feature:?}): not in {file:?}", expect.file);
                            continue;
                        }
                    }
                    let got = read(file.parent().unwrap(), expect.file);
                    match expect.want {
                        Want::Is(want) => assert_eq!(got, want, "{at}: {file:?}"),
                        Want::Above(n) => assert!(
                            got.parse::<u64>().is_ok_and(|v| v > n),
                            "{at}: {file:?} is {got:?}, not above {n}"
                        ),
                    }
                }
            }
            Step::Update(args) => {
                let mut cmd = vec!["update"];
                cmd.extend_from_slice(args);
                cmd.push(&id);
                rt.cmd(&cmd).assert_ok(&format!("{at}: update"));
            }
            Step::UpdateResources(json) => {
                let file = rt.work.join(format!("resources-{}-{i}.json", check.name));
                std::fs::write(&file, json).unwrap();
                rt.cmd(&["update", "-r", file.to_str().unwrap(), &id])
                    .assert_ok(&format!("{at}: update -r"));
            }
            Step::UpdateRefused(args, message) => {
                let mut cmd = vec!["update"];
                cmd.extend_from_slice(args);
                cmd.push(&id);
                let out = rt.cmd(&cmd);
                out.assert_failed(&format!("{at}: update {args:?}"));
                if let Some(message) = message {
                    if is_hull() {
                        out.assert_stderr_contains(message);
                    } else {
                        skip_note!("{at}: the message {message:?} is hull's");
                    }
                }
            }
        }
    }
    rt.delete_force(&id).assert_ok("delete --force");
    on.assert_no_cgroup(&path);
}

#[test]
fn limits_on_host_v1() {
    limit_checks(Backend::HostV1);
}

#[test]
fn limits_on_v2_view() {
    limit_checks(Backend::V2View);
}

fn pids_limit_stops_forks(backend: Backend) {
    let on = on_or_skip!(backend, &[Need::Controller(Controller::Pids)]);
    let rt = &on.rt;
    let id = rt.new_id();
    let mut b = on.bundle_with(&id, json!({"pids": {"limit": 4}}));
    // sh + 3 sleeps fill the limit; the 4th and later forks fail.
    b.shell("for i in 1 2 3 4 5 6; do sleep 30 & done; exit 0");
    let out = rt.run(&id, &b);
    assert!(
        out.stderr.contains("fork") || out.stderr.contains("Resource temporarily unavailable"),
        "no fork failed under pids.limit 4 on {backend:?}: {out:?}"
    );
    on.assert_no_cgroup(&cg_path(&id));
}

/// runtime-spec 1.3: a pids.limit of 0 is a limit (pids.max 0: the init
/// runs, nothing more starts), not "unset"; -1 is none.
fn pids_limit_zero_is_a_limit(backend: Backend) {
    let on = on_or_skip!(backend, &[Need::Controller(Controller::Pids)]);
    let rt = &on.rt;
    if !is_hull() {
        skip!("runc 1.1.5 takes pids.limit 0 as unset (runc 1.4 follows runtime-spec 1.3)");
    }
    let id = rt.new_id();
    let mut b = on.bundle_with(&id, json!({"pids": {"limit": 0}}));
    // Builtins only, but for the one program that must not start.
    b.shell("read m < /sys/fs/cgroup/pids/pids.max || read m < /sys/fs/cgroup/pids.max; echo $m; /bin/true && echo forked");
    let out = rt.run(&id, &b);
    assert_eq!(out.stdout.lines().next(), Some("0"), "{out:?}");
    assert!(
        !out.stdout.contains("forked"),
        "a process started under pids.limit 0: {out:?}"
    );
    assert!(out.stderr.contains("fork"), "{out:?}");
    on.assert_no_cgroup(&cg_path(&id));
}

#[test]
fn pids_limit_zero_is_a_limit_on_host_v1() {
    pids_limit_zero_is_a_limit(Backend::HostV1);
}

#[test]
fn pids_limit_stops_forks_on_host_v1() {
    pids_limit_stops_forks(Backend::HostV1);
}

#[test]
fn pids_limit_stops_forks_on_v2_view() {
    pids_limit_stops_forks(Backend::V2View);
}

fn memory_limit_oom_kills_and_events_report_it(backend: Backend) {
    let on = on_or_skip!(backend, &[Need::Controller(Controller::Memory)]);
    let rt = &on.rt;
    let id = rt.new_id();
    let path = cg_path(&id);
    let watch = OomWatch::start(&on, &id);
    let first = &watch.first;
    assert_eq!(first["type"], "stats", "{first}");
    if backend == Backend::HostV1 {
        assert_eq!(first["id"], id.as_str());
        assert_eq!(
            first["data"]["memory"]["usage"]["limit"], 16777216,
            "{first}"
        );
    }
    assert!(watch.saw_oom(), "events never reported an oom");
    if backend == Backend::HostV1 {
        let oom = read(&on.dir("memory", &path), "memory.oom_control");
        assert!(!oom.contains("oom_kill 0"), "{oom}");
        // The init survived: only the child was killed.
        assert_eq!(rt.state(&id)["status"], "running");
    }
    rt.delete_force(&id).assert_ok("delete --force");
    on.assert_no_cgroup(&path);
}

#[test]
fn memory_limit_oom_kills_and_events_report_it_on_host_v1() {
    memory_limit_oom_kills_and_events_report_it(Backend::HostV1);
}

#[test]
fn memory_limit_oom_kills_and_events_report_it_on_v2_view() {
    memory_limit_oom_kills_and_events_report_it(Backend::V2View);
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
    fn start(on: &On, id: &str) -> OomWatch {
        let rt = &on.rt;
        let trigger = rt.host_dir("trigger");
        let mut b = on.bundle_with(id, json!({"memory": {"limit": 16777216, "swap": 16777216}}));
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

/// The table itself: unique names, resources that parse, fields the VM's
/// tab-split reader keeps whole, and no check that a backend of its cgroup
/// version would run without reading a single file.
#[test]
fn the_limit_table_is_well_formed() {
    use super::checks::{Feature, Version};
    let mut names = std::collections::BTreeSet::new();
    for check in LIMIT_CHECKS {
        assert!(names.insert(check.name), "two checks named {}", check.name);
        assert!(
            !check.name.contains(char::is_whitespace),
            "{}: a name is one word",
            check.name
        );
        serde_json::from_str::<Value>(check.resources)
            .unwrap_or_else(|e| panic!("{}: resources: {e}", check.name));
        let v2_only = check.needs.contains(&Need::Feature(Feature::Unified));
        for version in [Version::V1, Version::V2] {
            if version == Version::V1 && v2_only {
                continue;
            }
            let reads = check.steps.iter().any(|step| {
                matches!(step, Step::Expect(list)
                    if list.iter().any(|e| e.version == version && e.only_with.is_none()))
            });
            assert!(reads, "{}: nothing is read back on {version:?}", check.name);
        }
    }
    let (table, required, _) = super::checks::vm_table();
    for line in table.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        assert!(
            fields.iter().all(|f| !f.is_empty()) && fields.len() <= 5,
            "a VM record the shell cannot read: {line:?}"
        );
    }
    let unique: std::collections::BTreeSet<&String> = required.iter().collect();
    assert_eq!(unique.len(), required.len(), "one VM result name twice");
}
