//! The process's kernel attributes, read back from inside the container:
//! `linux.personality`, `process.ioPriority`, `process.scheduler`,
//! `process.execCPUAffinity` (exec only), and the LSM fields refused on a
//! host without AppArmor or SELinux.

mod common;

use common::*;
use serde_json::{json, Value};

/// Field `n` (1-based, as in proc(5)) of /proc/self/stat read by the probe.
fn stat_field(read: &Value, n: usize) -> i64 {
    let text = read["content"].as_str().expect("stat content");
    // Fields after the command name (which may hold spaces) start at 3.
    let rest = &text[text.rfind(')').unwrap() + 2..];
    rest.split_whitespace().nth(n - 3).unwrap().parse().unwrap()
}

fn sched_policy(read: &Value) -> i64 {
    let text = read["content"].as_str().expect("sched content");
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == "policy").then(|| v.trim().parse().unwrap())
        })
        .expect("policy in /proc/self/sched")
}

#[test]
fn personality_linux32() {
    if !is_hull() {
        skip!("runc 1.1 does not apply linux.personality");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.set("/linux/personality", json!({"domain": "LINUX32"}));
    let res = rt.probe(&mut bundle, &["personality", "0xffffffff"]);
    assert_eq!(res[0]["previous"], 8, "PER_LINUX32: {}", res[0]);
    let mut bundle = rt.bundle();
    bundle.set("/linux/personality", json!({"domain": "LINUX"}));
    let res = rt.probe(&mut bundle, &["personality", "0xffffffff"]);
    assert_eq!(res[0]["previous"], 0, "PER_LINUX: {}", res[0]);
}

#[test]
fn io_priority_is_set() {
    if !is_hull() {
        skip!("runc 1.1 predates process.ioPriority");
    }
    let rt = Runtime::new();
    for (class, nr, level) in [
        ("IOPRIO_CLASS_BE", 2, 7),
        ("IOPRIO_CLASS_IDLE", 3, 0),
        ("IOPRIO_CLASS_RT", 1, 3),
    ] {
        let mut bundle = rt.bundle();
        bundle.set(
            "/process/ioPriority",
            json!({"class": class, "priority": level}),
        );
        let res = rt.probe(&mut bundle, &["ioprio"]);
        assert_eq!(res[0]["class"], nr, "{class}: {}", res[0]);
        assert_eq!(res[0]["level"], level, "{class}: {}", res[0]);
    }
}

#[test]
fn scheduler_policy_and_nice() {
    if !is_hull() {
        skip!("runc 1.1 predates process.scheduler");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.set(
        "/process/scheduler",
        json!({"policy": "SCHED_BATCH", "nice": 5}),
    );
    let res = rt.probe(
        &mut bundle,
        &["read", "/proc/self/sched", "--", "read", "/proc/self/stat"],
    );
    assert_eq!(sched_policy(&res[0]), libc::SCHED_BATCH as i64);
    assert_eq!(stat_field(&res[1], 19), 5, "nice");
    let mut bundle = rt.bundle();
    bundle.set("/process/scheduler", json!({"policy": "SCHED_IDLE"}));
    let res = rt.probe(&mut bundle, &["read", "/proc/self/sched"]);
    assert_eq!(sched_policy(&res[0]), libc::SCHED_IDLE as i64);
}

fn online_cpus() -> Vec<usize> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap();
    let mut cpus = Vec::new();
    for part in text.trim().split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        cpus.extend(a.parse::<usize>().unwrap()..=b.parse::<usize>().unwrap());
    }
    cpus
}

fn cpus_allowed(report_status: &Value) -> String {
    report_status["content"]
        .as_str()
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn exec_cpu_affinity_initial_then_final() {
    if !is_hull() {
        skip!("runc 1.1 predates process.execCPUAffinity");
    }
    let rt = Runtime::new();
    let cpus = online_cpus();
    let first = cpus[0].to_string();
    let last = cpus[cpus.len() - 1].to_string();
    let mut bundle = rt.bundle();
    bundle.probe(&["sleep-forever"]);
    let id = rt.new_id();
    rt.create_running(&id, &bundle);
    let exec_with = |affinity: Value| -> String {
        let process = json!({
            "args": ["/bin/probe", "read", "/proc/self/status"],
            "cwd": "/", "user": {"uid": 0, "gid": 0},
            "env": ["PATH=/bin"],
            "execCPUAffinity": affinity,
        });
        let file = rt.work.join(format!("process-{}.json", rt.new_id()));
        std::fs::write(&file, process.to_string()).unwrap();
        let out = rt.cmd(&["exec", "--process", file.to_str().unwrap(), &id]);
        out.assert_ok("exec with execCPUAffinity");
        cpus_allowed(&out.json())
    };
    assert_eq!(exec_with(json!({"initial": first, "final": last})), last);
    assert_eq!(
        exec_with(json!({"initial": last})),
        last,
        "initial stays without final"
    );
    // The init is left alone (the spec's rule).
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}

#[test]
fn apparmor_profile_without_apparmor_is_refused() {
    let enabled = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|v| v.starts_with('Y'));
    if enabled {
        skip!("needs a host without AppArmor");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.set("/process/apparmorProfile", json!("hull-test-profile"));
    let out = rt.create(&rt.new_id(), &bundle);
    out.assert_failed("apparmorProfile on a host without AppArmor");
    if is_hull() {
        out.assert_stderr_contains(
            "process.apparmorProfile \"hull-test-profile\": AppArmor is not enabled",
        );
    }
    rt.assert_nothing_left();
}

#[test]
fn selinux_labels_without_selinux_are_refused() {
    if std::path::Path::new("/sys/fs/selinux/enforce").exists() {
        skip!("needs a host without SELinux");
    }
    for (pointer, label, field) in [
        (
            "/process/selinuxLabel",
            "system_u:system_r:container_t:s0",
            "process.selinuxLabel",
        ),
        (
            "/linux/mountLabel",
            "system_u:object_r:container_file_t:s0",
            "linux.mountLabel",
        ),
    ] {
        let rt = Runtime::new();
        let mut bundle = rt.bundle();
        bundle.set(pointer, json!(label));
        let out = rt.create(&rt.new_id(), &bundle);
        out.assert_failed(field);
        if is_hull() {
            out.assert_stderr_contains(&format!("{field} {label:?}: SELinux is not enabled"));
        }
        rt.assert_nothing_left();
    }
}

#[test]
fn bad_values_are_refused() {
    if !is_hull() {
        skip!("runc 1.1 does not know most of these fields");
    }
    let cases: [(&str, Value, &str); 6] = [
        (
            "/process/ioPriority",
            json!({"class": "IOPRIO_CLASS_BE", "priority": 9}),
            "process.ioPriority.priority 9",
        ),
        (
            "/process/scheduler",
            json!({"policy": "SCHED_OTHER", "nice": 40}),
            "process.scheduler.nice 40",
        ),
        (
            "/process/scheduler",
            json!({"policy": "SCHED_RR"}),
            "process.scheduler.priority 0",
        ),
        (
            "/process/execCPUAffinity",
            json!({"initial": "3-1"}),
            "process.execCPUAffinity.initial \"3-1\"",
        ),
        (
            "/linux/personality",
            json!({"domain": "LINUX", "flags": ["FOO"]}),
            "linux.personality.flags",
        ),
        (
            "/linux/personality",
            json!({"domain": "LINUX64"}),
            "linux.personality.domain",
        ),
    ];
    for (pointer, value, want) in cases {
        let rt = Runtime::new();
        let mut bundle = rt.bundle();
        bundle.set(pointer, value);
        let out = rt.create(&rt.new_id(), &bundle);
        out.assert_failed(want);
        out.assert_stderr_contains(want);
        rt.assert_nothing_left();
    }
}

/// linux.memoryPolicy (runtime-spec 1.3), read back with get_mempolicy(2)
/// from inside; this host has one NUMA node (0).
#[test]
fn memory_policy_is_set() {
    if !is_hull() {
        skip!("runc 1.1 predates linux.memoryPolicy (runtime-spec 1.3)");
    }
    let rt = Runtime::new();
    for (policy, mode, flags, nodes) in [
        (json!({"mode": "MPOL_BIND", "nodes": "0"}), 2, 0, json!([0])),
        (
            json!({"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}),
            3,
            1 << 15,
            json!([0]),
        ),
        (
            json!({"mode": "MPOL_PREFERRED", "nodes": "0"}),
            1,
            0,
            json!([0]),
        ),
        (json!({"mode": "MPOL_LOCAL"}), 4, 0, json!([])),
    ] {
        let mut bundle = rt.bundle();
        bundle.set("/linux/memoryPolicy", policy.clone());
        let res = rt.probe(&mut bundle, &["mempolicy"]);
        assert_eq!(res[0]["ok"], true, "{policy}: {}", res[0]);
        assert_eq!(res[0]["mode"], mode, "{policy}: {}", res[0]);
        assert_eq!(res[0]["flags"], flags, "{policy}: {}", res[0]);
        if mode != 4 {
            assert_eq!(res[0]["nodes"], nodes, "{policy}: {}", res[0]);
        }
    }
    // Without the field the policy is the default (0).
    let mut bundle = rt.bundle();
    let res = rt.probe(&mut bundle, &["mempolicy"]);
    assert_eq!(res[0]["mode"], 0, "{}", res[0]);
}

/// An exec'd process is not the init's child: it gets the container's
/// policy from the state, as the init did.
#[test]
fn memory_policy_holds_for_exec() {
    if !is_hull() {
        skip!("runc 1.1 predates linux.memoryPolicy (runtime-spec 1.3)");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.set(
        "/linux/memoryPolicy",
        json!({"mode": "MPOL_INTERLEAVE", "nodes": "0"}),
    );
    bundle.probe(&["sleep-forever"]);
    let id = rt.new_id();
    rt.create_running(&id, &bundle);
    let out = rt.cmd(&["exec", &id, "/bin/probe", "mempolicy"]);
    out.assert_ok("exec in a container with memoryPolicy");
    let res = out.json();
    assert_eq!(res["ok"], true, "{res}");
    assert_eq!(res["mode"], 3, "{res}");
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}

/// A node the host does not have is refused at create, naming the field and
/// the nodes there are; nothing is left behind.
#[test]
fn memory_policy_with_a_missing_node_is_refused() {
    if !is_hull() {
        skip!("runc 1.1 predates linux.memoryPolicy (runtime-spec 1.3)");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.set(
        "/linux/memoryPolicy",
        json!({"mode": "MPOL_BIND", "nodes": "7"}),
    );
    bundle.shell("true");
    let id = rt.new_id();
    rt.run(&id, &bundle)
        .assert_failed("run with memoryPolicy node 7")
        .assert_stderr_contains(
            "linux.memoryPolicy.nodes \"7\": node 7 is not online on this host",
        );
    rt.assert_nothing_left();
}

/// The probe's report from `run` of `bundle` by a runtime whose own
/// supplementary groups are `groups`.
fn report_run_with_groups(rt: &Runtime, bundle: &mut Bundle, groups: &'static [u32]) -> Value {
    use std::os::unix::process::CommandExt;
    bundle.probe(&[]);
    let id = rt.new_id();
    rt.track(&id);
    let dir = bundle.dir.to_str().unwrap().to_string();
    let out = rt
        .spawn_configured(None, &["run", "--bundle", &dir, &id], |cmd| {
            // SAFETY: setgroups is async-signal-safe; nothing else runs
            // between fork and exec here.
            unsafe {
                cmd.pre_exec(move || {
                    let gids: Vec<libc::gid_t> = groups.to_vec();
                    match libc::setgroups(gids.len(), gids.as_ptr()) {
                        0 => Ok(()),
                        _ => Err(std::io::Error::last_os_error()),
                    }
                });
            }
        })
        .wait(std::time::Duration::from_secs(20));
    out.assert_ok("run probe with the caller's groups");
    out.json()
}

/// crun's `run.oci.keep_original_groups` annotation: the process keeps the
/// supplementary groups of whoever ran the runtime; without it they are
/// process.user.additionalGids (here none).
#[test]
fn keep_original_groups_keeps_the_callers_groups() {
    if !is_hull() {
        skip!("run.oci.keep_original_groups is crun's; runc 1.1.5 does not have it");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.set("/process/user/additionalGids", json!([]));
    let plain = report_run_with_groups(&rt, &mut bundle, &[4242, 4343]);
    assert_eq!(plain["groups"], json!([]), "{plain}");
    bundle.set("/annotations", json!({"run.oci.keep_original_groups": "1"}));
    let kept = report_run_with_groups(&rt, &mut bundle, &[4242, 4343]);
    assert_eq!(kept["groups"], json!([4242, 4343]), "{kept}");
}
