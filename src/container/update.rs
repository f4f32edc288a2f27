//! `update`: new limits written into a running container's cgroup (and
//! schema lines into its resctrl group).

use anyhow::{bail, Context, Result};
use oci_spec::runtime::LinuxResources;

use super::record::{Container, Status};
use crate::cgroups;
use crate::files::DirLock;

pub fn update(container: &Container, resources: &LinuxResources) -> Result<()> {
    let id = container.id();
    let _lock =
        DirLock::lock(&container.dir).with_context(|| format!("lock {:?}", container.dir))?;
    if container.status() == Status::Stopped {
        bail!("cannot update container {id:?}: container not running (it has stopped)");
    }
    let mut warnings = Vec::new();
    cgroups::validate::validate_update(resources, &mut warnings)?;
    for w in warnings.drain(..) {
        crate::logging::warn(&w);
    }
    let cgroup = container.require_cgroup()?;
    // Converted once, by the same backend code as a config's resources.
    let limits = cgroups::convert(cgroup.state().mode, resources, &mut warnings)?;
    for w in warnings {
        crate::logging::warn(&w);
    }
    cgroup.check(&limits)?;
    cgroup
        .update(resources, &limits)
        .with_context(|| format!("update container {id:?}"))
}

/// `update --l3-cache-schema/--mem-bw-schema`: schema lines written to
/// the container's resctrl group (linux.intelRdt).
pub fn update_rdt(container: &Container, lines: &[(&str, String)]) -> Result<()> {
    let id = container.id();
    let _lock =
        DirLock::lock(&container.dir).with_context(|| format!("lock {:?}", container.dir))?;
    if container.status() == Status::Stopped {
        bail!("cannot update container {id:?}: container not running (it has stopped)");
    }
    let Some(rdt) = &container.state.resctrl else {
        bail!("cannot update container {id:?}: it has no linux.intelRdt (Intel RDT is set up at create only)");
    };
    crate::resctrl::update(&crate::resctrl::Kernel, rdt, lines)
        .with_context(|| format!("update container {id:?}"))
}
