//! `start`: open exec.fifo for reading, which releases the init into
//! execve, and wait for its byte, or for the init to die.

use std::os::fd::{AsFd, AsRawFd};

use anyhow::{bail, Context, Result};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use super::{Container, Status};
use crate::state::{DirLock, EXEC_FIFO};

/// `interrupt`: a signalfd whose terminating signals abort the wait.
pub fn start(container: &Container, interrupt: Option<std::os::fd::RawFd>) -> Result<()> {
    let id = container.id();
    let _lock =
        DirLock::lock(&container.dir).with_context(|| format!("lock {:?}", container.dir))?;
    match container.status() {
        Status::Created => {}
        Status::Running => bail!("cannot start container {id:?}: it is already running"),
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

    let mut fds = [
        libc::pollfd {
            fd: fifo.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: pidfd.as_fd().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: interrupt.unwrap_or(-1),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: three pollfds; a negative fd is ignored by poll.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), 3, -1) };
        if rc < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err).context("wait for the init");
        }
        if fds[0].revents & libc::POLLIN != 0 {
            let mut byte = [0u8; 1];
            match nix::unistd::read(&fifo, &mut byte) {
                Ok(1) => break,
                Ok(_) | Err(nix::errno::Errno::EAGAIN) => {}
                Err(err) => return Err(err).context("read exec.fifo"),
            }
        }
        if fds[2].revents != 0 {
            if let Some(sig) = crate::process::interrupt::take_terminating(fds[2].fd) {
                bail!("cannot start container {id:?}: interrupted by signal {sig}");
            }
        }
        if fds[1].revents != 0 {
            bail!("cannot start container {id:?}: its init exited before it could run the process");
        }
        if fds[0].revents & libc::POLLHUP != 0 {
            bail!("cannot start container {id:?}: its init closed exec.fifo without a word");
        }
    }
    std::fs::remove_file(&fifo_path).with_context(|| format!("remove {fifo_path:?}"))?;
    Ok(())
}
