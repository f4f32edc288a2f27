//! `exec`: a new process in a running container. hull joins the init's pid
//! namespace for its children, clones, and the child joins the rest of the
//! init's namespaces through the init's verified pidfd (one setns, no paths
//! to race on), applies the process settings and execs.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use nix::sched::CloneFlags;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use super::{Container, Status};
use crate::config::ProcessPlan;
use crate::process::channel::{self, Message};
use crate::process::setup;
use crate::security::attrs;
use crate::syscall::{pidfd_send_signal, CloneResult};

pub struct ExecOptions {
    pub process: ProcessPlan,
    pub pid_file: Option<PathBuf>,
    pub preserve_fds: u32,
    /// The connected --console-socket, when the process has a terminal.
    pub console_socket: Option<OwnedFd>,
    /// Exec into a paused container (the process starts frozen, and runs
    /// once the container is resumed).
    pub ignore_paused: bool,
    /// `--cgroup`: sub-cgroups of the container's to run in.
    pub sub_cgroups: Vec<crate::cgroups::SubCgroup>,
}

/// The namespaces `exec` joins, in the order the kernel wants them.
const NAMESPACES: [(CloneFlags, &str); 8] = [
    (CloneFlags::CLONE_NEWUSER, "user"),
    (crate::config::CLONE_NEWTIME, "time"),
    (CloneFlags::CLONE_NEWIPC, "ipc"),
    (CloneFlags::CLONE_NEWUTS, "uts"),
    (CloneFlags::CLONE_NEWNET, "net"),
    (CloneFlags::CLONE_NEWPID, "pid"),
    (CloneFlags::CLONE_NEWCGROUP, "cgroup"),
    (CloneFlags::CLONE_NEWNS, "mnt"),
];

/// Start the process; returns its host pid and a pidfd for it.
pub fn exec(container: &Container, opts: &ExecOptions) -> Result<(i32, OwnedFd)> {
    let id = container.id();
    let flag = format!("--preserve-fds {}", opts.preserve_fds);
    super::check_fd_count(&flag, Some(opts.preserve_fds))?;
    match container.status() {
        Status::Stopped => {
            bail!("cannot exec in container {id:?}: container not running (it has stopped)")
        }
        Status::Paused if !opts.ignore_paused => {
            bail!("cannot exec in container {id:?}: it is paused (use --ignore-paused to override)")
        }
        _ => {}
    }
    let init = container
        .init_pidfd()
        .with_context(|| format!("cannot exec in container {id:?}: container not running"))?;
    let init_pid = container.state.pid;
    // Only the namespaces the init does not share with hull are joined.
    let mut flags = CloneFlags::empty();
    for (flag, name) in NAMESPACES {
        let theirs = std::fs::read_link(format!("/proc/{init_pid}/ns/{name}"))
            .with_context(|| format!("read the {name} namespace of init {init_pid}"))?;
        let ours = std::fs::read_link(format!("/proc/self/ns/{name}"))
            .with_context(|| format!("read hull's {name} namespace"))?;
        if theirs != ours {
            flags |= flag;
        }
    }
    // An init in hull's own mount namespace is only chrooted into its
    // rootfs: setns cannot give that root, so the process enters it itself.
    let init_root = if flags.contains(CloneFlags::CLONE_NEWNS) {
        None
    } else {
        Some(open_init_root(init_pid, &init)?)
    };
    if flags.contains(CloneFlags::CLONE_NEWUSER) && !nix::unistd::geteuid().is_root() {
        // Without privilege, joining the pid namespace needs CAP_SYS_ADMIN
        // in hull's own user namespace: hull joins the container's first
        // (it owns it, so it may). As root, hull keeps its host privileges.
        nix::sched::setns(&init, CloneFlags::CLONE_NEWUSER)
            .with_context(|| format!("join the user namespace of init {init_pid}"))?;
        flags -= CloneFlags::CLONE_NEWUSER;
    }
    if flags.contains(CloneFlags::CLONE_NEWPID) {
        // Moves only hull's future children into the container's pid ns.
        nix::sched::setns(&init, CloneFlags::CLONE_NEWPID)
            .with_context(|| format!("join the pid namespace of init {init_pid}"))?;
    }
    // The container's filter applies to every process run in it.
    let seccomp = crate::security::seccomp::load_saved(&container.dir)
        .with_context(|| format!("exec in container {id:?}"))?;
    let (parent_sock, child_sock) = channel::pair()?;
    // The process joins the container's cgroup: born in it on v2, writes
    // itself into each v1 hierarchy first thing on v1.
    let cgroup = match (container.cgroup(), opts.sub_cgroups.as_slice()) {
        (Some(c), []) => Some(c),
        (Some(c), subs) => Some(c.sub_cgroup(subs)?),
        (None, []) => None,
        (None, _) => bail!("--cgroup: container {id:?} has no cgroup of its own"),
    };
    let (mut cgroup_procs, into) = match &cgroup {
        Some(c) => (c.open_procs()?, c.clone_into_fd()),
        None => (Vec::new(), None),
    };
    let cloned = crate::cgroups::clone_into(0, into.as_ref(), &mut cgroup_procs);
    let (pid, pidfd) = match cloned.context("clone the exec process")? {
        CloneResult::Child => {
            drop(parent_sock);
            channel::report_panics_to(child_sock.as_fd());
            crate::logging::test_panic_point("exec");
            for fd in cgroup_procs {
                if let Err(err) = nix::unistd::write(&fd, b"0") {
                    let text = format!("join the container's cgroup (write cgroup.procs): {err}");
                    let _ = channel::send_message(&child_sock, &Message::Error(text));
                    // SAFETY: _exit is always safe; nothing needs unwinding.
                    unsafe { libc::_exit(1) }
                }
            }
            let flags = flags - CloneFlags::CLONE_NEWPID;
            let err = child(
                &init,
                init_root.as_ref(),
                flags,
                &child_sock,
                opts,
                seccomp.as_ref(),
            )
            .unwrap_err();
            let _ = channel::send_message(&child_sock, &Message::Error(format!("{err:#}")));
            // SAFETY: _exit is always safe; nothing needs unwinding.
            unsafe { libc::_exit(1) }
        }
        CloneResult::Parent { pid, pidfd } => (pid, pidfd),
    };
    drop(child_sock);
    drop(cgroup_procs);
    drop(into);
    // The child's end is close-on-exec: silence means the exec happened.
    let mut received = channel::recv_message_fd(&parent_sock);
    while let Ok((Some(Message::SeccompFd), passed)) = received {
        let listener = seccomp.as_ref().and_then(|s| s.listener.as_ref());
        let sent = match listener {
            Some(listener) => {
                let state = crate::hooks::state_json(
                    &container.state.oci_version,
                    id,
                    "running",
                    init_pid,
                    &container.state.bundle,
                    &container.state.annotations,
                );
                crate::security::seccomp::forward(listener, passed, pid, &state)
            }
            None => Err(anyhow::anyhow!(
                "linux.seccomp: a notify fd without a listener"
            )),
        };
        if let Err(err) = sent {
            let _ = pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
            let _ = waitpid(Pid::from_raw(pid), None);
            return Err(err).with_context(|| format!("exec in container {id:?}"));
        }
        received = channel::recv_message_fd(&parent_sock);
    }
    match received.map(|(msg, _)| msg) {
        Ok(None) => {}
        Ok(Some(Message::Error(text))) => {
            let _ = waitpid(Pid::from_raw(pid), None);
            bail!("exec in container {id:?}: {text}");
        }
        Ok(Some(other)) => {
            let _ = pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
            let _ = waitpid(Pid::from_raw(pid), None);
            bail!("exec in container {id:?}: unexpected message {other:?}");
        }
        Err(err) => {
            let _ = pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
            let _ = waitpid(Pid::from_raw(pid), None);
            return Err(err).with_context(|| format!("exec in container {id:?}"));
        }
    }
    if let Some(pid_file) = &opts.pid_file {
        super::create::write_pid_file(pid_file, pid)?;
    }
    Ok((pid, pidfd))
}

/// The init's root directory (O_PATH), checked to be the init's: the
/// pidfd still answers after the open, so the pid was not reused.
fn open_init_root(init_pid: i32, init: &OwnedFd) -> Result<OwnedFd> {
    use nix::fcntl::OFlag;
    let path = format!("/proc/{init_pid}/root");
    let root = nix::fcntl::open(
        path.as_str(),
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .with_context(|| format!("open the root directory of init {init_pid} ({path})"))?;
    pidfd_send_signal(init.as_fd(), 0)
        .with_context(|| format!("init {init_pid} exited while its root was opened"))?;
    Ok(root)
}

/// The exec'd process, up to execve; returns only an error.
fn child(
    init: &OwnedFd,
    init_root: Option<&OwnedFd>,
    flags: CloneFlags,
    sync: &OwnedFd,
    opts: &ExecOptions,
    seccomp: Option<&crate::security::seccomp::SeccompPlan>,
) -> Result<std::convert::Infallible> {
    crate::syscall::close_fds_except(
        3 + opts.preserve_fds as i32,
        &[
            sync.as_raw_fd(),
            init.as_raw_fd(),
            init_root.map_or(-1, |r| r.as_raw_fd()),
            opts.console_socket.as_ref().map_or(-1, |s| s.as_raw_fd()),
        ],
    )
    .context("close inherited fds")?;
    // SAFETY: prctl/umask with integer arguments. Not dumpable until exec:
    // the container's processes cannot reach hull's memory or /proc/PID/exe.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        libc::umask(0o022);
    }
    let p = &opts.process;
    let affinity = p.exec_cpu_affinity.as_ref();
    if let Some(cpus) = affinity.and_then(|a| a.initial.as_ref()) {
        // Before the process joins the container (spec 1.2: "initial").
        attrs::set_affinity(cpus, "initial")?;
    }
    if !flags.is_empty() {
        nix::sched::setns(init, flags).context("join the container's namespaces")?;
    }
    if let Some(root) = init_root {
        nix::unistd::fchdir(root).context("chdir to the container's root")?;
        nix::unistd::chroot(".").context("chroot to the container's root")?;
    }
    if let Some(socket) = &opts.console_socket {
        // The pty comes from the container's devpts, as its init's does.
        let root = pathrs::Root::open("/").context("open the container's root")?;
        let pty = crate::rootfs::console::open_pty(&root)?;
        crate::rootfs::console::attach(pty, socket, p.console_size)?;
    }
    let mut what = setup::apply(p, seccomp)?;
    if let Some(cpus) = affinity.and_then(|a| a.last.as_ref()) {
        // Once it is in the container, before execve ("final").
        attrs::set_affinity(cpus, "final")?;
    }
    crate::syscall::cloexec_from(3 + opts.preserve_fds).context("mark fds close-on-exec")?;
    setup::reset_signals();
    // SAFETY: umask with an integer argument.
    unsafe { libc::umask(p.umask.unwrap_or(0o022) as libc::mode_t) };
    setup::load(&mut what, Some(sync))?;
    setup::exec(p, &what)
}
