//! Cgroups, one suite over three backends: this host's cgroup v1, the "v2
//! view" (a private mount namespace where /sys/fs/cgroup is the host's
//! cgroup2 hierarchy) and the qemu VM's cgroup v2 (tests/vm_cgroup_v2.rs).
//!
//! - `cgroups/checks.rs`: the limit checks, written once (needs, resources,
//!   expected files per cgroup version, updates), exported to the VM too;
//! - `cgroups/backend.rs`: a backend on this host (runtime, limit files,
//!   what it supports);
//! - `cgroups/suite.rs`: the checks and the limits that bite, per backend;
//! - `cgroups/host_v1.rs`, `cgroups/v2_view.rs`: what only one backend has.

mod common;

#[path = "cgroups/backend.rs"]
mod backend;
#[path = "cgroups/checks.rs"]
mod checks;
#[path = "cgroups/host_v1.rs"]
mod host_v1;
#[path = "cgroups/suite.rs"]
mod suite;
#[path = "cgroups/v2_view.rs"]
mod v2_view;
