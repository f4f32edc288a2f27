//! OCI hooks: each point runs at its moment, in the namespace the spec names,
//! with the state on stdin and only its own argv and env; failures and
//! timeouts end the operation as the spec says.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use serde_json::{json, Value};

/// A hook that records its stdin, argv, env, mount namespace and its place
/// in the order of hooks into files named after `name` in `dir`.
fn recorder(dir: &Path, name: &str) -> Value {
    let d = dir.display();
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c",
            format!("cat > {d}/{name}.stdin; echo \"$0 $*\" > {d}/{name}.argv; env > {d}/{name}.env; \
                     readlink /proc/self/ns/mnt > {d}/{name}.mnt; echo {name} >> {d}/order"),
            "hook-arg0", name],
        "env": [format!("HOOK_NAME={name}")]
    })
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("hook output {file} in {dir:?}: {e}"))
}

fn own_mnt_ns() -> String {
    std::fs::read_link("/proc/self/ns/mnt")
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// A hook that only records its stdin into `dir/name.stdin`.
fn stdin_recorder(dir: &Path, name: &str) -> Value {
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("cat > {}/{name}.stdin", dir.display())]
    })
}

fn failing_hook(code: i32) -> Value {
    json!({"path": "/bin/sh", "args": ["sh", "-c", format!("exit {code}")]})
}

fn read_state(dir: &Path, name: &str) -> Value {
    serde_json::from_str(&read(dir, &format!("{name}.stdin")))
        .unwrap_or_else(|e| panic!("{name} stdin is not JSON: {e}"))
}

/// How many times a hook appended its line to `dir/file` (0 when never).
fn runs(dir: &Path, file: &str) -> usize {
    std::fs::read_to_string(dir.join(file))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

/// A poststop hook that appends a line to `dir/poststop.runs`.
fn poststop_counter(dir: &Path) -> Value {
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("cat > /dev/null; echo ran >> {}/poststop.runs", dir.display())]
    })
}

#[test]
fn every_hook_runs_at_its_point_with_the_state_on_stdin() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    let host = rt.host_dir("hooks");
    bundle.readonly_root(false).probe(&["exit", "0"]);
    let annotations = json!({"org.example.hooks": "stdin test", "second": "2"});
    bundle.set("/annotations", annotations.clone());
    bundle.set(
        "/hooks",
        json!({
            "prestart": [recorder(&host, "prestart")],
            "createRuntime": [recorder(&host, "createRuntime")],
            "createContainer": [recorder(&host, "createContainer")],
            // Resolved and run inside the container: it writes to its own /.
            "startContainer": [recorder(Path::new(""), "startContainer")],
            "poststart": [recorder(&host, "poststart")],
            "poststop": [recorder(&host, "poststop")],
        }),
    );
    let id = rt.new_id();
    // A relative --bundle, as runtime-tools' hooks_stdin passes none but
    // engines may: every state still carries the absolute path.
    let parent = bundle.dir.parent().unwrap();
    let rel = bundle.dir.file_name().unwrap().to_str().unwrap();
    rt.cmd_in(parent, &["create", "--bundle", rel, &id])
        .assert_ok("create with hooks");
    let init_pid = rt.state(&id)["pid"].as_i64().expect("pid after create");
    rt.start(&id).assert_ok("start");
    rt.wait_status(&id, "stopped");
    rt.delete(&id).assert_ok("delete");

    assert_eq!(
        read(&host, "order"),
        "prestart\ncreateRuntime\ncreateContainer\npoststart\npoststop\n"
    );
    let rootfs = bundle.rootfs();
    let bundle_dir = bundle.dir.canonicalize().unwrap();
    // (hook, where it wrote, status, pid): the runtime's hooks get the pid
    // the host sees, the container's the one it sees itself (1, in a pid
    // namespace of its own); poststop none, the init is gone.
    for (name, dir, status, pid) in [
        ("prestart", &host, "creating", Some(init_pid)),
        ("createRuntime", &host, "creating", Some(init_pid)),
        ("createContainer", &host, "creating", Some(1)),
        ("startContainer", &rootfs, "created", Some(1)),
        ("poststart", &host, "running", Some(init_pid)),
        ("poststop", &host, "stopped", None),
    ] {
        let state = read_state(dir, name);
        assert_eq!(state["id"], id.as_str(), "{name}: {state}");
        assert_eq!(state["ociVersion"], "1.0.2-dev", "{name}: {state}");
        assert_eq!(state["annotations"], annotations, "{name}: {state}");
        assert_eq!(
            state["bundle"],
            bundle_dir.to_str().unwrap(),
            "{name}: {state}"
        );
        // runc 1.1.5 runs poststart within create and says "created".
        if is_hull() || name != "poststart" {
            assert_eq!(state["status"], status, "{name}: {state}");
        }
        assert_eq!(state["pid"].as_i64(), pid, "{name}: {state}");
        assert_eq!(
            read(dir, &format!("{name}.argv")).trim(),
            format!("hook-arg0 {name}"),
            "{name}: argv"
        );
        let env = read(dir, &format!("{name}.env"));
        assert!(env.contains(&format!("HOOK_NAME={name}")), "{name}: {env}");
        assert!(
            !env.contains("CARGO"),
            "{name} got the runtime's env: {env}"
        );
    }

    // Runtime namespace for the runtime's hooks, the container's for the others.
    let host_ns = own_mnt_ns();
    for name in ["prestart", "createRuntime", "poststart", "poststop"] {
        assert_eq!(
            read(&host, &format!("{name}.mnt")).trim(),
            host_ns,
            "{name}"
        );
    }
    let in_container = read(&host, "createContainer.mnt");
    assert_ne!(
        in_container.trim(),
        host_ns,
        "createContainer ran in the host's mount ns"
    );
    assert_eq!(read(&rootfs, "startContainer.mnt"), in_container);
    assert_eq!(read(&rootfs, "order"), "startContainer\n");
}

#[test]
fn container_hooks_get_the_host_pid_without_a_pid_namespace() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    let host = rt.host_dir("hooks");
    bundle
        .readonly_root(false)
        .without_namespace("pid")
        .probe(&["sleep-forever"]);
    bundle.set(
        "/hooks",
        json!({
            "createContainer": [stdin_recorder(&host, "createContainer")],
            "startContainer": [stdin_recorder(Path::new(""), "startContainer")],
        }),
    );
    let id = rt.new_id();
    let state = rt.create_running(&id, &bundle);
    let pid = state["pid"].as_i64();
    assert!(pid.is_some_and(|p| p > 1), "{state}");
    assert_eq!(read_state(&host, "createContainer")["pid"].as_i64(), pid);
    assert_eq!(
        read_state(&bundle.rootfs(), "startContainer")["pid"].as_i64(),
        pid
    );
    rt.delete_force(&id).assert_ok("delete --force");
}

#[test]
fn poststart_hooks_run_once_the_process_is_executed() {
    if !is_hull() {
        skip!("runc 1.1.5 runs poststart hooks within create, while its init still waits");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    let host = rt.host_dir("hooks");
    bundle.probe(&["sleep-forever"]);
    // What the state's pid runs at that moment, as the host sees it. (The
    // exec usually beats a hook even without the wait; start.rs's unit
    // tests show start waits for the fifo to close, not for the "0".)
    let d = host.display();
    let script = format!(
        "state=$(cat); pid=${{state#*\\\"pid\\\":}}; pid=${{pid%%[!0-9]*}}; \
         echo $pid > {d}/pid; tr '\\0' ' ' < /proc/$pid/cmdline > {d}/cmdline; \
         readlink /proc/$pid/exe > {d}/exe"
    );
    bundle.set(
        "/hooks",
        json!({"poststart": [{"path": "/bin/sh", "args": ["sh", "-c", script]}]}),
    );
    let id = rt.new_id();
    let state = rt.create_running(&id, &bundle);
    assert_eq!(
        read(&host, "pid").trim(),
        state["pid"].to_string(),
        "the hook read another pid"
    );
    assert_eq!(read(&host, "cmdline"), "/bin/probe sleep-forever ");
    let exe = read(&host, "exe");
    assert!(exe.trim().ends_with("/bin/probe"), "exe: {exe}");
    rt.delete_force(&id).assert_ok("delete --force");
}

#[test]
fn failing_create_hooks_fail_create_and_the_container_is_destroyed() {
    let rt = Runtime::new();
    for point in ["prestart", "createRuntime", "createContainer"] {
        let mut bundle = rt.bundle();
        let host = rt.host_dir("hooks");
        bundle.readonly_root(false).probe(&["write", "/ran", "x"]);
        bundle.set(
            "/hooks",
            json!({point: [failing_hook(7)], "poststop": [poststop_counter(&host)]}),
        );
        let id = rt.new_id();
        let out = rt.create(&id, &bundle);
        out.assert_failed(&format!("create with a failing {point} hook"));
        if is_hull() {
            out.assert_stderr_contains(&format!("hooks.{point}[0]"));
        }
        rt.try_state(&id)
            .assert_failed(&format!("state after a failing {point} hook"))
            .assert_stderr_contains("does not exist");
        assert!(
            rt.list_ids().is_empty(),
            "container left after a failed {point} hook"
        );
        // Destroyed, then the lifecycle goes on with poststop.
        assert_eq!(runs(&host, "poststop.runs"), 1, "{point}: poststop hooks");
        assert!(
            !bundle.rootfs().join("ran").exists(),
            "{point}: the process ran"
        );
    }
}
#[test]
fn hook_past_its_timeout_is_killed() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&["exit", "0"]);
    // A duration unique to this test, to find the hook among processes.
    let marker = format!("300.{}", std::process::id());
    bundle.set(
        "/hooks",
        json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", marker], "timeout": 1}]}),
    );
    let id = rt.new_id();
    let out = rt.create(&id, &bundle);
    out.assert_failed("create with a hook that hangs");
    if is_hull() {
        out.assert_stderr_contains("timed out");
    }
    assert!(pids_with_arg(&marker).is_empty(), "the hook still runs");
}

#[test]
fn failing_start_container_hook_fails_start_and_the_container_is_destroyed() {
    if !is_hull() {
        skip!("runc 1.1.5 runs it after start has returned and cannot report it");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    let host = rt.host_dir("hooks");
    bundle.readonly_root(false).probe(&["write", "/ran", "x"]);
    bundle.set(
        "/hooks",
        json!({"startContainer": [failing_hook(3)], "poststop": [poststop_counter(&host)]}),
    );
    let id = rt.new_id();
    let pid = rt.create_ok(&id, &bundle)["pid"].as_i64().unwrap() as i32;
    rt.start(&id)
        .assert_failed("start with a failing startContainer hook")
        .assert_stderr_contains("hooks.startContainer[0]");
    wait_process_gone(pid);
    rt.try_state(&id)
        .assert_failed("state after a failed start")
        .assert_stderr_contains("does not exist");
    assert_eq!(runs(&host, "poststop.runs"), 1, "poststop hooks");
    assert!(!bundle.rootfs().join("ran").exists(), "the process ran");
}

#[test]
fn failing_poststart_hook_stops_and_destroys_the_container() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    let host = rt.host_dir("hooks");
    bundle.probe(&["sleep-forever"]);
    let later = host.join("later-poststart");
    bundle.set(
        "/hooks",
        json!({
            "poststart": [
                failing_hook(4),
                {"path": "/bin/touch", "args": ["touch", later.to_str().unwrap()]}
            ],
            "poststop": [poststop_counter(&host)]
        }),
    );
    let id = rt.new_id();
    let created = rt.create(&id, &bundle);
    if is_hull() {
        // Spec 1.3: poststart runs at start; its failure fails start.
        created.assert_ok("create");
        let pid = rt.state(&id)["pid"].as_i64().unwrap() as i32;
        rt.start(&id)
            .assert_failed("start with a failing poststart hook")
            .assert_stderr_contains("hooks.poststart[0]");
        wait_process_gone(pid);
    } else {
        // runc 1.1.5 runs poststart hooks within create.
        created.assert_failed("create with a failing poststart hook");
    }
    rt.try_state(&id)
        .assert_failed("state after a failed poststart hook")
        .assert_stderr_contains("does not exist");
    assert!(!later.exists(), "a poststart hook ran after one had failed");
    assert_eq!(runs(&host, "poststop.runs"), 1, "poststop hooks");
}

#[test]
fn failing_poststop_hook_does_not_stop_delete_or_the_other_hooks() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    let host = rt.host_dir("hooks");
    bundle.probe(&["exit", "0"]);
    bundle.set(
        "/hooks",
        json!({"poststop": [failing_hook(5), poststop_counter(&host)]}),
    );
    let id = rt.new_id();
    rt.create_ok(&id, &bundle);
    rt.start(&id).assert_ok("start");
    rt.wait_status(&id, "stopped");
    let out = rt.delete(&id);
    out.assert_ok("delete with a failing poststop hook");
    assert!(rt.list_ids().is_empty());
    // runc 1.1.5 skips the hooks after a failing one and says nothing.
    if is_hull() {
        out.assert_stderr_contains("hooks.poststop[0]");
        assert_eq!(runs(&host, "poststop.runs"), 1, "the second poststop hook");
    }
}

#[test]
fn start_fails_when_the_process_cannot_be_executed() {
    if !is_hull() {
        skip!("runc 1.1.5's start returns 0 and the init reports it on its stderr");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    let host = rt.host_dir("hooks");
    // Found and executable, so create accepts it; execve says ENOEXEC.
    let program = bundle.rootfs().join("bin/not-a-program");
    std::fs::write(&program, b"\x01\x02 not an executable format\n").unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    bundle.args(&["/bin/not-a-program"]);
    bundle.set("/hooks", json!({"poststop": [poststop_counter(&host)]}));
    let id = rt.new_id();
    let pid = rt.create_ok(&id, &bundle)["pid"].as_i64().unwrap() as i32;
    rt.start(&id)
        .assert_failed("start of a program execve refuses")
        .assert_stderr_contains("ENOEXEC");
    wait_process_gone(pid);
    rt.try_state(&id)
        .assert_failed("state after a failed exec")
        .assert_stderr_contains("does not exist");
    assert_eq!(runs(&host, "poststop.runs"), 1, "poststop hooks");
}

#[test]
fn relative_hook_path_is_refused() {
    if !is_hull() {
        skip!("runc 1.1.5 only fails when it runs the hook");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&["exit", "0"]);
    bundle.set("/hooks", json!({"poststop": [{"path": "bin/true"}]}));
    let out = rt.create(&rt.new_id(), &bundle);
    out.assert_failed("create with a relative hook path");
    out.assert_stderr_contains("hooks.poststop[0].path");
}

#[test]
fn a_start_container_hook_that_ignores_its_stdin_does_not_kill_the_init() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&["exit", "0"]);
    // It exits at once, often before the state is written to its stdin: the
    // writer gets EPIPE, which must not end the waiting init (it did, by
    // SIGPIPE, in one start out of three).
    bundle.set(
        "/hooks",
        json!({"startContainer": [{"path": "/bin/true", "args": ["true"]}]}),
    );
    for round in 0..20 {
        rt.run(&rt.new_id(), &bundle)
            .assert_ok(&format!("run {round} with a startContainer hook"));
    }
}
