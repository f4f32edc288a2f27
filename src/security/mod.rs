//! Security settings of the container's process. Capabilities for now;
//! seccomp and LSM labels will live beside them.

pub mod capabilities;
pub mod exe_guard;
