//! The sync socket between hull and a process it cloned (the init, an
//! exec'd process, the user-namespace helper): a SEQPACKET socketpair, one
//! typed message per packet. hull holds a `HullEnd`, the child a `ChildEnd`;
//! each side only has the calls its part of the protocol needs.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

use anyhow::{Context, Result};
use nix::sys::socket::{
    recvmsg, send, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned,
    MsgFlags, SockFlag, SockType, UnixAddr,
};

/// Why a child of hull's failed, as it sends it: the text a person reads
/// (cut in the middle when too long for a packet, never dropped), and as
/// data the errno it came down to and the config field it was about, so
/// that hull matches on those instead of on the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text}")]
pub struct ChildError {
    pub errno: Option<i32>,
    /// The config field the failure is about (`linux.sysctl`, `mounts[3]`).
    pub field: Option<String>,
    pub text: String,
}

impl ChildError {
    /// The error as the child reports it: its whole chain as one line.
    pub fn from_error(err: &anyhow::Error) -> ChildError {
        let text = format!("{err:#}");
        ChildError {
            errno: errno_of(err),
            field: config_field(&text).map(String::from),
            text,
        }
    }

    /// An error that is only a text (no errno, no field).
    pub fn text(text: impl Into<String>) -> ChildError {
        ChildError {
            errno: None,
            field: None,
            text: text.into(),
        }
    }
}

/// The errno an error comes down to: the first io or nix error of its chain.
pub fn errno_of(err: &anyhow::Error) -> Option<i32> {
    errnos(err).next()
}

/// The errnos of the io and nix errors in an error's chain, outermost first.
pub fn errnos(err: &anyhow::Error) -> impl Iterator<Item = i32> + '_ {
    err.chain().filter_map(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .and_then(|e| e.raw_os_error())
            .or_else(|| cause.downcast_ref::<nix::errno::Errno>().map(|e| *e as i32))
    })
}

/// The config field an error text starts with (`process.rlimits`,
/// `linux.sysctl`, `mounts[3]`), as hull's errors name them first.
fn config_field(text: &str) -> Option<&str> {
    const ROOTS: [&str; 7] = [
        "process.",
        "linux.",
        "mounts[",
        "root.",
        "hostname",
        "domainname",
        "hooks.",
    ];
    let word = text.split([' ', ':']).next()?;
    ROOTS.iter().any(|r| word.starts_with(r)).then_some(word)
}

/// The messages on the wire. Both ends are the same binary: the encoding
/// only has to agree with itself.
#[derive(Debug, PartialEq, Eq)]
enum Message {
    /// The init has set everything up and now waits for `start`.
    Ready,
    /// The child failed.
    Error(ChildError),
    /// The init's mounts are ready: hull runs prestart and createRuntime hooks.
    RunHooks,
    /// hull's answer: those hooks succeeded, go on.
    HooksDone,
    /// hull has written the init's id maps: go on.
    IdMapsDone,
    /// hull has put the init in its cgroup (a unit started around it): go on.
    CgroupReady,
    /// hull has recorded the container (state.json): the init may now
    /// outlive it, and closes its end to say it knows.
    Committed,
    /// A helper cloned the init (as hull's child) with this pid; its pidfd
    /// rides with the message.
    Cloned(i32),
    /// The seccomp notify fd rides with this message (SCM_RIGHTS): hull
    /// hands it to the listener.
    SeccompFd,
    /// The init's timing marks (--debug): each phase and when it ended.
    Timings(Vec<(String, u64)>),
}

impl Message {
    fn encode(&self) -> Vec<u8> {
        match self {
            Message::Ready => b"R".to_vec(),
            Message::RunHooks => b"H".to_vec(),
            Message::HooksDone => b"D".to_vec(),
            Message::IdMapsDone => b"M".to_vec(),
            Message::CgroupReady => b"G".to_vec(),
            Message::Committed => b"K".to_vec(),
            Message::SeccompFd => b"S".to_vec(),
            Message::Cloned(pid) => {
                let mut out = b"C".to_vec();
                out.extend_from_slice(&pid.to_le_bytes());
                out
            }
            // T, then per mark: the name's length and bytes, the time.
            Message::Timings(marks) => {
                let mut out = b"T".to_vec();
                for (phase, at) in marks {
                    let name = &phase.as_bytes()[..phase.len().min(255)];
                    out.push(name.len() as u8);
                    out.extend_from_slice(name);
                    out.extend_from_slice(&at.to_le_bytes());
                }
                out
            }
            // E, errno (0: none), the field's length and bytes, the text.
            Message::Error(err) => {
                let field = err.field.as_deref().unwrap_or("").as_bytes();
                let field = &field[..field.len().min(255)];
                let mut out = b"E".to_vec();
                out.extend_from_slice(&err.errno.unwrap_or(0).to_le_bytes());
                out.push(field.len() as u8);
                out.extend_from_slice(field);
                out.extend_from_slice(crate::error::shorten(&err.text).as_bytes());
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
            (b'G', _) => Some(Message::CgroupReady),
            (b'K', _) => Some(Message::Committed),
            (b'S', _) => Some(Message::SeccompFd),
            (b'C', pid) => Some(Message::Cloned(i32::from_le_bytes(pid.try_into().ok()?))),
            (b'T', mut rest) => {
                let mut marks = Vec::new();
                while let Some((len, tail)) = rest.split_first() {
                    let (name, tail) = tail.split_at_checked(usize::from(*len))?;
                    let (at, tail) = tail.split_first_chunk::<8>()?;
                    marks.push((
                        String::from_utf8_lossy(name).into_owned(),
                        u64::from_le_bytes(*at),
                    ));
                    rest = tail;
                }
                Some(Message::Timings(marks))
            }
            (b'E', rest) => {
                let (errno, rest) = rest.split_first_chunk::<4>()?;
                let (len, rest) = rest.split_first()?;
                let (field, text) = rest.split_at_checked(usize::from(*len))?;
                let errno = i32::from_le_bytes(*errno);
                Some(Message::Error(ChildError {
                    errno: (errno != 0).then_some(errno),
                    field: (!field.is_empty()).then(|| String::from_utf8_lossy(field).into_owned()),
                    text: String::from_utf8_lossy(text).into_owned(),
                }))
            }
            _ => None,
        }
    }
}

/// What hull hears from its child.
#[derive(Debug)]
pub enum FromChild {
    /// The init is set up and waits for the commit.
    Ready,
    Failed(ChildError),
    /// The init waits before pivot_root for hull to run the prestart and
    /// createRuntime hooks (answer with `hooks_done`).
    RunHooks,
    /// The child loaded a notifying filter; its notify fd, if it came.
    SeccompFd(Option<OwnedFd>),
    /// The user-namespace helper cloned the init: its pid and pidfd.
    Cloned(i32, Option<OwnedFd>),
    /// The init's timing marks (--debug).
    Timings(Vec<(String, u64)>),
    /// The child closed its end (exited, or exec'd: the ends are
    /// close-on-exec) without a word.
    Closed,
    /// A message this end does not expect (a bug, never a user's error).
    Unexpected(String),
}

/// The sync socket a process cloned from hull reports a panic on; -1 in hull.
static PANIC_REPORT_FD: AtomicI32 = AtomicI32::new(-1);

/// Send `text` as an error to hull if this process reports its panics
/// there (see `ChildEnd::report_panics`); whether it was sent.
pub fn report_panic(text: &str) -> bool {
    let fd: RawFd = PANIC_REPORT_FD.load(Ordering::SeqCst);
    if fd < 0 {
        return false;
    }
    // SAFETY: the fd was the sync socket's when stored, and the child keeps
    // that socket open until it execs or exits; at worst a send to another
    // fd fails (ENOTSOCK) and the caller falls back to stderr.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    send_message(fd, &Message::Error(ChildError::text(text))).is_ok()
}

/// hull's end of the sync socket.
#[derive(Debug)]
pub struct HullEnd(OwnedFd);

/// The cloned child's end of the sync socket.
#[derive(Debug)]
pub struct ChildEnd(OwnedFd);

/// (hull's end, the child's end); both close-on-exec.
pub fn pair() -> Result<(HullEnd, ChildEnd)> {
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("create the sync socketpair")?;
    Ok((HullEnd(ours), ChildEnd(theirs)))
}

impl HullEnd {
    /// The child's next word.
    pub fn recv(&self) -> Result<FromChild> {
        let (msg, passed) = recv_message_fd(&self.0)?;
        Ok(match msg {
            None if passed.is_none() => FromChild::Closed,
            Some(Message::Ready) => FromChild::Ready,
            Some(Message::Error(err)) => FromChild::Failed(err),
            Some(Message::RunHooks) => FromChild::RunHooks,
            Some(Message::SeccompFd) => FromChild::SeccompFd(passed),
            Some(Message::Cloned(pid)) => FromChild::Cloned(pid, passed),
            Some(Message::Timings(marks)) => FromChild::Timings(marks),
            other => FromChild::Unexpected(format!("{other:?}")),
        })
    }

    pub fn send_id_maps_done(&self) -> Result<()> {
        send_message(&self.0, &Message::IdMapsDone)
    }

    pub fn send_cgroup_ready(&self) -> Result<()> {
        send_message(&self.0, &Message::CgroupReady)
    }

    pub fn send_hooks_done(&self) -> Result<()> {
        send_message(&self.0, &Message::HooksDone)
    }

    pub fn send_committed(&self) -> Result<()> {
        send_message(&self.0, &Message::Committed)
    }
}

impl ChildEnd {
    /// From now on a panic of this process reaches hull as an error on this
    /// end (see `logging::install_panic_hook`), so the create or exec fails
    /// cleanly instead of ending "without a word".
    pub fn report_panics(&self) {
        PANIC_REPORT_FD.store(self.0.as_raw_fd(), Ordering::SeqCst);
        crate::logging::report_child_panics_with(report_panic);
    }

    pub fn send_error(&self, err: &anyhow::Error) -> Result<()> {
        send_message(&self.0, &Message::Error(ChildError::from_error(err)))
    }

    /// `Ready`, after the init's timing marks when there are any.
    pub fn send_ready(&self) -> Result<()> {
        let marks = crate::timing::take_init_marks();
        if !marks.is_empty() {
            let marks = marks.into_iter().map(|(p, t)| (p.to_string(), t)).collect();
            send_message(&self.0, &Message::Timings(marks))?;
        }
        send_message(&self.0, &Message::Ready)
    }

    pub fn send_cloned(&self, pid: i32, pidfd: impl AsFd) -> Result<()> {
        send_message_fd(&self.0, &Message::Cloned(pid), pidfd)
    }

    pub fn send_seccomp_fd(&self, notify_fd: impl AsFd) -> Result<()> {
        send_message_fd(&self.0, &Message::SeccompFd, notify_fd)
    }

    /// Wait until hull has written this process's id maps.
    pub fn wait_for_id_maps(&self) -> Result<()> {
        match recv_message_fd(&self.0)?.0 {
            Some(Message::IdMapsDone) => Ok(()),
            other => anyhow::bail!("hull did not write the id maps (got {other:?})"),
        }
    }

    /// Wait until hull has put this process in its cgroup.
    pub fn wait_for_cgroup(&self) -> Result<()> {
        match recv_message_fd(&self.0)?.0 {
            Some(Message::CgroupReady) => Ok(()),
            other => anyhow::bail!("hull did not make the container's cgroup (got {other:?})"),
        }
    }

    /// Ask hull to run the prestart and createRuntime hooks, and wait.
    pub fn run_hooks(&self) -> Result<()> {
        send_message(&self.0, &Message::RunHooks)?;
        match recv_message_fd(&self.0)?.0 {
            Some(Message::HooksDone) => Ok(()),
            _ => anyhow::bail!("hull did not confirm the createRuntime hooks"),
        }
    }

    /// Whether hull committed the container; false when it closed its end
    /// (died or gave up) or said anything else.
    pub fn wait_for_commit(&self) -> bool {
        matches!(recv_message_fd(&self.0), Ok((Some(Message::Committed), _)))
    }
}

impl AsFd for HullEnd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsRawFd for HullEnd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl AsFd for ChildEnd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsRawFd for ChildEnd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

fn send_message(fd: impl AsFd, msg: &Message) -> Result<()> {
    let bytes = msg.encode();
    send(fd.as_fd().as_raw_fd(), &bytes, MsgFlags::MSG_NOSIGNAL).context("send to sync socket")?;
    Ok(())
}

/// Send `msg` with `passed` attached (SCM_RIGHTS).
fn send_message_fd(fd: impl AsFd, msg: &Message, passed: impl AsFd) -> Result<()> {
    let bytes = msg.encode();
    let fds = [passed.as_fd().as_raw_fd()];
    sendmsg::<UnixAddr>(
        fd.as_fd().as_raw_fd(),
        &[IoSlice::new(&bytes)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .context("send to sync socket")?;
    Ok(())
}

/// The next message (None when the other end closed without one) and the
/// fd that came with it, if any.
fn recv_message_fd(fd: impl AsFd) -> Result<(Option<Message>, Option<OwnedFd>)> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    loop {
        let mut iov = [IoSliceMut::new(&mut buf)];
        match recvmsg::<UnixAddr>(
            fd.as_fd().as_raw_fd(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::MAX_ERROR_TEXT;

    #[test]
    fn messages_round_trip() {
        let (a, b) = pair().unwrap();
        let err = anyhow::Error::from(nix::errno::Errno::EPERM).context("mount \"proc\"");
        b.send_error(&err).unwrap();
        b.send_ready().unwrap();
        match a.recv().unwrap() {
            FromChild::Failed(got) => {
                assert_eq!(got.text, "mount \"proc\": EPERM: Operation not permitted");
                assert_eq!(got.errno, Some(libc::EPERM));
                assert_eq!(got.field, None);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(a.recv().unwrap(), FromChild::Ready));
        let file = std::fs::File::open("/dev/null").unwrap();
        b.send_seccomp_fd(&file).unwrap();
        assert!(matches!(a.recv().unwrap(), FromChild::SeccompFd(Some(_))));
        b.send_cloned(42, &file).unwrap();
        assert!(matches!(a.recv().unwrap(), FromChild::Cloned(42, Some(_))));
        drop(b);
        assert!(matches!(a.recv().unwrap(), FromChild::Closed));
    }

    #[test]
    fn timing_marks_round_trip() {
        let marks = vec![
            ("rootfs".to_string(), 1_234_567_890_123),
            (String::new(), 0),
            ("process".to_string(), u64::MAX),
        ];
        let bytes = Message::Timings(marks.clone()).encode();
        assert_eq!(Message::decode(&bytes), Some(Message::Timings(marks)));
        // A cut-off list is no message, never a wrong one.
        assert_eq!(Message::decode(&bytes[..bytes.len() - 1]), None);
    }

    #[test]
    fn an_error_carries_its_field_and_errno() {
        let (a, b) = pair().unwrap();
        let err = anyhow::Error::from(std::io::Error::from_raw_os_error(libc::EACCES))
            .context("linux.sysctl \"net.ipv4.ip_forward\": write \"1\"");
        b.send_error(&err).unwrap();
        let FromChild::Failed(got) = a.recv().unwrap() else {
            panic!("no error message");
        };
        assert_eq!(got.errno, Some(libc::EACCES));
        assert_eq!(got.field.as_deref(), Some("linux.sysctl"));
        assert!(
            got.text.starts_with("linux.sysctl \"net.ipv4"),
            "{}",
            got.text
        );
    }

    #[test]
    fn a_long_error_arrives_cut_in_the_middle() {
        let (a, b) = pair().unwrap();
        let text = format!(
            "sethostname \"{}\": EINVAL: invalid argument",
            "h".repeat(1 << 20)
        );
        b.send_error(&anyhow::anyhow!("{text}")).unwrap();
        let FromChild::Failed(ChildError { text: got, .. }) = a.recv().unwrap() else {
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
