//! The container's filesystem: read-only root, masked and read-only paths,
//! mounts with options, bind mounts, devices, and mount targets that try to
//! escape the rootfs through a symlink.

mod common;

use common::*;
use serde_json::{json, Value};

#[test]
fn readonly_root_rejects_writes() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.readonly_root(true);
    let result = rt.probe(&mut bundle, &["write", "/x"]).remove(0);
    assert_eq!(result["ok"], false, "{result}");
    assert_eq!(result["errno"], EROFS, "{result}");
    assert!(!bundle.rootfs().join("x").exists());

    bundle.readonly_root(false);
    let result = rt.probe(&mut bundle, &["write", "/x", "written"]).remove(0);
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(
        std::fs::read_to_string(bundle.rootfs().join("x")).unwrap(),
        "written"
    );
}

#[test]
fn masked_file_reads_empty() {
    let rt = Runtime::new();
    // /proc/kcore does not exist on every kernel; /proc/timer_list does and is
    // never empty.
    assert!(
        !std::fs::read("/proc/timer_list").unwrap().is_empty(),
        "test needs /proc/timer_list"
    );
    let mut bundle = rt.bundle();
    let result = rt
        .probe(&mut bundle, &["read", "/proc/timer_list"])
        .remove(0);
    assert!(
        result["ok"] == false || result["len"] == 0,
        "masked file readable: {result}"
    );

    bundle.set("/linux/maskedPaths", json!([]));
    let result = rt
        .probe(&mut bundle, &["read", "/proc/timer_list"])
        .remove(0);
    assert!(
        result["ok"] == true && result["len"].as_u64() > Some(0),
        "without maskedPaths /proc/timer_list should have content: {result}"
    );
}

#[test]
fn masked_dir_is_empty() {
    let rt = Runtime::new();
    let host: Vec<_> = std::fs::read_dir("/sys/firmware").unwrap().collect();
    assert!(
        !host.is_empty(),
        "test needs a non-empty /sys/firmware on the host"
    );
    let mut bundle = rt.bundle();
    let results = rt.probe(
        &mut bundle,
        &["ls", "/sys/firmware", "--", "write", "/sys/firmware/x"],
    );
    assert_eq!(
        results[0],
        json!({"ok": true, "entries": []}),
        "{}",
        results[0]
    );
    assert_eq!(
        results[1]["ok"], false,
        "masked dir is writable: {}",
        results[1]
    );

    bundle.set("/linux/maskedPaths", json!([]));
    let result = rt.probe(&mut bundle, &["ls", "/sys/firmware"]).remove(0);
    assert_ne!(
        result["entries"],
        json!([]),
        "without maskedPaths /sys/firmware should show its entries"
    );
}

#[test]
fn readonly_paths_reject_writes() {
    let rt = Runtime::new();
    // Write back the host's own value, so even a runtime that got the network
    // namespace wrong cannot change the host.
    let current = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let mut bundle = rt.bundle();
    let result = rt
        .probe(
            &mut bundle,
            &["write", "/proc/sys/net/ipv4/ip_forward", current.trim()],
        )
        .remove(0);
    assert_eq!(result["ok"], false, "{result}");
    assert_eq!(result["errno"], EROFS, "{result}");
}

#[test]
fn tmpfs_mount_options_are_applied() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.add_mount(json!({
        "destination": "/data", "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "nodev", "noexec", "mode=755", "size=64k"]
    }));
    let results = rt.probe(
        &mut bundle,
        &["report", "--", "stat", "/data", "--", "write", "/data/f"],
    );
    let mount = find_mount(&results[0], "/data")
        .expect("no mount at /data")
        .clone();
    assert_eq!(mount["fs_type"], "tmpfs", "{mount}");
    for opt in ["nosuid", "nodev", "noexec", "size=64k", "mode=755", "rw"] {
        assert!(has_option(&mount, opt), "/data lacks {opt}: {mount}");
    }
    assert_eq!(results[1]["type"], "dir");
    assert_eq!(results[1]["mode"], 0o755);
    assert_eq!(results[2]["ok"], true, "tmpfs not writable: {}", results[2]);
    assert!(
        !bundle.rootfs().join("data/f").exists(),
        "write went to the rootfs, not the tmpfs"
    );
}

#[test]
fn readonly_bind_mount_shows_host_files() {
    let rt = Runtime::new();
    let host = rt.host_dir("shared");
    std::fs::write(host.join("hello"), "from-host").unwrap();
    let mut bundle = rt.bundle();
    bundle.add_mount(json!({
        "destination": "/mnt/ro", "type": "bind", "source": host, "options": ["bind", "ro"]
    }));
    let results = rt.probe(
        &mut bundle,
        &[
            "report",
            "--",
            "read",
            "/mnt/ro/hello",
            "--",
            "write",
            "/mnt/ro/new",
        ],
    );
    let mount = find_mount(&results[0], "/mnt/ro").expect("no mount at /mnt/ro");
    assert!(
        mount["options"].as_array().unwrap().contains(&json!("ro")),
        "{mount}"
    );
    assert_eq!(results[1]["content"], "from-host", "{}", results[1]);
    assert_eq!(results[2]["errno"], EROFS, "{}", results[2]);
    assert!(!host.join("new").exists());
}

#[test]
fn rw_bind_mount_writes_through() {
    let rt = Runtime::new();
    let host = rt.host_dir("shared");
    let mut bundle = rt.bundle();
    bundle.add_mount(
        json!({"destination": "/mnt/rw", "type": "none", "source": host, "options": ["bind"]}),
    );
    let result = rt
        .probe(&mut bundle, &["write", "/mnt/rw/out", "from-container"])
        .remove(0);
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(
        std::fs::read_to_string(host.join("out")).unwrap(),
        "from-container"
    );
}

#[test]
fn rbind_includes_submounts_and_bind_does_not() {
    let rt = Runtime::new();
    // The host's /dev has submounts (/dev/pts, /dev/shm) on ordinary hosts.
    let host_mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let host_has_pts = host_mounts
        .lines()
        .any(|l| l.split(' ').nth(4) == Some("/dev/pts"));
    assert!(host_has_pts, "test needs /dev/pts mounted on the host");
    let mut bundle = rt.bundle();
    bundle
        .add_mount(json!({"destination": "/rb", "type": "bind", "source": "/dev", "options": ["rbind", "ro"]}))
        .add_mount(json!({"destination": "/pb", "type": "bind", "source": "/dev", "options": ["bind", "ro"]}));
    let report = rt.report(&mut bundle);
    assert!(find_mount(&report, "/rb").is_some(), "no mount at /rb");
    assert!(
        find_mount(&report, "/rb/pts").is_some(),
        "rbind did not bring /dev/pts along"
    );
    assert!(find_mount(&report, "/pb").is_some(), "no mount at /pb");
    assert!(
        find_mount(&report, "/pb/pts").is_none(),
        "plain bind brought submounts along"
    );
}

fn stat_device(result: &Value, path: &str, kind: &str, major: u64, minor: u64) {
    assert_eq!(result["ok"], true, "{path}: {result}");
    assert_eq!(result["type"], kind, "{path}: {result}");
    assert_eq!(
        (result["major"].as_u64(), result["minor"].as_u64()),
        (Some(major), Some(minor)),
        "{path}: {result}"
    );
}

#[test]
fn default_devices_exist() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    let devices = [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ];
    let links = [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ];
    let mut ops: Vec<String> = Vec::new();
    let paths = devices
        .iter()
        .map(|d| d.0)
        .chain(links.iter().map(|l| l.0))
        .chain(["/dev/ptmx", "/dev/pts", "/dev/shm"]);
    for path in paths {
        ops.extend(["stat".to_string(), path.to_string(), "--".to_string()]);
    }
    ops.extend(["read".to_string(), "/dev/zero".to_string()]);
    let ops: Vec<&str> = ops.iter().map(String::as_str).collect();
    let results = rt.probe(&mut bundle, &ops);
    let mut it = results.iter();
    for (path, major, minor) in devices {
        stat_device(it.next().unwrap(), path, "char", major, minor);
    }
    for (path, target) in links {
        let result = it.next().unwrap();
        assert_eq!(result["type"], "symlink", "{path}: {result}");
        assert_eq!(result["target"], target, "{path}: {result}");
    }
    let ptmx = it.next().unwrap();
    let ptmx_ok = (ptmx["type"] == "symlink" && ptmx["target"] == "pts/ptmx")
        || (ptmx["type"] == "char" && ptmx["major"] == 5 && ptmx["minor"] == 2);
    assert!(ptmx_ok, "/dev/ptmx: {ptmx}");
    assert_eq!(it.next().unwrap()["type"], "dir", "/dev/pts");
    assert_eq!(it.next().unwrap()["type"], "dir", "/dev/shm");
    let zero = it.next().unwrap();
    assert_eq!(zero["ok"], true, "/dev/zero not readable: {zero}");
}

#[test]
fn configured_device_is_created() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.set(
        "/linux/devices",
        json!([{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666, "uid": 0, "gid": 0}]),
    );
    let results = rt.probe(
        &mut bundle,
        &["stat", "/dev/mynull", "--", "write", "/dev/mynull", "x"],
    );
    stat_device(&results[0], "/dev/mynull", "char", 1, 3);
    assert_eq!(results[0]["mode"], 0o666, "{}", results[0]);
    assert_eq!(
        results[1]["ok"], true,
        "cannot write /dev/mynull: {}",
        results[1]
    );
}

#[test]
fn mount_through_symlink_stays_in_rootfs() {
    let rt = Runtime::new();
    let host = rt.host_dir("outside");
    std::fs::write(host.join("host-file"), "host").unwrap();
    let mut bundle = rt.bundle();
    // rootfs/evil points at a host path; the mount target /evil/sub must be
    // resolved inside the rootfs, never as the host's dir.
    std::os::unix::fs::symlink(&host, bundle.rootfs().join("evil")).unwrap();
    bundle.add_mount(json!({"destination": "/evil/sub", "type": "tmpfs", "source": "tmpfs", "options": ["size=64k"]}));
    bundle.probe(&[]);
    let out = rt.run(&rt.new_id(), &bundle);
    // Refusing the mount is as good as confining it; following the link is not.
    if out.success() {
        let report = out.json();
        let tmpfs_sub = report["mountinfo"].as_array().unwrap().iter().any(|m| {
            m["fs_type"] == "tmpfs"
                && m["mount_point"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/sub"))
        });
        assert!(
            tmpfs_sub,
            "the tmpfs is not mounted inside the container: {}",
            report["mountinfo"]
        );
    } else {
        out.assert_failed("run with a mount through an escaping symlink");
    }
    let entries = dir_entries(&host);
    assert_eq!(
        entries,
        vec!["host-file".to_string()],
        "the host dir was modified"
    );
    assert_eq!(
        std::fs::read_to_string(host.join("host-file")).unwrap(),
        "host"
    );
}

#[test]
fn file_bind_mount_over_existing_fifo() {
    let rt = Runtime::new();
    let host = rt.host_dir("file-src");
    let source = host.join("hosts");
    std::fs::write(&source, "127.0.0.1 from-host-file\n").unwrap();
    let mut bundle = rt.bundle();
    // The mount point exists as a fifo: opening it to "create" it would block
    // until a writer shows up.
    let fifo = bundle.rootfs().join("etc/hostsfifo");
    let c_fifo = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o644) }, 0, "mkfifo");
    bundle.add_mount(json!({
        "destination": "/etc/hostsfifo", "type": "bind", "source": source,
        "options": ["bind", "ro"]
    }));
    let results = rt.probe(
        &mut bundle,
        &["read", "/etc/hostsfifo", "--", "stat", "/etc/hostsfifo"],
    );
    assert_eq!(
        results[0]["content"], "127.0.0.1 from-host-file\n",
        "{}",
        results[0]
    );
    assert_eq!(results[1]["type"], "file", "{}", results[1]);
    // The rootfs keeps its fifo; the host file is unchanged.
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(
        std::fs::read_to_string(&source).unwrap(),
        "127.0.0.1 from-host-file\n"
    );
}

/// The cgroup path of `controller` in /proc/self/cgroup lines of a report.
fn cgroup_path_of(report: &Value, controller: &str) -> Option<String> {
    report["cgroup"].as_array()?.iter().find_map(|line| {
        let mut parts = line.as_str()?.splitn(3, ':');
        let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
        ctrls
            .split(',')
            .any(|c| c == controller)
            .then(|| path.to_string())
    })
}

/// Whether /sys/fs/cgroup is a cgroup v1 (or hybrid) layout on this host.
fn host_has_cgroup_v1(controller: &str) -> bool {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    mounts.lines().any(|l| {
        let (pre, post) = l.split_once(" - ").unwrap_or(("", ""));
        pre.split(' ').nth(4) == Some(&format!("/sys/fs/cgroup/{controller}"))
            && post.starts_with("cgroup ")
    })
}

#[test]
fn cgroup_v1_mount_without_cgroup_namespace_shows_own_cgroup_only() {
    if !host_has_cgroup_v1("memory") {
        skip!("needs a cgroup v1 memory hierarchy at /sys/fs/cgroup/memory");
    }
    // The container stays in the caller's memory cgroup (no cgroup is made
    // for it yet): in the root cgroup a correct bind also has root "/".
    let ours = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    if ours
        .lines()
        .any(|l| l.split(':').nth(1) == Some("memory") && l.ends_with(":/"))
    {
        skip!("the test runs in the root memory cgroup, where a bind and the whole hierarchy look alike");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    // The default config: a cgroup mount at /sys/fs/cgroup, a new pid
    // namespace and no cgroup namespace.
    bundle.without_namespace("cgroup");
    let report = rt.report(&mut bundle);
    assert_eq!(report["pid"], 1, "{report}");
    let own = cgroup_path_of(&report, "memory").expect("memory line in /proc/self/cgroup");
    assert_ne!(
        own, "/",
        "the container's memory cgroup is the root one (needs a host where it is not): {}",
        report["cgroup"]
    );
    let mount = find_mount(&report, "/sys/fs/cgroup/memory")
        .unwrap_or_else(|| panic!("no mount at /sys/fs/cgroup/memory: {}", report["mountinfo"]));
    assert_eq!(mount["fs_type"], "cgroup", "{mount}");
    // A bind of the container's own cgroup dir, not the whole hierarchy.
    assert_ne!(
        mount["root"], "/",
        "the host's whole hierarchy is exposed: {mount}"
    );
    assert_eq!(mount["root"], own.as_str(), "{mount}");
}

#[test]
fn cgroup_v1_mount_with_cgroup_namespace_is_rooted_at_namespace() {
    if !host_has_cgroup_v1("memory") {
        skip!("needs a cgroup v1 memory hierarchy at /sys/fs/cgroup/memory");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.namespace(json!({"type": "cgroup"}));
    let report = rt.report(&mut bundle);
    assert_eq!(
        cgroup_path_of(&report, "memory").as_deref(),
        Some("/"),
        "{}",
        report["cgroup"]
    );
    let mount = find_mount(&report, "/sys/fs/cgroup/memory")
        .unwrap_or_else(|| panic!("no mount at /sys/fs/cgroup/memory: {}", report["mountinfo"]));
    assert_eq!(mount["fs_type"], "cgroup", "{mount}");
    assert_eq!(mount["root"], "/", "{mount}");
    assert!(has_option(mount, "memory"), "{mount}");
}

/// The optional fields (`shared:N`, `master:N`, `unbindable`) of a mount in
/// a probe report.
fn optional_fields(mount: &Value) -> Vec<String> {
    mount["optional"]
        .as_array()
        .unwrap_or_else(|| panic!("no optional fields in {mount}"))
        .iter()
        .map(|o| o.as_str().unwrap().to_string())
        .collect()
}

/// The host's own view, as (mount point, optional fields) of "/" and of
/// the mount holding `dir`: what a container must never change.
fn host_propagation(dir: &std::path::Path) -> Vec<(String, String)> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut lines: Vec<(String, String)> = mountinfo
        .lines()
        .filter_map(|line| {
            let (pre, _) = line.split_once(" - ")?;
            let fields: Vec<&str> = pre.split(' ').collect();
            Some((fields[4].to_string(), fields[6..].join(" ")))
        })
        .collect();
    let holder = lines
        .iter()
        .filter(|(mp, _)| dir.starts_with(mp))
        .max_by_key(|(mp, _)| mp.len())
        .cloned()
        .unwrap();
    lines.retain(|(mp, _)| mp == "/");
    let root = lines.pop().unwrap();
    vec![root, holder]
}

/// Every `linux.rootfsPropagation` value the spec names.
const PROPAGATIONS: [&str; 8] = [
    "private",
    "rprivate",
    "slave",
    "rslave",
    "shared",
    "rshared",
    "unbindable",
    "runbindable",
];

#[test]
fn every_rootfs_propagation_value_runs_and_shows_on_root() {
    let rt = Runtime::new();
    let host_before = host_propagation(&rt.work);
    for value in PROPAGATIONS {
        // runc 1.1.5 makes "/" unbindable before it binds the rootfs,
        // which the kernel then refuses (EINVAL).
        if !is_hull() && value.ends_with("unbindable") {
            skip_note!("rootfsPropagation {value:?}: runc 1.1.5 refuses it (EINVAL)");
            continue;
        }
        let mut bundle = rt.bundle();
        bundle.set("/linux/rootfsPropagation", json!(value));
        let report = rt.report(&mut bundle);
        let root = find_mount(&report, "/").unwrap_or_else(|| panic!("{value}: no /: {report}"));
        let proc_mount = find_mount(&report, "/proc").expect("a mount at /proc");
        let (root_opt, proc_opt) = (optional_fields(root), optional_fields(proc_mount));
        let is_shared = |opt: &[String]| opt.iter().any(|o| o.starts_with("shared:"));
        let what = format!("rootfsPropagation {value:?}: / {root_opt:?}, /proc {proc_opt:?}");
        match value {
            // runc 1.1.5 leaves the new "/" private (runc 1.2 sets it after
            // the pivot, as hull does).
            "shared" | "rshared" if is_hull() => {
                assert!(is_shared(&root_opt), "{what}");
                assert_eq!(is_shared(&proc_opt), value == "rshared", "{what}");
            }
            "shared" | "rshared" => {}
            "unbindable" | "runbindable" => {
                assert!(root_opt.contains(&"unbindable".to_string()), "{what}");
                assert_eq!(
                    proc_opt.contains(&"unbindable".to_string()),
                    value == "runbindable",
                    "{what}"
                );
            }
            "private" | "rprivate" => {
                assert!(root_opt.is_empty(), "{what}");
                assert!(!is_shared(&proc_opt), "{what}");
            }
            _ => {
                assert!(!is_shared(&root_opt), "{what}");
                assert!(!is_shared(&proc_opt), "{what}");
            }
        }
    }
    assert_eq!(
        host_propagation(&rt.work),
        host_before,
        "the host's mount propagation changed"
    );
}

/// Host mounts a test makes, lazily unmounted (with what is below them)
/// when dropped: declare it after the Runtime, whose check runs later.
struct HostMounts(Vec<std::path::PathBuf>);

impl HostMounts {
    #[track_caller]
    fn tmpfs(&mut self, at: &std::path::Path) {
        self.0.push(at.to_path_buf());
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(at)
            .status()
            .unwrap();
        assert!(status.success(), "mount tmpfs on {at:?}");
    }
}

impl Drop for HostMounts {
    fn drop(&mut self) {
        for at in self.0.iter().rev() {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(at)
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

/// Whether the host's mountinfo has a mount at `at`.
fn host_has_mount(at: &std::path::Path) -> bool {
    let at = at.to_str().unwrap();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(at))
}

#[test]
fn rshared_root_gives_bidirectional_volumes_and_rslave_only_receives() {
    let rt = Runtime::new();
    let host_before = host_propagation(&rt.work);
    // A shared host mount of its own as the volume: the mount holding the
    // rootfs is made private before the rootfs bind (pivot_root needs
    // it), so a volume on that same mount could not stay a peer.
    let vol = rt.host_dir("vol");
    let mut host_mounts = HostMounts(Vec::new());
    host_mounts.tmpfs(&vol);
    let status = std::process::Command::new("mount")
        .arg("--make-shared")
        .arg(&vol)
        .status()
        .unwrap();
    assert!(status.success(), "mount --make-shared {vol:?}");

    for (propagation, expect_to_host) in [(Some("rshared"), true), (None, false)] {
        let name = propagation.unwrap_or("default");
        let (from_host, from_container) = (format!("host-{name}"), format!("ctr-{name}"));
        std::fs::create_dir(vol.join(&from_host)).unwrap();
        let mut bundle = rt.bundle();
        if let Some(p) = propagation {
            bundle.set("/linux/rootfsPropagation", json!(p));
        }
        bundle
            .add_mount(json!({"destination": "/vol", "type": "bind", "source": vol,
                              "options": ["rbind", "rshared"]}))
            .add_mount(
                json!({"destination": format!("/vol/{from_container}"), "type": "tmpfs",
                              "source": "tmpfs", "options": ["size=64k"]}),
            )
            .probe(&["sleep-forever"]);
        let id = rt.new_id();
        rt.create_running(&id, &bundle);
        // Host to container: a mount made on the host after the start.
        host_mounts.tmpfs(&vol.join(&from_host));
        let out = rt.exec(&id, &[], &["/bin/probe", "report"]);
        out.assert_ok("exec probe report");
        let report = out.json();
        assert!(
            find_mount(&report, &format!("/vol/{from_host}")).is_some(),
            "{name}: the host's new mount under the volume did not reach the container: {}",
            report["mountinfo"]
        );
        // Container to host: the tmpfs the container mounted in the volume.
        assert_eq!(
            host_has_mount(&vol.join(&from_container)),
            expect_to_host,
            "{name}: the container's mount in the volume {} the host",
            if expect_to_host {
                "did not reach"
            } else {
                "reached"
            }
        );
        rt.delete_force(&id).assert_ok("delete --force");
    }
    drop(host_mounts);
    assert_eq!(host_propagation(&rt.work), host_before);
}

/// The (mount point, optional fields) of every mount /proc/PID/mountinfo
/// lists.
fn mounts_of(pid: i32) -> Vec<(String, String)> {
    std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))
        .unwrap()
        .lines()
        .filter_map(|line| {
            let (pre, _) = line.split_once(" - ")?;
            let fields: Vec<&str> = pre.split(' ').collect();
            Some((fields[4].to_string(), fields[6..].join(" ")))
        })
        .collect()
}

#[test]
fn on_a_shared_host_no_propagation_value_touches_the_host() {
    // This host's "/" is private; a systemd host's is shared, where a rootfs
    // bind taken while "/" is shared reaches the host. The runtime runs in
    // a mount namespace standing in for such a host: `unshare --mount
    // --propagation shared`.
    let rt = Runtime::new();
    let host = NsHolder::new_mount_ns_shared();
    let ns = std::fs::File::open(format!("/proc/{}/ns/mnt", host.pid())).unwrap();
    let host_root = || {
        mounts_of(host.pid())
            .into_iter()
            .find(|(mp, _)| mp == "/")
            .unwrap()
    };
    let before = host_root();
    assert!(
        before.1.starts_with("shared:"),
        "the stand-in host's / is not shared: {before:?}"
    );
    let work = rt.work.to_str().unwrap().to_string();
    for value in PROPAGATIONS {
        if !is_hull() && value.ends_with("unbindable") {
            eprintln!(
                "skipped for this runtime: rootfsPropagation {value:?} (EINVAL in runc 1.1.5)"
            );
            continue;
        }
        let mut bundle = rt.bundle();
        bundle.set("/linux/rootfsPropagation", json!(value));
        bundle.probe(&[]);
        let id = rt.new_id();
        rt.track(&id);
        let dir = bundle.dir.to_str().unwrap().to_string();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&ns);
        let out = rt
            .spawn_configured(None, &["run", "--bundle", &dir, &id], move |cmd| {
                use std::os::unix::process::CommandExt;
                // SAFETY: only setns(2) between fork and exec, on an fd the
                // parent keeps open until spawn returns.
                unsafe {
                    cmd.pre_exec(move || {
                        if libc::setns(fd, libc::CLONE_NEWNS) != 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                        Ok(())
                    });
                }
            })
            .wait(COMMAND_TIMEOUT);
        out.assert_ok(&format!(
            "run with rootfsPropagation {value:?} on a shared host"
        ));
        let report = out.json();
        let root = find_mount(&report, "/").expect("a / mount");
        if is_hull() && value.ends_with("shared") {
            assert!(
                optional_fields(root)
                    .iter()
                    .any(|o| o.starts_with("shared:")),
                "{value}: {root}"
            );
        }
        assert_eq!(host_root(), before, "{value}: the host's / changed");
        let leaked: Vec<_> = mounts_of(host.pid())
            .into_iter()
            .filter(|(mp, _)| mp.starts_with(&work))
            .collect();
        assert!(
            leaked.is_empty(),
            "{value}: mounts reached the host: {leaked:?}"
        );
    }
}

/// The init's private procfs is parked beneath the old root's /proc and
/// leaves with it at the pivot: the container sees one procfs root, its
/// /proc (the read-only paths are binds of parts of it).
#[test]
fn the_inits_own_procfs_is_not_among_the_containers_mounts() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    let report = rt.probe(&mut bundle, &["report"]).remove(0);
    let proc_roots: Vec<&Value> = report["mountinfo"]
        .as_array()
        .expect("no mountinfo in the report")
        .iter()
        .filter(|m| m["fs_type"] == "proc" && m["root"] == "/")
        .collect();
    assert_eq!(proc_roots.len(), 1, "{proc_roots:?}");
    assert_eq!(proc_roots[0]["mount_point"], "/proc", "{proc_roots:?}");
}
