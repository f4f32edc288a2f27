//! Containers on disk and their lifecycle operations, one file each;
//! `record` holds the container as stored and what the operations share.
//! Status is derived when read: the stored state is only a hint.

mod checkpoint;
mod create;
mod delete;
mod events;
mod exec;
mod kill;
mod pause;
mod ps;
mod record;
mod restore;
mod start;
mod update;

pub use checkpoint::{checkpoint, CheckpointOptions, CriuOptions};
pub use create::{create, CreateOptions, Created};
pub use delete::{delete, destroy};
pub use events::{events, EventsOptions};
pub use exec::{exec, ExecOptions};
pub use kill::kill;
pub use pause::{pause, resume};
pub use ps::{ps, PsFormat};
pub use record::{Container, Status};
pub use restore::{restore, RestoreOptions, Restored};
pub use start::{start, EarlyRelease};
pub use update::{update, update_rdt};
