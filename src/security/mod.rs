//! Security settings of the container's process: capabilities, the
//! seccomp filter, and its other kernel attributes (personality, I/O
//! priority, scheduler, CPU affinity) with the LSM fields' checks.

pub mod attrs;
pub mod capabilities;
pub mod exe_guard;
pub mod mempolicy;
pub mod seccomp;
