//! The container's processes: the clone that creates the init, the sync
//! channel to it, the init's own setup, and pidfd-based signalling.

pub mod channel;
pub mod exec_path;
pub mod foreground;
pub mod init;
pub mod interrupt;
pub mod pidfd;
pub mod setup;
pub mod terminal;
