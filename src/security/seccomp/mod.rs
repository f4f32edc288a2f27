//! `linux.seccomp`: the profile checked into a `SeccompPlan` before anything
//! exists (`plan`), built into a libseccomp filter in the container's
//! process and loaded there (`build`), and (with `listenerPath`) its notify
//! fd handed to the listener (`notify`). `names` lists what a profile may
//! name, for `features` too.

mod build;
mod names;
mod notify;
mod plan;

use std::path::Path;

use anyhow::{Context, Result};
use oci_spec::runtime::LinuxSeccomp;

pub use build::{build, Filter};
pub use names::{
    library_version, supported_flags, usable_arches, ACTIONS, ARCHES, FLAGS, OPERATORS,
};
pub use notify::{forward, send_to_listener};
pub use plan::{plan, plan_with_flags, Listener, SeccompPlan};

/// The profile kept in the container's state dir: `exec` applies the
/// container's filter as it was at create, whatever the bundle says now.
pub const SAVED_FILE: &str = "seccomp.json";

pub fn save(dir: &Path, spec: &LinuxSeccomp) -> Result<()> {
    let bytes = serde_json::to_vec(spec).context("encode linux.seccomp")?;
    crate::files::write_atomic(&dir.join(SAVED_FILE), &bytes)
        .with_context(|| format!("save the seccomp profile in {dir:?}"))
}

/// The saved profile of the container in `dir`, planned again.
pub fn load_saved(dir: &Path) -> Result<Option<SeccompPlan>> {
    let path = dir.join(SAVED_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("read {path:?}")),
    };
    let spec: LinuxSeccomp =
        serde_json::from_slice(&bytes).with_context(|| format!("parse {path:?}"))?;
    plan(&spec, &mut Vec::new()).map(Some)
}
