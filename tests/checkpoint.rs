//! `checkpoint` and `restore` on this host: the CLI engines probe, and the
//! refusals that need no working CRIU (CRIU 3.17 cannot dump on kernel
//! 6.18: `criu check` fails on its vDSO). A real checkpoint and restore is
//! proven in the cgroup v2 VM test bed, whose kernel CRIU supports
//! (scripts/vm/tests/30-checkpoint.sh, run by tests/vm_cgroup_v2.rs for
//! hull and runc).

mod common;

use common::*;

fn sleeper(rt: &Runtime) -> Bundle {
    let mut bundle = rt.bundle();
    bundle.probe(&["sleep-forever"]);
    bundle
}

/// podman decides that a runtime can checkpoint by `checkpoint --help`
/// exiting 0; every flag engines pass is accepted.
#[test]
fn help_exits_zero_and_lists_the_engines_flags() {
    let rt = Runtime::new();
    let out = rt.cmd(&["checkpoint", "--help"]);
    out.assert_ok("checkpoint --help");
    for flag in [
        "--image-path",
        "--work-path",
        "--parent-path",
        "--leave-running",
        "--tcp-established",
        "--ext-unix-sk",
        "--shell-job",
        "--file-locks",
        "--manage-cgroups-mode",
        "--pre-dump",
        "--empty-ns",
        "--page-server",
        "--lazy-pages",
        "--auto-dedup",
        "--status-fd",
    ] {
        assert!(out.stdout.contains(flag), "checkpoint --help lacks {flag}");
    }
    let out = rt.cmd(&["restore", "--help"]);
    out.assert_ok("restore --help");
    for flag in [
        "--bundle",
        "--console-socket",
        "--detach",
        "--pid-file",
        "--no-subreaper",
        "--no-pivot",
        "--image-path",
        "--work-path",
    ] {
        assert!(out.stdout.contains(flag), "restore --help lacks {flag}");
    }
}

/// Without CRIU, one line says so and the container runs on untouched.
#[test]
fn without_criu_checkpoint_says_so_and_changes_nothing() {
    let rt = Runtime::new();
    let id = rt.new_id();
    rt.create_running(&id, &sleeper(&rt));
    let images = rt.host_dir("images");
    let out = rt.cmd(&[
        "--criu",
        "/nonexistent/criu",
        "checkpoint",
        "--image-path",
        images.to_str().unwrap(),
        &id,
    ]);
    out.assert_failed("checkpoint with a missing criu");
    if is_hull() {
        assert_eq!(
            out.stderr.trim(),
            "hull: --criu /nonexistent/criu: no executable file there"
        );
    }
    assert_eq!(rt.state(&id)["status"], "running");
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}

/// Only a running (or paused) container can be checkpointed.
#[test]
fn a_created_container_is_not_checkpointed() {
    let rt = Runtime::new();
    let id = rt.new_id();
    rt.create(&id, &sleeper(&rt)).assert_ok("create");
    let images = rt.host_dir("images");
    let out = rt.cmd(&["checkpoint", "--image-path", images.to_str().unwrap(), &id]);
    out.assert_failed("checkpoint of a created container");
    if is_hull() {
        out.assert_stderr_contains("is created (only a running or paused container can be)");
    }
    assert_eq!(rt.state(&id)["status"], "created");
}

/// Where CRIU cannot work on this kernel, the error names what CRIU and
/// `criu check` say, and the container runs on. (Where it can, this host
/// is not the one to prove it: the VM bed does.)
#[test]
fn a_kernel_criu_cannot_handle_is_named() {
    let criu_works = std::process::Command::new("criu")
        .arg("check")
        .output()
        .is_ok_and(|o| o.status.success());
    if criu_works {
        skip!("criu check passes on this kernel: the VM bed proves checkpoint and restore");
    }
    if which("criu").is_none() {
        skip!("criu is not installed (make test installs it)");
    }
    let rt = Runtime::new();
    let id = rt.new_id();
    rt.create_running(&id, &sleeper(&rt));
    let images = rt.host_dir("images");
    let out = rt.cmd(&["checkpoint", "--image-path", images.to_str().unwrap(), &id]);
    out.assert_failed("checkpoint where criu check fails");
    if is_hull() {
        out.assert_stderr_contains("criu dump failed: ")
            .assert_stderr_contains("dump.log: Error (");
        assert!(out.stderr.contains("criu check"), "{}", out.stderr);
        assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    }
    assert_eq!(rt.state(&id)["status"], "running");
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}

/// A restore from a directory that holds no checkpoint fails naming it and
/// leaves no container, state dir or cgroup.
#[test]
fn restore_without_images_leaves_nothing() {
    if which("criu").is_none() {
        skip!("criu is not installed (make test installs it)");
    }
    let rt = Runtime::new();
    let bundle = sleeper(&rt);
    let images = rt.host_dir("images");
    let id = rt.new_id();
    let out = rt.cmd(&[
        "restore",
        "--detach",
        "--bundle",
        bundle.dir.to_str().unwrap(),
        "--image-path",
        images.to_str().unwrap(),
        &id,
    ]);
    out.assert_failed("restore from an empty image dir");
    if is_hull() {
        out.assert_stderr_contains("descriptors.json");
    }
    rt.assert_nothing_left();
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}
