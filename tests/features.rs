//! `features`: the OCI features document is well formed, and everything it
//! reports is proven by a container that uses it. Engines act on it
//! (containerd enables user namespaces only when they are reported), so a
//! reported feature that does not work is a bug.

mod common;

use common::*;
use serde_json::{json, Value};

fn features(rt: &Runtime) -> Value {
    let out = rt.cmd(&["features"]);
    out.assert_ok("features");
    let doc = out.json();
    // The spec's own schema, as the oci-spec crate models it.
    serde_json::from_value::<oci_spec::runtime::Features>(doc.clone())
        .unwrap_or_else(|e| panic!("features does not match the spec's schema: {e}: {doc}"));
    doc
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn reported_oci_versions_are_accepted() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("runc 1.1.5 has no `features`");
    }
    let doc = features(&rt);
    for key in ["ociVersionMin", "ociVersionMax"] {
        let version = doc[key].as_str().unwrap();
        let mut bundle = rt.bundle();
        bundle.probe(&["exit", "0"]);
        bundle.set("/ociVersion", json!(version));
        rt.run(&rt.new_id(), &bundle)
            .assert_ok(&format!("run with ociVersion {version} ({key})"));
    }
}

#[test]
fn every_reported_hook_runs() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("the features document is hull's (runc 1.1.5 has no `features`)");
    }
    let points = strings(&features(&rt)["hooks"]);
    let host = rt.host_dir("hooks");
    let mut bundle = rt.bundle();
    bundle.readonly_root(false).probe(&["exit", "0"]);
    let mut hooks = serde_json::Map::new();
    for point in &points {
        // startContainer runs inside the container: it writes to its root.
        let dir = if point == "startContainer" {
            bundle.rootfs()
        } else {
            host.clone()
        };
        let script = if point == "startContainer" {
            format!("echo {point} >> /order")
        } else {
            format!("echo {point} >> {}/order", dir.display())
        };
        hooks.insert(
            point.clone(),
            json!([{"path": "/bin/sh", "args": ["sh", "-c", script]}]),
        );
    }
    bundle.set("/hooks", Value::Object(hooks));
    rt.run(&rt.new_id(), &bundle)
        .assert_ok("run with every hook");
    let mut ran: Vec<String> = [host.join("order"), bundle.rootfs().join("order")]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .flat_map(|s| s.lines().map(str::to_string).collect::<Vec<_>>())
        .collect();
    ran.sort();
    let mut want = points.clone();
    want.sort();
    assert_eq!(ran, want, "every reported hook ran once");
}

#[test]
fn every_reported_namespace_is_created() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("the features document is hull's (runc 1.1.5 has no `features`)");
    }
    let kinds = strings(&features(&rt)["linux"]["namespaces"]);
    let mut bundle = rt.bundle();
    if kinds.iter().any(|k| k == "user") {
        bundle.user_namespace(100_000, 65_536);
    }
    let list: Vec<Value> = kinds.iter().map(|k| json!({"type": k})).collect();
    bundle.set("/linux/namespaces", Value::Array(list));
    let report = rt.report(&mut bundle);
    let own = std::process::id() as i32;
    for kind in &kinds {
        let proc_name = match kind.as_str() {
            "network" => "net",
            "mount" => "mnt",
            other => other,
        };
        assert_ne!(
            report["namespaces"][proc_name].as_str(),
            ns_inode(own, proc_name).as_deref(),
            "reported namespace {kind:?} is the host's in the container"
        );
    }
}

/// Options whose effect shows in /proc/self/mountinfo, and how.
fn visible(option: &str) -> Option<(&'static str, bool)> {
    Some(match option {
        "ro" | "rro" => ("ro", true),
        "nosuid" | "rnosuid" => ("nosuid", true),
        "nodev" | "rnodev" => ("nodev", true),
        "noexec" | "rnoexec" => ("noexec", true),
        "noatime" | "rnoatime" => ("noatime", true),
        "nodiratime" | "rnodiratime" => ("nodiratime", true),
        "nosymfollow" | "rnosymfollow" => ("nosymfollow", true),
        "sync" => ("sync", true),
        "dirsync" => ("dirsync", true),
        "rw" => ("ro", false),
        _ => return None,
    })
}

#[test]
fn every_reported_mount_option_is_applied() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("the features document is hull's (runc 1.1.5 has no `features`)");
    }
    let options = strings(&features(&rt)["mountOptions"]);
    let source = rt.host_dir("bind-source");
    for option in &options {
        let mut bundle = rt.bundle();
        let mount = match option.as_str() {
            // A remount acts on what is mounted there already: /proc.
            "remount" => json!({"destination": "/proc", "type": "proc", "source": "proc",
                                "options": ["remount", "nosuid"]}),
            "bind" | "rbind" => json!({"destination": "/mnt", "type": "bind",
                                       "source": source, "options": [option]}),
            "idmap" | "ridmap" => json!({"destination": "/mnt", "type": "bind",
                "source": source, "options": ["rbind", option],
                "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
                "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}),
            _ => json!({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs",
                        "options": [option]}),
        };
        let target = mount["destination"].as_str().unwrap().to_string();
        bundle.edit(|c| c["mounts"].as_array_mut().unwrap().push(mount));
        let report = rt.report(&mut bundle);
        let m = find_mount(&report, &target)
            .unwrap_or_else(|| panic!("option {option:?}: nothing mounted on {target}"));
        if let Some((flag, present)) = visible(option) {
            assert_eq!(
                has_option(m, flag),
                present,
                "option {option:?}: {flag} in {m}"
            );
        }
    }
}

#[test]
fn every_reported_capability_can_be_granted() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("the features document is hull's (runc 1.1.5 has no `features`)");
    }
    let names = strings(&features(&rt)["linux"]["capabilities"]);
    let host_bounding = status_caps("CapBnd");
    let mut bundle = rt.bundle();
    let all = json!(names);
    for set in ["bounding", "effective", "permitted"] {
        bundle.set(&format!("/process/capabilities/{set}"), all.clone());
    }
    let report = rt.report(&mut bundle);
    let bounding = u64::from_str_radix(report["capabilities"]["CapBnd"].as_str().unwrap(), 16)
        .expect("CapBnd is hex");
    for name in &names {
        let cap: caps::Capability = name.parse().expect("a capability name");
        let bit = 1u64 << cap.index();
        if host_bounding & bit != 0 {
            assert_ne!(bounding & bit, 0, "{name} was reported but not granted");
        }
    }
}

/// A capability mask of this (host) process from /proc/self/status.
fn status_caps(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap();
    u64::from_str_radix(line.trim(), 16).unwrap()
}

#[test]
fn id_mapped_mounts_work_exactly_when_reported() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("the features document is hull's (runc 1.1.5 has no `features`)");
    }
    let linux = &features(&rt)["linux"];
    let idmap = linux["mountExtensions"]["idmap"]["enabled"]
        .as_bool()
        .unwrap();
    let mut bundle = rt.bundle();
    bundle.probe(&["exit", "0"]);
    let source = rt.host_dir("idmap-source");
    bundle.edit(|c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/mnt", "type": "bind", "source": source,
            "options": ["rbind", "idmap"],
            "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
            "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        }))
    });
    assert_eq!(rt.run(&rt.new_id(), &bundle).success(), idmap);
}

/// A rule of `action` on a syscall the probe never makes (acct).
fn seccomp_profile(action: &str, listener: Option<&std::path::Path>) -> Value {
    let mut rule = json!({"names": ["acct"], "action": action});
    if action == "SCMP_ACT_ERRNO" {
        rule["errnoRet"] = json!(1);
    }
    let mut profile = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]});
    if let Some(path) = listener {
        profile["listenerPath"] = json!(path);
    }
    profile
}

#[test]
fn every_reported_seccomp_action_operator_arch_and_flag_loads() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("the features document is hull's (runc 1.1.5 has no `features`)");
    }
    let seccomp = features(&rt)["linux"]["seccomp"].clone();
    if seccomp["enabled"] != true {
        skip!("features reports seccomp disabled (built without libseccomp)");
    }
    let run = |profile: Value, what: &str| {
        let mut bundle = rt.bundle();
        bundle.probe(&["exit", "0"]);
        bundle.set("/linux/seccomp", profile);
        rt.run(&rt.new_id(), &bundle).assert_ok(what);
    };
    for action in strings(&seccomp["actions"]) {
        if action == "SCMP_ACT_NOTIFY" {
            // A notifying filter needs its listener during create.
            let listener = Listener::start(&rt, 1, 1);
            run(seccomp_profile(&action, Some(&listener.socket)), &action);
            listener.finish();
        } else {
            run(seccomp_profile(&action, None), &action);
        }
    }
    for op in strings(&seccomp["operators"]) {
        let mut profile = seccomp_profile("SCMP_ACT_ERRNO", None);
        profile["syscalls"][0]["args"] = json!([{"index": 0, "value": 1, "valueTwo": 1, "op": op}]);
        run(profile, &op);
    }
    for arch in strings(&seccomp["archs"]) {
        let mut profile = seccomp_profile("SCMP_ACT_ERRNO", None);
        profile["architectures"] = json!([arch]);
        run(profile, &arch);
    }
    for flag in strings(&seccomp["supportedFlags"]) {
        let mut profile = seccomp_profile("SCMP_ACT_ERRNO", None);
        profile["flags"] = json!([flag]);
        run(profile, &flag);
    }
}

#[test]
fn reported_cgroup_support_runs_a_container_with_limits() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("the features document is hull's (runc 1.1.5 has no `features`)");
    }
    let cgroup = features(&rt)["linux"]["cgroup"].clone();
    let unified = nix::sys::statfs::statfs("/sys/fs/cgroup")
        .is_ok_and(|st| st.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC);
    // This host's own mode must be one reported (the other is proven in
    // the v2 VM and the private cgroup2 view of tests/cgroups).
    let mode = if unified { "v2" } else { "v1" };
    assert_eq!(cgroup[mode], true, "{cgroup}");
    let mut bundle = rt.bundle();
    let id = rt.new_id();
    bundle.set("/linux/cgroupsPath", json!(format!("/hull-test-{id}")));
    bundle.set("/linux/resources/pids", json!({"limit": 32}));
    bundle.shell("cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max");
    let out = rt.run(&id, &bundle);
    out.assert_ok("run with a pids limit");
    assert_eq!(out.stdout.trim(), "32");
}

/// Every memoryPolicy mode and flag reported is set in a container and
/// read back with get_mempolicy(2) (this host has node 0 only).
#[test]
fn every_reported_memory_policy_mode_and_flag_is_set() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("the features document is hull's (runc 1.1.5 has no `features`)");
    }
    let doc = features(&rt);
    let policy = &doc["linux"]["memoryPolicy"];
    // set_mempolicy(2)'s numbers, as the kernel returns them.
    let number = |mode: &str| match mode {
        "MPOL_DEFAULT" => 0,
        "MPOL_PREFERRED" => 1,
        "MPOL_BIND" => 2,
        "MPOL_INTERLEAVE" => 3,
        "MPOL_LOCAL" => 4,
        "MPOL_PREFERRED_MANY" => 5,
        "MPOL_WEIGHTED_INTERLEAVE" => 6,
        other => panic!("a mode this test does not know: {other}"),
    };
    let mut cases: Vec<(Value, i64)> = strings(&policy["modes"])
        .iter()
        .map(|mode| match mode.as_str() {
            "MPOL_DEFAULT" | "MPOL_LOCAL" => (json!({"mode": mode}), number(mode)),
            _ => (json!({"mode": mode, "nodes": "0"}), number(mode)),
        })
        .collect();
    for flag in strings(&policy["flags"]) {
        cases.push((
            json!({"mode": "MPOL_BIND", "nodes": "0", "flags": [flag]}),
            2,
        ));
    }
    assert!(cases.len() >= 10, "{policy}");
    for (asked, mode) in cases {
        let mut bundle = rt.bundle();
        bundle.set("/linux/memoryPolicy", asked.clone());
        let res = rt.probe(&mut bundle, &["mempolicy"]);
        assert_eq!(res[0]["ok"], true, "{asked}: {}", res[0]);
        assert_eq!(res[0]["mode"], mode, "{asked}: {}", res[0]);
        if asked.get("flags").is_some() {
            assert_ne!(res[0]["flags"], 0, "{asked}: {}", res[0]);
        }
    }
}

/// intelRdt is reported: hull applies it through resctrl. Where resctrl
/// is not mounted (this test bed's hosts: no CPU with Intel RDT or AMD
/// PQoS) a config asking for it is refused naming what is missing and
/// leaves nothing; where it is, the init is in the container's
/// monitoring group until delete removes it. The writes themselves are
/// unit-tested against a fake resctrl tree (src/resctrl/tests.rs).
#[test]
fn reported_intel_rdt_is_applied_where_resctrl_is_mounted() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("the features document is hull's (runc 1.1.5 has no `features`)");
    }
    let doc = features(&rt);
    assert_eq!(
        doc["linux"]["intelRdt"],
        json!({"enabled": true, "schemata": true, "monitoring": true})
    );
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let root = mountinfo.lines().find_map(|l| {
        let (fields, fs) = l.split_once(" - ")?;
        fs.starts_with("resctrl ")
            .then(|| std::path::PathBuf::from(fields.split(' ').nth(4).unwrap()))
    });
    let mut bundle = rt.bundle();
    bundle.set("/linux/intelRdt", json!({"enableMonitoring": true}));
    let id = rt.new_id();
    let out = rt.create(&id, &bundle);
    let Some(root) = root else {
        out.assert_failed("create with linux.intelRdt on a host without resctrl")
            .assert_stderr_contains("linux.intelRdt: resctrl is not mounted on this host");
        rt.assert_nothing_left();
        return;
    };
    if !root.join("info/L3_MON").exists() {
        out.assert_failed("create with enableMonitoring where resctrl cannot monitor")
            .assert_stderr_contains("linux.intelRdt.enableMonitoring");
        rt.assert_nothing_left();
        return;
    }
    out.assert_ok("create with linux.intelRdt.enableMonitoring");
    let pid = rt.cmd(&["state", &id]).json()["pid"].as_i64().unwrap();
    let group = root.join("mon_groups").join(&id);
    let tasks = std::fs::read_to_string(group.join("tasks")).unwrap();
    assert!(tasks.lines().any(|t| t == pid.to_string()), "{tasks}");
    rt.cmd(&["delete", "--force", &id]).assert_ok("delete");
    assert!(!group.exists(), "{group:?} left after delete");
}
