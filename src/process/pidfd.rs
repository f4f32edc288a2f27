//! Signalling a container's init through a pidfd that is verified to be the
//! process hull started (same pid *and* same start time), never a reused pid.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use anyhow::{Context, Result};

use crate::syscall::{pidfd_open, pidfd_send_signal, proc_stat};

/// A pidfd for `pid` if it is still the process that started at
/// `start_time` and has not exited; None otherwise.
pub fn open_verified(pid: i32, start_time: u64) -> Option<OwnedFd> {
    if pid <= 0 {
        return None;
    }
    let fd = pidfd_open(pid).ok()?;
    // Checked after the pidfd pins the process: if it matches now, the fd
    // refers to our process.
    match proc_stat(pid) {
        Ok((state, start)) if start == start_time && state != 'Z' && state != 'X' => Some(fd),
        _ => None,
    }
}

/// `--pidfd-socket`: the process's pidfd to the unix socket at `path`
/// (SCM_RIGHTS), with `name` as the message as runc sends it: "standard"
/// for a container's init, "setns" for an exec'd process.
pub fn send_to_socket(path: &Path, pidfd: BorrowedFd<'_>, name: &str) -> Result<()> {
    send_fd("--pidfd-socket", path, pidfd, name)
}

/// Connect to the unix socket at `path` (given by `flag`) and send `fd`
/// with `name` as the message.
pub fn send_fd(flag: &str, path: &Path, fd: BorrowedFd<'_>, name: &str) -> Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
    let stream = std::os::unix::net::UnixStream::connect(path).map_err(|e| {
        anyhow::anyhow!(
            "{flag} {path:?}: connect: {}",
            crate::error::describe_io(&e)
        )
    })?;
    let fds = [fd.as_raw_fd()];
    sendmsg::<UnixAddr>(
        stream.as_raw_fd(),
        &[std::io::IoSlice::new(name.as_bytes())],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .with_context(|| format!("{flag} {path:?}: send the descriptor"))?;
    Ok(())
}

pub fn send_signal(pidfd: &OwnedFd, signal: i32) -> Result<()> {
    pidfd_send_signal(pidfd.as_fd(), signal).with_context(|| format!("send signal {signal}"))
}
