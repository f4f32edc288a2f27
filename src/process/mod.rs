//! The container's processes: hull's side of the clone (`spawn`, with the
//! id maps in `idmap`), the sync channel, the init's and an exec'd
//! process's side up to execve, and pidfd-based signalling.

pub mod channel;
pub mod exec;
pub mod exec_path;
pub mod foreground;
pub mod idmap;
pub mod init;
pub mod interrupt;
pub mod pidfd;
pub mod setup;
pub mod spawn;
pub mod terminal;
