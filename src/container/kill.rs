//! `kill`: a signal to the init through a verified pidfd, or with `--all`
//! to every process of the container's pid namespace.

use anyhow::{bail, Context, Result};

use super::{Container, Status};

pub fn kill(container: &Container, signal: i32, all: bool) -> Result<()> {
    let id = container.id();
    if container.status() == Status::Stopped {
        bail!("cannot signal container {id:?}: container not running (it has stopped)");
    }
    let pidfd = container
        .init_pidfd()
        .with_context(|| format!("cannot signal container {id:?}: container not running"))?;
    if all && container.state.own_pid_namespace {
        let ns = std::fs::read_link(format!("/proc/{}/ns/pid", container.state.pid))
            .with_context(|| format!("read the pid namespace of init {}", container.state.pid))?;
        for pid in pids_in_namespace_of(container.state.pid)? {
            // Pin the process, then check it is still in the container's
            // namespace: a pid reused since the scan is never signalled.
            let Ok(fd) = crate::syscall::pidfd_open(pid) else {
                continue;
            };
            if std::fs::read_link(format!("/proc/{pid}/ns/pid")).is_ok_and(|l| l == ns) {
                let _ = crate::process::pidfd::send_signal(&fd, signal);
            }
        }
    }
    match crate::process::pidfd::send_signal(&pidfd, signal) {
        Ok(()) => Ok(()),
        Err(err)
            if err
                .root_cause()
                .downcast_ref::<std::io::Error>()
                .and_then(|e| e.raw_os_error())
                == Some(libc::ESRCH) =>
        {
            bail!("cannot signal container {id:?}: container not running (no such process)")
        }
        Err(err) => Err(err).with_context(|| format!("signal container {id:?}")),
    }
}

/// Host pids of every process in the pid namespace of `init`.
pub fn pids_in_namespace_of(init: i32) -> Result<Vec<i32>> {
    let ns = std::fs::read_link(format!("/proc/{init}/ns/pid"))
        .with_context(|| format!("read pid namespace of {init}"))?;
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").context("read /proc")? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if pid != init
            && std::fs::read_link(format!("/proc/{pid}/ns/pid")).is_ok_and(|link| link == ns)
        {
            pids.push(pid);
        }
    }
    Ok(pids)
}
