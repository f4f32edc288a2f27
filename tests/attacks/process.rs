//! CVE-2024-21626 and capabilities: what the container's process holds
//! (fds, cwd, capabilities) and cannot regain.

use crate::common::*;
use serde_json::{json, Value};

/// CVE-2024-21626: no fd of the runtime or the host reaches the container
/// but stdio and exactly `--preserve-fds N` (container.rs checks plain
/// stdio); neither for the init nor for `exec`.
#[test]
fn cve_2024_21626_only_stdio_and_preserved_fds_reach_the_container() {
    use std::os::fd::AsRawFd;
    let rt = Runtime::new();
    let host = rt.host_dir("fds");
    std::fs::write(host.join("secret"), "host secret").unwrap();
    let dir_fd = std::fs::File::open(&host).unwrap();
    let file_fd = std::fs::File::open(host.join("secret")).unwrap();
    let extra_fd = std::fs::File::open("/").unwrap();
    let fds = [
        dir_fd.as_raw_fd(),
        file_fd.as_raw_fd(),
        extra_fd.as_raw_fd(),
    ];
    let mut bundle = rt.bundle();
    bundle.probe(&[]);
    let id = rt.new_id();
    rt.track(&id);
    let dir = bundle.dir.to_str().unwrap().to_string();
    let out = rt
        .spawn_with_fds(&["run", "--preserve-fds", "2", "--bundle", &dir, &id], &fds)
        .wait(COMMAND_TIMEOUT);
    out.assert_ok("run --preserve-fds 2");
    let report = out.json();
    assert_eq!(
        fd_numbers(&report),
        vec![0, 1, 2, 3, 4],
        "{}",
        report["fds"]
    );
    assert_eq!(report["fds"][1 + 2]["target"], host.to_str().unwrap());

    bundle.probe(&["sleep-forever"]);
    let id = rt.new_id();
    rt.create_running(&id, &bundle);
    let out = rt
        .spawn_with_fds(&["exec", "--preserve-fds", "1", &id, "/bin/probe"], &fds)
        .wait(COMMAND_TIMEOUT);
    out.assert_ok("exec --preserve-fds 1");
    let report = out.json();
    assert_eq!(fd_numbers(&report), vec![0, 1, 2, 3], "{}", report["fds"]);
    let out = rt
        .spawn_with_fds(&["exec", &id, "/bin/probe"], &fds)
        .wait(COMMAND_TIMEOUT);
    out.assert_ok("exec without --preserve-fds");
    let report = out.json();
    assert_eq!(fd_numbers(&report), vec![0, 1, 2], "{}", report["fds"]);
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}

/// A cwd result of the probe is inside the container's root.
#[track_caller]
fn assert_cwd_inside(result: &Value, what: &str) {
    let cwd = result["cwd"].as_str().unwrap_or("");
    assert!(
        result["ok"] == true && cwd.starts_with('/') && result["same_inode"] == true,
        "{what}: the cwd is outside the container's root: {result}"
    );
}

/// CVE-2024-21626: `process.cwd` (and `exec --cwd`) through /proc/self/fd/N
/// would leave the process in a directory of the runtime's fds, outside
/// the rootfs. Create must fail, or the cwd must be inside the root.
#[test]
fn cve_2024_21626_cwd_through_proc_self_fd_stays_inside() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    // The same through a symlink in the rootfs: /fdN -> /proc/self/fd/N.
    for fd in 3..=10 {
        std::os::unix::fs::symlink(
            format!("/proc/self/fd/{fd}"),
            bundle.rootfs().join(format!("fd{fd}")),
        )
        .unwrap();
    }
    let cwds: Vec<String> = (3..=10)
        .flat_map(|fd| [format!("/proc/self/fd/{fd}"), format!("/fd{fd}")])
        .collect();
    for cwd in &cwds {
        bundle.cwd(cwd).probe(&["cwd"]);
        let id = rt.new_id();
        let out = rt.run(&id, &bundle);
        if out.success() {
            assert_cwd_inside(&out.json(), &format!("process.cwd {cwd}"));
        } else {
            out.assert_failed(&format!("run with process.cwd {cwd}"));
        }
        rt.assert_nothing_left();
    }
    bundle.cwd("/").probe(&["sleep-forever"]);
    let id = rt.new_id();
    rt.create_running(&id, &bundle);
    for cwd in &cwds {
        let out = rt.exec(&id, &["--cwd", cwd], &["/bin/probe", "cwd"]);
        if out.success() {
            assert_cwd_inside(&out.json(), &format!("exec --cwd {cwd}"));
        } else {
            out.assert_failed(&format!("exec --cwd {cwd}"));
        }
    }
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}

/// The probe's capability sets as numbers.
fn cap_sets(report: &Value) -> Vec<(String, u64)> {
    ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]
        .iter()
        .map(|k| {
            let hex = report["capabilities"][*k].as_str().unwrap_or("");
            (
                k.to_string(),
                u64::from_str_radix(hex, 16).unwrap_or(u64::MAX),
            )
        })
        .collect()
}

#[track_caller]
fn assert_caps(report: &Value, want: &[(&str, u64)], what: &str) {
    let sets = cap_sets(report);
    for (key, value) in want {
        let got = sets.iter().find(|(k, _)| k == key).unwrap().1;
        assert_eq!(
            got, *value,
            "{what}: {key} {got:#x}: {}",
            report["capabilities"]
        );
    }
}

/// Two probe reports printed by one shell (own, then the setuid copy's).
fn two_reports(out: &Output) -> (Value, Value) {
    let mut lines = out.stdout.lines().filter(|l| l.starts_with('{'));
    let parse = |l: Option<&str>| -> Value {
        serde_json::from_str(l.unwrap_or_else(|| panic!("missing report: {out:?}"))).unwrap()
    };
    (parse(lines.next()), parse(lines.next()))
}

/// A process whose `process.user` is not root cannot regain capabilities:
/// with empty sets it has none; a setuid-root binary does not raise its
/// euid under noNewPrivileges, and without it gets only what the bounding
/// set allows (the control that proves the setuid bit works here); `exec
/// --user 1000` gets none either.
#[test]
fn non_root_process_cannot_regain_capabilities() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    let suid = bundle.rootfs().join("bin/suid-probe");
    std::fs::copy(probe_path(), &suid).unwrap();
    std::os::unix::fs::chown(&suid, Some(0), Some(0)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let empty =
        json!({"bounding": [], "effective": [], "permitted": [], "inheritable": [], "ambient": []});
    bundle
        .set("/process/user", json!({"uid": 1000, "gid": 1000}))
        .set("/process/capabilities", empty.clone())
        .set("/process/noNewPrivileges", json!(true))
        .shell("/bin/probe; /bin/suid-probe");
    let none = [
        ("CapInh", 0),
        ("CapPrm", 0),
        ("CapEff", 0),
        ("CapBnd", 0),
        ("CapAmb", 0),
    ];

    let out = rt.run(&rt.new_id(), &bundle);
    out.assert_ok("run as uid 1000 with noNewPrivileges");
    let (own, suid_report) = two_reports(&out);
    assert_eq!(
        (own["uid"].as_u64(), own["euid"].as_u64()),
        (Some(1000), Some(1000))
    );
    assert_caps(&own, &none, "uid 1000, empty sets");
    assert_eq!(
        suid_report["euid"], 1000,
        "setuid worked under noNewPrivileges"
    );
    assert_caps(
        &suid_report,
        &none,
        "setuid-root binary under noNewPrivileges",
    );

    // Without noNewPrivileges setuid works (euid 0), but only the bounding
    // set's capabilities come with it.
    bundle
        .set("/process/noNewPrivileges", json!(false))
        .set("/process/capabilities/bounding", json!(["CAP_KILL"]));
    let out = rt.run(&rt.new_id(), &bundle);
    out.assert_ok("run as uid 1000 without noNewPrivileges");
    let (own, suid_report) = two_reports(&out);
    assert_caps(
        &own,
        &[("CapPrm", 0), ("CapEff", 0), ("CapAmb", 0)],
        "uid 1000",
    );
    assert_eq!(
        suid_report["euid"], 0,
        "control: the setuid bit had no effect"
    );
    assert_caps(
        &suid_report,
        &[
            ("CapPrm", 1 << 5),
            ("CapEff", 1 << 5),
            ("CapBnd", 1 << 5),
            ("CapAmb", 0),
        ],
        "setuid-root binary with bounding {CAP_KILL}",
    );

    // exec --user 1000 into a container with empty sets.
    bundle
        .set("/process/user", json!({"uid": 0, "gid": 0}))
        .set("/process/capabilities", empty)
        .set("/process/noNewPrivileges", json!(true))
        .probe(&["sleep-forever"]);
    let id = rt.new_id();
    rt.create_running(&id, &bundle);
    let out = rt.exec(
        &id,
        &["--user", "1000:1000"],
        &["/bin/sh", "-c", "/bin/probe; /bin/suid-probe"],
    );
    out.assert_ok("exec --user 1000");
    let (own, suid_report) = two_reports(&out);
    assert_eq!(own["uid"], 1000);
    assert_caps(&own, &none, "exec --user 1000");
    assert_eq!(
        suid_report["euid"], 1000,
        "setuid worked in exec under noNewPrivileges"
    );
    assert_caps(&suid_report, &none, "exec'd setuid-root binary");
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}

/// Give `path` the file capability CAP_KILL, permitted and effective
/// (a `security.capability` xattr, VFS_CAP_REVISION_2).
fn set_file_cap_kill(path: &std::path::Path) {
    let mut data = Vec::new();
    data.extend_from_slice(&(0x0200_0000u32 | 1).to_le_bytes());
    data.extend_from_slice(&(1u32 << 5).to_le_bytes());
    data.extend_from_slice(&[0u8; 12]);
    let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: valid C strings and a buffer of the length passed.
    let rc = unsafe {
        libc::setxattr(
            c_path.as_ptr(),
            c"security.capability".as_ptr(),
            data.as_ptr().cast(),
            data.len(),
            0,
        )
    };
    assert_eq!(rc, 0, "setxattr: {}", std::io::Error::last_os_error());
}

/// A non-root process cannot regain capabilities through a binary with
/// file capabilities either: under noNewPrivileges it gets none; without
/// it, the file's CAP_KILL (in the bounding set) comes along (the control
/// that proves file capabilities work here).
#[test]
fn non_root_process_gets_no_file_capabilities_under_no_new_privileges() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    let capped = bundle.rootfs().join("bin/capped-probe");
    std::fs::copy(probe_path(), &capped).unwrap();
    set_file_cap_kill(&capped);
    bundle
        .set("/process/user", json!({"uid": 1000, "gid": 1000}))
        .set(
            "/process/capabilities",
            json!({"bounding": ["CAP_KILL"], "effective": [], "permitted": [], "inheritable": [], "ambient": []}),
        )
        .set("/process/noNewPrivileges", json!(true))
        .shell("/bin/probe; /bin/capped-probe");
    let out = rt.run(&rt.new_id(), &bundle);
    out.assert_ok("run as uid 1000 with noNewPrivileges");
    let (own, capped_report) = two_reports(&out);
    assert_caps(&own, &[("CapPrm", 0), ("CapEff", 0)], "uid 1000");
    assert_caps(
        &capped_report,
        &[("CapPrm", 0), ("CapEff", 0), ("CapAmb", 0)],
        "file capabilities under noNewPrivileges",
    );

    bundle.set("/process/noNewPrivileges", json!(false));
    let out = rt.run(&rt.new_id(), &bundle);
    out.assert_ok("run as uid 1000 without noNewPrivileges");
    let (_, capped_report) = two_reports(&out);
    assert_eq!(capped_report["euid"], 1000);
    assert_caps(
        &capped_report,
        &[("CapPrm", 1 << 5), ("CapEff", 1 << 5)],
        "control: file capabilities had no effect",
    );
}
