//! Runtime calls that are killed, race each other or meet a broken state
//! file: `delete --force` must still remove everything (processes, cgroups
//! in every hierarchy, mounts, state dirs), and every command-line error is
//! one line. The Runtime guard checks for leftovers after each test.
//!
//! hull only: runc 1.1.5 leaves cgroups behind after a killed create, fails
//! `delete --force` on a garbage state.json and prints its usage text on
//! bad flags (each checked by hand, see docs/ARCHITECTURE.md).

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

/// Kills per operation; each waits a random 0..MAX_DELAY_MS first.
const KILLS: usize = 40;
const MAX_DELAY_MS: u64 = 40;

/// A small deterministic generator: the seed is printed, so a failing run
/// can be replayed with HULL_FAULT_SEED.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("HULL_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        eprintln!("HULL_FAULT_SEED={seed}");
        Rng(seed | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        // xorshift64
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A container that sleeps, with a memory and pids limit so that every
/// v1 hierarchy hull joins gets a directory with something in it.
fn limited_sleeper(rt: &Runtime) -> Bundle {
    let mut bundle = rt.bundle();
    bundle.args(&["/bin/sleep", "1000"]);
    bundle.set(
        "/linux/resources",
        json!({"memory": {"limit": 64 << 20}, "pids": {"limit": 64}}),
    );
    bundle
}

/// SIGKILL the runtime process alone (not its group: a cloned init that
/// outlived it must be found by `delete --force`, not by the test).
fn kill_after(running: Running, delay_ms: u64) -> Option<Output> {
    std::thread::sleep(Duration::from_millis(delay_ms));
    // SAFETY: plain kill(2) of the runtime process this test started.
    unsafe { libc::kill(running.pid(), libc::SIGKILL) };
    running.wait_or_kill(Duration::from_secs(20))
}

#[track_caller]
fn delete_force_ok(rt: &Runtime, id: &str) {
    let out = rt.delete_force(id);
    assert_eq!(out.code, 0, "delete --force {id} after a kill: {out:?}");
}

#[test]
fn killed_create_leaves_nothing_after_delete_force() {
    if !is_hull() {
        skip!("hull-only (see the module comment)");
    }
    let rt = Runtime::new();
    let bundle = limited_sleeper(&rt);
    let mut rng = Rng::new();
    let (mut killed, mut finished) = (0, 0);
    for _ in 0..KILLS {
        let id = rt.new_id();
        let dir = bundle.dir.to_str().unwrap().to_string();
        let running = rt.spawn(&["create", "--bundle", &dir, &id]);
        match kill_after(running, rng.below(MAX_DELAY_MS)) {
            Some(out) if out.code == 128 + libc::SIGKILL => killed += 1,
            _ => finished += 1,
        }
        delete_force_ok(&rt, &id);
        rt.assert_nothing_left();
    }
    eprintln!("create: {killed} killed, {finished} finished before the kill");
    assert!(killed > 0, "no create was killed: the delays are too long");
}

#[test]
fn killed_start_exec_and_delete_leave_nothing_after_delete_force() {
    if !is_hull() {
        skip!("hull-only (see the module comment)");
    }
    let rt = Runtime::new();
    let bundle = limited_sleeper(&rt);
    let mut rng = Rng::new();
    for round in 0..KILLS / 2 {
        let id = rt.new_id();
        let running = match round % 3 {
            0 => {
                rt.create_ok(&id, &bundle);
                rt.spawn(&["start", &id])
            }
            1 => {
                rt.create_running(&id, &bundle);
                rt.spawn(&["exec", &id, "/bin/sleep", "1000"])
            }
            _ => {
                rt.create_running(&id, &bundle);
                rt.spawn(&["delete", "--force", &id])
            }
        };
        kill_after(running, rng.below(MAX_DELAY_MS / 2));
        delete_force_ok(&rt, &id);
        rt.assert_nothing_left();
    }
}

#[test]
fn hundred_concurrent_creates_of_one_id_leave_one_container() {
    if !is_hull() {
        skip!("hull-only (see the module comment)");
    }
    let rt = Runtime::new();
    let bundle = limited_sleeper(&rt);
    let id = rt.new_id();
    let outs: Vec<Output> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..100)
            .map(|_| s.spawn(|| rt.create(&id, &bundle)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners = outs.iter().filter(|o| o.success()).count();
    assert_eq!(winners, 1, "exactly one create wins");
    for out in outs.iter().filter(|o| !o.success()) {
        out.assert_stderr_contains("already exists");
    }
    assert_eq!(rt.state(&id)["status"], "created");
    delete_force_ok(&rt, &id);
    rt.assert_nothing_left();
}

#[test]
fn fifty_concurrent_lifecycles() {
    if !is_hull() {
        skip!("hull-only (see the module comment)");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.args(&["/bin/true"]);
    bundle.set("/linux/resources", json!({"pids": {"limit": 16}}));
    std::thread::scope(|s| {
        for _ in 0..50 {
            s.spawn(|| {
                let id = rt.new_id();
                rt.create_ok(&id, &bundle);
                rt.start(&id).assert_ok("start");
                rt.wait_status(&id, "stopped");
                rt.delete(&id).assert_ok("delete");
            });
        }
    });
    rt.assert_nothing_left();
}

#[test]
fn broken_state_files_are_listed_and_removed_by_delete_force() {
    if !is_hull() {
        skip!("hull-only (see the module comment)");
    }
    let rt = Runtime::new();
    let bundle = limited_sleeper(&rt);
    type Damage<'a> = &'a dyn Fn(&std::path::Path);
    let forms: [(&str, Damage); 3] = [
        ("garbage", &|p| std::fs::write(p, "\u{1}not json{").unwrap()),
        ("empty", &|p| std::fs::write(p, "").unwrap()),
        ("truncated", &|p| {
            let text = std::fs::read(p).unwrap();
            std::fs::write(p, &text[..text.len() / 2]).unwrap()
        }),
    ];
    for (form, damage) in forms {
        let id = rt.new_id();
        let state = rt.create_running(&id, &bundle);
        let pid = state["pid"].as_i64().unwrap() as i32;
        let file = rt.root.join(&id).join("state.json");
        damage(&file);

        // state and kill name the file; list shows the container.
        let out = rt.cmd(&["state", &id]);
        out.assert_failed(&format!("state of a {form} state file"));
        out.assert_stderr_contains("state.json");
        assert_eq!(out.stderr.trim().lines().count(), 1, "{out:?}");
        rt.cmd(&["kill", &id, "KILL"])
            .assert_failed("kill")
            .assert_stderr_contains("state.json");
        let out = rt.cmd(&["list", "--format", "json"]);
        out.assert_ok("list");
        let listed = out.json();
        let entry = listed
            .as_array()
            .and_then(|a| a.iter().find(|c| c["id"] == id.as_str()))
            .unwrap_or_else(|| panic!("list hides the {form} container: {out:?}"));
        assert_eq!(entry["status"], "unknown", "{entry}");
        out.assert_stderr_contains(&id);

        delete_force_ok(&rt, &id);
        wait_process_gone(pid);
        rt.assert_nothing_left();
    }
}

#[test]
fn command_line_errors_are_one_line() {
    if !is_hull() {
        skip!("hull-only (see the module comment)");
    }
    let rt = Runtime::new();
    let lines: &[&[&str]] = &[
        &["create", "--foo", "x"],
        &["create"],
        &["frobnicate"],
        &["create", "--bundle"],
        &["create", "-b"],
        &["create", "--pid-file"],
        &["create", "--console-socket"],
        &["create", "--preserve-fds", "many", "x"],
        &["kill", "x", "-1"],
        &["kill"],
        &["kill", "--bogus", "x"],
        &["kill", "x", "NOSUCHSIG"],
        &["kill", "x", "99"],
        &["state"],
        &["state", "a", "b"],
        &["start"],
        &["delete"],
        &["delete", "--bogus", "x"],
        &["exec"],
        &["exec", "x"],
        &["exec", "--process"],
        &["run"],
        &["run", "-d"],
        &["list", "--format", "yaml"],
        &["ps", "--format", "foo", "x"],
        &["spec", "--rootless", "extra"],
        &["--root"],
        &["--log-format", "xml", "list"],
        &["pause"],
        &["update", "--memory", "lots", "x"],
        &["events", "--interval", "soon", "x"],
        &["create", "bad/id"],
    ];
    assert!(lines.len() >= 30);
    for args in lines {
        let out = rt.cmd(args);
        assert!(
            out.code == 1 || out.code == 3,
            "{args:?}: exit 1 (3 for an unknown subcommand) as runc: {out:?}"
        );
        let text: Vec<&str> = out.stderr.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(text.len(), 1, "{args:?}: one line: {out:?}");
        assert!(text[0].starts_with("hull: "), "{args:?}: {out:?}");
        assert!(!out.stderr.contains("panicked"), "{args:?}: {out:?}");
    }
}

#[test]
fn full_or_read_only_state_root_fails_in_one_line() {
    let rt = Runtime::new();
    let bundle = limited_sleeper(&rt);
    // Full: the state writes get ENOSPC.
    // The test's --root is an empty dir until the first create.
    with_tmpfs_on(&rt.root, "size=64k,mode=0700", || {
        let filler = rt.root.join("filler");
        let _ = std::fs::write(&filler, vec![0u8; 256 << 10]);
        let id = rt.new_id();
        let out = rt.create(&id, &bundle);
        out.assert_failed("create on a full --root");
        if is_hull() {
            out.assert_stderr_contains("No space left on device");
            assert_eq!(out.stderr.trim().lines().count(), 1, "{out:?}");
        }
        std::fs::remove_file(&filler).unwrap();
        assert_eq!(
            rt.root_entries(),
            Vec::<String>::new(),
            "nothing half-written"
        );
    });
    rt.assert_nothing_left();
    // Read-only: nothing can be made at all.
    with_tmpfs_on(&rt.root, "ro,mode=0700", || {
        let id = rt.new_id();
        let out = rt.create(&id, &bundle);
        out.assert_failed("create on a read-only --root");
        if is_hull() {
            out.assert_stderr_contains("Read-only file system");
            assert_eq!(out.stderr.trim().lines().count(), 1, "{out:?}");
        }
    });
    rt.assert_nothing_left();
}

#[test]
fn create_needs_no_fsync() {
    // state.json and --pid-file are replaced by a rename, never fsynced (as
    // runc and crun do: they describe processes, which a power loss ends
    // too): a state root whose filesystem refuses fsync, played by a filter
    // answering fsync with ENOSYS, still gets a complete container.
    let rt = Runtime::new();
    let bundle = limited_sleeper(&rt);
    let id = rt.new_id();
    rt.track(&id);
    let dir = bundle.dir.to_str().unwrap().to_string();
    let pid_file = rt.work.join("init.pid");
    let out = rt.cmd_without_syscalls(
        &[libc::SYS_fsync, libc::SYS_fdatasync],
        &[
            "create",
            "--bundle",
            &dir,
            "--pid-file",
            pid_file.to_str().unwrap(),
            &id,
        ],
    );
    out.assert_ok("create when fsync fails");
    let state = rt.state(&id);
    assert_eq!(state["status"], "created", "{state}");
    let written = std::fs::read_to_string(&pid_file).expect("no --pid-file");
    assert_eq!(written.trim(), state["pid"].to_string(), "{state}");
    rt.delete_force(&id).assert_ok("delete");
    rt.assert_nothing_left();
}
