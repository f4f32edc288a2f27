//! Every newer syscall hull uses with a fallback, tested with that syscall
//! answering ENOSYS (an older kernel, or an engine's seccomp profile): the
//! fallback keeps the same guarantees. clone3 is covered in cgroups.rs.

mod common;

use std::fs::File;
use std::os::fd::AsRawFd;

use common::*;
use serde_json::json;

#[test]
fn without_openat2_rootfs_paths_still_resolve_inside() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("the syscall fallbacks are hull's");
    }
    // /mnt in the rootfs points at a host dir; the mount below it, its
    // mount point and the masked and read-only paths must all stay inside.
    let host = rt.host_dir("host-target");
    let mut bundle = rt.bundle();
    std::os::unix::fs::symlink(&host, bundle.rootfs().join("mnt")).unwrap();
    // Inside the rootfs the link's target exists too: that is where it leads.
    let inside = bundle.rootfs().join(host.strip_prefix("/").unwrap());
    std::fs::create_dir_all(&inside).unwrap();
    bundle.edit(|c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/mnt/sub", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]
        }));
        c["linux"]["maskedPaths"] = json!(["/proc/timer_list", "/mnt/masked"]);
        c["linux"]["readonlyPaths"] = json!(["/proc/sys"]);
    });
    bundle.probe(&[]);
    let id = rt.new_id();
    let out = rt.cmd_without_syscalls(
        &[libc::SYS_openat2],
        &["run", "--bundle", bundle.dir.to_str().unwrap(), &id],
    );
    out.assert_ok("run without openat2");
    let report = out.json();
    let mounted = find_mount(&report, &format!("{}/sub", host.display()))
        .or_else(|| find_mount(&report, "/mnt/sub"));
    assert!(
        mounted.is_some(),
        "the tmpfs is mounted inside: {}",
        report["mountinfo"]
    );
    let left: Vec<_> = std::fs::read_dir(&host).unwrap().collect();
    assert!(left.is_empty(), "the host dir got {left:?}");
    assert!(
        inside.join("sub").is_dir(),
        "the mount point was made inside"
    );
    assert!(
        find_mount(&report, "/proc/timer_list").is_some(),
        "timer_list masked"
    );
}

#[test]
fn without_close_range_no_host_fd_reaches_the_container() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("the syscall fallbacks are hull's");
    }
    let secret = rt.host_dir("fds").join("secret");
    std::fs::write(&secret, "host").unwrap();
    let mut bundle = rt.bundle();
    bundle.probe(&["sleep-forever"]);
    let id = rt.new_id();
    rt.track(&id);
    let dir = bundle.dir.to_str().unwrap().to_string();
    // The runtime holds two host fds (3 and 4) and is told to pass none.
    let files = [File::open(&secret).unwrap(), File::open(&secret).unwrap()];
    let raw: Vec<i32> = files.iter().map(|f| f.as_raw_fd()).collect();
    let held = |cmd: &mut std::process::Command| pass_fds(cmd, raw.clone());
    let blocked = [libc::SYS_close_range];
    let create = rt.spawn_configured(None, &["create", "--bundle", &dir, &id], |cmd| {
        held(cmd);
        block_syscalls(cmd, &blocked);
    });
    create
        .wait(COMMAND_TIMEOUT)
        .assert_ok("create without close_range");
    rt.start(&id).assert_ok("start");
    let out = rt
        .spawn_configured(None, &["exec", &id, "/bin/probe"], |cmd| {
            held(cmd);
            block_syscalls(cmd, &blocked);
        })
        .wait(COMMAND_TIMEOUT);
    out.assert_ok("exec without close_range");
    assert_eq!(fd_numbers(&out.json()), [0, 1, 2], "exec'd process");
    let init = rt.state(&id)["pid"].as_i64().unwrap();
    let init_fds: Vec<String> = std::fs::read_dir(format!("/proc/{init}/fd"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut init_fds: Vec<i64> = init_fds.iter().map(|f| f.parse().unwrap()).collect();
    init_fds.sort();
    assert_eq!(init_fds, [0, 1, 2], "the init");
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}

#[test]
fn without_open_tree_and_mount_setattr_containers_still_run_and_refusals_are_clear() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("the syscall fallbacks are hull's");
    }
    let blocked = [libc::SYS_open_tree, libc::SYS_mount_setattr];
    // The binary guard falls back to a sealed copy: containers still run.
    let mut bundle = rt.bundle();
    bundle.shell("echo still-runs");
    let out = rt.cmd_without_syscalls(
        &blocked,
        &[
            "run",
            "--bundle",
            bundle.dir.to_str().unwrap(),
            &rt.new_id(),
        ],
    );
    out.assert_ok("run without open_tree and mount_setattr");
    assert_eq!(out.stdout.trim(), "still-runs");
    // What has no fallback fails naming the mount and the syscall.
    let source = rt.host_dir("src");
    for (options, syscall) in [
        (json!(["rbind", "rro"]), "mount_setattr"),
        (json!(["rbind", "idmap"]), "open_tree"),
    ] {
        let mut bundle = rt.bundle();
        bundle.probe(&["exit", "0"]);
        let map = json!([{"containerID": 0, "hostID": 5000, "size": 10}]);
        bundle.edit(|c| {
            let mut m = json!({"destination": "/data", "type": "bind", "source": source,
                               "options": options});
            if syscall == "open_tree" {
                m["uidMappings"] = map.clone();
                m["gidMappings"] = map;
            }
            c["mounts"].as_array_mut().unwrap().push(m);
        });
        let out = rt.cmd_without_syscalls(
            &blocked,
            &[
                "run",
                "--bundle",
                bundle.dir.to_str().unwrap(),
                &rt.new_id(),
            ],
        );
        out.assert_failed(syscall).assert_stderr_contains(syscall);
        out.assert_stderr_contains("/data");
    }
    assert!(rt.root_entries().is_empty(), "state left behind");
}
