//! The sync socket between hull and the container's init: a SEQPACKET
//! socketpair carrying small typed messages, one per packet.

use std::os::fd::{AsFd, OwnedFd};

use anyhow::{Context, Result};
use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};

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
    /// hull has written the init's id maps (and oom_score_adj): go on.
    IdMapsDone,
}

impl Message {
    fn encode(&self) -> Vec<u8> {
        match self {
            Message::Ready => b"R".to_vec(),
            Message::RunHooks => b"H".to_vec(),
            Message::HooksDone => b"D".to_vec(),
            Message::IdMapsDone => b"M".to_vec(),
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

/// The next message, or None when the other end closed without one.
pub fn recv_message(fd: impl AsFd) -> Result<Option<Message>> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match recv(fd.as_fd().as_raw_fd_compat(), &mut buf, MsgFlags::empty()) {
            Ok(0) => return Ok(None),
            Ok(n) => return Ok(Message::decode(&buf[..n])),
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
        drop(a);
        assert_eq!(recv_message(&b).unwrap(), None);
    }
}
