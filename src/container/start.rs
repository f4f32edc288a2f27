//! `start`: open exec.fifo for reading, which releases the init into
//! execve, and wait for its byte, or for the init to die.

use std::os::fd::{AsFd, AsRawFd};

use anyhow::{bail, Context, Result};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use super::{Container, Status};
use crate::state::{DirLock, EXEC_FIFO};
use crate::syscall::poll_readable;

/// `interrupt`: a signalfd whose terminating signals abort the wait.
pub fn start(container: &Container, interrupt: Option<std::os::fd::RawFd>) -> Result<()> {
    let id = container.id();
    let _lock =
        DirLock::lock(&container.dir).with_context(|| format!("lock {:?}", container.dir))?;
    match container.status() {
        Status::Created => {}
        Status::Running => bail!("cannot start container {id:?}: it is already running"),
        Status::Paused => bail!("cannot start container {id:?}: it is paused (resume it first)"),
        Status::Stopped => {
            bail!("cannot start container {id:?}: it has stopped (delete it and create it again)")
        }
    }
    let pidfd = container
        .init_pidfd()
        .with_context(|| format!("cannot start container {id:?}: its init has exited"))?;
    let fifo_path = container.dir.join(EXEC_FIFO);
    let fifo = nix::fcntl::open(
        &fifo_path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("open {fifo_path:?}"))?;

    let interrupt = interrupt.unwrap_or(-1);
    loop {
        let [fifo_ready, init_gone, signalled] =
            poll_readable([fifo.as_raw_fd(), pidfd.as_fd().as_raw_fd(), interrupt], -1)
                .context("wait for the init")?;
        if fifo_ready & libc::POLLIN != 0 {
            // "0": the init goes on to exec; "E<text>": a startContainer
            // hook failed and the init exits.
            let mut buf = [0u8; 4096];
            match nix::unistd::read(&fifo, &mut buf) {
                Ok(n) if n > 0 && buf[0] == b'0' => break,
                Ok(n) if n > 0 && buf[0] == b'E' => bail!(
                    "cannot start container {id:?}: {}",
                    String::from_utf8_lossy(&buf[1..n])
                ),
                Ok(_) | Err(nix::errno::Errno::EAGAIN) => {}
                Err(err) => return Err(err).context("read exec.fifo"),
            }
        }
        if signalled != 0 {
            if let Some(sig) = crate::process::interrupt::take_terminating(interrupt) {
                bail!("cannot start container {id:?}: interrupted by signal {sig}");
            }
        }
        if init_gone != 0 {
            bail!("cannot start container {id:?}: its init exited before it could run the process");
        }
        if fifo_ready & libc::POLLHUP != 0 {
            bail!("cannot start container {id:?}: its init closed exec.fifo without a word");
        }
    }
    std::fs::remove_file(&fifo_path).with_context(|| format!("remove {fifo_path:?}"))?;
    let hooks = &container.state.hooks.poststart;
    if !hooks.is_empty() {
        let s = &container.state;
        let state = crate::hooks::state_json(
            &s.oci_version,
            id,
            "running",
            s.pid,
            &s.bundle,
            &s.annotations,
        );
        if let Err(err) = crate::hooks::run_all("poststart", hooks, &state) {
            // Spec 1.3: a failed poststart hook fails start; the container
            // does not go on running.
            let _ = crate::process::pidfd::send_signal(&pidfd, libc::SIGKILL);
            bail!("cannot start container {id:?}: {err:#}");
        }
    }
    Ok(())
}
