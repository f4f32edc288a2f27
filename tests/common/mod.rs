//! Shared harness for the integration tests: picks the runtime binary, builds
//! bundles with a busybox + probe rootfs, runs runtime commands with a
//! per-test `--root`, and cleans up every container even when a test panics.
#![allow(dead_code)]

mod attack;
mod bundle;
mod host;
mod listener;

// Only the attack suite uses these.
#[allow(unused_imports)]
pub use attack::*;
pub use bundle::*;
pub use host::*;
// Only the tests of seccomp notify use these.
#[allow(unused_imports)]
pub use listener::*;

use serde_json::Value;
use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one runtime command may take before the test fails as hung.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);
/// How long each cleanup command may take.
pub const CLEANUP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `wait_status` polls for a container to reach a status.
pub const STATUS_TIMEOUT: Duration = Duration::from_secs(10);

/// The runtime under test: `$HULL_RUNTIME`, else the hull binary cargo built.
pub fn runtime() -> PathBuf {
    match std::env::var_os("HULL_RUNTIME") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_hull")),
    }
}

/// Whether the runtime under test is hull (its own messages and features are
/// checked only then; the suite also runs against runc).
pub fn is_hull() -> bool {
    runtime()
        .file_name()
        .map(|n| n.to_string_lossy().starts_with("hull"))
        .unwrap_or(false)
}

/// Report that the running test skips (part of) its checks, as one
/// grep-able line: `skipped: <test name>: <reason>`. The test name is the
/// test thread's (libtest names it after the test), else `fallback`.
pub fn report_skip(fallback: &str, reason: &str) {
    let thread = std::thread::current();
    let name = match thread.name() {
        Some(name) if name != "main" => name.to_string(),
        _ => fallback
            .split_once("::")
            .map_or(fallback, |(_, rest)| rest)
            .to_string(),
    };
    eprintln!("skipped: {name}: {reason}");
}

/// Skip the rest of the test, saying why: `skip!("needs {thing}")` prints
/// `skipped: <test name>: needs …` and returns. Never return early from a
/// test without it.
#[allow(unused_macros)]
macro_rules! skip {
    ($($reason:tt)+) => {{
        $crate::common::skip_note!($($reason)+);
        return;
    }};
}
#[allow(unused_imports)]
pub(crate) use skip;

/// Say that a check is skipped without leaving the function (for helpers
/// that return an `Option` or skip one part of a test).
#[allow(unused_macros)]
macro_rules! skip_note {
    ($($reason:tt)+) => {{
        fn here() {}
        let name = std::any::type_name_of_val(&here);
        $crate::common::report_skip(
            name.strip_suffix("::here").unwrap_or(name),
            &format!($($reason)+),
        );
    }};
}
#[allow(unused_imports)]
pub(crate) use skip_note;

/// The static probe binary copied into every rootfs as /bin/probe.
pub fn probe_path() -> PathBuf {
    let path = match std::env::var_os("HULL_PROBE") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_BIN_EXE_hull"))
            .parent()
            .unwrap()
            .join("examples/probe"),
    };
    assert!(
        path.is_file(),
        "probe binary not found at {}: build it first with `cargo build --examples` \
         (or point HULL_PROBE at it)",
        path.display()
    );
    path
}

/// Exit code (128+N when killed by signal N) and captured output of a command.
#[derive(Debug, Clone)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == 0
    }

    #[track_caller]
    pub fn assert_ok(&self, what: &str) -> &Self {
        assert_eq!(self.code, 0, "{what} failed: {self:?}");
        self
    }

    /// Non-zero exit with a non-empty message on stderr.
    #[track_caller]
    pub fn assert_failed(&self, what: &str) -> &Self {
        assert_ne!(self.code, 0, "{what} should fail: {self:?}");
        assert!(
            !self.stderr.trim().is_empty(),
            "{what} failed without a message on stderr: {self:?}"
        );
        self
    }

    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr should contain {needle:?}: {self:?}"
        );
        self
    }

    /// stdout parsed as JSON (panics with the output when it is not).
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn test_name() -> String {
    let name = std::thread::current()
        .name()
        .unwrap_or("test")
        .rsplit("::")
        .next()
        .unwrap()
        .to_string();
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    clean.chars().take(40).collect()
}

/// A runtime invocation still running (e.g. a foreground `run`).
pub struct Running {
    pub child: Child,
    /// The arguments, for messages.
    args: String,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Running {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Wait for exit; kill it and fail the test when it takes longer than `timeout`.
    #[track_caller]
    pub fn wait(self, timeout: Duration) -> Output {
        let args = self.args.clone();
        let stderr = self.stderr.clone();
        match self.wait_or_kill(timeout) {
            Some(out) => out,
            None => panic!(
                "`{args}` did not finish within {timeout:?}; killed it. stderr so far: {:?}",
                std::fs::read_to_string(stderr).unwrap_or_default()
            ),
        }
    }

    /// Wait for exit; on timeout kill it and return None.
    pub fn wait_or_kill(mut self, timeout: Duration) -> Option<Output> {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                break status;
            }
            if Instant::now() > deadline {
                self.kill_group();
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        use std::os::unix::process::ExitStatusExt;
        let code = status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        Some(Output {
            code,
            stdout: std::fs::read_to_string(&self.stdout).unwrap_or_default(),
            stderr: std::fs::read_to_string(&self.stderr).unwrap_or_default(),
        })
    }
}

impl Running {
    /// SIGKILL the runtime and everything still in its process group (such
    /// as a container init it cloned and then hung with).
    fn kill_group(&mut self) {
        // SAFETY: plain kill(2); the group is the one spawn_in created for
        // this child, so it holds nothing but the runtime and its children.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill_group();
        }
    }
}

/// The runtime under test with its own `--root`, and the guard that deletes
/// every container it touched and checks nothing is left when dropped.
pub struct Runtime {
    pub bin: PathBuf,
    pub root: PathBuf,
    /// Scratch space for bundles, host dirs and captured output.
    pub work: PathBuf,
    tmp: Option<tempfile::TempDir>,
    ids: Mutex<BTreeSet<String>>,
    pids: Mutex<Vec<(i32, u64)>>,
    name: String,
}

impl Runtime {
    pub fn new() -> Runtime {
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        assert_eq!(
            euid, 0,
            "the integration tests need root (they create namespaces and mounts)"
        );
        assert!(
            Path::new("/bin/busybox").is_file(),
            "the integration tests need a static /bin/busybox (Debian: busybox-static)"
        );
        let tmp = tempfile::Builder::new()
            .prefix("hull-test-")
            .tempdir()
            .unwrap();
        let root = tmp.path().join("root");
        let work = tmp.path().join("work");
        std::fs::create_dir(&root).unwrap();
        std::fs::create_dir(&work).unwrap();
        Runtime {
            bin: runtime(),
            root,
            work,
            tmp: Some(tmp),
            ids: Mutex::new(BTreeSet::new()),
            pids: Mutex::new(Vec::new()),
            name: test_name(),
        }
    }

    /// A fresh container id, unique across tests running in parallel.
    pub fn new_id(&self) -> String {
        let id = format!(
            "{}-{}-{}",
            self.name,
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        self.track(&id);
        id
    }

    /// Remember an id so the guard deletes it.
    pub fn track(&self, id: &str) {
        self.ids.lock().unwrap().insert(id.to_string());
    }

    pub fn bundle(&self) -> Bundle {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        Bundle::create(self.work.join(format!("bundle-{n}")))
    }

    /// A fresh empty directory under the work dir.
    pub fn host_dir(&self, name: &str) -> PathBuf {
        let dir = self
            .work
            .join(format!("{name}-{}", COUNTER.fetch_add(1, Ordering::SeqCst)));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Start `<runtime> --root ROOT ARGS...` in `cwd` without waiting.
    pub fn spawn_in(&self, cwd: Option<&Path>, args: &[&str]) -> Running {
        self.spawn_configured(cwd, args, |_| {})
    }

    /// `spawn_in` with a last say on the command (env, stdio, pre_exec).
    pub fn spawn_configured(
        &self,
        cwd: Option<&Path>,
        args: &[&str],
        configure: impl FnOnce(&mut Command),
    ) -> Running {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        // Output goes to files, not pipes: a container inherits the runtime's
        // stdio, so a pipe would stay open as long as the container lives.
        let stdout = self.work.join(format!("cmd-{n}.out"));
        let stderr = self.work.join(format!("cmd-{n}.err"));
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--root").arg(&self.root).args(args);
        cmd.stdin(Stdio::null());
        // Its own process group, so a hung command can be killed with all
        // it started.
        cmd.process_group(0);
        cmd.stdout(std::fs::File::create(&stdout).unwrap());
        cmd.stderr(std::fs::File::create(&stderr).unwrap());
        if let Some(dir) = cwd {
            cmd.current_dir(dir);
        }
        configure(&mut cmd);
        let child = spawn_retrying_busy(&mut cmd)
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display()));
        Running {
            child,
            args: args.join(" "),
            stdout,
            stderr,
        }
    }

    /// `<runtime> --root ROOT ARGS` with each of `syscalls` failing with
    /// ENOSYS (see `block_syscalls`).
    #[track_caller]
    pub fn cmd_without_syscalls(&self, syscalls: &[libc::c_long], args: &[&str]) -> Output {
        let syscalls = syscalls.to_vec();
        self.spawn_configured(None, args, move |cmd| block_syscalls(cmd, &syscalls))
            .wait(COMMAND_TIMEOUT)
    }

    pub fn spawn(&self, args: &[&str]) -> Running {
        self.spawn_in(None, args)
    }

    /// Run `<runtime> --root ROOT ARGS...` to completion (bounded by COMMAND_TIMEOUT).
    #[track_caller]
    pub fn cmd(&self, args: &[&str]) -> Output {
        self.spawn(args).wait(COMMAND_TIMEOUT)
    }

    #[track_caller]
    pub fn cmd_in(&self, cwd: &Path, args: &[&str]) -> Output {
        self.spawn_in(Some(cwd), args).wait(COMMAND_TIMEOUT)
    }

    /// `exec FLAGS ID COMMAND`: flags before the id, as engines (and runc) need.
    #[track_caller]
    pub fn exec(&self, id: &str, flags: &[&str], command: &[&str]) -> Output {
        let mut args = vec!["exec"];
        args.extend_from_slice(flags);
        args.push(id);
        args.extend_from_slice(command);
        self.cmd(&args)
    }

    #[track_caller]
    pub fn create(&self, id: &str, bundle: &Bundle) -> Output {
        self.create_with(id, bundle, &[])
    }

    #[track_caller]
    pub fn create_with(&self, id: &str, bundle: &Bundle, extra: &[&str]) -> Output {
        self.track(id);
        let dir = bundle.dir.to_str().unwrap();
        let mut args = vec!["create", "--bundle", dir];
        args.extend_from_slice(extra);
        args.push(id);
        self.cmd(&args)
    }

    /// `create` that must succeed; returns the state.
    #[track_caller]
    pub fn create_ok(&self, id: &str, bundle: &Bundle) -> Value {
        self.create(id, bundle).assert_ok("create");
        self.state(id)
    }

    #[track_caller]
    pub fn start(&self, id: &str) -> Output {
        self.cmd(&["start", id])
    }

    /// `create` + `start` of a container that keeps running.
    #[track_caller]
    pub fn create_running(&self, id: &str, bundle: &Bundle) -> Value {
        self.create_ok(id, bundle);
        self.start(id).assert_ok("start");
        self.wait_status(id, "running")
    }

    #[track_caller]
    pub fn try_state(&self, id: &str) -> Output {
        self.cmd(&["state", id])
    }

    /// `state` parsed; panics when it fails.
    #[track_caller]
    pub fn state(&self, id: &str) -> Value {
        let out = self.try_state(id);
        out.assert_ok("state");
        let state = out.json();
        if let Some(pid) = state["pid"].as_i64().filter(|p| *p > 0) {
            if let Some(start) = live_start_time(pid as i32) {
                let mut pids = self.pids.lock().unwrap();
                if !pids.contains(&(pid as i32, start)) {
                    pids.push((pid as i32, start));
                }
            }
        }
        state
    }

    /// Poll `state` until the container reaches `status` (bounded).
    #[track_caller]
    pub fn wait_status(&self, id: &str, status: &str) -> Value {
        let deadline = Instant::now() + STATUS_TIMEOUT;
        loop {
            let state = self.state(id);
            if state["status"] == status {
                return state;
            }
            assert!(
                Instant::now() < deadline,
                "container {id} did not reach {status:?} within {STATUS_TIMEOUT:?}: {state}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[track_caller]
    pub fn kill(&self, id: &str, signal: Option<&str>) -> Output {
        match signal {
            Some(sig) => self.cmd(&["kill", id, sig]),
            None => self.cmd(&["kill", id]),
        }
    }

    #[track_caller]
    pub fn delete(&self, id: &str) -> Output {
        self.cmd(&["delete", id])
    }

    #[track_caller]
    pub fn delete_force(&self, id: &str) -> Output {
        self.cmd(&["delete", "--force", id])
    }

    /// Foreground `run` with extra flags; returns when the container exits.
    #[track_caller]
    pub fn run_with(&self, id: &str, bundle: &Bundle, extra: &[&str]) -> Output {
        self.track(id);
        let dir = bundle.dir.to_str().unwrap();
        let mut args = vec!["run", "--bundle", dir];
        args.extend_from_slice(extra);
        args.push(id);
        self.cmd(&args)
    }

    #[track_caller]
    pub fn run(&self, id: &str, bundle: &Bundle) -> Output {
        self.run_with(id, bundle, &[])
    }

    /// Run the probe with `ops` in `bundle` and return its results, one per
    /// operation ("report" when `ops` is empty).
    #[track_caller]
    pub fn probe(&self, bundle: &mut Bundle, ops: &[&str]) -> Vec<Value> {
        bundle.probe(ops);
        let id = self.new_id();
        let out = self.run(&id, bundle);
        out.assert_ok("run probe");
        match out.json() {
            Value::Array(results) => results,
            single => vec![single],
        }
    }

    /// The probe's report from a fresh container of `bundle`.
    #[track_caller]
    pub fn report(&self, bundle: &mut Bundle) -> Value {
        self.probe(bundle, &[]).remove(0)
    }

    #[track_caller]
    pub fn list(&self, extra: &[&str]) -> Output {
        let mut args = vec!["list"];
        args.extend_from_slice(extra);
        self.cmd(&args)
    }

    /// Ids printed by `list --quiet`.
    #[track_caller]
    pub fn list_ids(&self) -> Vec<String> {
        let out = self.list(&["--quiet"]);
        out.assert_ok("list --quiet");
        out.stdout
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect()
    }

    /// Entries left in the --root dir.
    pub fn root_entries(&self) -> Vec<String> {
        match std::fs::read_dir(&self.root) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Ids from `list --quiet`, or why they could not be listed. Never panics.
    fn listed_ids(&self) -> Result<Vec<String>, String> {
        match self
            .spawn(&["list", "--quiet"])
            .wait_or_kill(CLEANUP_TIMEOUT)
        {
            Some(out) if out.success() => Ok(out
                .stdout
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect()),
            other => Err(format!("list --quiet failed: {other:?}")),
        }
    }

    /// What is left behind: containers in `list`, container dirs under
    /// --root, live container processes, cgroups named after an id, host
    /// mounts under the test's temp dir. Never panics.
    pub fn leftovers(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match self.listed_ids() {
            Ok(ids) if !ids.is_empty() => {
                problems.push(format!("containers left in `list`: {ids:?}"))
            }
            Ok(_) => {}
            Err(e) => problems.push(e),
        }
        // The runtime may keep a lock file or similar at the top; a container
        // leaves a directory.
        let dirs: Vec<String> = self
            .root_entries()
            .into_iter()
            .filter(|e| self.root.join(e).is_dir())
            .collect();
        if !dirs.is_empty() {
            problems.push(format!(
                "container dirs left under --root {}: {dirs:?}",
                self.root.display()
            ));
        }
        let pids = self.pids.lock().map(|p| p.clone()).unwrap_or_default();
        let deadline = Instant::now() + STATUS_TIMEOUT;
        for (pid, start) in pids {
            while live_start_time(pid) == Some(start) {
                if Instant::now() > deadline {
                    problems.push(format!("container process {pid} still alive"));
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let strays = self.stray_processes();
        if !strays.is_empty() {
            problems.push(format!("runtime processes still running: {strays:?}"));
        }
        // Only ids that can name a directory; bad-input tests track others.
        let ids: Vec<String> = self
            .ids
            .lock()
            .map(|ids| {
                ids.iter()
                    .filter(|i| !i.is_empty() && !i.contains('/'))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let cgroups = cgroup_dirs_named(&ids);
        if !cgroups.is_empty() {
            problems.push(format!("cgroups left: {cgroups:?}"));
        }
        if let Some(tmp) = &self.tmp {
            let base = tmp.path().to_string_lossy().into_owned();
            let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
            let left: Vec<&str> = mounts.lines().filter(|l| l.contains(&base)).collect();
            if !left.is_empty() {
                problems.push(format!("mounts left on the host: {left:?}"));
            }
        }
        problems
    }

    #[track_caller]
    pub fn assert_nothing_left(&self) {
        let problems = self.leftovers();
        assert!(problems.is_empty(), "left behind: {problems:#?}");
    }

    /// Processes whose command line names this test's --root: runtime
    /// invocations, or container inits cloned from one, that never finished.
    fn stray_processes(&self) -> Vec<i32> {
        pids_with_arg(self.root.to_str().unwrap())
    }

    fn cleanup(&self) {
        let mut ids: Vec<String> = self
            .ids
            .lock()
            .map(|ids| ids.iter().cloned().collect())
            .unwrap_or_default();
        // Also whatever the test created without the guard knowing.
        ids.extend(self.listed_ids().unwrap_or_default());
        for id in ids {
            // Errors are expected for ids that never got created.
            let _ = self
                .spawn(&["delete", "--force", &id])
                .wait_or_kill(CLEANUP_TIMEOUT);
        }
    }
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Untracked containers are found through `list` and deleted too, so a
        // leak fails the test but does not outlive it.
        let leaked = self.listed_ids().unwrap_or_default();
        let tracked = self.ids.lock().map(|ids| ids.clone()).unwrap_or_default();
        let untracked: Vec<String> = leaked
            .into_iter()
            .filter(|id| !tracked.contains(id))
            .collect();
        self.cleanup();
        let mut problems = self.leftovers();
        if !untracked.is_empty() {
            problems.push(format!("containers the test did not track: {untracked:?}"));
        }
        for pid in self.stray_processes() {
            // SAFETY: plain kill(2) of a process started for this test.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        if let Some(tmp) = self.tmp.take() {
            let _ = tmp.close();
        }
        if !problems.is_empty() && !std::thread::panicking() {
            panic!("left behind after cleanup: {problems:#?}");
        }
    }
}

/// Mount entry for `mount_point` in a probe report, if any (the last one wins,
/// as it is the visible one).
pub fn find_mount<'a>(report: &'a Value, mount_point: &str) -> Option<&'a Value> {
    report["mountinfo"]
        .as_array()?
        .iter()
        .rev()
        .find(|m| m["mount_point"] == mount_point)
}

/// Whether a mountinfo entry's per-mount or super options contain `opt`.
pub fn has_option(mount: &Value, opt: &str) -> bool {
    ["options", "super_options"].iter().any(|k| {
        mount[*k]
            .as_array()
            .map(|a| a.iter().any(|o| o == opt))
            .unwrap_or(false)
    })
}

/// errno values the tests expect.
pub const EROFS: i64 = 30;
pub const ENOENT: i64 = 2;

/// A seccomp filter, installed between fork and exec, that makes each of
/// `syscalls` fail with ENOSYS (as on an older kernel, or under an engine's
/// profile); everything the command starts inherits it.
pub fn block_syscalls(cmd: &mut Command, syscalls: &[libc::c_long]) {
    let n = syscalls.len();
    let mut filter = vec![libc::sock_filter {
        code: (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16,
        jt: 0,
        jf: 0,
        k: 0, // seccomp_data.nr
    }];
    for (i, nr) in syscalls.iter().enumerate() {
        filter.push(libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt: (n - i) as u8, // to the ERRNO return
            jf: 0,
            k: *nr as u32,
        });
    }
    let ret = (libc::BPF_RET | libc::BPF_K) as u16;
    for k in [
        libc::SECCOMP_RET_ALLOW,
        libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
    ] {
        filter.push(libc::sock_filter {
            code: ret,
            jt: 0,
            jf: 0,
            k,
        });
    }
    // SAFETY: only prctl(2) between fork and exec, on a filter built before
    // the fork and owned by the closure. As root no no_new_privs is needed
    // (nor wanted: the container would inherit it).
    unsafe {
        cmd.pre_exec(move || {
            let prog = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr() as *mut libc::sock_filter,
            };
            if libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &prog) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// `fds` become the command's fds 3, 4, ... (inherited by exec). The
/// caller keeps them open until the command is spawned.
pub fn pass_fds(cmd: &mut Command, fds: Vec<std::os::fd::RawFd>) {
    // SAFETY: the closure only calls dup2 and fcntl, which are
    // async-signal-safe, on fds the parent keeps open until spawn returns.
    unsafe {
        cmd.pre_exec(move || {
            // Move them above the target range first, so a source fd that
            // is also a target number is not overwritten early.
            let mut moved = Vec::new();
            for fd in &fds {
                let high = libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, 100);
                if high < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                moved.push(high);
            }
            for (i, high) in moved.iter().enumerate() {
                if libc::dup2(*high, 3 + i as std::os::fd::RawFd) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// The fd numbers of a probe report, in order.
pub fn fd_numbers(report: &Value) -> Vec<i64> {
    report["fds"]
        .as_array()
        .expect("fds in the report")
        .iter()
        .map(|f| f["fd"].as_i64().unwrap())
        .collect()
}

/// `cmd.spawn()`, again while it fails with ETXTBSY: a binary a test wrote
/// (the v2-view wrapper) is "busy" while a child forked by another test
/// thread still holds the writing fd, until that child's exec closes it.
pub fn spawn_retrying_busy(cmd: &mut Command) -> std::io::Result<std::process::Child> {
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}
