//! `exec`: a new process in a running container. What it joins is found
//! here (the init's namespaces hull does not share, its root when it has
//! no mount namespace, its cgroup, its seccomp filter from the record);
//! the clone and the wait for the exec are `process::spawn`'s.

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use nix::sched::CloneFlags;

use super::record::{check_fd_count, write_pid_file, Container, Status};
use crate::config::ProcessPlan;
use crate::process::spawn::{self, ExecLaunch};
use crate::security::seccomp;
use crate::syscall::pidfd_send_signal;

pub struct ExecOptions {
    pub process: ProcessPlan,
    pub pid_file: Option<PathBuf>,
    pub preserve_fds: u32,
    /// The connected --console-socket, when the process has a terminal.
    pub console_socket: Option<OwnedFd>,
    /// `--pidfd-socket`: receives a pidfd of the process.
    pub pidfd_socket: Option<PathBuf>,
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
    check_fd_count(&flag, Some(opts.preserve_fds))?;
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
    let namespaces = unshared_namespaces(init_pid)?;
    // An init in hull's own mount namespace is only chrooted into its
    // rootfs: setns cannot give that root, so the process enters it itself.
    let init_root = if namespaces.contains(CloneFlags::CLONE_NEWNS) {
        None
    } else {
        Some(open_init_root(init_pid, &init)?)
    };
    // The container's filter applies to every process run in it.
    let legacy = match &container.state.seccomp {
        Some(_) => None,
        None => seccomp::load_legacy(&container.dir)
            .with_context(|| format!("exec in container {id:?}"))?,
    };
    let seccomp = match container.state.seccomp.as_ref().or(legacy.as_ref()) {
        Some(spec) => Some(
            seccomp::plan(spec, &mut Vec::new())
                .with_context(|| format!("exec in container {id:?}"))?,
        ),
        None => None,
    };
    // The process joins the container's cgroup: born in it on v2, writes
    // itself into each v1 hierarchy first thing on v1.
    let cgroup = match (container.cgroup(), opts.sub_cgroups.as_slice()) {
        (Some(c), []) => Some(c),
        (Some(c), subs) => Some(c.sub_cgroup(subs)?),
        (None, []) => None,
        (None, _) => bail!("--cgroup: container {id:?} has no cgroup of its own"),
    };
    let s = &container.state;
    let child = spawn::spawn_exec(ExecLaunch {
        id,
        process: &opts.process,
        preserve_fds: opts.preserve_fds,
        console_socket: opts.console_socket.as_ref(),
        init: &init,
        init_pid,
        init_root,
        namespaces,
        cgroup: cgroup.as_deref(),
        resctrl: s.resctrl.as_ref(),
        seccomp: seccomp.as_ref(),
        state: crate::hooks::state_json(
            &s.oci_version,
            id,
            "running",
            init_pid,
            &s.bundle,
            &s.annotations,
        ),
    })?;
    if let Some(pid_file) = &opts.pid_file {
        write_pid_file(pid_file, child.pid())?;
    }
    if let Some(path) = &opts.pidfd_socket {
        crate::process::pidfd::send_to_socket(path, child.pidfd(), "setns")?;
    }
    Ok(child.keep())
}

/// The init's namespaces that are not hull's: only those are joined.
fn unshared_namespaces(init_pid: i32) -> Result<CloneFlags> {
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
    Ok(flags)
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
