//! `kill`: a signal to the init through a verified pidfd, or with `--all`
//! to every process in the container's cgroup.

use anyhow::{bail, Context, Result};

use super::record::{Container, Status};

pub fn kill(container: &Container, signal: i32, all: bool) -> Result<()> {
    let id = container.id();
    let status = container.status();
    let pidfd = match container.init_pidfd() {
        Some(pidfd) if status != Status::Stopped => pidfd,
        // As runc: `--all` still reaches what the init left in its cgroup
        // (a container sharing a pid namespace), and an empty one is no
        // error; containerd's shim sends it after every such exit.
        _ if all => return signal_leftovers(container, signal),
        // containerd takes "container not running" and "no such process"
        // for a container that has already exited.
        _ => bail!("cannot signal container {id:?}: container not running (it has stopped)"),
    };
    let cgroup = container.cgroup();
    if all {
        if let Some(cgroup) = &cgroup {
            signal_cgroup(cgroup.as_ref(), signal, status == Status::Paused)
                .with_context(|| format!("signal every process of container {id:?}"))?;
            return Ok(());
        }
        if container.state.own_pid_namespace {
            signal_namespace(container.state.pid, signal)?;
        }
    }
    let sent = crate::process::pidfd::send_signal(&pidfd, signal);
    if status == Status::Paused && signal == libc::SIGKILL {
        // A frozen task dies only once thawed.
        if let Some(cgroup) = &cgroup {
            cgroup.thaw()?;
        }
    }
    match sent {
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

/// `kill --all` of a stopped container: whatever is still in the cgroup
/// hull made for it gets the signal; a cgroup that is gone or empty is
/// success. In a joined (shared) cgroup the container's leftovers cannot
/// be told from its neighbours' once the init is gone: none is signalled
/// (as delete kills none there; runc would signal them all).
fn signal_leftovers(container: &Container, signal: i32) -> Result<()> {
    let Some(cgroup) = container.cgroup().filter(|c| c.state().owned) else {
        // Also state from before cgroups: without the init its pid
        // namespace cannot be found; with one of its own, nothing outlived it.
        return Ok(());
    };
    let gone = cgroup
        .state()
        .paths
        .values()
        .all(|dir| matches!(dir.try_exists(), Ok(false)));
    if gone {
        return Ok(());
    }
    let paused = cgroup.is_frozen().unwrap_or(false);
    signal_cgroup(cgroup.as_ref(), signal, paused)
        .with_context(|| format!("signal what is left of container {:?}", container.id()))
}

/// Signal every pid of the cgroup while it is frozen: no process can fork
/// out of reach and no pid can be reused between the read and the signal.
/// A paused container stays paused, unless the signal is SIGKILL.
fn signal_cgroup(
    cgroup: &dyn crate::cgroups::CgroupManager,
    signal: i32,
    paused: bool,
) -> Result<()> {
    if !paused && cgroup.pids()?.is_empty() {
        // Nobody who could fork: nothing to freeze or signal.
        return Ok(());
    }
    let frozen = paused || cgroup.freeze().is_ok();
    let pids = cgroup.pids();
    if let Ok(pids) = &pids {
        for pid in pids {
            // SAFETY: kill(2) with plain integers.
            unsafe { libc::kill(*pid, signal) };
        }
    }
    if frozen && (!paused || signal == libc::SIGKILL) {
        cgroup.thaw()?;
    }
    pids.map(|_| ())
}

/// Without a cgroup (state from an older hull): every process in the
/// init's pid namespace.
fn signal_namespace(init: i32, signal: i32) -> Result<()> {
    let ns = std::fs::read_link(format!("/proc/{init}/ns/pid"))
        .with_context(|| format!("read the pid namespace of init {init}"))?;
    for entry in std::fs::read_dir("/proc").context("read /proc")? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == init {
            continue;
        }
        // Pin the process, then check it is still in the container's
        // namespace: a pid reused since the scan is never signalled.
        let Ok(fd) = crate::syscall::pidfd_open(pid) else {
            continue;
        };
        if std::fs::read_link(format!("/proc/{pid}/ns/pid")).is_ok_and(|l| l == ns) {
            let _ = crate::process::pidfd::send_signal(&fd, signal);
        }
    }
    Ok(())
}
