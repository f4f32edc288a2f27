//! User and time namespaces: root inside is an unprivileged range outside,
//! what the container writes belongs to that range, the kernel's rules for
//! a user namespace (no mknod, locked mount flags, sysfs) are met, and time
//! offsets are seen inside.

mod common;

use std::os::unix::fs::MetadataExt;

use common::*;
use serde_json::{json, Value};

/// Container root is host uid/gid HOST_BASE; 65536 ids are mapped.
const HOST_BASE: u32 = 100_000;
const RANGE: u32 = 65_536;

/// A bundle whose container has its own user namespace (0 → HOST_BASE).
fn userns_bundle(rt: &Runtime) -> Bundle {
    let mut bundle = rt.bundle();
    bundle.user_namespace(HOST_BASE, RANGE);
    bundle
}

fn read_op(result: &Value) -> String {
    assert_eq!(result["ok"], true, "{result}");
    result["content"].as_str().unwrap().to_string()
}

#[test]
fn root_inside_is_a_host_range_outside() {
    let rt = Runtime::new();
    let mut bundle = userns_bundle(&rt);
    let own_user = ns_inode(std::process::id() as i32, "user");
    let results = rt.probe(
        &mut bundle,
        &[
            "report",
            "--",
            "read",
            "/proc/self/uid_map",
            "--",
            "read",
            "/proc/self/gid_map",
        ],
    );
    let report = &results[0];
    assert_eq!(report["uid"], 0);
    assert_eq!(report["gid"], 0);
    assert_ne!(report["namespaces"]["user"].as_str(), own_user.as_deref());
    // The capabilities config.json grants, held in the container's namespace.
    assert_ne!(report["capabilities"]["CapEff"], "0000000000000000");
    for (i, map) in [&results[1], &results[2]].into_iter().enumerate() {
        let fields: Vec<String> = read_op(map).split_whitespace().map(String::from).collect();
        assert_eq!(fields, ["0", "100000", "65536"], "map {i}");
    }
}

#[test]
fn files_made_inside_belong_to_the_mapped_range() {
    let rt = Runtime::new();
    let mut bundle = userns_bundle(&rt);
    let shared = rt.host_dir("shared");
    open_path_to(&shared);
    chown_tree(&shared, HOST_BASE, HOST_BASE);
    std::fs::write(shared.join("from-host"), "x").unwrap();
    chown_tree(
        &shared.join("from-host"),
        HOST_BASE + 1000,
        HOST_BASE + 1000,
    );
    bundle.edit(|c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/shared", "type": "bind", "source": shared, "options": ["rbind"]
        }))
    });
    bundle.shell(
        "touch /shared/made-inside && mkdir /shared/dir-inside && stat -c %u:%g /shared/from-host",
    );
    let out = rt.run(&rt.new_id(), &bundle);
    out.assert_ok("run in a user namespace");
    assert_eq!(out.stdout.trim(), "1000:1000", "host 101000 is 1000 inside");
    for name in ["made-inside", "dir-inside"] {
        let meta = std::fs::metadata(shared.join(name)).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (HOST_BASE, HOST_BASE), "{name}");
    }
}

#[test]
fn devices_are_the_hosts_nodes_and_sysfs_works_without_a_network_namespace() {
    let rt = Runtime::new();
    let mut bundle = userns_bundle(&rt);
    // No mknod in a user namespace: /dev/null must still be the real 1:3.
    // Without a network namespace, sysfs cannot be mounted: /sys is bound.
    bundle.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|ns| ns["type"] != "network")
    });
    let results = rt.probe(
        &mut bundle,
        &[
            "stat",
            "/dev/null",
            "--",
            "write",
            "/dev/null",
            "x",
            "--",
            "ls",
            "/sys/class",
        ],
    );
    assert_eq!(results[0]["type"], "char", "{}", results[0]);
    assert_eq!(
        (results[0]["major"].clone(), results[0]["minor"].clone()),
        (json!(1), json!(3))
    );
    assert_eq!(results[1]["ok"], true, "{}", results[1]);
    let classes = results[2]["entries"].as_array().expect("ls /sys/class");
    assert!(classes.iter().any(|c| c == "net"), "{}", results[2]);
}

/// A tmpfs mounted nosuid,nodev,noexec on the host, unmounted on drop.
struct LockedSource(std::path::PathBuf);

impl LockedSource {
    fn new(dir: std::path::PathBuf) -> LockedSource {
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "nosuid,nodev,noexec,mode=755", "tmpfs"])
            .arg(&dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount a tmpfs on {dir:?}");
        LockedSource(dir)
    }
}

impl Drop for LockedSource {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_read_only_bind_keeps_the_sources_locked_flags() {
    let rt = Runtime::new();
    let mut bundle = userns_bundle(&rt);
    let source = LockedSource::new(rt.host_dir("locked"));
    open_path_to(&source.0);
    bundle.edit(|c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/locked", "type": "bind", "source": source.0, "options": ["bind", "ro"]
        }))
    });
    let report = rt.report(&mut bundle);
    let m = find_mount(&report, "/locked").expect("/locked is mounted");
    for flag in ["ro", "nosuid", "nodev", "noexec"] {
        assert!(has_option(m, flag), "{flag} missing: {m}");
    }
}

#[test]
fn exec_joins_the_user_namespace() {
    let rt = Runtime::new();
    let mut bundle = userns_bundle(&rt);
    bundle.probe(&["sleep-forever"]);
    let id = rt.new_id();
    let init = rt.create_running(&id, &bundle)["pid"].as_i64().unwrap() as i32;
    let out = rt.cmd(&["exec", &id, "/bin/probe"]);
    out.assert_ok("exec");
    let report = out.json();
    assert_eq!(report["uid"], 0);
    assert_eq!(
        report["namespaces"]["user"].as_str(),
        ns_inode(init, "user").as_deref()
    );
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}

/// The first field of /proc/uptime in hundredths of a second (exact).
fn uptime_centis(text: &str) -> u64 {
    let (secs, centis) = text
        .split_whitespace()
        .next()
        .unwrap()
        .split_once('.')
        .unwrap();
    secs.parse::<u64>().unwrap() * 100 + centis.parse::<u64>().unwrap()
}

#[test]
fn time_namespace_offsets_are_seen_inside() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("runc 1.1.5 has no time namespaces");
    }
    for with_userns in [false, true] {
        let mut bundle = if with_userns {
            userns_bundle(&rt)
        } else {
            rt.bundle()
        };
        bundle.edit(|c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "time"}));
            c["linux"]["timeOffsets"] = json!({"boottime": {"secs": 86400, "nanosecs": 0}});
        });
        let before = uptime_centis(&std::fs::read_to_string("/proc/uptime").unwrap());
        let inside = read_op(&rt.probe(&mut bundle, &["read", "/proc/uptime"])[0]);
        let after = uptime_centis(&std::fs::read_to_string("/proc/uptime").unwrap());
        let shifted = uptime_centis(&inside) - 86400 * 100;
        assert!(
            before <= shifted && shifted <= after,
            "uptime inside {inside:?} is not the host's ({before}..{after}) plus one day (user namespace: {with_userns})"
        );
    }
}

#[test]
fn bad_id_maps_and_time_offsets_are_refused() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("the messages are hull's");
    }
    let map = json!([{"containerID": 0, "hostID": HOST_BASE, "size": RANGE}]);
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "maps without a user namespace",
            Box::new(move |c| c["linux"]["uidMappings"] = map.clone()),
            "linux.uidMappings",
        ),
        (
            "a user namespace without maps",
            Box::new(|c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "user"}))
            }),
            "needs at least one mapping",
        ),
        (
            "overlapping ranges",
            Box::new(|c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "user"}));
                let two = json!([
                    {"containerID": 0, "hostID": 100000, "size": 1000},
                    {"containerID": 500, "hostID": 200000, "size": 1000},
                ]);
                c["linux"]["uidMappings"] = two.clone();
                c["linux"]["gidMappings"] = two;
            }),
            "overlaps",
        ),
        (
            "time offsets without a time namespace",
            Box::new(|c| c["linux"]["timeOffsets"] = json!({"boottime": {"secs": 1}})),
            "linux.timeOffsets",
        ),
        (
            "an unknown clock",
            Box::new(|c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "time"}));
                c["linux"]["timeOffsets"] = json!({"realtime": {"secs": 1}});
            }),
            "\"realtime\"",
        ),
    ];
    for (what, edit, message) in cases {
        let mut bundle = rt.bundle();
        bundle.probe(&["exit", "0"]);
        bundle.edit(|c| edit(c));
        let id = rt.new_id();
        let out = rt.create(&id, &bundle);
        out.assert_failed(what).assert_stderr_contains(message);
        assert!(rt.root_entries().is_empty(), "{what}: state left behind");
    }
}

#[test]
fn id_mapped_bind_mounts_show_host_files_through_their_maps() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("runc 1.1.5 has no id-mapped mounts");
    }
    let data = rt.host_dir("idmapped");
    open_path_to(&data);
    std::fs::write(data.join("host-root-file"), "x").unwrap();
    // In the container's user namespace, with its maps: the host's root
    // files are root's inside, and what root makes there is the host's root.
    let mut bundle = userns_bundle(&rt);
    bundle.edit(|c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/data", "type": "bind", "source": data, "options": ["rbind", "idmap"]
        }))
    });
    bundle.shell("stat -c %u:%g /data/host-root-file && touch /data/made-inside");
    let out = rt.run(&rt.new_id(), &bundle);
    out.assert_ok("run with an id-mapped mount");
    assert_eq!(out.stdout.trim(), "0:0");
    let meta = std::fs::metadata(data.join("made-inside")).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid()),
        (0, 0),
        "written back through the map"
    );
    // Without a user namespace, the mount's own maps: host 0 shows as 5000.
    let mut bundle = rt.bundle();
    let map = json!([{"containerID": 0, "hostID": 5000, "size": 10}]);
    bundle.edit(|c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/data", "type": "bind", "source": data, "options": ["rbind"],
            "uidMappings": map, "gidMappings": map,
        }))
    });
    bundle.shell("stat -c %u:%g /data/host-root-file");
    let out = rt.run(&rt.new_id(), &bundle);
    out.assert_ok("run with a mount's own maps");
    assert_eq!(out.stdout.trim(), "5000:5000");
}

#[test]
fn bad_id_mapped_mounts_are_refused() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("the refusals of id-mapped mounts are hull's messages");
    }
    let map = json!([{"containerID": 0, "hostID": 5000, "size": 10}]);
    let source = rt.host_dir("src");
    let cases = [
        (
            json!({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"]}),
            "only bind mounts",
        ),
        (
            json!({"destination": "/mnt", "type": "bind", "source": source, "options": ["rbind"],
                   "uidMappings": map}),
            "go together",
        ),
        (
            json!({"destination": "/mnt", "type": "bind", "source": source, "options": ["rbind", "idmap"]}),
            "needs uidMappings",
        ),
    ];
    for (mount, message) in cases {
        let mut bundle = rt.bundle();
        bundle.probe(&["exit", "0"]);
        bundle.edit(|c| c["mounts"].as_array_mut().unwrap().push(mount.clone()));
        let out = rt.create(&rt.new_id(), &bundle);
        out.assert_failed(message).assert_stderr_contains(message);
        assert!(rt.root_entries().is_empty(), "{message}: state left behind");
    }
}

#[test]
fn a_user_namespace_is_joined_by_path() {
    let rt = Runtime::new();
    // A sandbox container owns the user namespace (as a pod's does).
    let mut sandbox = userns_bundle(&rt);
    sandbox.probe(&["sleep-forever"]);
    let sandbox_id = rt.new_id();
    let pid = rt.create_running(&sandbox_id, &sandbox)["pid"]
        .as_i64()
        .unwrap() as i32;
    // A second container joins it by path, with new namespaces of its own
    // (mount, pid, …) that belong to it, and no maps of its own.
    let mut bundle = rt.bundle();
    chown_tree(&bundle.rootfs(), HOST_BASE, HOST_BASE);
    open_path_to(&bundle.dir);
    let user_ns = format!("/proc/{pid}/ns/user");
    bundle.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user", "path": user_ns}));
        c["process"]["oomScoreAdj"] = json!(100);
    });
    let results = rt.probe(
        &mut bundle,
        &["report", "--", "read", "/proc/self/oom_score_adj"],
    );
    let report = &results[0];
    assert_eq!(report["uid"], 0, "root of the joined namespace");
    assert_eq!(
        report["namespaces"]["user"].as_str(),
        ns_inode(pid, "user").as_deref()
    );
    assert_ne!(
        report["namespaces"]["mnt"].as_str(),
        ns_inode(pid, "mnt").as_deref()
    );
    assert_eq!(
        read_op(&results[1]).trim(),
        "100",
        "oomScoreAdj set from outside"
    );
    rt.kill(&sandbox_id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&sandbox_id, "stopped");
}

/// `user.*` sysctls (runc 1.4): the limits of the container's own user
/// namespace, set by the init inside it; the host's stay as they were.
#[test]
fn user_sysctls_set_the_user_namespaces_own_limits() {
    if !is_hull() {
        skip!("runc 1.1.5 refuses user.* sysctls (runc 1.4 allows them with a user namespace)");
    }
    let rt = Runtime::new();
    let host = std::fs::read_to_string("/proc/sys/user/max_user_namespaces").unwrap();
    let mut bundle = userns_bundle(&rt);
    bundle.set("/linux/sysctl", json!({"user.max_user_namespaces": "7"}));
    bundle.shell("cat /proc/sys/user/max_user_namespaces");
    let id = rt.new_id();
    let out = rt.run(&id, &bundle);
    out.assert_ok("run with user.max_user_namespaces");
    assert_eq!(out.stdout.trim(), "7");
    let after = std::fs::read_to_string("/proc/sys/user/max_user_namespaces").unwrap();
    assert_eq!(after, host, "the host's limit changed");
}
