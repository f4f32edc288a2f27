//! `start`: release the init into execve through exec.fifo, wait until it
//! has executed the container's process, then run the poststart hooks. A
//! failure after the release stops and destroys the container (spec 1.3).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use super::record::{Container, Status};
use crate::files::DirLock;
use crate::state::EXEC_FIFO;
use crate::syscall::poll_readable;

/// How long start waits, after the init's "0", for execve to close the
/// fifo. An execve takes well under a millisecond; this only bounds one
/// held up by a hung filesystem or a seccomp listener that does not answer.
const EXEC_WAIT: Duration = Duration::from_secs(10);

/// The most of the init's message kept (an error text).
const MAX_MESSAGE: usize = 64 * 1024;

/// How the init's release through exec.fifo ended.
#[derive(Debug, PartialEq, Eq)]
enum Release {
    /// "0", then the fifo closed: execve closed it (the init's end is
    /// close-on-exec). An init that exited after its "0" without a word
    /// looks the same as a process that exec'd and exited at once; both
    /// count as executed.
    Executed,
    /// "0", and the fifo still open after `EXEC_WAIT`.
    Executing,
    /// "E<text>" instead of "0" (a startContainer hook or the late seccomp
    /// load failed), or after it (execve failed).
    Failed(String),
    /// Closed, or the init gone, with nothing said.
    Silent,
    /// A terminating signal arrived on the interrupt fd.
    Interrupted(i32),
}

/// exec.fifo's read end opened by create before its commit, with the
/// init's pidfd: the init may have executed, even exited, since.
pub struct EarlyRelease<'a> {
    pub fifo: OwnedFd,
    pub init: BorrowedFd<'a>,
}

/// `interrupt`: a signalfd whose terminating signals abort the wait;
/// `early`: what create opened for `run` (`CreateOptions::early_release`).
pub fn start(
    container: &Container,
    interrupt: Option<RawFd>,
    early: Option<EarlyRelease<'_>>,
) -> Result<()> {
    let id = container.id();
    let _lock =
        DirLock::lock(&container.dir).with_context(|| format!("lock {:?}", container.dir))?;
    let fifo_path = container.dir.join(EXEC_FIFO);
    let own_pidfd;
    let (fifo, init) = match early {
        Some(early) => (early.fifo, early.init),
        None => {
            match container.status() {
                Status::Created => {}
                Status::Running => bail!("cannot start container {id:?}: it is already running"),
                Status::Paused => {
                    bail!("cannot start container {id:?}: it is paused (resume it first)")
                }
                Status::Stopped => bail!(
                    "cannot start container {id:?}: it has stopped (delete it and create it again)"
                ),
            }
            own_pidfd = container
                .init_pidfd()
                .with_context(|| format!("cannot start container {id:?}: its init has exited"))?;
            (open_release(&fifo_path)?, own_pidfd.as_fd())
        }
    };

    let release = wait_release(fifo.as_fd(), init, interrupt.unwrap_or(-1), EXEC_WAIT)?;
    match release {
        Release::Executed => {}
        Release::Executing => crate::logging::warn(&format!(
            "container {id:?}: its process was not executed within {} s of its release; start goes on without waiting",
            EXEC_WAIT.as_secs()
        )),
        Release::Failed(text) => return Err(stop_and_destroy(container, text)),
        Release::Silent => bail!(
            "cannot start container {id:?}: its init exited before it could run the process"
        ),
        Release::Interrupted(sig) => {
            bail!("cannot start container {id:?}: interrupted by signal {sig}")
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
            return Err(stop_and_destroy(container, format!("{err:#}")));
        }
    }
    Ok(())
}

/// exec.fifo's read end, non-blocking. Once it is open, the init's open
/// of the write end returns: it goes on to execve.
pub fn open_release(fifo_path: &Path) -> Result<OwnedFd> {
    nix::fcntl::open(
        fifo_path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("open {fifo_path:?}"))
}

/// Spec 1.3: when a startContainer hook, the exec or a poststart hook
/// fails, the runtime "MUST generate an error, stop the container, and
/// continue the lifecycle at step 12": it is destroyed, poststop hooks
/// included, as after a failed create. What cannot be cleaned up is a
/// warning; the error is the failure itself.
fn stop_and_destroy(container: &Container, why: String) -> anyhow::Error {
    let id = container.id();
    let destroyed =
        super::delete::kill_and_wait(container).and_then(|()| super::delete::destroy(container));
    if let Err(err) = destroyed {
        crate::logging::warn(&format!("container {id:?}: {err:#}"));
    }
    anyhow!("cannot start container {id:?}: {why}")
}

/// Wait for the init's word on exec.fifo (the read end, non-blocking) and
/// then for the fifo to close, at most `exec_wait` after the first byte;
/// `init` is the init's pidfd, `interrupt` a signalfd or -1. No polling:
/// the kernel reports the byte, the close, the init's exit and signals.
fn wait_release(
    fifo: BorrowedFd<'_>,
    init: BorrowedFd<'_>,
    interrupt: RawFd,
    exec_wait: Duration,
) -> Result<Release> {
    let mut said = Vec::new();
    let mut deadline: Option<Instant> = None;
    loop {
        let timeout_ms = match deadline {
            None => -1,
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now());
                // Rounded up: poll must not wake just before the deadline.
                i32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
            }
        };
        let [fifo_ready, init_gone, signalled] =
            poll_readable([fifo.as_raw_fd(), init.as_raw_fd(), interrupt], timeout_ms)
                .context("wait for the init")?;
        // An exiting process closes its fds before its pidfd turns
        // readable: once the init is gone the fifo holds all it said.
        let closed = if fifo_ready != 0 || init_gone != 0 {
            read_available(fifo, &mut said)?
        } else {
            false
        };
        if closed || init_gone != 0 {
            // Before the signal: a container that has started is started,
            // and a signal that came with it stays pending for `run` to
            // forward (it was taken for an interruption once, under load).
            return Ok(verdict(&said));
        }
        if signalled != 0 {
            if let Some(sig) = crate::process::interrupt::take_terminating(interrupt) {
                return Ok(Release::Interrupted(sig));
            }
        }
        match deadline {
            None if !said.is_empty() => deadline = Some(Instant::now() + exec_wait),
            Some(at) if Instant::now() >= at => {
                return Ok(match verdict(&said) {
                    Release::Executed => Release::Executing,
                    other => other,
                })
            }
            _ => {}
        }
    }
}

/// Read what the fifo holds into `said`; whether it is closed (no writer
/// left). Only called once poll said there is data or a hang-up, or the
/// init is gone: a fifo whose writer never came also reads as closed.
fn read_available(fifo: BorrowedFd<'_>, said: &mut Vec<u8>) -> Result<bool> {
    let mut buf = [0u8; 4096];
    loop {
        match nix::unistd::read(fifo, &mut buf) {
            Ok(0) => return Ok(true),
            Ok(n) => {
                let room = MAX_MESSAGE.saturating_sub(said.len());
                said.extend_from_slice(&buf[..n.min(room)]);
            }
            Err(Errno::EAGAIN) => return Ok(false),
            Err(Errno::EINTR) => {}
            Err(err) => return Err(err).context("read exec.fifo"),
        }
    }
}

/// What the init's bytes mean once it stopped talking.
fn verdict(said: &[u8]) -> Release {
    match said {
        [] => Release::Silent,
        [b'0'] => Release::Executed,
        [b'0', b'E', text @ ..] | [b'E', text @ ..] => {
            Release::Failed(String::from_utf8_lossy(text).into_owned())
        }
        _ => Release::Failed(format!(
            "unexpected {:?} in exec.fifo",
            String::from_utf8_lossy(said)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::OwnedFd;

    /// A fifo opened as start opens it, and its write end as the init
    /// holds it.
    fn fifo() -> (tempfile::TempDir, OwnedFd, std::fs::File) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exec.fifo");
        nix::unistd::mkfifo(&path, Mode::from_bits_truncate(0o600)).unwrap();
        let read = nix::fcntl::open(
            &path,
            OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        let write = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        (dir, read, write)
    }

    /// A pidfd of a process that outlives the test's waits.
    fn live_process() -> (std::process::Child, OwnedFd) {
        let child = std::process::Command::new("/bin/sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pidfd = crate::syscall::pidfd_open(child.id() as i32).unwrap();
        (child, pidfd)
    }

    fn wait(read: &OwnedFd, init: &OwnedFd, exec_wait: Duration) -> Release {
        wait_release(read.as_fd(), init.as_fd(), -1, exec_wait).unwrap()
    }

    /// `run`'s early release: the process ran and exited before `start`
    /// looked. The container reads as stopped by then, and still started.
    #[test]
    fn an_early_release_whose_process_already_exited_has_started() {
        let (dir, read, mut write) = fifo();
        write.write_all(b"0").unwrap();
        drop(write);
        let mut child = std::process::Command::new("/bin/true").spawn().unwrap();
        let pidfd = crate::syscall::pidfd_open(child.id() as i32).unwrap();
        child.wait().unwrap();
        let state = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.0.2", "id": "early", "pid": child.id(),
            "pid_start_time": 0, "bundle": "/b", "rootfs": "/b/rootfs",
            "created": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        let container = Container {
            dir: dir.path().to_path_buf(),
            state,
        };
        assert_eq!(container.status(), Status::Stopped);
        let early = EarlyRelease {
            fifo: read,
            init: pidfd.as_fd(),
        };
        start(&container, None, Some(early)).unwrap();
        assert!(!dir.path().join(EXEC_FIFO).exists());
    }

    #[test]
    fn zero_then_close_is_executed_not_the_zero_alone() {
        let (_dir, read, mut write) = fifo();
        let (mut child, init) = live_process();
        let held = Duration::from_millis(100);
        let started = Instant::now();
        let writer = std::thread::spawn(move || {
            write.write_all(b"0").unwrap();
            std::thread::sleep(held);
            drop(write);
        });
        assert_eq!(
            wait(&read, &init, Duration::from_secs(5)),
            Release::Executed
        );
        // Not released by the "0": only once the writer's end closed, as
        // execve closes the init's.
        assert!(started.elapsed() >= held, "{:?}", started.elapsed());
        writer.join().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn an_error_after_zero_is_an_exec_failure() {
        let (_dir, read, mut write) = fifo();
        let (mut child, init) = live_process();
        write.write_all(b"0").unwrap();
        write.write_all(b"Eexec \"/x\": ENOEXEC").unwrap();
        drop(write);
        assert_eq!(
            wait(&read, &init, Duration::from_secs(5)),
            Release::Failed("exec \"/x\": ENOEXEC".into())
        );
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn a_fifo_held_open_after_zero_is_bounded() {
        let (_dir, read, mut write) = fifo();
        let (mut child, init) = live_process();
        write.write_all(b"0").unwrap();
        let started = Instant::now();
        assert_eq!(
            wait(&read, &init, Duration::from_millis(200)),
            Release::Executing
        );
        assert!(started.elapsed() >= Duration::from_millis(200));
        drop(write);
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn an_init_gone_without_a_word_is_silent() {
        let (_dir, read, write) = fifo();
        let (mut child, init) = live_process();
        child.kill().unwrap();
        child.wait().unwrap();
        // The pidfd alone ends the wait, even with a writer left.
        assert_eq!(wait(&read, &init, Duration::from_secs(5)), Release::Silent);
        drop(write);
    }

    #[test]
    fn verdicts() {
        assert_eq!(verdict(b""), Release::Silent);
        assert_eq!(verdict(b"0"), Release::Executed);
        assert_eq!(
            verdict(b"Ehooks.startContainer[0]: failed"),
            Release::Failed("hooks.startContainer[0]: failed".into())
        );
        assert!(matches!(verdict(b"00"), Release::Failed(t) if t.contains("unexpected")));
    }
}
