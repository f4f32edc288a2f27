//! `linux.seccomp`: the filter is loaded into the container's process (and
//! every exec'd one), its actions and argument filters take effect, a
//! notifying filter's fd reaches the listener during create, and bad
//! profiles are refused with nothing left behind.

mod common;

use std::path::PathBuf;

use common::*;
use serde_json::{json, Value};

const EPERM: i64 = 1;
const ENOSYS: i64 = 38;

/// A bundle whose process is the probe running `ops` under `profile`.
fn bundle_with(rt: &Runtime, profile: Value, ops: &[&str]) -> Bundle {
    let mut bundle = rt.bundle();
    bundle.probe(ops);
    bundle.set("/linux/seccomp", profile);
    bundle
}

/// The probe's results for `ops` under `profile`.
fn probe_under(rt: &Runtime, profile: Value, ops: &[&str]) -> Vec<Value> {
    let mut bundle = bundle_with(rt, profile, &[]);
    rt.probe(&mut bundle, ops)
}

fn deny_mkdir(errno_ret: Option<u32>) -> Value {
    let mut rule = json!({"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"});
    if let Some(n) = errno_ret {
        rule["errnoRet"] = json!(n);
    }
    json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]})
}

#[test]
fn mkdir_denied_with_eperm_and_seccomp_mode_is_filter() {
    let rt = Runtime::new();
    let res = probe_under(
        &rt,
        deny_mkdir(None),
        &["mkdir", "/dev/shm/x", "--", "report"],
    );
    assert_eq!(res[0]["ok"], false, "{}", res[0]);
    assert_eq!(res[0]["errno"], EPERM, "{}", res[0]);
    assert_eq!(res[1]["seccomp"], 2, "Seccomp: in /proc/self/status");
    assert_eq!(res[1]["no_new_privs"], 1);
}

#[test]
fn errno_ret_is_returned() {
    let rt = Runtime::new();
    let res = probe_under(&rt, deny_mkdir(Some(38)), &["mkdir", "/dev/shm/x"]);
    assert_eq!(res[0]["errno"], ENOSYS, "{}", res[0]);
    // (defaultErrnoRet is in force in the containers-common test.)
    let profile = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                     {"names": ["personality"], "action": "SCMP_ACT_ERRNO"}]
    });
    let res = probe_under(
        &rt,
        profile,
        &[
            "mkdir",
            "/dev/shm/x",
            "--",
            "personality",
            "0xffffffff",
            "--",
            "stat",
            "/",
        ],
    );
    assert_eq!(res[0]["errno"], 13, "a rule's errnoRet: {}", res[0]);
    assert_eq!(res[1]["errno"], EPERM, "ERRNO without errnoRet: {}", res[1]);
    assert_eq!(res[2]["ok"], true, "{}", res[2]);
}

#[test]
fn kill_on_getpid_ends_the_container_with_sigsys() {
    // runc's own Go init calls getpid after it loaded the filter, so the
    // profile kills runc's init instead of the container's process.
    if !is_hull() {
        skip!("hull-only");
    }
    let rt = Runtime::new();
    let profile = json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_KILL"}]});
    let bundle = bundle_with(&rt, profile, &["report"]);
    let out = rt.run(&rt.new_id(), &bundle);
    assert_eq!(out.code, 128 + libc::SIGSYS, "{out:?}");
}

#[test]
fn after_a_late_load_only_the_fifo_write_and_execve_remain() {
    // runc's init does more after its load (closing its pipe, opening the
    // fifo); hull's promise is only write and execve.
    if !is_hull() {
        skip!("hull-only");
    }
    let rt = Runtime::new();
    // Every syscall hull makes while setting up, killed once the filter is
    // in: the process still runs (busybox `true` needs none of them).
    let setup_syscalls = [
        "close",
        "close_range",
        "fcntl",
        "rt_sigaction",
        "rt_sigprocmask",
        "openat",
        "open",
        "sendto",
        "sendmsg",
        "recvmsg",
        "umask",
        "getpid",
        "dup2",
        "dup3",
        "poll",
        "ppoll",
        "read",
        "chdir",
        "setresuid",
        "setresgid",
        "setgroups",
        "capset",
        "mmap",
        "munmap",
        "mremap",
    ];
    let profile = json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": setup_syscalls, "action": "SCMP_ACT_KILL_PROCESS"}]});
    let mut bundle = rt.bundle();
    bundle.args(&["/bin/true"]);
    bundle.set("/linux/seccomp", profile);
    let out = rt.run(&rt.new_id(), &bundle);
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn argument_filter_allows_only_the_query() {
    let rt = Runtime::new();
    // personality(0xffffffff) only reads the persona; any other argument
    // is denied.
    let profile = json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
                      "args": [{"index": 0, "value": 4294967295u64, "op": "SCMP_CMP_NE"}]}]});
    let res = probe_under(
        &rt,
        profile,
        &[
            "personality",
            "0xffffffff",
            "--",
            "personality",
            "0",
            "--",
            "personality",
            "8",
        ],
    );
    assert_eq!(res[0]["ok"], true, "{}", res[0]);
    assert_eq!(res[1]["errno"], 22, "{}", res[1]);
    assert_eq!(res[2]["errno"], 22, "{}", res[2]);
    // The masked compare looks at the bits of the mask only.
    let profile = json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
                      "args": [{"index": 0, "value": 255, "valueTwo": 8, "op": "SCMP_CMP_MASKED_EQ"}]}]});
    let res = probe_under(
        &rt,
        profile,
        &[
            "personality",
            "0x108",
            "--",
            "personality",
            "0",
            "--",
            "personality",
            "0xffffffff",
        ],
    );
    assert_eq!(res[0]["errno"], 22, "0x108 & 0xff == 8: {}", res[0]);
    assert_eq!(res[1]["ok"], true, "{}", res[1]);
    assert_eq!(res[2]["ok"], true, "0xff & 0xffffffff != 8: {}", res[2]);
}

#[test]
fn filter_flags_change_the_loading_not_the_rules() {
    if !is_hull() {
        skip!("runc 1.1 refuses every flag (\"not yet supported by runc\")");
    }
    let rt = Runtime::new();
    let mut profile = deny_mkdir(None);
    profile["flags"] = json!([
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW"
    ]);
    let res = probe_under(&rt, profile, &["mkdir", "/dev/shm/x", "--", "report"]);
    assert_eq!(res[0]["errno"], EPERM, "{}", res[0]);
    assert_eq!(res[1]["seccomp"], 2);
}

#[test]
fn filter_without_no_new_privileges_binds_a_user_process() {
    let rt = Runtime::new();
    let mut bundle = bundle_with(&rt, deny_mkdir(None), &[]);
    bundle.set("/process/noNewPrivileges", json!(false));
    bundle.set("/process/user", json!({"uid": 1000, "gid": 1000}));
    let res = rt.probe(&mut bundle, &["mkdir", "/dev/shm/x", "--", "report"]);
    assert_eq!(res[0]["errno"], EPERM, "{}", res[0]);
    assert_eq!(res[1]["seccomp"], 2);
    assert_eq!(
        res[1]["no_new_privs"], 0,
        "no_new_privs is not set by the filter"
    );
    assert_eq!(res[1]["uid"], 1000);
}

/// Podman's conversion of a containers-common profile for this machine:
/// the x86_64 architectures of archMap, and only the rules whose caps
/// conditions hold for the container's bounding set.
fn oci_profile_from_containers_common(profile: &Value, caps: &[&str]) -> Value {
    let arches: Vec<Value> = profile["archMap"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["architecture"] == "SCMP_ARCH_X86_64")
        .flat_map(|a| {
            let mut v = vec![a["architecture"].clone()];
            v.extend(
                a["subArchitectures"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            );
            v
        })
        .collect();
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut syscalls = Vec::new();
    for s in profile["syscalls"].as_array().unwrap() {
        let inc_caps = list(&s["includes"]["caps"]);
        let inc_arches = list(&s["includes"]["arches"]);
        let exc_caps = list(&s["excludes"]["caps"]);
        let exc_arches = list(&s["excludes"]["arches"]);
        if !inc_caps.iter().all(|c| caps.contains(&c.as_str()))
            || (!inc_arches.is_empty() && !inc_arches.iter().any(|a| a == "amd64"))
            || exc_caps.iter().any(|c| caps.contains(&c.as_str()))
            || exc_arches.iter().any(|a| a == "amd64")
        {
            continue;
        }
        let mut rule = json!({"names": s["names"], "action": s["action"]});
        for key in ["args", "errnoRet"] {
            if !s[key].is_null() {
                rule[key] = s[key].clone();
            }
        }
        syscalls.push(rule);
    }
    json!({
        "defaultAction": profile["defaultAction"],
        "defaultErrnoRet": profile["defaultErrnoRet"],
        "architectures": arches,
        "syscalls": syscalls,
    })
}

fn containers_common_profile() -> Value {
    let path = std::env::var_os("HULL_SECCOMP_PROFILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/containers-common/seccomp.json")
        });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: run `make seccomp-profile` (or point HULL_SECCOMP_PROFILE at containers-common's seccomp.json)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

#[test]
fn containers_common_default_profile_runs_busybox() {
    let rt = Runtime::new();
    let caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    let profile = oci_profile_from_containers_common(&containers_common_profile(), &caps);
    let mut bundle = rt.bundle();
    bundle.shell("echo ok; ls /");
    bundle.set("/linux/seccomp", profile);
    let out = rt.run(&rt.new_id(), &bundle);
    out.assert_ok("busybox under the default profile");
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("ok"), "{out:?}");
    let entries: Vec<&str> = lines.flat_map(|l| l.split_whitespace()).collect();
    for dir in ["bin", "dev", "proc", "sys"] {
        assert!(entries.contains(&dir), "ls / lacks {dir}: {out:?}");
    }
    // The profile is in force: its default for unlisted syscalls is ENOSYS
    // and mkdir under it still works (it is allowed). Without
    // noNewPrivileges the filter needs CAP_SYS_ADMIN to be loaded: the
    // runtime holds it for the load and drops it after (runc loads before
    // its user switch instead).
    for (nnp, uid) in [(true, 0), (false, 1000)] {
        let mut bundle = rt.bundle();
        bundle.set(
            "/linux/seccomp",
            oci_profile_from_containers_common(&containers_common_profile(), &caps),
        );
        bundle.set("/process/noNewPrivileges", json!(nnp));
        bundle.set("/process/user", json!({"uid": uid, "gid": uid}));
        let res = rt.probe(
            &mut bundle,
            &[
                "report",
                "--",
                "mkdir",
                "/dev/shm/x",
                "--",
                "personality",
                "0x400000",
            ],
        );
        assert_eq!(res[0]["seccomp"], 2);
        assert_eq!(res[0]["uid"], uid);
        assert_eq!(res[1]["ok"], true, "{}", res[1]);
        // personality(READ_IMPLIES_EXEC) is none of the allowed values.
        assert_eq!(res[2]["errno"], ENOSYS, "{}", res[2]);
    }
}

#[test]
fn exec_gets_the_containers_filter() {
    let rt = Runtime::new();
    let mut bundle = bundle_with(&rt, deny_mkdir(Some(38)), &["sleep-forever"]);
    bundle.set("/process/noNewPrivileges", json!(false));
    let id = rt.new_id();
    rt.create_running(&id, &bundle);
    let out = rt.cmd(&[
        "exec",
        &id,
        "/bin/probe",
        "mkdir",
        "/dev/shm/x",
        "--",
        "report",
    ]);
    out.assert_ok("exec probe");
    let res = out.json();
    assert_eq!(res[0]["errno"], ENOSYS, "{}", res[0]);
    assert_eq!(res[1]["seccomp"], 2);
    // With --no-new-privs the filter is loaded the late way: same effect.
    let out = rt.cmd(&[
        "exec",
        "--no-new-privs",
        &id,
        "/bin/probe",
        "mkdir",
        "/dev/shm/y",
    ]);
    out.assert_ok("exec probe --no-new-privs");
    assert_eq!(out.json()["errno"], ENOSYS, "{out:?}");
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}

/// A container created by an older hull kept its profile in seccomp.json
/// beside state.json: processes exec'd into it after an upgrade still get
/// the filter.
#[test]
fn exec_reads_the_profile_an_older_hull_saved() {
    let rt = Runtime::new();
    let profile = deny_mkdir(Some(38));
    let bundle = bundle_with(&rt, profile.clone(), &["sleep-forever"]);
    let id = rt.new_id();
    rt.create_running(&id, &bundle);
    let dir = rt.root.join(&id);
    let state_file = dir.join("state.json");
    let mut state: Value =
        serde_json::from_slice(&std::fs::read(&state_file).expect("read state.json"))
            .expect("parse state.json");
    assert!(
        state["seccomp"].is_object(),
        "the profile rides in state.json: {state}"
    );
    state
        .as_object_mut()
        .expect("state object")
        .remove("seccomp");
    std::fs::write(&state_file, state.to_string()).expect("write state.json");
    std::fs::write(dir.join("seccomp.json"), profile.to_string()).expect("write seccomp.json");
    let out = rt.cmd(&["exec", &id, "/bin/probe", "mkdir", "/dev/shm/x"]);
    out.assert_ok("exec probe");
    assert_eq!(out.json()["errno"], ENOSYS, "{out:?}");
    // A broken legacy file is an error, never an exec without the filter.
    std::fs::write(dir.join("seccomp.json"), "{").expect("write seccomp.json");
    let out = rt.cmd(&["exec", &id, "/bin/true"]);
    assert_ne!(out.code, 0, "exec with a broken seccomp.json: {out:?}");
    assert!(out.stderr.contains("seccomp.json"), "{out:?}");
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}

fn notify_profile(socket: &std::path::Path) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": socket,
        "listenerMetadata": "hull-test",
        "syscalls": [{"names": ["mkdir", "mkdirat", "uname"], "action": "SCMP_ACT_NOTIFY"}]
    })
}

#[test]
fn notify_sends_the_fd_and_state_to_the_listener() {
    let rt = Runtime::new();
    let listener = Listener::start(&rt, 123, 1);
    let bundle = bundle_with(
        &rt,
        notify_profile(&listener.socket),
        &["mkdir", "/dev/shm/x", "--", "report"],
    );
    let id = rt.new_id();
    rt.create(&id, &bundle).assert_ok("create");
    // During create, before start: the listener already has the state.
    let state = listener.state(0);
    let created = rt.state(&id);
    assert_eq!(state["fds"], json!(["seccompFd"]), "{state}");
    assert_eq!(state["metadata"], "hull-test");
    assert_eq!(state["pid"], created["pid"], "{state}");
    assert_eq!(state["state"]["id"], id.as_str());
    assert_eq!(state["state"]["pid"], created["pid"]);
    assert!(state["ociVersion"].is_string(), "{state}");
    assert!(state["state"]["status"].is_string(), "{state}");
    rt.start(&id).assert_ok("start");
    rt.wait_status(&id, "stopped");
    rt.delete(&id).assert_ok("delete");
    // The filter's last user is gone: the listener reports and exits.
    let notified = listener.finish();
    assert!(notified["mkdir"].as_u64() >= Some(1), "{notified}");
    assert!(notified["uname"].as_u64() >= Some(1), "{notified}");
}

#[test]
fn notify_results_reach_the_process() {
    let rt = Runtime::new();
    let listener = Listener::start(&rt, 123, 1);
    let res = probe_under(
        &rt,
        notify_profile(&listener.socket),
        &["mkdir", "/dev/shm/x", "--", "report"],
    );
    // mkdir gets the listener's errno; uname (in the report) continued.
    assert_eq!(res[0]["errno"], 123, "{}", res[0]);
    assert_eq!(res[1]["hostname"], "runc", "{}", res[1]);
    // The notify fd went to the listener, not into the container.
    let fds: Vec<i64> = res[1]["fds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fd"].as_i64().unwrap())
        .collect();
    assert_eq!(fds, vec![0, 1, 2], "leaked fds: {}", res[1]["fds"]);
    listener.finish();
}

#[test]
fn exec_hands_its_own_notify_fd_to_the_listener() {
    let rt = Runtime::new();
    let listener = Listener::start(&rt, 124, 2);
    let bundle = bundle_with(&rt, notify_profile(&listener.socket), &["sleep-forever"]);
    let id = rt.new_id();
    let created = rt.create_running(&id, &bundle);
    let pid_file = rt.work.join("exec.pid");
    let out = rt.cmd(&[
        "exec",
        "--pid-file",
        pid_file.to_str().unwrap(),
        &id,
        "/bin/probe",
        "mkdir",
        "/dev/shm/x",
    ]);
    out.assert_ok("exec probe");
    assert_eq!(out.json()["errno"], 124, "{out:?}");
    let state = listener.state(1);
    let exec_pid: i64 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(state["pid"], exec_pid, "the exec'd process: {state}");
    assert_eq!(state["state"]["pid"], created["pid"], "{state}");
    assert_eq!(state["state"]["status"], "running", "{state}");
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
    assert!(listener.finish()["mkdir"].as_u64() >= Some(1));
}

/// Refused with a message naming `field` (hull), nothing left behind.
#[track_caller]
fn rejected(profile: Value, field: &str) {
    let rt = Runtime::new();
    let bundle = bundle_with(&rt, profile, &[]);
    let out = rt.create(&rt.new_id(), &bundle);
    out.assert_failed("create with a bad seccomp profile");
    if is_hull() {
        out.assert_stderr_contains(field);
        let lines = out.stderr.lines().filter(|l| !l.trim().is_empty()).count();
        assert!(lines <= 3, "a short message: {out:?}");
    }
    rt.assert_nothing_left();
}

#[test]
fn bad_profiles_are_refused() {
    rejected(
        json!({"defaultAction": "SCMP_ACT_FOO"}),
        "linux.seccomp.defaultAction",
    );
    rejected(
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ALLOW"},
                            {"names": ["mkdir"], "action": "SCMP_ACT_FOO"}]}),
        "linux.seccomp.syscalls[1].action",
    );
    rejected(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_FOO"]}),
        "linux.seccomp.architectures[0]",
    );
    rejected(
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_FOO"}]}]}),
        "linux.seccomp.syscalls[0].args[0].op",
    );
    rejected(
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
        "linux.seccomp.listenerPath",
    );
}

#[test]
fn hull_only_checks_of_profiles() {
    // runc accepts these and fails later, or not at all.
    if !is_hull() {
        skip!("hull-only");
    }
    rejected(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "agent.sock",
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
        "linux.seccomp.listenerPath \"agent.sock\": must be an absolute path",
    );
    rejected(
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}),
        "linux.seccomp.flags[0]",
    );
    rejected(
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                             "args": [{"index": 7, "value": 1, "op": "SCMP_CMP_EQ"}]}]}),
        "linux.seccomp.syscalls[0].args[0].index 7",
    );
    // A listener that is not there fails create, during create.
    let rt = Runtime::new();
    let socket = rt.work.join("nobody-listens.sock");
    let bundle = bundle_with(
        &rt,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": socket,
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
        &[],
    );
    let out = rt.create(&rt.new_id(), &bundle);
    out.assert_failed("create without a listener");
    out.assert_stderr_contains("linux.seccomp.listenerPath");
    rt.assert_nothing_left();
}

// ---------------------------------------------------------------------------
// Profiles hull did not write: allow-lists that predate the syscalls hull
// itself likes to use (openat2, close_range, clone3, statx), recorded
// profiles that allow exactly what a workload needs, and profiles that
// answer the new syscalls with EPERM instead of ENOSYS. After the filter is
// loaded hull may only make the syscalls docs/ARCHITECTURE.md lists under
// "After the filter".

/// Syscalls newer than the Docker-era profiles (runtime-tools' generator,
/// Docker 18, profiles recorded on old kernels): none of them is allowed.
const NEWER_SYSCALLS: &[&str] = &[
    "openat2",
    "close_range",
    "clone3",
    "statx",
    "faccessat2",
    "pidfd_open",
    "pidfd_send_signal",
    "pidfd_getfd",
    "epoll_pwait2",
    "open_tree",
    "move_mount",
    "mount_setattr",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "process_madvise",
    "futex_waitv",
];

/// What static busybox's `true` and `sleep` make (strace, as root and as a
/// user: then it also drops a possible setuid), nothing more.
const BUSYBOX_TRUE_AND_SLEEP: &[&str] = &[
    "getgid",
    "setgid",
    "setuid",
    "newfstatat",
    "arch_prctl",
    "brk",
    "execve",
    "exit_group",
    "getrandom",
    "getuid",
    "mprotect",
    "prctl",
    "prlimit64",
    "readlink",
    "rseq",
    "set_robust_list",
    "set_tid_address",
    "clock_nanosleep",
    "nanosleep",
    "restart_syscall",
];

/// hull's promise (docs/ARCHITECTURE.md "After the filter"): the fifo write
/// and execve, capget/capset to drop what a load without noNewPrivileges
/// needed, and exit_group when something fails.
const HULL_AFTER_LOAD: &[&str] = &["write", "execve", "capget", "capset", "exit_group"];

/// An allow-list as old engines and runtime-tools' generator write them:
/// containers-common's default without any syscall newer than ~5.0.
fn old_style_allow_list() -> Value {
    let caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    let mut profile = oci_profile_from_containers_common(&containers_common_profile(), &caps);
    for rule in profile["syscalls"].as_array_mut().unwrap() {
        let names: Vec<Value> = rule["names"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| !NEWER_SYSCALLS.contains(&n.as_str().unwrap()))
            .cloned()
            .collect();
        rule["names"] = json!(names);
    }
    profile["syscalls"]
        .as_array_mut()
        .unwrap()
        .retain(|r| !r["names"].as_array().unwrap().is_empty());
    profile["defaultAction"] = json!("SCMP_ACT_ERRNO");
    profile
}

/// A "recorded" profile: busybox's syscalls plus hull's list, anything
/// else answered by `default`.
fn recorded_profile(default: &str) -> Value {
    let names: Vec<&str> = BUSYBOX_TRUE_AND_SLEEP
        .iter()
        .chain(HULL_AFTER_LOAD)
        .copied()
        .collect();
    json!({"defaultAction": default,
           "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"}]})
}

/// Everything allowed but the new syscalls, answered with EPERM (not
/// ENOSYS, which would send a caller to its fallback).
fn eperm_for_new_syscalls() -> Value {
    json!({"defaultAction": "SCMP_ACT_ALLOW",
           "syscalls": [{"names": ["openat2", "close_range", "clone3"],
                         "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]})
}

/// The container's process under `profile` with each noNewPrivileges and
/// uid: `true` runs and exits 0, and so does an `exec` of it into a
/// container sleeping under the same profile.
fn runs_under_every_user_and_nnp(profile: &Value) {
    let rt = Runtime::new();
    for nnp in [true, false] {
        for uid in [0, 1000] {
            let what = format!("noNewPrivileges {nnp}, uid {uid}");
            let mut bundle = rt.bundle();
            bundle.set("/linux/seccomp", profile.clone());
            bundle.set("/process/noNewPrivileges", json!(nnp));
            bundle.set("/process/user", json!({"uid": uid, "gid": uid}));
            bundle.args(&["/bin/true"]);
            let out = rt.run(&rt.new_id(), &bundle);
            assert_eq!(out.code, 0, "run /bin/true ({what}): {out:?}");

            bundle.args(&["/bin/sleep", "1000"]);
            let id = rt.new_id();
            rt.create_running(&id, &bundle);
            let mut flags = vec![];
            if nnp {
                flags.push("--no-new-privs");
            }
            let out = rt.exec(&id, &flags, &["/bin/true"]);
            assert_eq!(out.code, 0, "exec /bin/true ({what}): {out:?}");
            rt.kill(&id, Some("KILL")).assert_ok("kill");
            rt.wait_status(&id, "stopped");
            rt.delete(&id).assert_ok("delete");
        }
    }
}

/// The probe's report under `profile` for each noNewPrivileges and uid: the
/// filter is in force and the capabilities are the config's, with nothing
/// held over for the load (CAP_SYS_ADMIN) left.
fn filter_and_caps_exact_under(profile: &Value) {
    let rt = Runtime::new();
    // CAP_AUDIT_WRITE, CAP_KILL and CAP_NET_BIND_SERVICE: the bundle's sets.
    let bounding = "0000000020000420";
    for nnp in [true, false] {
        for uid in [0, 1000] {
            let mut bundle = rt.bundle();
            bundle.set("/linux/seccomp", profile.clone());
            bundle.set("/process/noNewPrivileges", json!(nnp));
            bundle.set("/process/user", json!({"uid": uid, "gid": uid}));
            let res = rt.probe(&mut bundle, &["report"]);
            let what = format!("noNewPrivileges {nnp}, uid {uid}: {}", res[0]);
            assert_eq!(res[0]["seccomp"], 2, "{what}");
            assert_eq!(res[0]["uid"], uid, "{what}");
            assert_eq!(res[0]["no_new_privs"], nnp as i64, "{what}");
            // A user keeps none through execve (no ambient, no file caps).
            let caps = if uid == 0 {
                bounding
            } else {
                "0000000000000000"
            };
            for set in ["CapEff", "CapPrm"] {
                assert_eq!(res[0]["capabilities"][set], caps, "{set}: {what}");
            }
            assert_eq!(res[0]["capabilities"]["CapBnd"], bounding, "{what}");
            // Ambient needs inheritable, which the bundle leaves empty.
            assert_eq!(res[0]["capabilities"]["CapAmb"], "0000000000000000");
        }
    }
}

#[test]
fn old_style_allow_list_without_new_syscalls() {
    let profile = old_style_allow_list();
    runs_under_every_user_and_nnp(&profile);
    filter_and_caps_exact_under(&profile);
}

#[test]
fn new_syscalls_answered_with_eperm() {
    let profile = eperm_for_new_syscalls();
    runs_under_every_user_and_nnp(&profile);
    filter_and_caps_exact_under(&profile);
}

#[test]
fn recorded_profile_with_exactly_the_workloads_syscalls() {
    // runc's Go init makes many more syscalls after its load (futex,
    // getpid, openat of the fifo, …): hull's short list is its own.
    if !is_hull() {
        skip!("hull-only");
    }
    runs_under_every_user_and_nnp(&recorded_profile("SCMP_ACT_ERRNO"));
    // A syscall outside the list would kill the process, not just fail.
    runs_under_every_user_and_nnp(&recorded_profile("SCMP_ACT_KILL_PROCESS"));
}
