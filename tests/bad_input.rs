//! Bad bundles, ids, signals and flags: each is refused with a non-zero exit
//! and a short message, and leaves no container behind.

mod common;

use common::*;
use serde_json::{json, Value};

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

/// `ARGS` run with `HULL_TEST_PANIC=point` and a JSON `--log`: it must end
/// as exit 1 and one error line (stderr and log) naming the panic.
#[track_caller]
fn assert_panic_is_one_line(rt: &Runtime, point: &str, args: &[&str]) {
    let log = rt.work.join(format!("panic-{point}.log"));
    let mut full = vec!["--log", log.to_str().unwrap(), "--log-format", "json"];
    full.extend_from_slice(args);
    let out = rt
        .spawn_configured(None, &full, |cmd| {
            cmd.env("HULL_TEST_PANIC", point);
        })
        .wait(COMMAND_TIMEOUT);
    assert!(
        out.code != 0 || !out.stderr.is_empty(),
        "HULL_TEST_PANIC={point} did nothing: is this a release build? The trigger is in debug builds only: {out:?}"
    );
    assert_eq!(
        out.code, 1,
        "a panic at {point} must exit 1, not abort: {out:?}"
    );
    let line = one_line(&out);
    let said = format!("HULL_TEST_PANIC={point}");
    assert!(
        line.starts_with("hull: ")
            && line.contains("internal error: hull panicked at src/")
            && line.ends_with(&said),
        "{line}"
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let errors: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .filter(|e: &Value| e["level"] == "error")
        .collect();
    assert_eq!(errors.len(), 1, "one error in the log: {text}");
    assert!(
        errors[0]["msg"]
            .as_str()
            .is_some_and(|m| m.ends_with(&said)),
        "{text}"
    );
}

#[test]
fn a_panic_is_one_error_line_and_leaves_nothing() {
    // No input makes hull panic; the trigger is a debug-build-only env var.
    if !is_hull() {
        eprintln!("skipped: HULL_TEST_PANIC is hull's own test trigger");
        return;
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&["sleep-forever"]);
    let dir = bundle.dir.to_str().unwrap().to_string();
    // In hull before any work, in create once the state dir and cgroup
    // exist (the cleanup must still remove them), in the cloned init.
    for point in ["main", "create", "init"] {
        let id = rt.new_id();
        assert_panic_is_one_line(&rt, point, &["create", "--bundle", &dir, &id]);
        rt.assert_nothing_left();
    }
    // In an exec'd process: exec fails, the container is unharmed.
    let id = rt.new_id();
    rt.create_ok(&id, &bundle);
    assert_panic_is_one_line(&rt, "exec", &["exec", &id, "/bin/true"]);
    assert_eq!(rt.state(&id)["status"], "created");
    rt.delete(&id).assert_ok("delete");
    rt.assert_nothing_left();
}
