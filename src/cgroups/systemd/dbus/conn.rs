//! One connection to a bus (or straight to systemd): connect, the EXTERNAL
//! auth, Hello, framing, and calls whose replies are matched by serial.
//! The socket is non-blocking and every read and write waits with poll(2)
//! until a deadline; messages that arrive while a call waits (JobRemoved
//! can come before the reply that names the job) are queued for
//! `wait_for_signal`.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Instant;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::address::{outside_uid, Address};
use super::error::{Error, Result};
use super::marshal::{Arg, Kind, Outgoing};
use super::unmarshal::{decode, message_len, Message, FIXED_HEADER};

/// Messages kept while waiting for something else; past this the oldest
/// go (a bus that floods us with unrelated signals must not grow us).
const MAX_QUEUED: usize = 4096;
/// The longest auth line taken.
const MAX_AUTH_LINE: usize = 4096;

const BUS_NAME: &str = "org.freedesktop.DBus";
const BUS_PATH: &str = "/org/freedesktop/DBus";

/// Who we say we are in AUTH EXTERNAL.
#[derive(Clone, Copy)]
enum Identity {
    /// No identity: the bus takes the socket's peer credentials (sd-bus's
    /// way; right inside a user namespace).
    FromSocket,
    /// This uid, for buses that want one said.
    Uid(u32),
}

/// A connection; single-threaded, blocking only up to the deadlines given.
pub struct Connection {
    stream: UnixStream,
    path: PathBuf,
    direct: bool,
    serial: u32,
    inbuf: Vec<u8>,
    queue: VecDeque<Message>,
    unique_name: Option<String>,
}

impl Connection {
    /// The first of `candidates` that answers, or an error naming each
    /// socket and why it failed.
    pub fn connect_first(candidates: &[Address], deadline: Instant) -> Result<Connection> {
        let mut errors = Vec::new();
        for addr in candidates {
            match Connection::connect(addr, deadline) {
                Ok(conn) => return Ok(conn),
                Err(e) => errors.push(e.to_string()),
            }
        }
        Err(Error::Io(errors.join("; ")))
    }

    /// Connect to `addr`, authenticate, and say Hello unless it is a
    /// direct connection to systemd.
    pub fn connect(addr: &Address, deadline: Instant) -> Result<Connection> {
        let mut conn = match Connection::open(addr, Identity::FromSocket, deadline) {
            // Older buses want the uid said; the one the host sees.
            Err(Error::Auth(_)) => Connection::open(addr, Identity::Uid(outside_uid()), deadline)?,
            other => other?,
        };
        if !addr.direct {
            let hello = Outgoing::call(BUS_NAME, BUS_PATH, BUS_NAME, "Hello", vec![]);
            let reply = conn.call(&hello, deadline)?;
            conn.unique_name = Some(reply.args("s")?.string()?);
        }
        Ok(conn)
    }

    fn open(addr: &Address, identity: Identity, deadline: Instant) -> Result<Connection> {
        let stream = connect_socket(&addr.path, deadline)?;
        let mut conn = Connection {
            stream,
            path: addr.path.clone(),
            direct: addr.direct,
            serial: 0,
            inbuf: Vec::new(),
            queue: VecDeque::new(),
            unique_name: None,
        };
        conn.authenticate(identity, deadline)?;
        Ok(conn)
    }

    /// The socket's path, for errors.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this is a direct connection to systemd (no bus).
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    /// Our name on the bus (None on a direct connection).
    pub fn unique_name(&self) -> Option<&str> {
        self.unique_name.as_deref()
    }

    fn io_error(&self, what: &str, err: &std::io::Error) -> Error {
        Error::Io(format!(
            "{}: {what}: {}",
            self.path.display(),
            errno_text(err)
        ))
    }

    /// Pipelined like sd-bus: the whole conversation goes at once, the
    /// answers are read byte by byte so no message byte is taken early.
    fn authenticate(&mut self, identity: Identity, deadline: Instant) -> Result<()> {
        let request = match identity {
            Identity::FromSocket => "\0AUTH EXTERNAL\r\nDATA\r\nBEGIN\r\n".to_string(),
            Identity::Uid(uid) => {
                let hex: String = uid
                    .to_string()
                    .bytes()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                format!("\0AUTH EXTERNAL {hex}\r\nBEGIN\r\n")
            }
        };
        self.write_all(request.as_bytes(), deadline)?;
        loop {
            let line = self.read_line(deadline)?;
            if line.starts_with("OK ") {
                return Ok(());
            }
            if line != "DATA" {
                return Err(Error::Auth(format!("{}: {line:?}", self.path.display())));
            }
        }
    }

    fn read_line(&mut self, deadline: Instant) -> Result<String> {
        let mut line = Vec::new();
        while !line.ends_with(b"\r\n") {
            if line.len() > MAX_AUTH_LINE {
                return Err(Error::Auth(format!(
                    "{}: a line too long",
                    self.path.display()
                )));
            }
            let mut byte = [0u8; 1];
            match self.stream.read(&mut byte) {
                Ok(0) => {
                    return Err(Error::Auth(format!(
                        "{}: the bus hung up",
                        self.path.display()
                    )))
                }
                Ok(_) => line.push(byte[0]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if !self.wait(PollFlags::POLLIN, deadline)? {
                        return Err(Error::Timeout(format!(
                            "the auth answer of {}",
                            self.path.display()
                        )));
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error("read", &e)),
            }
        }
        line.truncate(line.len() - 2);
        Ok(String::from_utf8_lossy(&line).into_owned())
    }

    /// Wait until the socket is ready for `events`; false at the deadline.
    fn wait(&self, events: PollFlags, deadline: Instant) -> Result<bool> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // Round up: a deadline 0.5 ms away is not yet passed.
            let ms = left.as_micros().div_ceil(1000);
            let timeout = PollTimeout::try_from(i32::try_from(ms).unwrap_or(i32::MAX))
                .unwrap_or(PollTimeout::MAX);
            let mut fds = [PollFd::new(self.stream.as_fd(), events)];
            match poll(&mut fds, timeout) {
                Ok(0) => return Ok(false),
                Ok(_) => return Ok(true),
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(self.io_error("poll", &e.into())),
            }
        }
    }

    fn write_all(&mut self, mut bytes: &[u8], deadline: Instant) -> Result<()> {
        while !bytes.is_empty() {
            match self.stream.write(bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if !self.wait(PollFlags::POLLOUT, deadline)? {
                        return Err(Error::Timeout(format!(
                            "{} to take our message",
                            self.path.display()
                        )));
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error("write", &e)),
            }
        }
        Ok(())
    }

    /// Send `msg` with the next serial, which is returned.
    pub fn send(&mut self, msg: &Outgoing, deadline: Instant) -> Result<u32> {
        self.serial = self.serial.checked_add(1).unwrap_or(1);
        let bytes = msg.encode(self.serial)?;
        self.write_all(&bytes, deadline)?;
        Ok(self.serial)
    }

    /// The next message off the socket, or None at the deadline.
    pub fn read_message(&mut self, deadline: Instant) -> Result<Option<Message>> {
        let mut chunk = [0u8; 4096];
        loop {
            if self.inbuf.len() >= FIXED_HEADER {
                let total = message_len(&self.inbuf[..FIXED_HEADER])?;
                if self.inbuf.len() >= total {
                    let bytes: Vec<u8> = self.inbuf.drain(..total).collect();
                    return decode(&bytes).map(Some);
                }
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    return Err(Error::Io(format!(
                        "{}: the connection was closed",
                        self.path.display()
                    )))
                }
                Ok(n) => self.inbuf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if !self.wait(PollFlags::POLLIN, deadline)? {
                        return Ok(None);
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error("read", &e)),
            }
        }
    }

    /// A queued message first, else the next one off the socket.
    pub fn next_message(&mut self, deadline: Instant) -> Result<Option<Message>> {
        match self.queue.pop_front() {
            Some(m) => Ok(Some(m)),
            None => self.read_message(deadline),
        }
    }

    fn enqueue(&mut self, msg: Message) {
        if self.queue.len() >= MAX_QUEUED {
            self.queue.pop_front();
        }
        self.queue.push_back(msg);
    }

    /// Call and wait for the reply; an error reply is `Error::Method`.
    pub fn call(&mut self, msg: &Outgoing, deadline: Instant) -> Result<Message> {
        let serial = self.send(msg, deadline)?;
        loop {
            let Some(reply) = self.read_message(deadline)? else {
                return Err(Error::Timeout(format!(
                    "the reply to {}.{}",
                    msg.interface.unwrap_or(""),
                    msg.member.unwrap_or("")
                )));
            };
            let answers = matches!(reply.kind, Kind::Return | Kind::Error)
                && reply.reply_serial == Some(serial);
            match reply.kind {
                Kind::Error if answers => return Err(reply.to_error()),
                Kind::Return if answers => return Ok(reply),
                _ => self.enqueue(reply),
            }
        }
    }

    /// The first signal `interface.member` that `matches`, queued or new;
    /// other messages stay queued.
    pub fn wait_for_signal(
        &mut self,
        interface: &str,
        member: &str,
        mut matches: impl FnMut(&Message) -> bool,
        deadline: Instant,
    ) -> Result<Message> {
        let mut wanted = |m: &Message| {
            m.kind == Kind::Signal
                && m.interface.as_deref() == Some(interface)
                && m.member.as_deref() == Some(member)
                && matches(m)
        };
        let queued = self.queue.iter().position(&mut wanted);
        if let Some(m) = queued.and_then(|at| self.queue.remove(at)) {
            return Ok(m);
        }
        loop {
            match self.read_message(deadline)? {
                Some(m) if wanted(&m) => return Ok(m),
                Some(m) => self.enqueue(m),
                None => return Err(Error::Timeout(format!("the signal {interface}.{member}"))),
            }
        }
    }

    /// Ask the bus to route signals matching `rule` to us (no-op on a
    /// direct connection, where systemd sends them anyway).
    pub fn add_match(&mut self, rule: &str, deadline: Instant) -> Result<()> {
        if self.direct {
            return Ok(());
        }
        let msg = Outgoing::call(
            BUS_NAME,
            BUS_PATH,
            BUS_NAME,
            "AddMatch",
            vec![Arg::Str(rule)],
        );
        self.call(&msg, deadline).map(drop)
    }

    /// Take the well-known `name` (flags as RequestName has them); the
    /// bus's answer code (1: we are its primary owner).
    pub fn request_name(&mut self, name: &str, flags: u32, deadline: Instant) -> Result<u32> {
        let msg = Outgoing::call(
            BUS_NAME,
            BUS_PATH,
            BUS_NAME,
            "RequestName",
            vec![Arg::Str(name), Arg::U32(flags)],
        );
        self.call(&msg, deadline)?.args("u")?.u32()
    }
}

/// A non-blocking, close-on-exec stream connected to `path` by `deadline`.
fn connect_socket(path: &Path, deadline: Instant) -> Result<UnixStream> {
    use nix::sys::socket::{connect, socket, AddressFamily, SockFlag, SockType, UnixAddr};
    use std::os::fd::AsRawFd;
    let fail = |what: &str, e: nix::errno::Errno| {
        Error::Io(format!(
            "{}: {what}: {}",
            path.display(),
            errno_text(&e.into())
        ))
    };
    let addr = UnixAddr::new(path).map_err(|e| fail("socket address", e))?;
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| fail("socket", e))?;
    loop {
        match connect(fd.as_raw_fd(), &addr) {
            Ok(()) => return Ok(UnixStream::from(fd)),
            // A full backlog: the listener may yet accept.
            Err(nix::errno::Errno::EAGAIN) if Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(nix::errno::Errno::EAGAIN) => {
                return Err(Error::Timeout(format!("{} to accept", path.display())))
            }
            Err(e) => return Err(fail("connect", e)),
        }
    }
}

/// "EPIPE: Broken pipe": the errno's name, which a person can search for,
/// and its text, without Rust's "(os error N)" tail.
fn errno_text(err: &std::io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => {
            let errno = nix::errno::Errno::from_raw(code);
            format!("{errno:?}: {}", errno.desc())
        }
        None => err.to_string(),
    }
}
