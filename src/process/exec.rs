//! An exec'd process, from the clone to execve: it joins the container's
//! cgroup and namespaces (or chroots into an init's root without a mount
//! namespace of its own), applies the process's settings and execs.

use std::convert::Infallible;
use std::os::fd::{AsRawFd, OwnedFd};

use anyhow::{Context, Result};
use nix::sched::CloneFlags;

use super::channel::ChildEnd;
use super::setup;
use crate::config::ProcessPlan;
use crate::security::attrs;
use crate::security::seccomp::SeccompPlan;

pub struct ExecArgs<'a> {
    /// The init's verified pidfd: setns through it joins its namespaces.
    pub init: &'a OwnedFd,
    /// The init's root, when it has no mount namespace of its own.
    pub init_root: Option<&'a OwnedFd>,
    /// The namespaces to join (the pid namespace is hull's to join).
    pub namespaces: CloneFlags,
    pub sync: ChildEnd,
    pub process: &'a ProcessPlan,
    pub preserve_fds: u32,
    pub console_socket: Option<&'a OwnedFd>,
    pub seccomp: Option<&'a SeccompPlan>,
    /// cgroup.procs (v1: each hierarchy's) to write itself into first.
    pub cgroup_procs: Vec<OwnedFd>,
    /// hull puts the process in its cgroup (through systemd) or its
    /// resctrl group: wait for its word before anything else.
    pub wait_for_cgroup: bool,
}

/// Never returns: execs the process, or tells hull why not and exits.
pub fn exec_main(args: ExecArgs<'_>) -> ! {
    args.sync.report_panics();
    crate::logging::test_panic_point("exec");
    let placed = match args.wait_for_cgroup {
        true => args.sync.wait_for_cgroup(),
        false => Ok(()),
    };
    let placed = placed.and_then(|()| join_cgroup(&args.cgroup_procs));
    let err = match placed.and_then(|()| prepare_and_exec(&args)) {
        Ok(never) => match never {},
        Err(err) => err,
    };
    let _ = args.sync.send_error(&err);
    // SAFETY: _exit is always safe; nothing needs unwinding.
    unsafe { libc::_exit(1) }
}

fn join_cgroup(procs: &[OwnedFd]) -> Result<()> {
    for fd in procs {
        nix::unistd::write(fd, b"0").context("join the container's cgroup (write cgroup.procs)")?;
    }
    Ok(())
}

/// Up to execve; returns only an error.
fn prepare_and_exec(args: &ExecArgs<'_>) -> Result<Infallible> {
    crate::syscall::close_fds_except(
        3 + args.preserve_fds as i32,
        &[
            args.sync.as_raw_fd(),
            args.init.as_raw_fd(),
            args.init_root.map_or(-1, |r| r.as_raw_fd()),
            args.console_socket.map_or(-1, |s| s.as_raw_fd()),
        ],
    )
    .context("close inherited fds")?;
    // Not dumpable until exec: the container's processes cannot reach
    // hull's memory or /proc/PID/exe.
    setup::set_dumpable(false)?;
    // SAFETY: umask with an integer argument.
    unsafe { libc::umask(0o022) };
    let p = args.process;
    let affinity = p.exec_cpu_affinity.as_ref();
    if let Some(cpus) = affinity.and_then(|a| a.initial.as_ref()) {
        // Before the process joins the container (spec 1.2: "initial").
        attrs::set_affinity(cpus, "initial")?;
    }
    if !args.namespaces.is_empty() {
        nix::sched::setns(args.init, args.namespaces).context("join the container's namespaces")?;
    }
    if let Some(root) = args.init_root {
        nix::unistd::fchdir(root).context("chdir to the container's root")?;
        nix::unistd::chroot(".").context("chroot to the container's root")?;
    }
    if let Some(socket) = args.console_socket {
        // The pty comes from the container's devpts, as its init's does.
        let root = pathrs::Root::open("/").context("open the container's root")?;
        let pty = crate::rootfs::console::open_pty(&root)?;
        crate::rootfs::console::attach(pty, socket, p.console_size)?;
    }
    let mut what = setup::apply(p, &[], args.seccomp)?;
    if let Some(cpus) = affinity.and_then(|a| a.last.as_ref()) {
        // Once it is in the container, before execve ("final").
        attrs::set_affinity(cpus, "final")?;
    }
    crate::syscall::cloexec_from(3 + args.preserve_fds).context("mark fds close-on-exec")?;
    setup::reset_signals();
    // SAFETY: umask with an integer argument.
    unsafe { libc::umask(p.umask.unwrap_or(0o022) as libc::mode_t) };
    setup::load(&mut what, Some(&args.sync))?;
    setup::exec(p, &what)
}
