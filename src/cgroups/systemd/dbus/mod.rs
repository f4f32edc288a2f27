//! A minimal synchronous D-Bus client, just what the systemd driver needs:
//! method calls to systemd's manager, its JobRemoved signal, and nothing
//! else. No threads, no async, no libdbus: one Unix socket polled with a
//! deadline on every read and write.
//!
//! Why hull carries its own (decided when the driver was designed):
//! - zbus starts threads, and hull must stay single-threaded: it later
//!   calls setns(CLONE_NEWUSER)/unshare and clones without exec, which a
//!   multi-threaded process cannot do safely; zbus 6.x is also async-only;
//! - dbus-rs needs libdbus, which always authenticates with its own euid
//!   (refused inside a user namespace, where the bus sees another uid) and
//!   cannot be linked statically with Debian's libsystemd;
//! - rustbus authenticates with getuid() (the same user namespace failure),
//!   keeps its message fields private, has had no release since 2023-08
//!   and would pull a second nix (0.26), thiserror 1 and syn 1.
//!
//! The pieces: `marshal` writes messages, `unmarshal` reads them (every
//! length checked, no panic on any bytes), `address` finds the bus socket,
//! `conn` authenticates and frames, `systemd` holds the typed calls.

pub mod address;
pub mod conn;
pub mod error;
pub mod marshal;
pub mod systemd;
pub mod unmarshal;
#[cfg(test)]
mod wire_tests;

pub use conn::Connection;
pub use error::{Error, Result};
pub use marshal::{Arg, Kind, Outgoing};
pub use unmarshal::{Message, Reader};
