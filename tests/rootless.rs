//! Rootless: hull run by an unprivileged user (made for the test, removed
//! after it) with a user namespace mapping that user to root inside, and
//! subordinate ranges through newuidmap/newgidmap.

mod common;

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::{json, Value};

/// A user made for one test, with subordinate ids `sub..sub+65536`;
/// removed (with its /etc/subuid and /etc/subgid lines) on drop.
struct TestUser {
    name: String,
    uid: u32,
    gid: u32,
}

impl TestUser {
    fn new(tag: &str, sub: u32) -> TestUser {
        let name = format!("hull{}{}", tag, std::process::id() % 100_000);
        let ok = Command::new("useradd")
            .args(["-M", "-s", "/usr/sbin/nologin", "-K", "SUB_UID_COUNT=0"])
            .args(["-K", "SUB_GID_COUNT=0", &name])
            .status()
            .unwrap()
            .success();
        assert!(ok, "useradd {name}");
        let range = format!("{sub}-{}", sub + 65535);
        let ok = Command::new("usermod")
            .args(["--add-subuids", &range, "--add-subgids", &range, &name])
            .status()
            .unwrap()
            .success();
        let user = TestUser {
            uid: id_of(&name, "-u"),
            gid: id_of(&name, "-g"),
            name,
        };
        assert!(ok, "usermod --add-subuids {range}");
        user
    }
}

fn id_of(name: &str, flag: &str) -> u32 {
    let out = Command::new("id").args([flag, name]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.name).status();
    }
}

/// The runtime as `user`, with the test's --root given to that user.
fn as_user(rt: &Runtime, user: &TestUser, cwd: Option<&Path>, args: &[&str]) -> Output {
    let (uid, gid) = (user.uid, user.gid);
    let home = rt.work.join("home");
    rt.spawn_configured(cwd, args, move |cmd| {
        cmd.uid(uid)
            .gid(gid)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", home)
            .env("XDG_RUNTIME_DIR", "/nonexistent");
        // (Command drops root's supplementary groups when it sets the uid.)
    })
    .wait(COMMAND_TIMEOUT)
}

/// A runtime whose --root, work dir and a rootless bundle (written by
/// `spec --rootless` as the user) belong to `user`.
fn rootless_setup(rt: &Runtime, user: &TestUser) -> Bundle {
    use std::os::unix::fs::PermissionsExt;
    let mut bundle = rt.bundle();
    std::fs::remove_file(bundle.config_path()).unwrap();
    chown_tree(&rt.root, user.uid, user.gid);
    std::fs::create_dir_all(rt.work.join("home")).unwrap();
    chown_tree(&rt.work.join("home"), user.uid, user.gid);
    chown_tree(&bundle.dir, user.uid, user.gid);
    std::fs::set_permissions(&rt.root, std::fs::Permissions::from_mode(0o700)).unwrap();
    open_path_to(&bundle.dir);
    as_user(rt, user, Some(&bundle.dir), &["spec", "--rootless"]).assert_ok("spec --rootless");
    bundle.config = serde_json::from_slice(&std::fs::read(bundle.config_path()).unwrap()).unwrap();
    bundle.set("/process/terminal", json!(false));
    bundle.save();
    chown_tree(&bundle.config_path(), user.uid, user.gid);
    bundle
}

/// Host uid of a process, from /proc/PID/status.
fn host_uid(pid: i64) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Every path under `dir` owned by someone other than `uid`.
fn not_owned_by(dir: &Path, uid: u32) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.uid() != uid {
            out.push(path.clone());
        }
        if meta.is_dir() {
            out.extend(not_owned_by(&path, uid));
        }
    }
    out
}

#[test]
fn an_unprivileged_user_runs_the_whole_lifecycle() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("runc needs XDG_RUNTIME_DIR and rootless cgroup setup here");
    }
    let user = TestUser::new("a", 400_000);
    let mut bundle = rootless_setup(&rt, &user);
    bundle.probe(&["sleep-forever"]);
    chown_tree(&bundle.config_path(), user.uid, user.gid);
    let dir = bundle.dir.to_str().unwrap().to_string();
    let id = rt.new_id();
    as_user(&rt, &user, None, &["create", "--bundle", &dir, &id]).assert_ok("create as the user");
    as_user(&rt, &user, None, &["start", &id]).assert_ok("start as the user");
    let state: Value = as_user(&rt, &user, None, &["state", &id]).json();
    assert_eq!(state["status"], "running", "{state}");
    let pid = state["pid"].as_i64().unwrap();
    assert_eq!(
        host_uid(pid),
        user.uid,
        "the container's root is the user outside"
    );
    let out = as_user(
        &rt,
        &user,
        None,
        &["exec", &id, "/bin/sh", "-c", "echo ok-$(id -u)"],
    );
    out.assert_ok("exec as the user");
    assert_eq!(out.stdout.trim(), "ok-0");
    as_user(&rt, &user, None, &["kill", &id, "KILL"]).assert_ok("kill as the user");
    rt.wait_status(&id, "stopped");
    as_user(&rt, &user, None, &["delete", &id]).assert_ok("delete as the user");
    // Foreground run, with busybox.
    bundle.shell("echo hello from $(id -u)");
    chown_tree(&bundle.config_path(), user.uid, user.gid);
    let id = rt.new_id();
    let out = as_user(&rt, &user, None, &["run", "--bundle", &dir, &id]);
    out.assert_ok("run as the user");
    assert_eq!(out.stdout.trim(), "hello from 0");
    let foreign = not_owned_by(&rt.root, user.uid);
    assert!(
        foreign.is_empty(),
        "left in the user's state root: {foreign:?}"
    );
}

#[test]
fn subordinate_ranges_are_mapped_with_newuidmap() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("hull-only: runc needs XDG_RUNTIME_DIR and rootless cgroup setup here");
    }
    let sub = 500_000;
    let user = TestUser::new("b", sub);
    let mut bundle = rootless_setup(&rt, &user);
    let shared = rt.host_dir("shared");
    open_path_to(&shared);
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    bundle.edit(|c| {
        c["linux"]["uidMappings"] = json!([
            {"containerID": 0, "hostID": user.uid, "size": 1},
            {"containerID": 1, "hostID": sub, "size": 65536},
        ]);
        c["linux"]["gidMappings"] = json!([
            {"containerID": 0, "hostID": user.gid, "size": 1},
            {"containerID": 1, "hostID": sub, "size": 65536},
        ]);
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/shared", "type": "bind", "source": shared,
            "options": ["rbind"]
        }));
    });
    // The process runs as 1000 inside, which is sub + 999 outside.
    bundle.set("/process/user", json!({"uid": 1000, "gid": 1000}));
    bundle.shell("touch /shared/f");
    chown_tree(&bundle.config_path(), user.uid, user.gid);
    let dir = bundle.dir.to_str().unwrap().to_string();
    let out = as_user(&rt, &user, None, &["run", "--bundle", &dir, &rt.new_id()]);
    out.assert_ok("run with subordinate ranges");
    let meta = std::fs::metadata(shared.join("f")).unwrap();
    // Container id 1000 is sub + 999 on the host.
    assert_eq!((meta.uid(), meta.gid()), (sub + 999, sub + 999));
}

#[test]
fn a_user_cannot_reach_other_users_containers() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("hull-only: runc needs XDG_RUNTIME_DIR and rootless cgroup setup here");
    }
    let user = TestUser::new("c", 600_000);
    // root's container, in root's state root (rt.root stays root's here).
    let mut bundle = rt.bundle();
    bundle.probe(&["sleep-forever"]);
    let id = rt.new_id();
    let state = rt.create_running(&id, &bundle);
    let home = rt.work.join("home");
    std::fs::create_dir_all(&home).unwrap();
    chown_tree(&home, user.uid, user.gid);
    open_path_to(&home);
    {
        // As hull makes its default state root: root's alone.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&rt.root, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    for args in [
        vec!["state", id.as_str()],
        vec!["kill", id.as_str(), "KILL"],
        vec!["delete", "--force", id.as_str()],
    ] {
        let out = as_user(&rt, &user, None, &args);
        assert_ne!(out.code, 0, "{args:?} as another user succeeded: {out:?}");
    }
    // Its default state root is its own, where root's containers are not.
    let out = Command::new(&rt.bin)
        .args(["list", "--quiet"])
        .uid(user.uid)
        .gid(user.gid)
        .env("XDG_RUNTIME_DIR", &home)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&id));
    assert_eq!(rt.state(&id)["status"], "running", "still running: {state}");
    rt.kill(&id, Some("KILL")).assert_ok("kill as root");
    rt.wait_status(&id, "stopped");
}

#[test]
fn what_a_user_cannot_do_is_named() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("hull-only: runc needs XDG_RUNTIME_DIR and rootless cgroup setup here");
    }
    let user = TestUser::new("d", 700_000);
    let mut bundle = rootless_setup(&rt, &user);
    let dir = bundle.dir.to_str().unwrap().to_string();
    // A range the user was not given, and no user namespace at all.
    bundle.set(
        "/linux/uidMappings",
        json!([{"containerID": 0, "hostID": 0, "size": 1}]),
    );
    chown_tree(&bundle.config_path(), user.uid, user.gid);
    let out = as_user(&rt, &user, None, &["run", "--bundle", &dir, &rt.new_id()]);
    out.assert_failed("mapping root's uid")
        .assert_stderr_contains("linux.uidMappings");
    bundle.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|ns| ns["type"] != "user");
        c["linux"].as_object_mut().unwrap().remove("uidMappings");
        c["linux"].as_object_mut().unwrap().remove("gidMappings");
    });
    chown_tree(&bundle.config_path(), user.uid, user.gid);
    let out = as_user(&rt, &user, None, &["run", "--bundle", &dir, &rt.new_id()]);
    out.assert_failed("no user namespace")
        .assert_stderr_contains("user namespace");
    // A limit needs a cgroup, which this user may not make here.
    let mut bundle = rootless_setup(&rt, &user);
    bundle.set("/linux/resources", json!({"pids": {"limit": 10}}));
    chown_tree(&bundle.config_path(), user.uid, user.gid);
    let dir = bundle.dir.to_str().unwrap().to_string();
    let out = as_user(&rt, &user, None, &["run", "--bundle", &dir, &rt.new_id()]);
    out.assert_failed("a limit without a writable cgroup")
        .assert_stderr_contains("create cgroup");
    assert!(rt.root_entries().is_empty(), "state left behind");
}
