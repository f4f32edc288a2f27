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
        skip!("ociVersion is only checked for hull");
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
        skip!("HULL_TEST_PANIC is hull's own test trigger");
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

/// A config edited by `edit` holds a NUL byte at `field`: create must
/// refuse it naming the field, in one line, before anything exists.
#[track_caller]
fn nul_refused(field: &str, edit: impl FnOnce(&mut Value)) {
    nul_refused_by(field, true, edit)
}

/// `nul_refused` for a string that is not a path: runc 1.1.5 takes those
/// (a hostname with a NUL, an argv entry cut at it), so hull only.
#[track_caller]
fn nul_refused_by_hull(field: &str, edit: impl FnOnce(&mut Value)) {
    nul_refused_by(field, is_hull(), edit)
}

#[track_caller]
fn nul_refused_by(field: &str, checked: bool, edit: impl FnOnce(&mut Value)) {
    if !checked {
        skip!("{field}: runc 1.1.5 accepts a NUL byte there");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.edit(edit);
    let out = create_rejected(&rt, &bundle, &format!("create with a NUL byte in {field}"));
    if is_hull() {
        let line = one_line(&out);
        assert!(
            line.ends_with(&format!("{field}: contains a NUL byte")),
            "{field}: {line}"
        );
    }
}

#[test]
fn nul_in_masked_and_readonly_paths() {
    // Was accepted, and the path neither masked nor read-only.
    nul_refused("linux.maskedPaths[2]", |c| {
        c["linux"]["maskedPaths"][2] = json!("/proc/sy\u{0}s")
    });
    nul_refused("linux.readonlyPaths[0]", |c| {
        c["linux"]["readonlyPaths"][0] = json!("/proc/bus\u{0}/x")
    });
}

#[test]
fn nul_in_mounts() {
    nul_refused("mounts[1].destination", |c| {
        c["mounts"][1]["destination"] = json!("/de\u{0}v")
    });
    nul_refused("mounts[0].source", |c| {
        c["mounts"][0]["source"] = json!("pr\u{0}oc")
    });
    nul_refused("mounts[1].options[2]", |c| {
        c["mounts"][1]["options"][2] = json!("mode=755\u{0},uid=5")
    });
}

#[test]
fn nul_in_root_and_process() {
    nul_refused("root.path", |c| c["root"]["path"] = json!("rootfs\u{0}/x"));
    nul_refused("process.cwd", |c| c["process"]["cwd"] = json!("/tmp\u{0}"));
    nul_refused_by_hull("process.args[1]", |c| {
        c["process"]["args"] = json!(["/bin/probe", "a\u{0}b"])
    });
}

#[test]
fn nul_in_hook_paths() {
    nul_refused("hooks.createRuntime[0].path", |c| {
        c["hooks"] = json!({"createRuntime": [{"path": "/bin/tr\u{0}ue"}]})
    });
    nul_refused_by_hull("hooks.poststop[0].args[1]", |c| {
        c["hooks"] = json!({"poststop": [{"path": "/bin/true", "args": ["true", "\u{0}"]}]})
    });
}

#[test]
fn nul_in_device_paths() {
    nul_refused(
        "linux.devices[0].path",
        |c| {
            c["linux"]["devices"] =
                json!([{"path": "/dev/fu\u{0}se", "type": "c", "major": 10, "minor": 229}])
        },
    );
}

#[test]
fn nul_in_cgroups_path() {
    nul_refused("linux.cgroupsPath", |c| {
        c["linux"]["cgroupsPath"] = json!("/hull-test\u{0}/x")
    });
}

#[test]
fn nul_in_namespace_paths() {
    nul_refused("linux.namespaces[1].path", |c| {
        c["linux"]["namespaces"][1]["path"] = json!("/proc/1/ns/net\u{0}x")
    });
}

#[test]
fn nul_in_seccomp_fields() {
    let seccomp = |listener: &str, name: &str| {
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": listener,
               "syscalls": [{"names": [name], "action": "SCMP_ACT_NOTIFY"}]})
    };
    nul_refused("linux.seccomp.listenerPath", |c| {
        c["linux"]["seccomp"] = seccomp("/run/listener\u{0}.sock", "mkdir")
    });
    nul_refused("linux.seccomp.syscalls[0].names[0]", |c| {
        c["linux"]["seccomp"] = seccomp("/run/listener.sock", "mk\u{0}dir")
    });
}

#[test]
fn nul_in_names_and_sysctls() {
    nul_refused_by_hull("hostname", |c| c["hostname"] = json!("hu\u{0}ll"));
    nul_refused_by_hull("linux.sysctl.net.ipv4.ip_forward", |c| {
        c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1\u{0}"})
    });
}

#[test]
fn hostname_longer_than_the_kernel_takes() {
    // 1 MiB once ended as "the init ended during create without a word".
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.hostname(&"h".repeat(1 << 20));
    let out = create_rejected(&rt, &bundle, "create with a 1 MiB hostname");
    if is_hull() {
        let line = one_line(&out);
        assert!(
            line.ends_with("hostname: 1048576 bytes long, the kernel takes at most 64"),
            "{line}"
        );
    }
    bundle.hostname(&"h".repeat(65));
    create_rejected(&rt, &bundle, "create with a 65-byte hostname");
}

#[test]
fn exec_overrides_on_a_process_of_the_wrong_shape() {
    // `--user` on a --process file whose "user" is a number made hull
    // panic (serde_json's `value["uid"] = …` on a number).
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&["sleep-forever"]);
    let id = rt.new_id();
    rt.create_ok(&id, &bundle);
    for (process, flag) in [
        (
            json!({"args": ["/bin/true"], "cwd": "/", "user": 5}),
            "--user=1000",
        ),
        (
            json!({"args": ["/bin/true"], "cwd": "/", "user": {"uid": 0, "gid": 0}, "capabilities": []}),
            "--cap=CAP_KILL",
        ),
    ] {
        let file = rt.work.join("process.json");
        std::fs::write(&file, process.to_string()).unwrap();
        let out = rt.exec(&id, &["--process", file.to_str().unwrap(), flag], &[]);
        out.assert_failed(&format!("exec {flag} on {process}"));
        let line = one_line(&out);
        assert!(!line.contains("panicked"), "{line}");
        if is_hull() {
            assert!(
                line.contains("--process") && line.contains("not a JSON object"),
                "{line}"
            );
        }
    }
    assert_eq!(rt.state(&id)["status"], "created");
    rt.delete(&id).assert_ok("delete");
}

#[test]
fn hostname_in_hulls_own_uts_namespace() {
    // hull only: runc 1.1.5 sets it, and so the host's hostname.
    if !is_hull() {
        skip!("runc sets the hostname of a joined host uts namespace");
    }
    let rt = Runtime::new();
    // The host's own names: should the check ever fail, nothing changes.
    let read = |f: &str| {
        std::fs::read_to_string(format!("/proc/sys/kernel/{f}"))
            .unwrap()
            .trim()
            .to_string()
    };
    for (field, pointer, own) in [
        ("hostname", "/hostname", read("hostname")),
        ("domainname", "/domainname", read("domainname")),
    ] {
        let mut bundle = rt.bundle();
        bundle.remove("/hostname").set(pointer, json!(own));
        bundle.namespace(json!({"type": "uts", "path": "/proc/self/ns/uts"}));
        let out = create_rejected(
            &rt,
            &bundle,
            &format!("{field} in the host's uts namespace"),
        );
        let line = one_line(&out);
        assert!(
            line.contains(&format!("{field}: the \"uts\" namespace"))
                && line.contains("is the one hull runs in"),
            "{line}"
        );
    }
}

#[test]
fn preserve_fds_past_the_largest_fd_number() {
    // 3 + N overflowed in the process setup: a panic (debug build).
    if !is_hull() {
        skip!("runc 1.1.5 fails differently (it has no such fds)");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&["sleep-forever"]);
    let dir = bundle.dir.to_str().unwrap().to_string();
    let out = rt.cmd(&[
        "create",
        "--preserve-fds",
        "4294967295",
        "--bundle",
        &dir,
        &rt.new_id(),
    ]);
    assert_rejected(&rt, &out, "create --preserve-fds 4294967295");
    assert!(one_line(&out).ends_with("more fds than a process can have (at most 2147483644)"));
    let id = rt.new_id();
    rt.create_ok(&id, &bundle);
    let out = rt.exec(&id, &["--preserve-fds", "4294967295"], &["/bin/true"]);
    out.assert_failed("exec --preserve-fds 4294967295");
    assert!(one_line(&out).contains("--preserve-fds 4294967295: more fds"));
    rt.delete(&id).assert_ok("delete");
}

/// `--systemd-cgroup create` of a fresh id from `bundle`, refused.
#[track_caller]
fn systemd_create_rejected(rt: &Runtime, bundle: &Bundle, what: &str) -> Output {
    let dir = bundle.config_path().parent().unwrap().display().to_string();
    let out = rt.cmd(&["--systemd-cgroup", "create", "--bundle", &dir, &rt.new_id()]);
    assert_rejected(rt, &out, what);
    out
}

/// `--systemd-cgroup` where systemd cannot make the unit (this host has v1
/// hierarchies and no systemd; a v2 host without systemd has no bus): one
/// short message naming the driver, and nothing is left.
#[test]
fn systemd_cgroup_without_systemd() {
    let rt = Runtime::new();
    let out = systemd_create_rejected(&rt, &rt.bundle(), "--systemd-cgroup without systemd");
    out.assert_stderr_contains("systemd");
}

/// Under `--systemd-cgroup` linux.cgroupsPath is `slice:prefix:name`: a
/// path, a bad slice or a name systemd refuses is named, before anything
/// is made, on any host.
#[test]
fn systemd_cgroups_path_must_be_slice_prefix_name() {
    let rt = Runtime::new();
    for (path, says) in [
        ("/hull-test/x", "slice:prefix:name"),
        ("a--b.slice:hull:x", "no empty part"),
        ("system:hull:x", "does not end in \".slice\""),
        ("system.slice:hull:a/b", "not allowed"),
        ("system.slice:hull:", "the name part is empty"),
    ] {
        let mut bundle = rt.bundle();
        bundle.set("/linux/cgroupsPath", json!(path));
        let out = systemd_create_rejected(&rt, &bundle, path);
        if is_hull() {
            out.assert_stderr_contains("linux.cgroupsPath")
                .assert_stderr_contains(says);
        }
    }
}

/// linux.intelRdt on a host without resctrl (this one) is refused, not
/// skipped, naming the field and what is missing; runc 1.1.5 refuses it
/// too. The writes themselves are unit-tested against a fake resctrl tree
/// (src/resctrl/tests.rs).
#[test]
fn intel_rdt_without_resctrl_is_refused() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.set(
        "/linux/intelRdt",
        json!({"closID": "c1", "l3CacheSchema": "L3:0=f"}),
    );
    let out = create_rejected(&rt, &bundle, "create with linux.intelRdt");
    if is_hull() {
        out.assert_stderr_contains("linux.intelRdt: resctrl is not mounted on this host");
    }
}
