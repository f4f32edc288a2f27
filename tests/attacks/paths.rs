//! Symlinks and races in the rootfs (CVE-2019-19921, CVE-2021-30465,
//! CVE-2024-45310): mount targets and masked/read-only paths stay inside.

use crate::common::*;
use serde_json::{json, Value};
use std::path::Path;

/// Mount lines of a probe report (for messages).
fn mounts_of(report: &Value) -> String {
    report["mountinfo"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| format!("{} {}", m["mount_point"], m["fs_type"]))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// Host mount lines at "/", "/etc" and "/proc": their number must not change.
fn host_root_mounts() -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    text.lines()
        .filter(|l| {
            matches!(
                l.split(' ').nth(4),
                Some("/") | Some("/etc") | Some("/proc")
            )
        })
        .map(String::from)
        .collect()
}

/// CVE-2019-19921 class: a rootfs whose /proc is a symlink to "/" must not
/// get procfs mounted over the root (of the rootfs, or of the host).
#[test]
fn cve_2019_19921_proc_symlink_to_root_stays_inside() {
    let rt = Runtime::new();
    let host_before = host_root_mounts();
    let mut bundle = rt.bundle();
    let rootfs = bundle.rootfs();
    std::fs::remove_dir(rootfs.join("proc")).unwrap();
    std::os::unix::fs::symlink("/", rootfs.join("proc")).unwrap();
    bundle.probe(&["report", "--", "ls", "/"]);
    let out = rt.run(&rt.new_id(), &bundle);
    if out.success() {
        let results = out.json();
        let root = find_mount(&results[0], "/").expect("no / mount");
        assert_ne!(root["fs_type"], "proc", "procfs is the container's /");
        assert!(
            results[1]["entries"]
                .as_array()
                .unwrap()
                .contains(&json!("bin")),
            "/ is not the rootfs: {}",
            results[1]
        );
    } else {
        out.assert_failed("run with /proc -> /");
    }
    rt.assert_nothing_left();
    assert_eq!(host_root_mounts(), host_before, "the host's mounts changed");
    assert!(
        std::fs::read_link(rootfs.join("proc")).is_ok(),
        "the rootfs's /proc symlink was replaced"
    );
}

/// CVE-2021-30465 class (mounts.rs has a symlink to a host temp dir): a
/// mount destination that is a symlink to the absolute host path /etc, and
/// one reached through a `..` chain, land inside the rootfs.
#[test]
fn cve_2021_30465_symlinked_and_dotdot_destinations_stay_inside() {
    let rt = Runtime::new();
    let host_before = host_root_mounts();
    let host_hostname = snapshot(Path::new("/etc/hostname"));
    let source = rt.host_dir("volume");
    std::fs::write(source.join("marker"), "volume").unwrap();
    // Should the `..` chain be joined as a string, its mount point would be
    // created at this host path.
    let escape_name = unique_name("dotdot");
    let mut bundle = rt.bundle();
    std::os::unix::fs::symlink("/etc", bundle.rootfs().join("evil")).unwrap();
    bundle
        .add_mount(json!({"destination": "/evil", "type": "bind", "source": source, "options": ["bind", "ro"]}))
        .add_mount(json!({
            "destination": format!("/a/{}tmp/{escape_name}", "../".repeat(12)),
            "type": "tmpfs", "source": "tmpfs", "options": ["size=64k"]
        }));
    bundle.probe(&[
        "report",
        "--",
        "read",
        "/etc/marker",
        "--",
        "ls",
        &format!("/tmp/{escape_name}"),
    ]);
    let out = rt.run(&rt.new_id(), &bundle);
    if out.success() {
        let results = out.json();
        assert_eq!(
            results[1]["content"],
            "volume",
            "the bind through /evil -> /etc is not at the rootfs's /etc: {}",
            mounts_of(&results[0])
        );
        let tmpfs = find_mount(&results[0], &format!("/tmp/{escape_name}"));
        assert!(
            tmpfs.is_some_and(|m| m["fs_type"] == "tmpfs"),
            "the `..` destination is not mounted inside: {}",
            mounts_of(&results[0])
        );
    } else {
        out.assert_failed("run with escaping mount destinations");
    }
    rt.assert_nothing_left();
    let host_escape = Path::new("/tmp").join(&escape_name);
    assert!(
        !host_escape.exists(),
        "the `..` chain created {host_escape:?} on the host"
    );
    assert_eq!(host_root_mounts(), host_before, "the host's mounts changed");
    assert_eq!(snapshot(Path::new("/etc/hostname")), host_hostname);
    assert_eq!(dir_entries(&source), vec!["marker".to_string()]);
}

/// Masked and read-only paths that are symlinks to an absolute host path are
/// resolved inside the rootfs: the rootfs's copy of that path is masked or
/// made read-only, the host's is untouched.
#[test]
fn masked_and_readonly_symlinks_stay_inside() {
    let rt = Runtime::new();
    let host = rt.host_dir("host-secret");
    std::fs::write(host.join("file"), "host").unwrap();
    let host_before = snapshot(&host);
    let host_file_before = snapshot(&host.join("file"));
    let mut bundle = rt.bundle();
    let rootfs = bundle.rootfs();
    // The same absolute path exists in the rootfs, so an inside resolution
    // has something to mask.
    let inside = rootfs.join(host.strip_prefix("/").unwrap());
    std::fs::create_dir_all(&inside).unwrap();
    std::fs::write(inside.join("file"), "rootfs copy").unwrap();
    std::os::unix::fs::symlink(host.join("file"), rootfs.join("etc/masked")).unwrap();
    std::os::unix::fs::symlink(&host, rootfs.join("etc/rodir")).unwrap();
    bundle
        .readonly_root(false)
        .set("/linux/maskedPaths", json!(["/etc/masked"]))
        .set("/linux/readonlyPaths", json!(["/etc/rodir"]));
    let results = rt.probe(
        &mut bundle,
        &[
            "read",
            "/etc/masked",
            "--",
            "write",
            "/etc/masked",
            "pwned",
            "--",
            "write",
            "/etc/rodir/new",
        ],
    );
    assert!(
        results[0]["ok"] == false || results[0]["len"] == 0,
        "the masked path shows content: {}",
        results[0]
    );
    assert_eq!(
        results[2]["errno"], EROFS,
        "the read-only path is writable: {}",
        results[2]
    );
    assert_eq!(snapshot(&host), host_before, "the host dir changed");
    assert_eq!(snapshot(&host.join("file")), host_file_before);
    assert_eq!(
        std::fs::read_to_string(inside.join("file")).unwrap(),
        "rootfs copy"
    );
}

/// renameat2(RENAME_EXCHANGE): swap two paths atomically.
fn exchange(a: &Path, b: &Path) -> bool {
    let ca = std::ffi::CString::new(a.to_str().unwrap()).unwrap();
    let cb = std::ffi::CString::new(b.to_str().unwrap()).unwrap();
    // SAFETY: valid C strings; renameat2 has no other preconditions.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    rc == 0
}

/// CVE-2021-30465 / CVE-2024-45310: while containers are created, a thread
/// keeps swapping a directory of the rootfs with a symlink to a host dir.
/// Whichever the runtime sees, the host dir never gets a mount or a file.
#[test]
fn cve_2021_30465_symlink_swap_race_stays_inside() {
    const ROUNDS: usize = 200;
    let rt = Runtime::new();
    let host = rt.host_dir("race-target");
    let mut bundle = rt.bundle();
    let rootfs = bundle.rootfs();
    std::fs::create_dir(rootfs.join("race")).unwrap();
    std::os::unix::fs::symlink(&host, rootfs.join("race-link")).unwrap();
    let volume = rt.host_dir("race-volume");
    std::fs::write(volume.join("marker"), "volume").unwrap();
    bundle
        .add_mount(json!({"destination": "/race/sub", "type": "tmpfs", "source": "tmpfs", "options": ["size=64k"]}))
        .add_mount(json!({"destination": "/race/vol", "type": "bind", "source": volume, "options": ["bind", "ro"]}))
        .probe(&["exit", "0"]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let stop = stop.clone();
        let (a, b) = (rootfs.join("race"), rootfs.join("race-link"));
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if exchange(&a, &b) {
                    swaps += 1;
                }
            }
            swaps
        })
    };
    let mut created = 0;
    for _ in 0..ROUNDS {
        let id = rt.new_id();
        if rt.create(&id, &bundle).success() {
            created += 1;
            rt.delete_force(&id).assert_ok("delete --force");
        }
        if !dir_entries(&host).is_empty() {
            break;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    eprintln!("{created} of {ROUNDS} creates succeeded during {swaps} swaps");
    assert!(swaps > 0, "the swapper never swapped");
    assert_eq!(
        dir_entries(&host),
        Vec::<String>::new(),
        "mount points were made in the host dir"
    );
    assert!(host_mounts_under(&host).is_empty());
    assert_eq!(dir_entries(&volume), vec!["marker".to_string()]);
    rt.assert_nothing_left();
}
