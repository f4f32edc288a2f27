//! Security settings of the container's process: capabilities and the
//! seccomp filter.

pub mod capabilities;
pub mod seccomp;
