//! The client's errors: the socket, the auth, bad bytes, an error reply
//! (its name and message), or a deadline passed.

/// What went wrong talking D-Bus, in words a person reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The socket failed or closed: `what: why`.
    #[error("{0}")]
    Io(String),
    /// The bus refused us: the auth conversation's last line.
    #[error("authentication refused: {0}")]
    Auth(String),
    /// Bytes that are not the D-Bus message we expected (or could send).
    #[error("bad D-Bus message: {0}")]
    Protocol(String),
    /// The peer answered with an error: its name and its message.
    #[error("{name}: {message}")]
    Method { name: String, message: String },
    /// A systemd job ended, but not with "done".
    #[error("job {job} ended with result {result:?}")]
    Job { job: String, result: String },
    /// Nothing came before the deadline: what we waited for.
    #[error("timed out waiting for {0}")]
    Timeout(String),
}

impl Error {
    /// Whether this is the peer's error `name` (e.g.
    /// "org.freedesktop.systemd1.NoSuchUnit").
    pub fn is_method_error(&self, name: &str) -> bool {
        matches!(self, Error::Method { name: n, .. } if n == name)
    }
}

pub type Result<T> = std::result::Result<T, Error>;
