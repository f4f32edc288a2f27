//! hull's side of the clone: clone the container's init or an exec'd
//! process, serve what it asks for (id maps, hooks, the seccomp notify fd)
//! until it is ready, and kill and reap it on any error before that.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

use anyhow::{bail, Context, Result};
use nix::sched::CloneFlags;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;

use super::channel::{self, ChildError, FromChild, HullEnd};
use super::init::{init_main, InitArgs};
use super::{exec, idmap, terminal};
use crate::cgroups::{self, CgroupManager};
use crate::config::{Plan, ProcessPlan};
use crate::logging;
use crate::security::seccomp::{self, SeccompPlan};
use crate::syscall::{pidfd_send_signal, CloneResult};

/// A child of hull's that is killed (SIGKILL through its pidfd) and reaped
/// when dropped, unless it was kept (`keep`) or reaped (`reap`): every error
/// path between a clone and the commit ends the child this one way.
#[derive(Debug)]
pub struct Child {
    pid: i32,
    /// Taken only by `keep` (which consumes the guard) and by drop.
    pidfd: Option<OwnedFd>,
    /// Waited for already: nothing is left to kill.
    reaped: bool,
}

impl Child {
    pub fn new(pid: i32, pidfd: OwnedFd) -> Child {
        Child {
            pid,
            pidfd: Some(pidfd),
            reaped: false,
        }
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.pidfd
            .as_ref()
            .expect("only keep and drop take the pidfd")
            .as_fd()
    }

    /// The child lives on: its pid and pidfd, no kill on drop.
    pub fn keep(mut self) -> (i32, OwnedFd) {
        let pidfd = self
            .pidfd
            .take()
            .expect("only keep and drop take the pidfd");
        (self.pid, pidfd)
    }

    /// Wait for a child that ends by itself; nothing is left to kill.
    pub fn reap(&mut self) -> nix::Result<WaitStatus> {
        self.reaped = true;
        waitpid(Pid::from_raw(self.pid), None)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let (Some(pidfd), false) = (self.pidfd.take(), self.reaped) {
            // It is hull's unreaped child: the pid cannot be another's, and
            // failing to signal one that is gone already is fine.
            let _ = pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
            let _ = waitpid(Pid::from_raw(self.pid), None);
        }
    }
}

/// Why a spawned child did not get to its goal (ready, or exec'd); the
/// texts are what `create` and `exec` print.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The child said why (with the errno and config field as data).
    #[error("{0}")]
    Child(ChildError),
    /// The init ended without a word: how it ended.
    #[error("the container's init ended during create without a word ({0})")]
    Silent(String),
    /// A terminating signal reached the foreground `run` while creating.
    #[error("interrupted by signal {0} while creating")]
    Interrupted(i32),
    /// A message this step of the protocol does not expect (a bug).
    #[error("unexpected message {0}")]
    Unexpected(String),
}

/// What the init is cloned with, beyond its plan.
pub struct InitLaunch<'a> {
    pub plan: &'a Plan,
    pub id: &'a str,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    /// fds 3.. handed on to the process (socket activation's, then
    /// --preserve-fds).
    pub preserve_fds: u32,
    /// Added to the plan's env for the execve (LISTEN_FDS, LISTEN_PID).
    pub extra_env: Vec<String>,
    /// --console-socket; without it, a terminal's pty master comes back to
    /// hull (`ReadyInit::terminal`).
    pub console_socket: Option<&'a Path>,
    /// exec.fifo, opened O_PATH.
    pub fifo: OwnedFd,
    /// root.path's lock, held by the init until its mounts are made.
    pub rootfs_lock: Option<OwnedFd>,
    pub cgroup: Option<&'a dyn CgroupManager>,
    /// Makes the cgroup around the cloned init (a systemd unit started
    /// with its pid), which waits for it before its first step.
    pub cgroup_around_init: Option<AroundInit<'a>>,
    /// Runs in hull right after the clone, while the init sets up (it does
    /// not wait for it); done before any hook runs and before `Ready` is
    /// taken.
    pub beside_init: Option<&'a dyn Fn(i32) -> Result<()>>,
    /// A signalfd whose terminating signals abort the create.
    pub interrupt: Option<RawFd>,
}

/// Called with the init's pid right after the clone.
pub type AroundInit<'a> = &'a mut dyn FnMut(i32) -> Result<()>;

/// An init that said `Ready` and waits for the commit. Dropped without
/// `commit`, it is killed and reaped.
pub struct ReadyInit {
    child: Child,
    sync: HullEnd,
    /// The pty master, when hull keeps the terminal.
    pub terminal: Option<OwnedFd>,
}

impl ReadyInit {
    pub fn pid(&self) -> i32 {
        self.child.pid()
    }

    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.child.pidfd()
    }

    /// The container is on record: the init may outlive hull now. It
    /// closes its end once it stopped watching for hull's death; then it
    /// is kept, and its pid and pidfd returned.
    pub fn commit(self) -> Result<(i32, OwnedFd)> {
        self.sync.send_committed().context("commit the container")?;
        match self.sync.recv() {
            Ok(FromChild::Closed) => {}
            other => bail!("the init did not confirm the commit (got {other:?})"),
        }
        Ok(self.child.keep())
    }
}

/// Clone the init and wait for its word: ready, or an error to report.
pub fn spawn_init(mut launch: InitLaunch<'_>) -> Result<ReadyInit> {
    let (plan, id, interrupt) = (launch.plan, launch.id, launch.interrupt);
    // Connected here, in hull's namespaces: after pivot_root the init could
    // not reach the socket's path.
    let mut own_terminal = None;
    let console_socket: Option<OwnedFd> = match launch.console_socket {
        Some(path) => Some(
            std::os::unix::net::UnixStream::connect(path)
                .with_context(|| format!("--console-socket {path:?}: connect"))?
                .into(),
        ),
        None if plan.process.terminal => {
            let (ours, theirs) = terminal::pair()?;
            own_terminal = Some(ours);
            Some(theirs)
        }
        None => None,
    };
    let joined_userns = prepare_hull(plan)?;
    let around_init = launch.cgroup_around_init.take();
    let beside_init = launch.beside_init.take();
    let wait_for_cgroup = around_init.is_some();
    let (mut child, sync) = clone_init(
        launch,
        joined_userns.as_ref(),
        console_socket,
        wait_for_cgroup,
    )?;
    if let Some(make_cgroup) = around_init {
        make_cgroup(child.pid())?;
        sync.send_cgroup_ready()?;
    }
    if plan.new_user_namespace() {
        // Only a process outside the init's user namespace can write them.
        idmap::write_id_maps(plan, child.pid())?;
        sync.send_id_maps_done()?;
    }
    if let Some(beside) = beside_init {
        beside(child.pid())?;
    }
    serve_init(plan, id, interrupt, &mut child, &sync)?;
    let terminal = own_terminal
        .as_ref()
        .map(|sock| terminal::recv_pty_master(sock.as_fd()))
        .transpose()?;
    Ok(ReadyInit {
        child,
        sync,
        terminal,
    })
}

/// hull itself, before the clone: the init's oom_score_adj (inherited by
/// the clone) and a pid namespace given by path (joining one only moves
/// children). Returns a user namespace given by path, opened.
fn prepare_hull(plan: &Plan) -> Result<Option<std::fs::File>> {
    // Set on hull itself, while it still has the host's CAP_SYS_RESOURCE
    // to lower it.
    if let Some(adj) = plan.process.oom_score_adj {
        write_own_oom_score_adj(adj)?;
    }
    let joined_userns = match plan
        .namespace(CloneFlags::CLONE_NEWUSER)
        .and_then(|ns| ns.path.as_ref())
    {
        Some(path) => Some(
            std::fs::File::open(path).with_context(|| format!("open user namespace {path:?}"))?,
        ),
        None => None,
    };
    if let Some(path) = plan
        .namespace(CloneFlags::CLONE_NEWPID)
        .and_then(|ns| ns.path.as_ref())
    {
        let file =
            std::fs::File::open(path).with_context(|| format!("open pid namespace {path:?}"))?;
        nix::sched::setns(&file, CloneFlags::CLONE_NEWPID)
            .with_context(|| format!("join pid namespace {path:?}"))?;
    }
    Ok(joined_userns)
}

/// The clone itself: in the child, the init runs (and never returns); in
/// hull, the child's end and the fds handed to the init are closed.
/// Returns the init and hull's end of the sync socket.
fn clone_init(
    launch: InitLaunch<'_>,
    joined_userns: Option<&std::fs::File>,
    console_socket: Option<OwnedFd>,
    wait_for_cgroup: bool,
) -> Result<(Child, HullEnd)> {
    let plan = launch.plan;
    let (sync, child_end) = channel::pair()?;
    let idmapped = crate::rootfs::idmap::prepare(plan, &idmap::user_namespace_with)?;
    let parent_pid = std::process::id() as i32;
    // A new cgroup namespace is unshared by the init once it is in its
    // cgroup: cloned with the rest, it would be rooted at hull's cgroup.
    let flags = (plan.new_namespace_flags() - CloneFlags::CLONE_NEWCGROUP).bits();
    let mut cgroup_procs = match launch.cgroup {
        Some(c) => c.open_procs()?,
        None => Vec::new(),
    };
    let into = launch.cgroup.and_then(|c| c.clone_into_fd());
    logging::debug(&format!(
        "clone the init of {:?} with namespaces {:?}",
        launch.id,
        plan.new_namespace_flags()
    ));
    let cloned = match joined_userns {
        Some(userns) => clone_in_user_namespace(userns, flags, into.as_ref(), &mut cgroup_procs),
        None => cgroups::clone_into(flags, into.as_ref(), &mut cgroup_procs)
            .context("clone the container's init"),
    };
    match cloned? {
        CloneResult::Child => {
            drop(sync);
            child_end.report_panics();
            logging::test_panic_point("init");
            init_main(InitArgs {
                plan,
                no_pivot: launch.no_pivot,
                sync: child_end,
                fifo: launch.fifo,
                rootfs_lock: launch.rootfs_lock,
                parent_pid,
                id: launch.id.to_string(),
                preserve_fds: launch.preserve_fds,
                extra_env: launch.extra_env,
                console_socket,
                keyring: (!launch.no_new_keyring)
                    .then(|| std::ffi::CString::new(launch.id.as_bytes()).ok())
                    .flatten(),
                idmapped,
                cgroup_procs,
                wait_for_cgroup,
                unshare_cgroupns: plan.has_new_namespace(CloneFlags::CLONE_NEWCGROUP),
            })
        }
        CloneResult::Parent { pid, pidfd } => {
            crate::timing::mark("create.clone");
            Ok((Child::new(pid, pidfd), sync))
        }
    }
}

/// Serve the init's requests until it says `Ready` (Ok) or fails (the
/// error to report).
fn serve_init(
    plan: &Plan,
    id: &str,
    interrupt: Option<RawFd>,
    child: &mut Child,
    sync: &HullEnd,
) -> Result<()> {
    // The state the listener and the create hooks get.
    let pid = child.pid();
    let creating = || {
        crate::hooks::state_json(
            &plan.oci_version,
            id,
            "creating",
            pid,
            &plan.bundle,
            &plan.annotations,
        )
    };
    loop {
        match super::interrupt::wait_readable(sync.as_raw_fd(), interrupt) {
            Ok(Some(sig)) => return Err(SpawnError::Interrupted(sig).into()),
            Ok(None) => {}
            Err(err) => bail!("wait for the init: {err}"),
        }
        let listener = plan.seccomp.as_ref().and_then(|s| s.listener.as_ref());
        match (sync.recv()?, listener) {
            (FromChild::Ready, _) => return Ok(()),
            (FromChild::Timings(marks), _) => crate::timing::print_init_marks(&marks),
            (FromChild::Failed(err), _) => return Err(SpawnError::Child(err).into()),
            (FromChild::SeccompFd(passed), Some(listener)) => {
                // The init loaded a notifying filter: its listener gets the
                // fd now, during create, as the runtime spec asks.
                seccomp::forward(listener, passed, pid, &creating())?;
            }
            (FromChild::RunHooks, _) => {
                // prestart (deprecated) and createRuntime run here, in
                // hull's namespaces, while the init waits before pivot_root.
                let (hooks, state) = (&plan.hooks, creating());
                crate::hooks::run_all("prestart", &hooks.prestart, &state)?;
                crate::hooks::run_all("createRuntime", &hooks.create_runtime, &state)?;
                crate::timing::mark("create.hooks");
                sync.send_hooks_done()?;
            }
            (FromChild::Closed, _) => {
                let how = match child.reap() {
                    Ok(WaitStatus::Exited(_, code)) => format!("exit status {code}"),
                    Ok(WaitStatus::Signaled(_, sig, _)) => format!("killed by {sig}"),
                    _ => "unknown status".to_string(),
                };
                return Err(SpawnError::Silent(how).into());
            }
            (other, _) => {
                let what = format!("from the init: {other:?}");
                return Err(SpawnError::Unexpected(what).into());
            }
        }
    }
}

/// Clone the init inside the user namespace `userns` (given by path), so
/// the new namespaces the clone makes belong to it: a helper joins it and
/// clones the init with CLONE_PARENT (so it is hull's child), sends its pid
/// and pidfd back, and exits. hull itself stays where it is: in that user
/// namespace it would lose its host privileges (cgroups, state, signals).
fn clone_in_user_namespace(
    userns: &std::fs::File,
    flags: libc::c_int,
    into: Option<&OwnedFd>,
    procs: &mut Vec<OwnedFd>,
) -> Result<CloneResult> {
    let (ours, theirs) = channel::pair()?;
    match crate::syscall::clone_fork(0).context("clone a helper to join the user namespace")? {
        CloneResult::Child => {
            drop(ours);
            theirs.report_panics();
            let cloned = nix::sched::setns(userns, CloneFlags::CLONE_NEWUSER)
                .context("join the user namespace")
                .and_then(|()| {
                    cgroups::clone_into(flags | libc::CLONE_PARENT, into, procs)
                        .context("clone the container's init")
                });
            let sent = match cloned {
                Ok(CloneResult::Child) => return Ok(CloneResult::Child),
                Ok(CloneResult::Parent { pid, pidfd }) => theirs.send_cloned(pid, &pidfd),
                Err(err) => theirs.send_error(&err),
            };
            // SAFETY: _exit in the helper, which has nothing to unwind.
            unsafe { libc::_exit(i32::from(sent.is_err())) }
        }
        CloneResult::Parent { pid, pidfd } => {
            drop(theirs);
            let mut helper = Child::new(pid, pidfd);
            let answer = ours.recv();
            let _ = helper.reap();
            match answer? {
                FromChild::Cloned(pid, Some(pidfd)) => Ok(CloneResult::Parent { pid, pidfd }),
                FromChild::Failed(err) => Err(SpawnError::Child(err).into()),
                other => bail!("the helper cloning the init in the user namespace said {other:?}"),
            }
        }
    }
}

fn write_own_oom_score_adj(adj: i32) -> Result<()> {
    use pathrs::flags::OpenFlags;
    use pathrs::procfs::{ProcfsBase, ProcfsHandle};
    use std::io::Write;
    let procfs = ProcfsHandle::new().context("open procfs")?;
    let mut f = procfs
        .open(ProcfsBase::ProcSelf, "oom_score_adj", OpenFlags::O_WRONLY)
        .context("process.oomScoreAdj: open /proc/self/oom_score_adj")?;
    f.write_all(adj.to_string().as_bytes())
        .with_context(|| format!("process.oomScoreAdj: write {adj}"))
}

/// What an exec'd process is cloned with.
pub struct ExecLaunch<'a> {
    /// The container id, for the error texts.
    pub id: &'a str,
    pub process: &'a ProcessPlan,
    pub preserve_fds: u32,
    /// The connected --console-socket, when the process has a terminal.
    pub console_socket: Option<&'a OwnedFd>,
    /// The init's verified pidfd, and its pid.
    pub init: &'a OwnedFd,
    pub init_pid: i32,
    /// An init without a mount namespace of its own: its root, to chroot to.
    pub init_root: Option<OwnedFd>,
    /// The init's namespaces the process joins (those hull does not share).
    pub namespaces: CloneFlags,
    /// The cgroup the process is born in (or writes itself into, on v1).
    pub cgroup: Option<&'a dyn CgroupManager>,
    /// The container's resctrl group, written to after the clone.
    pub resctrl: Option<&'a crate::resctrl::RdtState>,
    pub seccomp: Option<&'a SeccompPlan>,
    /// The container's state, for a seccomp listener.
    pub state: String,
}

/// Clone the process to exec and wait until it has exec'd (its end of the
/// socket is close-on-exec: silence means the exec happened).
pub fn spawn_exec(launch: ExecLaunch<'_>) -> Result<Child> {
    let (init, init_pid) = (launch.init, launch.init_pid);
    let mut namespaces = launch.namespaces;
    if namespaces.contains(CloneFlags::CLONE_NEWUSER) && !nix::unistd::geteuid().is_root() {
        // Without privilege, joining the pid namespace needs CAP_SYS_ADMIN
        // in hull's own user namespace: hull joins the container's first
        // (it owns it, so it may). As root, hull keeps its host privileges.
        nix::sched::setns(init, CloneFlags::CLONE_NEWUSER)
            .with_context(|| format!("join the user namespace of init {init_pid}"))?;
        namespaces -= CloneFlags::CLONE_NEWUSER;
    }
    if namespaces.contains(CloneFlags::CLONE_NEWPID) {
        // Moves only hull's future children into the container's pid ns.
        nix::sched::setns(init, CloneFlags::CLONE_NEWPID)
            .with_context(|| format!("join the pid namespace of init {init_pid}"))?;
    }
    let (sync, child_end) = channel::pair()?;
    // Born in the cgroup, or put there by hull after the clone.
    let attach = launch.cgroup.filter(|c| c.attaches_after_clone());
    // hull places the process itself (a systemd cgroup, a resctrl group):
    // it waits for hull's word before anything else.
    let placed_by_hull = attach.is_some() || launch.resctrl.is_some();
    let (mut cgroup_procs, into) = match launch.cgroup {
        Some(c) if attach.is_none() => (c.open_procs()?, c.clone_into_fd()),
        _ => (Vec::new(), None),
    };
    let cloned = cgroups::clone_into(0, into.as_ref(), &mut cgroup_procs);
    let mut child = match cloned.context("clone the exec process")? {
        CloneResult::Child => {
            drop(sync);
            exec::exec_main(exec::ExecArgs {
                init,
                init_root: launch.init_root.as_ref(),
                namespaces: namespaces - CloneFlags::CLONE_NEWPID,
                sync: child_end,
                process: launch.process,
                preserve_fds: launch.preserve_fds,
                console_socket: launch.console_socket,
                seccomp: launch.seccomp,
                cgroup_procs,
                wait_for_cgroup: placed_by_hull,
            })
        }
        CloneResult::Parent { pid, pidfd } => Child::new(pid, pidfd),
    };
    if let Some(cgroup) = attach {
        cgroup.attach(child.pid())?;
    }
    if let Some(rdt) = launch.resctrl {
        crate::resctrl::join(&crate::resctrl::Kernel, rdt, child.pid())?;
    }
    if placed_by_hull {
        sync.send_cgroup_ready()?;
    }
    drop(child_end);
    drop(cgroup_procs);
    drop(into);
    serve_exec(&launch, &mut child, &sync)
        .with_context(|| format!("exec in container {:?}", launch.id))?;
    Ok(child)
}

/// Forward the notify fd of a notifying filter, then wait for the exec.
fn serve_exec(launch: &ExecLaunch<'_>, child: &mut Child, sync: &HullEnd) -> Result<()> {
    let listener = launch.seccomp.and_then(|s| s.listener.as_ref());
    loop {
        match sync.recv()? {
            FromChild::Closed => return Ok(()),
            FromChild::SeccompFd(passed) => match listener {
                Some(listener) => seccomp::forward(listener, passed, child.pid(), &launch.state)?,
                None => bail!("linux.seccomp: a notify fd without a listener"),
            },
            FromChild::Failed(err) => {
                // It exits by itself once it said why.
                let _ = child.reap();
                return Err(SpawnError::Child(err).into());
            }
            other => return Err(SpawnError::Unexpected(format!("{other:?}")).into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The guard under test is what reaps it.
    #[allow(clippy::zombie_processes)]
    fn sleeper() -> Child {
        let proc = std::process::Command::new("sleep")
            .arg("100")
            .spawn()
            .unwrap();
        let pid = proc.id() as i32;
        Child::new(pid, crate::syscall::pidfd_open(pid).unwrap())
    }

    fn gone(pid: i32) -> bool {
        use nix::sys::wait::WaitPidFlag;
        waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) == Err(nix::errno::Errno::ECHILD)
    }

    #[test]
    fn a_dropped_child_is_killed_and_reaped() {
        let child = sleeper();
        let pid = child.pid();
        drop(child);
        assert!(gone(pid));
    }

    #[test]
    fn a_kept_child_lives_on() {
        let child = sleeper();
        let (pid, pidfd) = child.keep();
        assert!(!gone(pid));
        pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL).unwrap();
        let status = waitpid(Pid::from_raw(pid), None).unwrap();
        assert!(matches!(
            status,
            WaitStatus::Signaled(_, nix::sys::signal::SIGKILL, _)
        ));
    }
}
