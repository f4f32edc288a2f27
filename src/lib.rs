//! hull: a low-level OCI container runtime.
//! The library holds the work; `src/commands` only parse flags and call it.

pub mod cgroups;
pub mod cli;
pub mod commands;
pub mod config;
pub mod container;
pub mod criu;
pub mod error;
pub mod features;
pub mod files;
pub mod heap;
pub mod hooks;
pub mod logging;
pub mod netdev;
pub mod process;
pub mod resctrl;
pub mod rootfs;
pub mod security;
pub mod signal;
pub mod state;
pub mod syscall;
pub mod timing;

/// The OCI runtime spec version this build implements.
pub const OCI_VERSION: &str = "1.3.0";
