//! hull's side of a notifying filter: the notify fd that came back from
//! the container's process goes to `listenerPath` with the process state.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use anyhow::{Context, Result};

use super::names::FIELD;
use super::plan::Listener;

/// hull's side of a `SeccompFd` sync message: the fd that came with it
/// goes to the listener, with `state` (the container's state JSON text).
pub fn forward(listener: &Listener, passed: Option<OwnedFd>, pid: i32, state: &str) -> Result<()> {
    let fd = passed.with_context(|| format!("{FIELD}: the notify fd did not arrive"))?;
    let state: serde_json::Value =
        serde_json::from_str(state).context("encode the container state")?;
    send_to_listener(listener, &fd, pid, &state)
}

/// Send the notify fd to the listener with the container process state
/// (runtime spec "containerProcessState"): `pid` is the process that got the
/// filter, `state` the container's state JSON.
pub fn send_to_listener(
    listener: &Listener,
    notify_fd: &OwnedFd,
    pid: i32,
    state: &serde_json::Value,
) -> Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
    let path: &Path = &listener.path;
    let message = serde_json::json!({
        "ociVersion": crate::OCI_VERSION,
        "fds": ["seccompFd"],
        "pid": pid,
        "metadata": listener.metadata,
        "state": state,
    });
    let bytes = serde_json::to_vec(&message).context("encode the container process state")?;
    let socket = std::os::unix::net::UnixStream::connect(path)
        .with_context(|| format!("{FIELD}.listenerPath {path:?}: connect"))?;
    let fds = [notify_fd.as_raw_fd()];
    sendmsg::<UnixAddr>(
        socket.as_raw_fd(),
        &[std::io::IoSlice::new(&bytes)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .with_context(|| format!("{FIELD}.listenerPath {path:?}: send the notify fd"))?;
    Ok(())
}
