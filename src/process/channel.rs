//! The sync socket between hull and the container's init: a SEQPACKET
//! socketpair carrying small typed messages, one per packet. An error text
//! too long for one packet is cut in the middle, never dropped.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

use anyhow::{Context, Result};
use nix::sys::socket::{
    recvmsg, send, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned,
    MsgFlags, SockFlag, SockType, UnixAddr,
};

#[derive(Debug, PartialEq, Eq)]
pub enum Message {
    /// The init has set everything up and now waits for `start`.
    Ready,
    /// The init failed; the text says what and where.
    Error(String),
    /// The init's mounts are ready: hull runs prestart and createRuntime hooks.
    RunHooks,
    /// hull's answer: those hooks succeeded, go on.
    HooksDone,
    /// hull has written the init's id maps: go on.
    IdMapsDone,
    /// hull has recorded the container (state.json): the init may now
    /// outlive it, and closes its end to say it knows.
    Committed,
    /// A helper cloned the init (as hull's child) with this pid; its pidfd
    /// rides with the message.
    Cloned(i32),
    /// The seccomp notify fd rides with this message (SCM_RIGHTS): hull
    /// hands it to the listener.
    SeccompFd,
}

impl Message {
    fn encode(&self) -> Vec<u8> {
        match self {
            Message::Ready => b"R".to_vec(),
            Message::RunHooks => b"H".to_vec(),
            Message::HooksDone => b"D".to_vec(),
            Message::IdMapsDone => b"M".to_vec(),
            Message::Committed => b"K".to_vec(),
            Message::SeccompFd => b"S".to_vec(),
            Message::Cloned(pid) => format!("C{pid}").into_bytes(),
            Message::Error(text) => {
                let mut out = b"E".to_vec();
                out.extend_from_slice(crate::error::shorten(text).as_bytes());
                out
            }
        }
    }

    fn decode(bytes: &[u8]) -> Option<Message> {
        match bytes.split_first()? {
            (b'R', _) => Some(Message::Ready),
            (b'H', _) => Some(Message::RunHooks),
            (b'D', _) => Some(Message::HooksDone),
            (b'M', _) => Some(Message::IdMapsDone),
            (b'K', _) => Some(Message::Committed),
            (b'S', _) => Some(Message::SeccompFd),
            (b'C', pid) => std::str::from_utf8(pid)
                .ok()?
                .parse()
                .ok()
                .map(Message::Cloned),
            (b'E', text) => Some(Message::Error(String::from_utf8_lossy(text).into_owned())),
            _ => None,
        }
    }
}

/// The sync socket a process cloned from hull (the init, an exec'd
/// process, the user-namespace helper) reports a panic on; -1 in hull.
static PANIC_REPORT_FD: AtomicI32 = AtomicI32::new(-1);

/// In a child of hull's clone, right after it: a panic from now on reaches
/// hull as an `Error` on `sync` (see `logging::install_panic_hook`), so the
/// create or exec fails cleanly instead of ending "without a word".
pub fn report_panics_to(sync: BorrowedFd<'_>) {
    PANIC_REPORT_FD.store(sync.as_raw_fd(), Ordering::SeqCst);
    crate::logging::report_child_panics_with(report_panic);
}

/// Send `text` as an `Error` to hull if this process reports its panics
/// there (see `report_panics_to`); whether it was sent.
pub fn report_panic(text: &str) -> bool {
    let fd: RawFd = PANIC_REPORT_FD.load(Ordering::SeqCst);
    if fd < 0 {
        return false;
    }
    // SAFETY: the fd was the sync socket's when stored, and the child keeps
    // that socket open until it execs or exits; at worst a send to another
    // fd fails (ENOTSOCK) and the caller falls back to stderr.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    send_message(fd, &Message::Error(text.to_string())).is_ok()
}

/// (hull's end, the init's end); both close-on-exec.
pub fn pair() -> Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("create the sync socketpair")
}

pub fn send_message(fd: impl AsFd, msg: &Message) -> Result<()> {
    let bytes = msg.encode();
    send(
        fd.as_fd().as_raw_fd_compat(),
        &bytes,
        MsgFlags::MSG_NOSIGNAL,
    )
    .context("send to sync socket")?;
    Ok(())
}

/// Send `msg` with `passed` attached (SCM_RIGHTS).
pub fn send_message_fd(fd: impl AsFd, msg: &Message, passed: impl AsFd) -> Result<()> {
    let bytes = msg.encode();
    let fds = [passed.as_fd().as_raw_fd_compat()];
    sendmsg::<UnixAddr>(
        fd.as_fd().as_raw_fd_compat(),
        &[IoSlice::new(&bytes)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .context("send to sync socket")?;
    Ok(())
}

/// The next message, or None when the other end closed without one.
pub fn recv_message(fd: impl AsFd) -> Result<Option<Message>> {
    Ok(recv_message_fd(fd)?.0)
}

/// The next message and the fd that came with it, if any.
pub fn recv_message_fd(fd: impl AsFd) -> Result<(Option<Message>, Option<OwnedFd>)> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    loop {
        let mut iov = [IoSliceMut::new(&mut buf)];
        match recvmsg::<UnixAddr>(
            fd.as_fd().as_raw_fd_compat(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(msg) => {
                let mut passed = None;
                for cmsg in msg.cmsgs().context("read from sync socket")? {
                    if let ControlMessageOwned::ScmRights(fds) = cmsg {
                        for raw in fds {
                            // SAFETY: the kernel just installed this fd for us.
                            let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                            passed.get_or_insert(owned);
                        }
                    }
                }
                let n = msg.bytes;
                if n == 0 {
                    return Ok((None, passed));
                }
                return Ok((Message::decode(&buf[..n]), passed));
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(err) => return Err(err).context("read from sync socket"),
        }
    }
}

trait RawFdCompat {
    fn as_raw_fd_compat(&self) -> std::os::fd::RawFd;
}

impl RawFdCompat for std::os::fd::BorrowedFd<'_> {
    fn as_raw_fd_compat(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::MAX_ERROR_TEXT;

    #[test]
    fn messages_round_trip() {
        let (a, b) = pair().unwrap();
        send_message(&a, &Message::Error("mount \"proc\": EPERM".into())).unwrap();
        send_message(&a, &Message::Ready).unwrap();
        assert_eq!(
            recv_message(&b).unwrap(),
            Some(Message::Error("mount \"proc\": EPERM".into()))
        );
        assert_eq!(recv_message(&b).unwrap(), Some(Message::Ready));
        let file = std::fs::File::open("/dev/null").unwrap();
        send_message_fd(&a, &Message::SeccompFd, &file).unwrap();
        let (msg, fd) = recv_message_fd(&b).unwrap();
        assert_eq!(msg, Some(Message::SeccompFd));
        assert!(fd.is_some());
        drop(a);
        assert_eq!(recv_message(&b).unwrap(), None);
    }

    #[test]
    fn a_long_error_arrives_cut_in_the_middle() {
        let (a, b) = pair().unwrap();
        let text = format!(
            "sethostname \"{}\": EINVAL: invalid argument",
            "h".repeat(1 << 20)
        );
        send_message(&a, &Message::Error(text.clone())).unwrap();
        let Some(Message::Error(got)) = recv_message(&b).unwrap() else {
            panic!("no error message");
        };
        assert!(got.len() <= MAX_ERROR_TEXT, "{} bytes", got.len());
        assert!(got.starts_with("sethostname \"hhh"), "{got}");
        assert!(got.ends_with("hhh\": EINVAL: invalid argument"), "{got}");
        // Nothing is lost unsaid: kept + cut is the whole text.
        let (head, rest) = got.split_once("[… ").unwrap();
        let (cut, tail) = rest.split_once(" bytes cut …]").unwrap();
        let cut: usize = cut.parse().unwrap();
        assert_eq!(head.len() + cut + tail.len(), text.len());
    }
}
