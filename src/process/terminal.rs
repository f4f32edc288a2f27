//! hull's own end of a container's pty: the console-socket protocol's
//! receiving side, and the proxy that foreground `run`/`exec` put between
//! the caller's terminal and the container's when no --console-socket is given.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use anyhow::{bail, Context, Result};
use nix::sys::socket::{
    recvmsg, socketpair, AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};
use nix::sys::termios::{self, SetArg, Termios};

/// A connected pair: hull keeps the first end, the container's process
/// sends its pty master over the second, as it would over --console-socket.
pub fn pair() -> Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("socketpair for the terminal")
}

/// Receive a pty master sent with SCM_RIGHTS (runc's console-socket protocol).
pub fn recv_pty_master(socket: BorrowedFd<'_>) -> Result<OwnedFd> {
    let mut name = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut name)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .context("console socket: receive the pty master")?;
    for cmsg in msg
        .cmsgs()
        .context("console socket: read control messages")?
    {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            let mut owned = fds.into_iter().map(|fd| {
                // SAFETY: SCM_RIGHTS gave us these new descriptors.
                unsafe { OwnedFd::from_raw_fd(fd) }
            });
            if let Some(master) = owned.next() {
                return Ok(master);
            }
        }
    }
    bail!("console socket: the message carried no file descriptor")
}

/// Window size of `from` copied onto `to`; false when `from` is no tty.
pub fn copy_window_size(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> bool {
    // SAFETY: winsize is plain data; the ioctls read/write one from valid pointers.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        libc::ioctl(from.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) == 0
            && libc::ioctl(to.as_raw_fd(), libc::TIOCSWINSZ, &ws) == 0
    }
}

/// The caller's stdin/stdout joined to a container's pty master. The
/// caller's terminal (if stdin is one) is raw while the proxy lives and is
/// restored on drop.
pub struct Proxy {
    master: OwnedFd,
    stdin_open: bool,
    output_open: bool,
    saved: Option<Termios>,
}

impl Proxy {
    pub fn start(master: OwnedFd) -> Result<Proxy> {
        let stdin = std::io::stdin();
        let saved = match termios::tcgetattr(stdin.as_fd()) {
            Ok(saved) => {
                let mut raw = saved.clone();
                termios::cfmakeraw(&mut raw);
                termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw)
                    .context("put the terminal in raw mode")?;
                Some(saved)
            }
            Err(_) => None, // not a terminal: bytes are copied as they come
        };
        let proxy = Proxy {
            master,
            stdin_open: true,
            output_open: true,
            saved,
        };
        proxy.resize();
        Ok(proxy)
    }

    /// The fds to poll: stdin and the master, -1 for a side that closed.
    pub fn poll_fds(&self) -> [RawFd; 2] {
        let stdin = if self.stdin_open { 0 } else { -1 };
        let master = if self.output_open {
            self.master.as_raw_fd()
        } else {
            -1
        };
        [stdin, master]
    }

    /// The caller's window size onto the container's pty (on SIGWINCH).
    pub fn resize(&self) {
        let stdin = std::io::stdin();
        if !copy_window_size(stdin.as_fd(), self.master.as_fd()) {
            copy_window_size(std::io::stdout().as_fd(), self.master.as_fd());
        }
    }

    /// Copy what stdin has to the container.
    pub fn pump_stdin(&mut self) {
        let mut buf = [0u8; 4096];
        match nix::unistd::read(std::io::stdin().as_fd(), &mut buf) {
            Ok(0) | Err(_) => self.stdin_open = false,
            Ok(n) => {
                if write_all(self.master.as_fd(), &buf[..n]).is_err() {
                    self.stdin_open = false;
                }
            }
        }
    }

    /// Copy what the container wrote to stdout; false once the pty is
    /// closed (every slave fd gone).
    pub fn pump_output(&mut self) -> bool {
        let mut buf = [0u8; 8192];
        match nix::unistd::read(self.master.as_fd(), &mut buf) {
            Ok(0) | Err(_) => self.output_open = false,
            Ok(n) => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(&buf[..n]).and_then(|()| out.flush());
            }
        }
        self.output_open
    }

    /// After the process exited: what is still buffered in the pty, until
    /// it closes or stays quiet for a moment (a child that outlived it may
    /// hold the slave open).
    pub fn drain(&mut self) {
        const QUIET_MS: i32 = 100;
        const MAX_ROUNDS: usize = 1000;
        for _ in 0..MAX_ROUNDS {
            if !self.output_open {
                return;
            }
            match crate::syscall::poll_readable([self.master.as_raw_fd()], QUIET_MS) {
                Ok([revents]) if revents != 0 => {
                    if !self.pump_output() {
                        return;
                    }
                }
                _ => return,
            }
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, saved);
        }
    }
}

fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) -> nix::Result<()> {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}
