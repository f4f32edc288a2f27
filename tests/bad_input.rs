//! Bad bundles, ids, signals and flags: each is refused with a non-zero exit
//! and a short message, and leaves no container behind.

mod common;

use common::*;
use serde_json::json;

/// Refused with a short message on stderr, nothing left behind.
#[track_caller]
fn assert_rejected(rt: &Runtime, out: &Output, what: &str) {
    out.assert_failed(what);
    let lines = out.stderr.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(
        lines <= 3,
        "{what}: expected a short message, got {lines} lines: {out:?}"
    );
    rt.assert_nothing_left();
}

/// `create` of a fresh id from `bundle`, which must be refused.
#[track_caller]
fn create_rejected(rt: &Runtime, bundle: &Bundle, what: &str) -> Output {
    let out = rt.create(&rt.new_id(), bundle);
    assert_rejected(rt, &out, what);
    out
}

#[test]
fn missing_bundle_dir() {
    let rt = Runtime::new();
    let missing = rt.work.join("no-such-bundle");
    let id = rt.new_id();
    let out = rt.cmd(&["create", "--bundle", missing.to_str().unwrap(), &id]);
    assert_rejected(&rt, &out, "create from a missing bundle");
    out.assert_stderr_contains(missing.to_str().unwrap());
}

#[test]
fn missing_config_json() {
    let rt = Runtime::new();
    let bundle = rt.bundle();
    std::fs::remove_file(bundle.config_path()).unwrap();
    let out = create_rejected(&rt, &bundle, "create without config.json");
    out.assert_stderr_contains("config.json");
}

#[test]
fn malformed_json() {
    let rt = Runtime::new();
    let bundle = rt.bundle();
    bundle.write_raw_config("{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {\n");
    let out = create_rejected(&rt, &bundle, "create with malformed JSON");
    if is_hull() {
        out.assert_stderr_contains("line")
            .assert_stderr_contains("column");
    }
}

#[test]
fn wrong_type() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.set("/process/user/uid", json!("x"));
    let out = create_rejected(&rt, &bundle, "create with a string uid");
    // runc names the Go field path, e.g. "User.process.user.uid".
    out.assert_stderr_contains("process.user.uid");
}

#[test]
fn unsupported_oci_version() {
    // hull only: runc 1.1.5 does not check ociVersion.
    if !is_hull() {
        eprintln!("skipped: ociVersion is only checked for hull");
        return;
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.set("/ociVersion", json!("2.0.0"));
    let out = create_rejected(&rt, &bundle, "create with ociVersion 2.0.0");
    out.assert_stderr_contains("2.0.0");
}

#[test]
fn missing_rootfs() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.set("/root/path", json!("no-such-rootfs"));
    let out = create_rejected(&rt, &bundle, "create with a missing rootfs");
    out.assert_stderr_contains("no-such-rootfs");
}

#[test]
fn relative_cwd() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.cwd("relative/dir");
    let out = create_rejected(&rt, &bundle, "create with a relative cwd");
    if is_hull() {
        out.assert_stderr_contains("relative/dir");
    }
}

#[test]
fn empty_args() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.args(&[]);
    let out = create_rejected(&rt, &bundle, "create with empty args");
    out.assert_stderr_contains("args");
}

#[test]
fn executable_not_found() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.args(&["nosuch"]);
    let out = create_rejected(&rt, &bundle, "create with a missing executable");
    out.assert_stderr_contains("nosuch");
    let out = rt.run(&rt.new_id(), &bundle);
    assert_rejected(&rt, &out, "run with a missing executable");
    out.assert_stderr_contains("nosuch");
}

#[test]
fn invalid_ids() {
    let rt = Runtime::new();
    let bundle = rt.bundle();
    let long = "a".repeat(1025);
    for id in ["../x", "", "a/b", long.as_str()] {
        rt.track(id);
        let out = rt.cmd(&["create", "--bundle", bundle.dir.to_str().unwrap(), id]);
        assert_rejected(&rt, &out, &format!("create with id {id:?}"));
        if is_hull() && matches!(id, "../x" | "a/b") {
            out.assert_stderr_contains(id);
        }
    }
    // "../x" must not have escaped the --root dir.
    assert!(!rt.root.parent().unwrap().join("x").exists());
}

#[test]
fn unknown_id() {
    let rt = Runtime::new();
    for args in [
        &["state", "nosuch"][..],
        &["start", "nosuch"],
        &["kill", "nosuch", "KILL"],
        &["delete", "nosuch"],
    ] {
        let out = rt.cmd(args);
        assert_rejected(&rt, &out, &format!("{args:?}"));
        out.assert_stderr_contains("does not exist");
    }
}

#[test]
fn unknown_signal() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&["sleep-forever"]);
    let id = rt.new_id();
    rt.create_ok(&id, &bundle);
    for signal in ["NOSUCHSIG", "SIGNOSUCH", "99999"] {
        let out = rt.kill(&id, Some(signal));
        out.assert_failed(&format!("kill with {signal}"));
        if is_hull() {
            out.assert_stderr_contains(signal);
        }
    }
    rt.kill(&id, Some("FOO"))
        .assert_failed("kill FOO")
        .assert_stderr_contains("FOO");
    assert_eq!(
        rt.state(&id)["status"],
        "created",
        "a bad signal changed the container"
    );
    rt.delete(&id).assert_ok("delete");
}

#[test]
fn unknown_flag() {
    let rt = Runtime::new();
    let bundle = rt.bundle();
    let id = rt.new_id();
    let out = rt.cmd(&[
        "create",
        "--bogus-flag",
        "--bundle",
        bundle.dir.to_str().unwrap(),
        &id,
    ]);
    out.assert_failed("create with an unknown flag")
        .assert_stderr_contains("bogus-flag");
    rt.assert_nothing_left();
}

/// The one non-empty line of stderr (fails when there are more or none).
#[track_caller]
fn one_line(out: &Output) -> &str {
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr: {out:?}");
    lines[0]
}

#[test]
fn init_error_of_any_size_reaches_the_user() {
    // A 1 MiB program name fails in the init (PATH lookup); its error is
    // far larger than one packet of the sync socket could carry whole.
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    let long = "x".repeat(1 << 20);
    bundle.args(&[long.as_str()]);
    let out = create_rejected(&rt, &bundle, "create with a 1 MiB program name");
    let line = one_line(&out);
    out.assert_stderr_contains("xxxxxxxx");
    if is_hull() {
        out.assert_stderr_contains("executable file not found")
            .assert_stderr_contains("bytes cut");
        assert!(line.len() < 5000, "{} bytes", line.len());
    }
}
