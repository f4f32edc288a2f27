//! `linux.seccomp`: the profile checked into a `SeccompPlan` before anything
//! exists (`plan`), built into a libseccomp filter in the container's
//! process and loaded there (`build`), and (with `listenerPath`) its notify
//! fd handed to the listener (`notify`). `names` lists what a profile may
//! name, for `features` too.

mod build;
mod libc_compat;
mod names;
mod notify;
mod plan;

use std::path::Path;

use anyhow::{Context, Result};
use oci_spec::runtime::LinuxSeccomp;

pub use build::{build, Filter};
pub use libc_compat::keep_memory;
pub use names::{
    library_version, supported_flags, usable_arches, ACTIONS, ARCHES, FLAGS, OPERATORS,
};
pub use notify::{forward, send_to_listener};
pub use plan::{plan, plan_with_flags, Listener, SeccompPlan};

/// Where containers created before the profile moved into `state.json`
/// kept it. `exec` still reads it: a container made by an older hull must
/// not lose its filter for the processes run in it after an upgrade.
const LEGACY_FILE: &str = "seccomp.json";

/// The profile an older hull left in the container's state dir `dir`, if
/// any.
pub fn load_legacy(dir: &Path) -> Result<Option<LinuxSeccomp>> {
    let path = dir.join(LEGACY_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("read {path:?}")),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .with_context(|| format!("parse {path:?}"))
}
