//! What the process inside the container sees: pid, namespaces, identity,
//! environment, limits and security settings, reported by the probe.

mod common;

use common::*;
use serde_json::json;

const HOST_NAMESPACES: &[(&str, &str)] = &[
    ("pid", "pid"),
    ("net", "network"),
    ("ipc", "ipc"),
    ("uts", "uts"),
    ("mnt", "mount"),
    ("cgroup", "cgroup"),
];

fn own_ns(kind: &str) -> String {
    ns_inode(std::process::id() as i32, kind).unwrap()
}

#[test]
fn process_is_pid_1() {
    let rt = Runtime::new();
    let report = rt.report(&mut rt.bundle());
    assert_eq!(report["pid"], 1, "{report}");
    assert_eq!(report["ppid"], 0, "{report}");
}

#[test]
fn every_namespace_is_new() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.namespace(json!({"type": "cgroup"}));
    let report = rt.report(&mut bundle);
    for (proc_name, _) in HOST_NAMESPACES {
        let inside = report["namespaces"][proc_name]
            .as_str()
            .expect("namespace link");
        assert_ne!(
            inside,
            own_ns(proc_name),
            "{proc_name} namespace is the host's"
        );
    }
    // A new cgroup namespace is rooted at the container's own cgroup.
    for line in report["cgroup"].as_array().unwrap() {
        assert!(
            line.as_str().unwrap().ends_with(":/"),
            "cgroup path not at the namespace root: {line}"
        );
    }
}

#[test]
fn without_pid_namespace_host_pids_are_shared() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.without_namespace("pid");
    let report = rt.report(&mut bundle);
    assert_eq!(report["namespaces"]["pid"], own_ns("pid").as_str());
    assert_ne!(report["pid"], 1, "{report}");
    assert_ne!(report["namespaces"]["net"], own_ns("net").as_str());
}

#[test]
fn joins_network_namespace_by_path() {
    let rt = Runtime::new();
    let holder = NsHolder::new_netns();
    let path = format!("/proc/{}/ns/net", holder.pid());
    let mut bundle = rt.bundle();
    bundle.namespace(json!({"type": "network", "path": path}));
    let report = rt.report(&mut bundle);
    assert_eq!(
        report["namespaces"]["net"],
        ns_inode(holder.pid(), "net").unwrap().as_str()
    );
    assert_ne!(report["namespaces"]["net"], own_ns("net").as_str());
}

#[test]
fn joins_namespaces_of_another_container() {
    let rt = Runtime::new();
    let mut first = rt.bundle();
    first.probe(&["sleep-forever"]);
    let first_id = rt.new_id();
    let pid = rt.create_running(&first_id, &first)["pid"]
        .as_i64()
        .unwrap() as i32;

    let mut second = rt.bundle();
    second
        .namespace(json!({"type": "ipc", "path": format!("/proc/{pid}/ns/ipc")}))
        .namespace(json!({"type": "uts", "path": format!("/proc/{pid}/ns/uts")}))
        .remove("/hostname");
    let report = rt.report(&mut second);
    assert_eq!(
        report["namespaces"]["ipc"],
        ns_inode(pid, "ipc").unwrap().as_str()
    );
    assert_eq!(
        report["namespaces"]["uts"],
        ns_inode(pid, "uts").unwrap().as_str()
    );
    assert_ne!(
        report["namespaces"]["mnt"],
        ns_inode(pid, "mnt").unwrap().as_str()
    );
    assert_eq!(
        report["hostname"], "runc",
        "the joined uts namespace keeps the first hostname"
    );
    rt.delete_force(&first_id).assert_ok("delete --force");
}

#[test]
fn hostname_is_set() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.hostname("box1");
    assert_eq!(rt.report(&mut bundle)["hostname"], "box1");
}

#[test]
fn domainname_is_set() {
    // hull only: runc 1.1.5 predates `domainname` and ignores it.
    if !is_hull() {
        skip!("domainname is only checked for hull");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle
        .hostname("box1")
        .set("/domainname", json!("example.org"));
    let report = rt.report(&mut bundle);
    assert_eq!(report["hostname"], "box1");
    assert_eq!(report["domainname"], "example.org");
}

#[test]
fn env_and_cwd_are_applied() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle
        .env(&["PATH=/bin", "FOO=bar", "EMPTY=", "WITH_EQ=a=b"])
        .cwd("/tmp");
    let report = rt.report(&mut bundle);
    let env = &report["env"];
    assert_eq!(env["PATH"], "/bin");
    assert_eq!(env["FOO"], "bar");
    assert_eq!(env["EMPTY"], "");
    assert_eq!(env["WITH_EQ"], "a=b");
    assert!(env.get("CARGO").is_none(), "host environment leaked: {env}");
    assert_eq!(report["cwd"], "/tmp");
}

#[test]
fn missing_cwd_is_created() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.cwd("/work/dir");
    let report = rt.report(&mut bundle);
    assert_eq!(report["cwd"], "/work/dir");
}

#[test]
fn user_groups_and_umask_are_applied() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.set(
        "/process/user",
        json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 20], "umask": 0o027}),
    );
    let report = rt.report(&mut bundle);
    assert_eq!(report["uid"], 1000);
    assert_eq!(report["euid"], 1000);
    assert_eq!(report["gid"], 1000);
    assert_eq!(report["egid"], 1000);
    let mut groups: Vec<u64> = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_u64().unwrap())
        .collect();
    groups.sort();
    assert_eq!(groups, vec![10, 20], "{report}");
    assert_eq!(report["umask"], "0027");
}

#[test]
fn rlimits_are_applied() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    // Only lower limits: raising a hard limit needs CAP_SYS_RESOURCE.
    bundle.set(
        "/process/rlimits",
        json!([
            {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024},
            {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
            {"type": "RLIMIT_STACK", "soft": 4194304, "hard": 8388608}
        ]),
    );
    let report = rt.report(&mut bundle);
    let limits = &report["rlimits"];
    assert_eq!(limits["RLIMIT_NOFILE"], json!({"soft": 512, "hard": 1024}));
    assert_eq!(limits["RLIMIT_CORE"], json!({"soft": 0, "hard": 0}));
    assert_eq!(
        limits["RLIMIT_STACK"],
        json!({"soft": 4194304, "hard": 8388608})
    );
}

#[test]
fn oom_score_adj_is_applied() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.set("/process/oomScoreAdj", json!(100));
    assert_eq!(rt.report(&mut bundle)["oom_score_adj"], 100);
}

#[test]
fn no_new_privileges_follows_config() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.set("/process/noNewPrivileges", json!(true));
    assert_eq!(rt.report(&mut bundle)["no_new_privs"], 1);
    bundle.set("/process/noNewPrivileges", json!(false));
    assert_eq!(rt.report(&mut bundle)["no_new_privs"], 0);
}

#[test]
fn capabilities_follow_config() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    // CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29). The
    // default config lists them as ambient but not inheritable, and the kernel
    // only keeps ambient capabilities that are also inheritable.
    let report = rt.report(&mut bundle);
    let caps = &report["capabilities"];
    for set in ["CapPrm", "CapEff", "CapBnd"] {
        assert_eq!(caps[set], "0000000020000420", "{set}: {caps}");
    }
    assert_eq!(caps["CapInh"], "0000000000000000", "{caps}");
    assert_eq!(caps["CapAmb"], "0000000000000000", "{caps}");

    let kill = json!(["CAP_KILL"]);
    bundle.set(
        "/process/capabilities",
        json!({"bounding": ["CAP_KILL", "CAP_CHOWN"], "permitted": kill, "effective": [],
               "inheritable": kill, "ambient": kill}),
    );
    let caps = rt.report(&mut bundle)["capabilities"].clone();
    assert_eq!(caps["CapBnd"], "0000000000000021", "{caps}");
    assert_eq!(caps["CapInh"], "0000000000000020", "{caps}");
    assert_eq!(caps["CapAmb"], "0000000000000020", "{caps}");
    assert_eq!(caps["CapPrm"], "0000000000000020", "{caps}");
}

#[test]
fn only_stdio_fds_are_open() {
    let rt = Runtime::new();
    let report = rt.report(&mut rt.bundle());
    let fds: Vec<i64> = report["fds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fd"].as_i64().unwrap())
        .collect();
    assert_eq!(fds, vec![0, 1, 2], "leaked fds: {}", report["fds"]);
}

#[test]
fn sysctl_is_applied_inside_only() {
    let rt = Runtime::new();
    let host_before = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let mut bundle = rt.bundle();
    bundle.set("/linux/sysctl", json!({"net.ipv4.ip_forward": "1"}));
    let result = rt
        .probe(&mut bundle, &["read", "/proc/sys/net/ipv4/ip_forward"])
        .remove(0);
    assert_eq!(
        result["content"].as_str().map(str::trim),
        Some("1"),
        "{result}"
    );
    let host_after = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    assert_eq!(host_before, host_after, "the host's sysctl changed");
}

#[test]
fn no_pivot_still_confines_to_rootfs() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&["report", "--", "ls", "/"]);
    let id = rt.new_id();
    let out = rt.run_with(&id, &bundle, &["--no-pivot"]);
    out.assert_ok("run --no-pivot");
    let results = out.json();
    assert_eq!(results[0]["pid"], 1);
    let expected = dir_entries(&bundle.rootfs());
    assert_eq!(
        results[1]["entries"],
        json!(expected),
        "/ is not the rootfs"
    );
}

#[test]
fn inheritable_capabilities_beyond_permitted() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    // uid 0 with CAP_CHOWN (0) inheritable and bounding but not permitted.
    bundle.set(
        "/process/capabilities",
        json!({"bounding": ["CAP_KILL", "CAP_CHOWN"], "permitted": ["CAP_KILL"],
               "effective": ["CAP_KILL"], "inheritable": ["CAP_CHOWN", "CAP_KILL"]}),
    );
    let report = rt.report(&mut bundle);
    assert_eq!(report["uid"], 0, "{report}");
    let caps = &report["capabilities"];
    assert_eq!(caps["CapInh"], "0000000000000021", "{caps}");
    assert_eq!(caps["CapPrm"], "0000000000000020", "{caps}");
    assert_eq!(caps["CapEff"], "0000000000000020", "{caps}");
    assert_eq!(caps["CapBnd"], "0000000000000021", "{caps}");
    assert_eq!(caps["CapAmb"], "0000000000000000", "{caps}");
}

#[test]
fn sysctl_in_joined_host_network_namespace_is_refused() {
    let rt = Runtime::new();
    // The host's own network namespace, by a path the runtime resolves as
    // given. Should the runtime accept it anyway, it writes the host's
    // current value back, so the host is never changed.
    let current = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let path = format!("/proc/{}/ns/net", std::process::id());
    let mut bundle = rt.bundle();
    bundle
        .namespace(json!({"type": "network", "path": path}))
        .set(
            "/linux/sysctl",
            json!({"net.ipv4.ip_forward": current.trim()}),
        );
    let id = rt.new_id();
    let out = rt.create(&id, &bundle);
    out.assert_failed("create with a sysctl in the host's network namespace");
    out.assert_stderr_contains("net.ipv4.ip_forward");
    rt.try_state(&id)
        .assert_failed("state after a refused create");
    rt.assert_nothing_left();
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        current
    );
}

/// A bundle whose config asks for nothing that needs a mount of the
/// container's own: no mounts, masked or read-only paths, a writable root.
fn without_mounts(bundle: &mut Bundle) -> &mut Bundle {
    bundle
        .set("/mounts", json!([]))
        .set("/linux/maskedPaths", json!([]))
        .set("/linux/readonlyPaths", json!([]))
        .readonly_root(false)
}

#[test]
fn without_mount_namespace_shares_hulls_mounts_in_a_chroot() {
    // hull only: runc 1.1.5 sets the rootfs up in the host's mount
    // namespace (binds it onto itself there and leaves that mount behind,
    // makes the host's "/" rslave) before its chroot.
    if !is_hull() {
        skip!("runc 1.1.5 leaves the rootfs bound on the host without a mount namespace");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    without_mounts(&mut bundle)
        .without_namespace("mount")
        .probe(&["sleep-forever"]);
    let id = rt.new_id();
    let pid = rt.create_running(&id, &bundle)["pid"].as_i64().unwrap() as i32;
    assert_eq!(ns_inode(pid, "mnt").unwrap(), own_ns("mnt"));
    assert_ne!(ns_inode(pid, "pid").unwrap(), own_ns("pid"));
    // The spec's root: root.path, entered with chroot.
    let rootfs = bundle.rootfs().canonicalize().unwrap();
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/root")).unwrap(),
        rootfs
    );
    // exec lands in the same root, and finds the default devices there.
    let out = rt.exec(
        &id,
        &[],
        &["/bin/probe", "ls", "/", "--", "stat", "/dev/null"],
    );
    out.assert_ok("exec in a container without a mount namespace");
    let results = out.json();
    assert_eq!(results[0]["entries"], json!(dir_entries(&rootfs)));
    assert_eq!(results[1]["type"], "char", "{}", results[1]);
    assert_eq!(
        (results[1]["major"].as_u64(), results[1]["minor"].as_u64()),
        (Some(1), Some(3))
    );
    rt.delete_force(&id).assert_ok("delete --force");
}

#[test]
fn without_mount_namespace_what_reaches_beyond_the_rootfs_is_refused() {
    let rt = Runtime::new();
    let cases = [
        // (JSON pointer, value, the field hull names, runc 1.1.5 refuses it too)
        (
            "/linux/maskedPaths",
            json!(["/proc/kcore"]),
            "linux.maskedPaths",
            true,
        ),
        (
            "/linux/readonlyPaths",
            json!(["/proc/sys"]),
            "linux.readonlyPaths",
            true,
        ),
        ("/root/readonly", json!(true), "root.readonly", false),
        (
            "/linux/rootfsPropagation",
            json!("rslave"),
            "linux.rootfsPropagation",
            false,
        ),
    ];
    for (pointer, value, field, runc_refuses) in cases {
        // runc 1.1.5 applies the others among the host's mounts.
        if !is_hull() && !runc_refuses {
            continue;
        }
        let mut bundle = rt.bundle();
        without_mounts(&mut bundle)
            .without_namespace("mount")
            .set(pointer, value);
        let id = rt.new_id();
        let out = rt.create(&id, &bundle);
        out.assert_failed(&format!("create with {field} and no mount namespace"));
        if is_hull() {
            out.assert_stderr_contains(&format!("{field}: needs a \"mount\" namespace"));
            assert_eq!(out.stderr.trim().lines().count(), 1, "{out:?}");
        }
        rt.try_state(&id)
            .assert_failed("state after a refused create");
        detach_runc_leftovers(&bundle.dir);
    }
    if is_hull() {
        // In a user namespace the init could not mount in hull's namespace.
        let mut bundle = rt.bundle();
        without_mounts(&mut bundle)
            .without_namespace("mount")
            .user_namespace(100000, 65536);
        let out = rt.create(&rt.new_id(), &bundle);
        out.assert_failed("create with a user namespace and no mount namespace");
        out.assert_stderr_contains(
            "linux.namespaces: a \"user\" namespace needs a \"mount\" namespace",
        );
    }
    rt.assert_nothing_left();
}

/// The bundle's mounts (runc spec's: proc, a /dev tmpfs, devpts, shm,
/// mqueue, sysfs, cgroup), without a mount namespace and without what
/// hull refuses there (masked/read-only paths, a read-only root): what
/// runtime-tools' linux_ns_itype runs.
fn on_hulls_mounts(bundle: &mut Bundle) -> &mut Bundle {
    bundle
        .set("/linux/maskedPaths", json!([]))
        .set("/linux/readonlyPaths", json!([]))
        .readonly_root(false)
        .without_namespace("mount")
}

/// runc 1.1.5 leaves its mounts on the host (the rootfs bound onto itself,
/// `mounts`): detach them, so the harness checks everything else.
fn detach_runc_leftovers(dir: &std::path::Path) {
    if is_hull() {
        return;
    }
    let dir = dir.canonicalize().unwrap();
    while let Some(point) = host_mounts_under(&dir).pop() {
        let path = std::ffi::CString::new(point.clone()).unwrap();
        // SAFETY: umount2 with a NUL-terminated path we own.
        let rc = unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) };
        assert_eq!(rc, 0, "detach runc's {point}");
    }
}

/// The rootfs's mount points in hull's mount namespace, relative to it.
fn mounts_below(rootfs: &std::path::Path) -> Vec<String> {
    let prefix = rootfs.to_string_lossy().into_owned();
    host_mounts_under(rootfs)
        .into_iter()
        .map(|p| p[prefix.len()..].to_string())
        .collect()
}

#[test]
fn without_mount_namespace_mounts_are_made_inside_the_rootfs_and_gone_after_delete() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    on_hulls_mounts(&mut bundle).set(
        "/linux/devices",
        json!([{"path": "/dev/hull-null", "type": "c", "major": 1, "minor": 3, "fileMode": 438}]),
    );
    let rootfs = bundle.rootfs().canonicalize().unwrap();

    // Inside: a procfs of the container's pid namespace (it is pid 1
    // there), the default devices and linux.devices in the /dev tmpfs.
    // Asked by the init: runc 1.1.5's exec runs outside the rootfs here.
    let results = rt.probe(
        &mut bundle,
        &[
            "stat",
            "/proc/self",
            "--",
            "stat",
            "/dev/null",
            "--",
            "stat",
            "/dev/hull-null",
            "--",
            "report",
        ],
    );
    assert_eq!(results[0]["target"], "1", "{}", results[0]);
    for device in [&results[1], &results[2]] {
        assert_eq!(device["type"], "char", "{device}");
        assert_eq!(
            (device["major"].as_u64(), device["minor"].as_u64()),
            (Some(1), Some(3)),
            "{device}"
        );
    }
    let report = &results[3];
    assert_eq!(report["namespaces"]["mnt"], own_ns("mnt").as_str());
    let dev = find_mount(report, "/dev").expect("/dev in the container's mountinfo");
    assert_eq!(dev["fs_type"], "tmpfs", "{dev}");
    if is_hull() {
        // `run` deleted the container.
        assert_eq!(mounts_below(&rootfs), Vec::<String>::new());
    }
    detach_runc_leftovers(&bundle.dir);

    // On the host, while the container lives: below root.path only.
    bundle.probe(&["sleep-forever"]);
    let id = rt.new_id();
    let pid = rt.create_running(&id, &bundle)["pid"].as_i64().unwrap() as i32;
    assert_eq!(ns_inode(pid, "mnt").unwrap(), own_ns("mnt"));
    let below = mounts_below(&rootfs);
    for dest in [
        "/proc",
        "/dev",
        "/dev/pts",
        "/dev/shm",
        "/dev/mqueue",
        "/sys",
        "/sys/fs/cgroup",
    ] {
        assert!(below.iter().any(|p| p == dest), "{dest} in {below:?}");
    }
    rt.delete_force(&id).assert_ok("delete --force");
    if is_hull() {
        assert_eq!(mounts_below(&rootfs), Vec::<String>::new());
        // The devices were made in the tmpfs, not in the bundle's rootfs.
        assert!(!rootfs.join("dev/null").exists());
    }
    detach_runc_leftovers(&bundle.dir);
}

#[test]
fn without_mount_namespace_failed_create_removes_its_mounts() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    // /proc, /dev, … are mounted before the last mount fails.
    on_hulls_mounts(&mut bundle)
        .add_mount(json!({"destination": "/late", "type": "hull-no-such-fs", "source": "none"}));
    let id = rt.new_id();
    let out = rt.create(&id, &bundle);
    out.assert_failed("create with a mount that fails");
    if is_hull() {
        out.assert_stderr_contains("\"/late\"");
        let rootfs = bundle.rootfs().canonicalize().unwrap();
        assert_eq!(mounts_below(&rootfs), Vec::<String>::new());
    }
    detach_runc_leftovers(&bundle.dir);

    // A mount on root.path itself (through a rootfs symlink to "/") is the
    // container's too: its empty tmpfs hides /bin/probe, and create fails.
    let mut bundle = rt.bundle();
    std::os::unix::fs::symlink("/", bundle.rootfs().join("top")).unwrap();
    on_hulls_mounts(&mut bundle).set(
        "/mounts",
        json!([{"destination": "/top", "type": "tmpfs", "source": "tmpfs"}]),
    );
    let out = rt.create(&rt.new_id(), &bundle);
    out.assert_failed("create with a tmpfs over the rootfs");
    if is_hull() {
        let rootfs = bundle.rootfs().canonicalize().unwrap();
        assert_eq!(mounts_below(&rootfs), Vec::<String>::new());
    }
    detach_runc_leftovers(&bundle.dir);
    rt.assert_nothing_left();
}

#[test]
fn without_mount_namespace_killed_create_leaves_no_mounts_after_delete_force() {
    // hull only: runc 1.1.5 leaves its mounts after any delete.
    if !is_hull() {
        skip!("runc 1.1.5 leaves the mounts of a container without a mount namespace");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    on_hulls_mounts(&mut bundle).probe(&["sleep-forever"]);
    let rootfs = bundle.rootfs().canonicalize().unwrap();
    let dir = bundle.dir.to_str().unwrap().to_string();
    // Kills spread over one create's time, measured first: before, during
    // and after the mounts, on a quiet host or a loaded one.
    let id = rt.new_id();
    let started = std::time::Instant::now();
    rt.create_ok(&id, &bundle);
    let create_time = started.elapsed();
    rt.delete_force(&id).assert_ok("delete --force");
    let mut killed_with_mounts = 0;
    for round in 0..24u32 {
        let delay = create_time * round / 20;
        let id = rt.new_id();
        let running = rt.spawn(&["create", "--bundle", &dir, &id]);
        std::thread::sleep(delay);
        // SAFETY: plain kill(2) of the runtime process this test started;
        // the init it cloned must be found by delete --force.
        unsafe { libc::kill(running.pid(), libc::SIGKILL) };
        let out = running.wait_or_kill(std::time::Duration::from_secs(20));
        if out.is_some_and(|o| o.code == 128 + libc::SIGKILL) && !mounts_below(&rootfs).is_empty() {
            killed_with_mounts += 1;
        }
        rt.delete_force(&id)
            .assert_ok("delete --force after a kill");
        assert_eq!(
            mounts_below(&rootfs),
            Vec::<String>::new(),
            "killed after {delay:?}"
        );
        rt.assert_nothing_left();
    }
    eprintln!("{killed_with_mounts} creates killed with mounts made (create: {create_time:?})");
    assert!(
        killed_with_mounts > 0,
        "no create was killed after its first mount: the delays miss"
    );

    // A broken state.json: the cleanup record still names the mounts.
    let id = rt.new_id();
    rt.create_running(&id, &bundle);
    assert!(!mounts_below(&rootfs).is_empty());
    std::fs::write(rt.root.join(&id).join("state.json"), "{garbage").unwrap();
    rt.delete_force(&id)
        .assert_ok("delete --force with a broken state.json");
    assert_eq!(mounts_below(&rootfs), Vec::<String>::new());
    rt.assert_nothing_left();
}

#[test]
fn without_mount_namespace_mounts_already_below_the_rootfs_are_refused() {
    // hull only: runc 1.1.5 mounts over whatever is there.
    if !is_hull() {
        skip!("runc 1.1.5 does not check the rootfs's mounts");
    }
    let rt = Runtime::new();
    let mut first = rt.bundle();
    on_hulls_mounts(&mut first).probe(&["sleep-forever"]);
    let rootfs = first.rootfs().canonicalize().unwrap();
    let first_id = rt.new_id();
    rt.create_running(&first_id, &first);
    let made = mounts_below(&rootfs);

    // A second container on the same rootfs: delete would not tell its
    // mounts from the first's.
    let mut second = rt.bundle();
    on_hulls_mounts(&mut second)
        .set("/root/path", json!(rootfs))
        .probe(&["sleep-forever"]);
    let out = rt.create(&rt.new_id(), &second);
    out.assert_failed("a second container on a rootfs with mounts below it");
    out.assert_stderr_contains("mounts: root.path");
    out.assert_stderr_contains("has mounts below it already");
    assert_eq!(mounts_below(&rootfs), made, "the first's mounts untouched");
    rt.delete(&first_id)
        .assert_failed("delete of a running container");
    rt.delete_force(&first_id).assert_ok("delete --force");
    assert_eq!(mounts_below(&rootfs), Vec::<String>::new());

    // Without mounts of its own (a plain chroot) it is not refused.
    let mut plain = rt.bundle();
    without_mounts(&mut plain)
        .without_namespace("mount")
        .set("/root/path", json!(rootfs))
        .probe(&["exit", "0"]);
    let id = rt.new_id();
    rt.create_ok(&id, &plain);
    rt.delete_force(&id).assert_ok("delete --force");
    rt.assert_nothing_left();
}

#[test]
fn without_mount_namespace_a_mount_on_the_rootfs_itself_is_kept() {
    // hull only: runc 1.1.5 leaves its mounts on top of it.
    if !is_hull() {
        skip!("runc 1.1.5 leaves the mounts of a container without a mount namespace");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    on_hulls_mounts(&mut bundle).probe(&["ls", "/"]);
    let rootfs = bundle.rootfs().canonicalize().unwrap();
    // An engine's overlay on root.path, made before create: a tmpfs
    // holding a copy of the rootfs.
    let copy = rt.host_dir("rootfs-copy");
    let status = std::process::Command::new("cp")
        .args([
            "-a",
            &format!("{}/.", rootfs.display()),
            copy.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    with_tmpfs_on(&rootfs, "", || {
        let status = std::process::Command::new("cp")
            .args([
                "-a",
                &format!("{}/.", copy.display()),
                rootfs.to_str().unwrap(),
            ])
            .status()
            .unwrap();
        assert!(status.success());
        let id = rt.new_id();
        let results = rt.run(&id, &bundle);
        results.assert_ok("run on a rootfs that is a mount point");
        rt.delete_force(&id).assert_ok("delete --force");
        assert_eq!(
            mounts_below(&rootfs),
            vec![String::new()],
            "the tmpfs itself stays"
        );

        // Something mounted below it that is not a container's: refused.
        std::fs::create_dir_all(rootfs.join("data")).unwrap();
        with_tmpfs_on(&rootfs.join("data"), "", || {
            let out = rt.create(&rt.new_id(), &bundle);
            out.assert_failed("create with a mount below the rootfs");
            out.assert_stderr_contains(&format!("{:?}", rootfs.join("data")));
            assert_eq!(
                mounts_below(&rootfs),
                vec!["".to_string(), "/data".to_string()]
            );
        });
    });
    rt.assert_nothing_left();
}

#[test]
fn without_mount_namespace_the_console_is_bound_inside_the_rootfs() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    on_hulls_mounts(&mut bundle)
        .set("/process/terminal", json!(true))
        .probe(&["sleep-forever"]);
    let dir = rt.host_dir("console");
    let socket = dir.join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let receiver = std::thread::spawn(move || {
        use std::os::fd::AsFd;
        let (stream, _) = listener.accept().expect("accept the runtime's connection");
        hull::process::terminal::recv_pty_master(stream.as_fd()).expect("receive the pty master")
    });
    let id = rt.new_id();
    rt.create_with(
        &id,
        &bundle,
        &["--console-socket", socket.to_str().unwrap()],
    )
    .assert_ok("create with a terminal and no mount namespace");
    let _master = receiver.join().unwrap();
    let rootfs = bundle.rootfs().canonicalize().unwrap();
    assert!(mounts_below(&rootfs).contains(&"/dev/console".to_string()));
    // A pty (major 136) is the console, seen from the host: the mount is
    // in hull's mount namespace, below root.path.
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let console = std::fs::metadata(rootfs.join("dev/console")).unwrap();
    assert!(console.file_type().is_char_device());
    assert_eq!(libc::major(console.rdev()), 136);
    rt.delete_force(&id).assert_ok("delete --force");
    if is_hull() {
        assert_eq!(mounts_below(&rootfs), Vec::<String>::new());
    }
    detach_runc_leftovers(&bundle.dir);
}

#[test]
fn config_without_linux_inherits_every_namespace() {
    // hull only: runc 1.1.5 inherits them too, but binds the rootfs onto
    // itself in the host's mount namespace (and leaves it there), then
    // fails to close fds without a /proc in the rootfs.
    if !is_hull() {
        skip!("runc 1.1.5 cannot run a config without linux");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    // Without a uts namespace the hostname cannot be set (refused); the
    // mounts are left out to keep this about namespaces (see the tests of
    // mounts without a mount namespace above).
    bundle
        .remove("/linux")
        .remove("/hostname")
        .set("/mounts", json!([]))
        .readonly_root(false)
        .probe(&["sleep-forever"]);
    let id = rt.new_id();
    let pid = rt.create_running(&id, &bundle)["pid"].as_i64().unwrap() as i32;
    for kind in ["pid", "net", "ipc", "uts", "mnt", "cgroup", "user", "time"] {
        assert_eq!(
            ns_inode(pid, kind).unwrap(),
            own_ns(kind),
            "{kind} namespace is not inherited"
        );
    }
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/root")).unwrap(),
        bundle.rootfs().canonicalize().unwrap()
    );
    rt.delete_force(&id).assert_ok("delete --force");
}

#[test]
fn joins_the_mount_namespace_of_another_container_and_sees_its_files() {
    // hull only: runc 1.1.5 sets root.path up again inside the joined
    // namespace and fails there ("error preparing rootfs: open
    // /proc/self/mountinfo: no such file or directory"; runc issue #1700).
    if !is_hull() {
        skip!("runc 1.1.5 cannot join another container's mount namespace");
    }
    let rt = Runtime::new();
    let mut first = rt.bundle();
    // /dev/shm is a tmpfs of the first container's mount namespace only.
    first.probe(&[
        "write",
        "/dev/shm/marker",
        "from-first",
        "--",
        "sleep-forever",
    ]);
    let first_id = rt.new_id();
    let pid = rt.create_running(&first_id, &first)["pid"]
        .as_i64()
        .unwrap() as i32;
    let first_root = first.rootfs().canonicalize().unwrap();

    // Its pid namespace too, so /proc (the first's) shows the second.
    let joining = |bundle: &mut Bundle| {
        without_mounts(bundle)
            .set("/root/path", json!(first_root))
            .namespace(json!({"type": "mount", "path": format!("/proc/{pid}/ns/mnt")}))
            .namespace(json!({"type": "pid", "path": format!("/proc/{pid}/ns/pid")}))
            .remove("/hostname");
    };
    let mut second = rt.bundle();
    joining(&mut second);
    let results = rt.probe(&mut second, &["read", "/dev/shm/marker", "--", "report"]);
    assert_eq!(results[0]["content"], "from-first", "{}", results[0]);
    assert_eq!(
        results[1]["namespaces"]["mnt"],
        ns_inode(pid, "mnt").unwrap().as_str()
    );

    // Mounts would change the first container's tree: refused, named.
    let mut third = rt.bundle();
    joining(&mut third);
    third.add_mount(json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs"}));
    let id = rt.new_id();
    let out = rt.create(&id, &third);
    out.assert_failed("create with mounts in a joined container's mount namespace");
    out.assert_stderr_contains("mounts: the mount namespace");
    rt.try_state(&id)
        .assert_failed("state after a refused create");

    // The first container's root and mounts are as they were.
    let out = rt.exec(&first_id, &[], &["/bin/probe", "report"]);
    out.assert_ok("exec in the first container");
    let report = out.json();
    assert!(
        find_mount(&report, "/data").is_none(),
        "{}",
        report["mountinfo"]
    );
    assert!(
        find_mount(&report, "/dev/shm").is_some(),
        "{}",
        report["mountinfo"]
    );
    rt.delete_force(&first_id).assert_ok("delete --force");
}

#[test]
fn joins_a_prepared_mount_namespace_and_sets_the_rootfs_up_in_it() {
    // runtime-tools' linux_ns_path: `unshare --mount` holds a namespace
    // whose root is not root.path; the rootfs is set up in it as in a new
    // one (runc does the same), and nothing reaches the host's mounts.
    let rt = Runtime::new();
    let holder = NsHolder::new("--mount", "mnt");
    let mut bundle = rt.bundle();
    bundle.namespace(json!({"type": "mount", "path": format!("/proc/{}/ns/mnt", holder.pid())}));
    let results = rt.probe(&mut bundle, &["report", "--", "ls", "/"]);
    let report = &results[0];
    assert_eq!(
        report["namespaces"]["mnt"],
        ns_inode(holder.pid(), "mnt").unwrap().as_str()
    );
    assert_ne!(report["namespaces"]["mnt"], own_ns("mnt").as_str());
    assert_eq!(report["pid"], 1, "{report}");
    assert_eq!(results[1]["entries"], json!(dir_entries(&bundle.rootfs())));
    assert!(
        find_mount(report, "/proc").is_some(),
        "{}",
        report["mountinfo"]
    );
    // maskedPaths were applied there too.
    assert!(
        find_mount(report, "/proc/timer_list").is_some(),
        "{}",
        report["mountinfo"]
    );
}

#[test]
fn joining_hulls_own_mount_namespace_is_refused() {
    // hull only, and never run against another runtime: runc sets the
    // rootfs up in the namespace it is given, here the host's own, and
    // would pivot_root the host.
    if !is_hull() {
        skip!("would set a rootfs up among the host's mounts");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    let path = format!("/proc/{}/ns/mnt", std::process::id());
    bundle.namespace(json!({"type": "mount", "path": path}));
    let id = rt.new_id();
    let out = rt.create(&id, &bundle);
    out.assert_failed("create joining the host's mount namespace");
    out.assert_stderr_contains("is hull's own mount namespace");
    rt.try_state(&id)
        .assert_failed("state after a refused create");
    rt.assert_nothing_left();
}
