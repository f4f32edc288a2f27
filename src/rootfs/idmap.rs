//! Id-mapped bind mounts. hull makes them before the clone, as the host's
//! root: a detached copy of the source (open_tree) gets the mapping of a
//! throwaway user namespace (mount_setattr MOUNT_ATTR_IDMAP); the init,
//! which inherits the fd, attaches it in the rootfs (move_mount).

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use anyhow::{Context, Result};

use crate::config::{IdMap, Plan};
use crate::syscall::{idmap_mount, open_tree_clone};

/// Makes a user namespace with these uid and gid maps, held by its fd.
pub type UsernsWith<'a> = &'a dyn Fn(&[IdMap], &[IdMap]) -> Result<OwnedFd>;

/// The detached, id-mapped trees of the plan's mounts, by mount index;
/// `userns_with` makes a user namespace with the given uid and gid maps
/// (hull's side of the clone does that: `process::idmap`).
pub fn prepare(plan: &Plan, userns_with: UsernsWith<'_>) -> Result<Vec<(usize, OwnedFd)>> {
    let mut out = Vec::new();
    for (i, m) in plan.mounts.iter().enumerate() {
        let Some(idmap) = &m.idmap else { continue };
        let source = m.source.as_deref().unwrap_or(std::path::Path::new(""));
        let what = || {
            format!(
                "mounts[{i}] ({:?}): id-mapped mount of {source:?}",
                m.destination
            )
        };
        let path = CString::new(source.as_os_str().as_bytes()).with_context(what)?;
        let tree = open_tree_clone(&path, m.options.is_recursive_bind())
            .with_context(|| format!("{}: open_tree", what()))?;
        let userns = userns_with(&idmap.uid, &idmap.gid).with_context(what)?;
        idmap_mount(tree.as_fd(), userns.as_fd(), idmap.recursive)
            .with_context(|| format!("{}: mount_setattr MOUNT_ATTR_IDMAP", what()))?;
        out.push((i, tree));
    }
    Ok(out)
}
