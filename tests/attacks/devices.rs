//! /dev and /proc the bundle prepared (CVE-2025-31133, -52565, -52881):
//! device nodes, /dev/null for masking, /dev/console, procfs writes.

use crate::common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Device nodes follow the rootfs's /dev only inside it: /dev as a symlink
/// to an absolute host dir gets no device nodes there.
#[test]
fn device_nodes_through_symlinked_dev_stay_inside() {
    let rt = Runtime::new();
    let host = rt.host_dir("host-dev");
    for with_tmpfs in [true, false] {
        let mut bundle = rt.bundle();
        let rootfs = bundle.rootfs();
        std::fs::remove_dir(rootfs.join("dev")).unwrap();
        std::os::unix::fs::symlink(&host, rootfs.join("dev")).unwrap();
        bundle.set(
            "/linux/devices",
            json!([{"path": "/dev/sub/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666}]),
        );
        if !with_tmpfs {
            // No tmpfs: the nodes are made in the rootfs's own /dev.
            bundle.edit(|c| {
                c["mounts"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|m| m["destination"] != "/dev")
            });
        }
        bundle.probe(&["stat", "/dev/null", "--", "stat", "/dev/sub/mynull"]);
        let out = rt.run(&rt.new_id(), &bundle);
        if out.success() {
            let results = out.json();
            for r in results.as_array().unwrap() {
                assert_eq!(
                    (r["type"].as_str(), r["major"].as_u64(), r["minor"].as_u64()),
                    (Some("char"), Some(1), Some(3)),
                    "tmpfs {with_tmpfs}: {r}"
                );
            }
        } else {
            out.assert_failed("run with /dev -> host dir");
        }
        rt.assert_nothing_left();
        assert_eq!(
            dir_entries(&host),
            Vec::<String>::new(),
            "tmpfs {with_tmpfs}: device nodes were made in the host dir"
        );
        assert!(host_mounts_under(&host).is_empty());
    }
}

/// A bundle whose /dev is a bind of a bundle dir (so no device is made):
/// returns the bundle and that dir, which holds the fake nodes.
fn bundle_with_bound_dev(rt: &Runtime) -> (Bundle, PathBuf) {
    let mut bundle = rt.bundle();
    let dev = bundle.dir.join("dev");
    std::fs::create_dir(&dev).unwrap();
    bundle.edit(|c| {
        let mounts = c["mounts"].as_array_mut().unwrap();
        for m in mounts.iter_mut() {
            if m["destination"] == "/dev" {
                *m = json!({"destination": "/dev", "type": "bind", "source": dev, "options": ["rbind"]});
            }
        }
        mounts.retain(|m| m["destination"] != "/dev/pts" && m["destination"] != "/dev/shm"
            && m["destination"] != "/dev/mqueue");
    });
    (bundle, dev)
}

/// Makes a fake /dev/null at the path it is given.
type MakeFake<'a> = dyn Fn(&Path) + 'a;

/// CVE-2025-31133: the masked paths are covered with the container's
/// /dev/null. When /dev comes from the bundle, /dev/null may be a regular
/// file, a symlink (to a host file, or to a procfs file the container could
/// then write through a masked path) or another device (1:5, /dev/zero).
/// The runtime must refuse, or mask with a verified 1:3: a masked file
/// reads empty, and the fake's target is never written.
#[test]
fn cve_2025_31133_fake_dev_null_never_masks() {
    let rt = Runtime::new();
    let host = rt.host_dir("null-target");
    std::fs::write(host.join("file"), "host file").unwrap();
    let host_before = snapshot(&host.join("file"));
    let fakes: [(&str, &MakeFake); 4] = [
        ("a regular file", &|p: &Path| {
            std::fs::write(p, "fake null").unwrap()
        }),
        ("a symlink to a host file", &|p: &Path| {
            std::os::unix::fs::symlink(host.join("file"), p).unwrap()
        }),
        // The uts namespace's hostname: harmless to write, and visible.
        ("a symlink into procfs", &|p: &Path| {
            std::os::unix::fs::symlink("/proc/sys/kernel/hostname", p).unwrap()
        }),
        ("char device 1:5", &|p: &Path| mknod_char(p, 1, 5)),
    ];
    for (what, make) in fakes {
        let (mut bundle, dev) = bundle_with_bound_dev(&rt);
        make(&dev.join("null"));
        bundle.hostname("masked-leak").probe(&[
            "read",
            "/proc/timer_list",
            "--",
            "write",
            "/proc/timer_list",
            "pwned",
            "--",
            "stat",
            "/proc/timer_list",
        ]);
        let out = rt.run(&rt.new_id(), &bundle);
        if out.success() {
            let results = out.json();
            assert!(
                results[0]["ok"] == false || results[0]["len"] == 0,
                "/dev/null as {what}: the masked /proc/timer_list shows {}",
                results[0]
            );
            assert_eq!(
                (
                    results[2]["type"].as_str(),
                    results[2]["major"].as_u64(),
                    results[2]["minor"].as_u64()
                ),
                (Some("char"), Some(1), Some(3)),
                "/dev/null as {what}: /proc/timer_list is masked with {}",
                results[2]
            );
        } else {
            out.assert_failed(&format!("run with /dev/null as {what}"));
            if is_hull() {
                out.assert_stderr_contains("/dev/null");
            }
        }
        rt.assert_nothing_left();
        assert_eq!(
            snapshot(&host.join("file")),
            host_before,
            "/dev/null as {what}"
        );
        let fake = dev.join("null");
        if std::fs::symlink_metadata(&fake).unwrap().is_file() {
            let content = std::fs::read_to_string(&fake).unwrap();
            assert_eq!(content, "fake null", "/dev/null as {what}: written");
        }
    }
}

/// CVE-2025-52881 class: sysctls and oom_score_adj are written to the
/// kernel, never to whatever the container's /proc shows: here a bind of a
/// host dir over /proc (with fake sys/ and self/ files), and a rootfs
/// without a proc mount whose /proc/sys is a symlink to a host dir.
#[test]
fn cve_2025_52881_procfs_writes_ignore_a_fake_proc() {
    let rt = Runtime::new();
    let fake = rt.host_dir("fake-proc");
    let fake_sysctl = fake.join("sys/net/ipv4/ip_forward");
    std::fs::create_dir_all(fake_sysctl.parent().unwrap()).unwrap();
    std::fs::write(&fake_sysctl, "fake\n").unwrap();
    std::fs::create_dir_all(fake.join("self")).unwrap();
    std::fs::write(fake.join("self/oom_score_adj"), "fake\n").unwrap();
    let sysctl_before = snapshot(&fake_sysctl);
    let oom_before = snapshot(&fake.join("self/oom_score_adj"));
    let host_ip_forward = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();

    for variant in ["bind over /proc", "/proc/sys symlink"] {
        let mut bundle = rt.bundle();
        if variant == "bind over /proc" {
            bundle.add_mount(json!({"destination": "/proc", "type": "bind", "source": fake, "options": ["rbind"]}));
        } else {
            bundle.edit(|c| {
                c["mounts"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|m| m["destination"] != "/proc")
            });
            std::os::unix::fs::symlink(fake.join("sys"), bundle.rootfs().join("proc/sys")).unwrap();
        }
        bundle
            .set("/linux/sysctl", json!({"net.ipv4.ip_forward": "1"}))
            .set("/process/oomScoreAdj", json!(123))
            .probe(&["sleep-forever"]);
        let id = rt.new_id();
        let out = rt.create(&id, &bundle);
        if out.success() {
            let pid = rt.state(&id)["pid"].as_i64().unwrap();
            // The kernel got the values: read them from the host's side.
            assert_eq!(
                std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj"))
                    .unwrap()
                    .trim(),
                "123",
                "{variant}: oomScoreAdj not applied"
            );
            let inside = std::process::Command::new("nsenter")
                .args([
                    "-t",
                    &pid.to_string(),
                    "-n",
                    "cat",
                    "/proc/sys/net/ipv4/ip_forward",
                ])
                .output()
                .expect("run nsenter");
            assert_eq!(
                String::from_utf8_lossy(&inside.stdout).trim(),
                "1",
                "{variant}: the sysctl did not reach the container's network namespace"
            );
            rt.delete_force(&id).assert_ok("delete --force");
        } else {
            out.assert_failed(&format!("create with {variant}"));
        }
        rt.assert_nothing_left();
        assert_eq!(
            snapshot(&fake_sysctl),
            sysctl_before,
            "{variant}: sysctl went to a file"
        );
        assert_eq!(
            snapshot(&fake.join("self/oom_score_adj")),
            oom_before,
            "{variant}: oom_score_adj went to a file"
        );
        assert_eq!(
            std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
            host_ip_forward
        );
    }
}

/// Read the pty master until the probe's JSON array is complete (bounded).
fn read_pty_json(master: &mut std::fs::File) -> Value {
    use std::io::Read;
    let deadline = Instant::now() + STATUS_TIMEOUT;
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(start) = seen.find('[') {
            if let Ok(v) = serde_json::from_str::<Value>(seen[start..].trim()) {
                return v;
            }
        }
        assert!(Instant::now() < deadline, "no JSON on the pty: {seen:?}");
        let mut fds = [nix::poll::PollFd::new(
            std::os::fd::AsFd::as_fd(master),
            nix::poll::PollFlags::POLLIN,
        )];
        if nix::poll::poll(&mut fds, 100u16).unwrap_or(0) == 0 {
            continue;
        }
        match master.read(&mut buf) {
            Ok(0) => panic!("the pty closed before the JSON: {seen:?}"),
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n]).replace("\r\n", "\n")),
            Err(e) if e.raw_os_error() == Some(libc::EIO) => {
                panic!("the pty closed before the JSON: {seen:?}")
            }
            Err(e) => panic!("read the pty: {e}"),
        }
    }
}

/// CVE-2025-52565: the pty is bind-mounted on /dev/console. When /dev comes
/// from the bundle, /dev/console may be a symlink, to a procfs file of the
/// container or to a host file: the pty must never be mounted over either
/// (a create that refuses is fine), and the host file stays unchanged.
#[test]
fn cve_2025_52565_console_symlink_is_not_followed() {
    use std::os::unix::net::UnixListener;
    let rt = Runtime::new();
    let host = rt.host_dir("console-target");
    std::fs::write(host.join("file"), "host file").unwrap();
    let host_before = snapshot(&host.join("file"));
    for target in [
        PathBuf::from("/proc/sys/kernel/hostname"),
        host.join("file"),
    ] {
        let (mut bundle, dev) = bundle_with_bound_dev(&rt);
        mknod_char(&dev.join("null"), 1, 3);
        std::os::unix::fs::symlink("pts/ptmx", dev.join("ptmx")).unwrap();
        std::fs::create_dir(dev.join("pts")).unwrap();
        std::os::unix::fs::symlink(&target, dev.join("console")).unwrap();
        bundle
            .add_mount(
                json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
                "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]}),
            )
            .set("/process/terminal", json!(true))
            // Only stat: reading a pty mounted over the file would block.
            .probe(&[
                "stat",
                "/proc/sys/kernel/hostname",
                "--",
                "stat",
                "/dev/console",
            ]);
        let socket = rt.host_dir("console").join("console.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let receiver = std::thread::spawn(move || receive_fd_within(&listener, COMMAND_TIMEOUT));
        let id = rt.new_id();
        let out = rt.create_with(
            &id,
            &bundle,
            &["--console-socket", socket.to_str().unwrap()],
        );
        let master = receiver.join().unwrap();
        if is_hull() && out.success() {
            panic!("/dev/console -> {target:?}: create should refuse the symlink");
        }
        if out.success() {
            let mut master = std::fs::File::from(master.expect("no pty master received"));
            rt.start(&id).assert_ok("start");
            let results = read_pty_json(&mut master);
            rt.wait_status(&id, "stopped");
            rt.delete(&id).assert_ok("delete");
            assert_eq!(
                results[0]["type"], "file",
                "/dev/console -> {target:?}: the pty covers /proc/sys/kernel/hostname: {results}"
            );
        } else {
            out.assert_failed(&format!("create with /dev/console -> {target:?}"));
            if is_hull() {
                out.assert_stderr_contains("/dev/console");
            }
        }
        rt.assert_nothing_left();
        assert_eq!(
            snapshot(&host.join("file")),
            host_before,
            "/dev/console -> {target:?}"
        );
    }
}
