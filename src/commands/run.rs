//! `run`: create + start in one process. In the foreground hull forwards
//! the signals it gets to the container, waits for its init and exits with
//! its status (128+N when killed by signal N), then deletes it.

use std::os::fd::{AsFd, AsRawFd};

use anyhow::{Context, Result};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::cli::RunArgs;
use crate::container::{self, Container, Created};
use crate::state::StateRoot;
use crate::syscall::pidfd_send_signal;

pub fn run(root: &StateRoot, args: &RunArgs) -> Result<i32> {
    let opts = super::create::options(&args.create);
    if args.detach {
        let created = container::create(root, &opts)?;
        let c = as_container(&created);
        if let Err(err) = container::start(&c, None) {
            abort(&created, &c);
            return Err(err);
        }
        return Ok(0);
    }

    // Signals are blocked before the clone, so none is lost between create
    // and the wait loop; the init restores its own mask before exec.
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
    let mut old_mask = SigSet::empty();
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&forwarded), Some(&mut old_mask))
        .context("block signals")?;
    let signals = SignalFd::with_flags(&forwarded, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .context("signalfd")?;
    if !args.no_subreaper {
        // SAFETY: prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    }

    let opts = container::CreateOptions {
        interrupt: Some(signals.as_fd().as_raw_fd()),
        ..opts
    };
    let created = container::create(root, &opts)?;
    let c = as_container(&created);
    if let Err(err) = container::start(&c, opts.interrupt) {
        abort(&created, &c);
        return Err(err);
    }
    let status = wait_forwarding(&created, &signals)?;
    if !args.keep {
        container::destroy(&c)?;
    }
    reap_orphans();
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old_mask), None);
    Ok(status)
}

fn as_container(created: &Created) -> Container {
    Container {
        dir: created.dir.clone(),
        state: created.state.clone(),
    }
}

/// Kill the init of a container that could not start and remove it.
fn abort(created: &Created, c: &Container) {
    let _ = pidfd_send_signal(created.pidfd.as_fd(), libc::SIGKILL);
    let _ = waitpid(Pid::from_raw(created.pid), None);
    let _ = container::destroy(c);
}

/// Forward every signal hull gets to the init until it exits; its exit code.
fn wait_forwarding(created: &Created, signals: &SignalFd) -> Result<i32> {
    let pid = Pid::from_raw(created.pid);
    loop {
        let [signalled, exited] = crate::syscall::poll_readable(
            [signals.as_fd().as_raw_fd(), created.pidfd.as_raw_fd()],
            -1,
        )
        .context("wait for the container")?;
        if signalled & libc::POLLIN != 0 {
            while let Ok(Some(info)) = signals.read_signal() {
                let sig = info.ssi_signo as i32;
                if sig != libc::SIGCHLD {
                    let _ = pidfd_send_signal(created.pidfd.as_fd(), sig);
                }
            }
        }
        if exited != 0 {
            return match waitpid(pid, None).context("wait for the container's init")? {
                WaitStatus::Exited(_, code) => Ok(code),
                WaitStatus::Signaled(_, sig, _) => Ok(128 + sig as i32),
                other => Ok(match other {
                    WaitStatus::Stopped(..) => 128 + libc::SIGSTOP,
                    _ => 255,
                }),
            };
        }
    }
}

/// Processes re-parented to hull (as subreaper) are reaped before it exits.
fn reap_orphans() {
    while let Ok(status) = waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
        if status == WaitStatus::StillAlive {
            break;
        }
    }
}
