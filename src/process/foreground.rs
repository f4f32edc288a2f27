//! A process hull waits for in the foreground (`run`, `exec`): every
//! catchable signal is blocked and read from a signalfd, forwarded to the
//! process through its pidfd, and hull exits with the process's status.

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

use anyhow::{Context, Result};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::terminal::Proxy;
use crate::syscall::pidfd_send_signal;

pub struct Foreground {
    signals: SignalFd,
    old_mask: SigSet,
}

impl Foreground {
    /// Block the signals to forward: before the clone, so none is lost.
    pub fn start() -> Result<Foreground> {
        let mut forwarded = SigSet::all();
        for sig in [
            Signal::SIGKILL,
            Signal::SIGSTOP,
            Signal::SIGSEGV,
            Signal::SIGBUS,
            Signal::SIGILL,
            Signal::SIGFPE,
            Signal::SIGABRT,
            Signal::SIGTRAP,
        ] {
            forwarded.remove(sig);
        }
        let forwarded = with_signal_34(forwarded);
        let mut old_mask = SigSet::empty();
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&forwarded), Some(&mut old_mask))
            .context("block signals")?;
        let signals =
            SignalFd::with_flags(&forwarded, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
                .context("signalfd")?;
        Ok(Foreground { signals, old_mask })
    }

    /// The signalfd, for waits that a terminating signal should abort.
    pub fn signal_fd(&self) -> RawFd {
        self.signals.as_fd().as_raw_fd()
    }

    /// Forward every signal to `pid` until it exits; its exit code (128+N
    /// when killed by signal N). Orphans re-parented to hull are reaped.
    /// With a `terminal`, its pty and hull's stdio are joined meanwhile, and
    /// a window size change resizes the pty instead of being forwarded.
    pub fn wait_forwarding(
        self,
        pid: i32,
        pidfd: &OwnedFd,
        mut terminal: Option<Proxy>,
    ) -> Result<i32> {
        let status = loop {
            let [tty_in, tty_out] = terminal.as_ref().map_or([-1, -1], Proxy::poll_fds);
            let [signalled, exited, input, output] = crate::syscall::poll_readable(
                [self.signal_fd(), pidfd.as_raw_fd(), tty_in, tty_out],
                -1,
            )
            .context("wait for the container's process")?;
            if signalled & libc::POLLIN != 0 {
                while let Ok(Some(info)) = self.signals.read_signal() {
                    let sig = info.ssi_signo as i32;
                    match &terminal {
                        _ if sig == libc::SIGCHLD => {}
                        Some(tty) if sig == libc::SIGWINCH => tty.resize(),
                        _ => {
                            let _ = pidfd_send_signal(pidfd.as_fd(), sig);
                        }
                    }
                }
            }
            if let Some(tty) = terminal.as_mut() {
                if output != 0 {
                    tty.pump_output();
                }
                if input != 0 {
                    tty.pump_stdin();
                }
            }
            if exited != 0 {
                break match waitpid(Pid::from_raw(pid), None)
                    .context("wait for the container's process")?
                {
                    WaitStatus::Exited(_, code) => code,
                    WaitStatus::Signaled(_, sig, _) => 128 + sig as i32,
                    WaitStatus::Stopped(..) => 128 + libc::SIGSTOP,
                    _ => 255,
                };
            }
        };
        while let Ok(st) = waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            if st == WaitStatus::StillAlive {
                break;
            }
        }
        if let Some(mut tty) = terminal {
            tty.drain();
        }
        let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&self.old_mask), None);
        Ok(status)
    }
}

/// Orphaned descendants (a container's init, once its parent is gone)
/// become hull's children, to be reaped by it.
pub fn become_subreaper() -> anyhow::Result<()> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        anyhow::bail!(
            "become a child subreaper (prctl PR_SET_CHILD_SUBREAPER): {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// `set` with signal 34 in it. sigfillset leaves out the signals the C
/// library keeps for itself: 32 and 33 for glibc, 32 to 34 for musl, whose
/// sigaddset refuses them too. Signal 34 is SIGRTMIN to runc and Docker
/// (crate::signal::SIGRTMIN), so it is forwarded with either library: set
/// in the kernel's mask directly.
fn with_signal_34(set: SigSet) -> SigSet {
    let bit = 1u64 << (crate::signal::SIGRTMIN - 1);
    // SAFETY: sigset_t is 128 bytes with either C library, the kernel's
    // 64-signal mask in its first 8 (signal N is bit N-1 on x86_64).
    let mut words: [u64; 16] = unsafe { std::mem::transmute(*set.as_ref()) };
    words[0] |= bit;
    // SAFETY: the same bytes back, one more signal set; any bit pattern is
    // a valid sigset_t.
    unsafe {
        SigSet::from_sigset_t_unchecked(std::mem::transmute::<[u64; 16], libc::sigset_t>(words))
    }
}
