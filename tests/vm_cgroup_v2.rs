//! cgroup v2 in a VM: boots scripts/vm/run.py once for all tests here (a
//! Debian cloud kernel under qemu, cgroup2 with every controller enabled,
//! CRIU packed) and checks the `ok` / `not ok` / `skip` lines of each
//! script it ran.
//! This host is hybrid, so real v2 limits are only shown there. The limit
//! checks are the host suite's (tests/cgroups/checks.rs), exported to the VM
//! as a table. A missing qemu or kernel fails the tests with the make target
//! that provides it.

#[path = "cgroups/checks.rs"]
mod checks;
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// One script's result lines and exit status, as the VM reported them.
#[derive(Debug, Default)]
struct Script {
    rc: Option<i32>,
    ok: Vec<String>,
    not_ok: Vec<(String, String)>,
    skip: Vec<(String, String)>,
}

#[derive(Debug)]
struct VmRun {
    code: i32,
    stdout: String,
    stderr: String,
    scripts: BTreeMap<String, Script>,
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// hull as the other integration tests run it (`$HULL_VM_HULL` overrides):
/// the binary cargo just built, so the VM never tests a stale release build.
fn hull() -> PathBuf {
    match std::env::var_os("HULL_VM_HULL") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_hull")),
    }
}

/// runc, to prove the v2 tests right before hull can pass them
/// (`$HULL_VM_RUNC` overrides).
fn runc() -> PathBuf {
    match std::env::var_os("HULL_VM_RUNC") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from("/usr/sbin/runc"),
    }
}

/// The VM run with hull and every script.
fn vm() -> &'static VmRun {
    static VM: OnceLock<VmRun> = OnceLock::new();
    VM.get_or_init(|| boot(None, &[]))
}

/// The VM run of the cgroup v2 and checkpoint scripts with runc as its
/// runtime.
fn vm_runc() -> &'static VmRun {
    static VM: OnceLock<VmRun> = OnceLock::new();
    VM.get_or_init(|| {
        let runc = runc();
        assert!(
            runc.is_file(),
            "{} not found: install runc with `make deps`",
            runc.display()
        );
        boot(
            Some(&runc),
            &[
                repo().join("scripts/vm/tests/20-hull-cgroup-v2.sh"),
                repo().join("scripts/vm/tests/30-checkpoint.sh"),
            ],
        )
    })
}

/// scripts/vm/run.py with hull and the probe; `runtime` runs in hull's place
/// when given; no `scripts` means every script under scripts/vm/tests.
fn boot(runtime: Option<&Path>, scripts: &[PathBuf]) -> VmRun {
    let mut cmd = Command::new("python3");
    cmd.arg(repo().join("scripts/vm/run.py"))
        .arg("--hull")
        .arg(hull())
        .arg("--probe")
        .arg(common::probe_path());
    if let Some(runtime) = runtime {
        cmd.arg("--runtime").arg(runtime);
    }
    let flavor = runtime.map_or("hull".into(), |r| r.file_name().unwrap().to_string_lossy());
    cmd.arg("--limits").arg(limits_table(&flavor));
    // Bounds for a loaded machine: both VMs boot at once on two cores under
    // software emulation, and runc's limit checks wait for its cgroups.
    cmd.args(["--script-timeout", "480", "--timeout", "900"]);
    let out = cmd
        .arg("--")
        .args(scripts)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("run scripts/vm/run.py: python3: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code().unwrap_or(-1);
    // 2 is the runner's setup error: qemu, the kernel or a binary missing.
    if code == 2 {
        panic!(
            "the cgroup v2 VM could not be set up: {stderr}\
             install qemu with `make vm-deps` and fetch the kernel with `make vm-kernel` \
             (or run `make vm-test`)"
        );
    }
    eprintln!("{stderr}");
    VmRun {
        code,
        scripts: parse(&stdout),
        stdout,
        stderr,
    }
}

/// The limit checks as the VM runs them, written for run.py to pack (one
/// file per runtime: the two VMs boot side by side).
fn limits_table(flavor: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("vm-limits-{flavor}.tsv"));
    std::fs::write(&path, checks::vm_table().0).expect("write the VM's limit table");
    path
}

/// Result lines per script, from the `HULL-VM-BEGIN NAME` …
/// `HULL-VM-END NAME rc=N` blocks of the console.
fn parse(stdout: &str) -> BTreeMap<String, Script> {
    let mut scripts = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in stdout.lines() {
        if let Some(name) = line.strip_prefix("HULL-VM-BEGIN ") {
            scripts.insert(name.to_string(), Script::default());
            current = Some(name.to_string());
        } else if let Some(rest) = line.strip_prefix("HULL-VM-END ") {
            let mut parts = rest.split(" rc=");
            let name = parts.next().unwrap_or_default();
            if let Some(script) = scripts.get_mut(name) {
                script.rc = parts.next().and_then(|rc| rc.trim().parse().ok());
            }
            current = None;
        } else if let Some(script) = current.as_ref().and_then(|c| scripts.get_mut(c)) {
            if let Some(rest) = line.strip_prefix("not ok ") {
                script.not_ok.push(split_reason(rest));
            } else if let Some(rest) = line.strip_prefix("ok ") {
                script.ok.push(rest.trim().to_string());
            } else if let Some(rest) = line.strip_prefix("skip ") {
                script.skip.push(split_reason(rest));
            }
        }
    }
    scripts
}

fn split_reason(rest: &str) -> (String, String) {
    match rest.split_once(": ") {
        Some((name, reason)) => (name.to_string(), reason.to_string()),
        None => (rest.trim().to_string(), String::new()),
    }
}

/// The script ran to its end with status 0, no `not ok`, and every name in
/// `required` reported `ok` (so a check dropped from a script is noticed).
#[track_caller]
fn assert_script(name: &str, required: &[&str]) -> &'static Script {
    assert_script_in(vm(), name, required)
}

#[track_caller]
fn assert_script_in(run: &'static VmRun, name: &str, required: &[&str]) -> &'static Script {
    let Some(script) = run.scripts.get(name) else {
        panic!(
            "{name} did not run in the VM (exit {}); stderr:\n{}\nconsole:\n{}",
            run.code, run.stderr, run.stdout
        );
    };
    let failures: Vec<String> = script
        .not_ok
        .iter()
        .map(|(test, reason)| format!("not ok {test}: {reason}"))
        .collect();
    assert!(failures.is_empty(), "{name}:\n{}", failures.join("\n"));
    assert_eq!(
        script.rc,
        Some(0),
        "{name} ended with status {:?} (124: killed by its timeout in the VM); console:\n{}",
        script.rc,
        run.stdout
    );
    for test in required {
        assert!(
            script.ok.iter().any(|ok| ok == test),
            "{name}: no `ok {test}` line; results: {script:?}"
        );
    }
    script
}

#[test]
fn vm_bed_has_cgroup2_with_every_controller_and_limits_bite() {
    let mut required = vec![
        "bed-cgroup2-mounted",
        "bed-root-is-tmpfs",
        "bed-memory-max-oom-kill-status",
        "bed-memory-max-oom-kill-counted",
        "bed-pids-max-fork-fails",
        "bed-pids-max-counted",
        "bed-cpu-max-throttles",
        "bed-freeze",
        "bed-thaw",
    ];
    let names: Vec<String> = [
        "cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc",
    ]
    .iter()
    .flat_map(|c| {
        [
            format!("bed-controller-{c}"),
            format!("bed-subtree-control-{c}"),
        ]
    })
    .collect();
    required.extend(names.iter().map(String::as_str));
    assert_script("00-bed.sh", &required);
}

#[test]
fn vm_hull_runs_containers_and_their_lifecycle() {
    assert_script(
        "10-hull.sh",
        &[
            "hull-run-exit-status",
            "hull-run-echo",
            "hull-run-pid-1",
            "hull-run-hostname",
            "hull-probe-pid-1",
            "hull-probe-hostname",
            "hull-run-exit-code",
            "hull-create",
            "hull-state-created",
            "hull-start",
            "hull-state-running",
            "hull-kill-term",
            "hull-state-stopped-after-kill",
            "hull-delete",
            "hull-deleted-is-gone",
            "hull-cgroupns-self-cgroup",
            "hull-no-cgroupns-self-cgroup",
            "hull-no-cgroupns-is-v2",
            "hull-nothing-left",
        ],
    );
}

const V2_TESTS: [&str; 7] = [
    "hull-v2-memory-max-oom",
    "hull-v2-pids-max",
    "hull-v2-cpu-max",
    "hull-v2-devices-denied",
    "hull-v2-freeze-thaw",
    "hull-v2-events-stats",
    "hull-v2-delete-kills-cgroup",
];

/// hull's cgroup v2 support proven where the controllers exist: every
/// v2 test passed (memory.max OOM, pids.max, cpu.max throttling, device
/// eBPF denial, freeze/thaw, events, delete); none may be skipped now.
#[test]
fn vm_hull_cgroup_v2_limits_bite() {
    let script = assert_script("20-hull-cgroup-v2.sh", &V2_TESTS);
    assert!(script.skip.is_empty(), "skipped: {:?}", script.skip);
}

/// Every limit check of the host suite's table ran in the VM with hull and
/// reported `ok` for each file, update and refusal (hull's messages too).
#[test]
fn vm_hull_passes_the_limit_checks() {
    let (_, required, hull_only) = checks::vm_table();
    let names: Vec<&str> = required
        .iter()
        .chain(&hull_only)
        .map(String::as_str)
        .collect();
    let script = assert_script("20-hull-cgroup-v2.sh", &names);
    assert!(script.skip.is_empty(), "skipped: {:?}", script.skip);
}

/// Every script under scripts/vm/tests ran and passed, also ones added
/// later without a test of their own here, and the VM said so itself.
#[test]
fn vm_every_script_passes() {
    let run = vm();
    let mut expected: Vec<String> = std::fs::read_dir(repo().join("scripts/vm/tests"))
        .expect("read scripts/vm/tests")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sh"))
        .collect();
    expected.sort();
    for name in &expected {
        assert_script(name, &[]);
    }
    assert!(
        run.stdout.contains("HULL-VM-SUMMARY ") && run.stdout.contains(" 0 failed"),
        "no clean HULL-VM-SUMMARY line; console:\n{}",
        run.stdout
    );
    assert_eq!(
        run.code, 0,
        "the VM run exited {}; stderr:\n{}",
        run.code, run.stderr
    );
}

/// The v2 tests that wait for hull pass as they are against runc, which has
/// every feature they need: they test the kernel's behaviour, not a guess.
#[test]
fn vm_cgroup_v2_tests_pass_against_runc() {
    let run = vm_runc();
    assert_script_in(run, "20-hull-cgroup-v2.sh", &V2_TESTS);
    let (_, required, _) = checks::vm_table();
    let names: Vec<&str> = required.iter().map(String::as_str).collect();
    assert_script_in(run, "20-hull-cgroup-v2.sh", &names);
    assert_eq!(
        run.code, 0,
        "the runc VM run exited {}; stderr:\n{}",
        run.code, run.stderr
    );
}

/// What scripts/vm/tests/30-checkpoint.sh proves, for hull and runc.
const CHECKPOINT_TESTS: [&str; 25] = [
    "criu-check",
    "counter-runs",
    "checkpoint-leave-running",
    "leave-running-still-running",
    "leave-running-counts-on",
    "checkpoint",
    "checkpoint-removes-container",
    "checkpoint-leaves-nothing",
    "restore-runs",
    "restore-carries-on",
    "restored-counts-on",
    "restored-stdout-reconnected",
    "restored-state-pid-alive",
    "restored-delete",
    "restored-nothing-left",
    "pre-dump",
    "pre-dump-still-running",
    "dump-after-pre-dump",
    "restore-after-pre-dump-carries-on",
    "pre-dump-restored-delete",
    "pre-dump-restored-nothing-left",
    "fg-checkpoint",
    "fg-restore-runs",
    "fg-restore-exit-status",
    "fg-restore-deletes",
];

/// Checkpoint and restore with CRIU (Debian 12's, which cannot work on the
/// build host's kernel) in the VM: a counter carries on where it was
/// dumped, with --leave-running, and after a pre-dump; its stdout reaches
/// the restoring caller; the restored container is deleted like any other;
/// a foreground restore exits with the container's status and deletes it;
/// nothing is left. The same script passes against runc.
#[test]
fn vm_checkpoint_and_restore_for_hull_and_runc() {
    let script = assert_script("30-checkpoint.sh", &CHECKPOINT_TESTS);
    assert!(script.skip.is_empty(), "skipped: {:?}", script.skip);
    let script = assert_script_in(vm_runc(), "30-checkpoint.sh", &CHECKPOINT_TESTS);
    assert!(script.skip.is_empty(), "skipped: {:?}", script.skip);
}

/// The console parser keeps each script's lines apart and carries a
/// `not ok` reason through, so a failure in the VM fails here with it.
#[test]
fn vm_console_lines_are_read_per_script() {
    let console = "HULL-VM-READY uptime=3.1\n\
        HULL-VM-BEGIN a.sh\n\
        ok one\n\
        not ok two: expected 'x', got 'y'\n\
        skip three: needs hull cgroup v2 support (pause)\n\
        1 passed, 1 failed, 1 skipped\n\
        HULL-VM-END a.sh rc=1\n\
        ok outside\n\
        HULL-VM-BEGIN b.sh\n\
        HULL-VM-END b.sh rc=124\n\
        HULL-VM-EXIT=1\n";
    let scripts = parse(console);
    assert_eq!(scripts.len(), 2, "{scripts:?}");
    let a = &scripts["a.sh"];
    assert_eq!(a.rc, Some(1));
    assert_eq!(a.ok, ["one"]);
    assert_eq!(
        a.not_ok,
        [("two".to_string(), "expected 'x', got 'y'".to_string())]
    );
    assert_eq!(a.skip[0].0, "three");
    let b = &scripts["b.sh"];
    assert_eq!(b.rc, Some(124));
    assert!(b.ok.is_empty() && b.not_ok.is_empty());
}
