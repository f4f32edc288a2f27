//! Foreground `run` blocks signals and reads them from a signalfd. While the
//! container is being created or started, a terminating signal there aborts
//! (the init is killed and everything removed) instead of being ignored.

use std::os::fd::RawFd;

/// Wait until `fd` is readable or, if given, a terminating signal is
/// pending on `interrupt` (a signalfd). Returns that signal, or None once
/// `fd` is readable.
pub fn wait_readable(fd: RawFd, interrupt: Option<RawFd>) -> std::io::Result<Option<i32>> {
    let Some(sigfd) = interrupt else {
        return Ok(None);
    };
    loop {
        let [ready, signalled] = crate::syscall::poll_readable([fd, sigfd], -1)?;
        if signalled != 0 {
            if let Some(sig) = take_terminating(sigfd) {
                return Ok(Some(sig));
            }
        }
        if ready != 0 {
            return Ok(None);
        }
    }
}

/// Drain a non-blocking signalfd; the first terminating signal found.
pub fn take_terminating(sigfd: RawFd) -> Option<i32> {
    let mut found = None;
    loop {
        // SAFETY: signalfd_siginfo is plain data; read fills at most its size.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: the buffer is valid for `size` bytes.
        let n = unsafe { libc::read(sigfd, &mut info as *mut _ as *mut libc::c_void, size) };
        if n != size as isize {
            return found;
        }
        let sig = info.ssi_signo as i32;
        if found.is_none()
            && matches!(
                sig,
                libc::SIGTERM | libc::SIGINT | libc::SIGHUP | libc::SIGQUIT
            )
        {
            found = Some(sig);
        }
    }
}
