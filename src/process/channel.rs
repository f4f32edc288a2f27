//! The sync socket between hull and the container's init: a SEQPACKET
//! socketpair carrying small typed messages, one per packet.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};

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
                out.extend_from_slice(text.as_bytes());
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
}
