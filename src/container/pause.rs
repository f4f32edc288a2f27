//! `pause` and `resume`: the container's cgroup frozen and thawed
//! (v1 freezer.state, v2 cgroup.freeze).

use anyhow::{bail, Context, Result};

use super::record::{Container, Status};
use crate::files::DirLock;

pub fn pause(container: &Container) -> Result<()> {
    let id = container.id();
    let _lock =
        DirLock::lock(&container.dir).with_context(|| format!("lock {:?}", container.dir))?;
    match container.status() {
        Status::Running | Status::Created => {}
        Status::Paused => bail!("cannot pause container {id:?}: it is already paused"),
        other => bail!("cannot pause container {id:?}: container not running ({other})"),
    }
    container
        .require_cgroup()?
        .freeze()
        .with_context(|| format!("pause container {id:?}"))
}

pub fn resume(container: &Container) -> Result<()> {
    let id = container.id();
    let _lock =
        DirLock::lock(&container.dir).with_context(|| format!("lock {:?}", container.dir))?;
    match container.status() {
        Status::Paused => {}
        other => bail!("cannot resume container {id:?}: container not paused ({other})"),
    }
    container
        .require_cgroup()?
        .thaw()
        .with_context(|| format!("resume container {id:?}"))
}
