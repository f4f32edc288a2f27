//! The mounts of a container without a mount namespace: they are made below
//! root.path in hull's own (the host's) mount namespace, so create claims
//! root.path before any exists and delete removes every mount below it.
//!
//! The claim: root.path is locked (flock, held by create until it ends and
//! by the init until its mounts are made, and by every removal), nothing
//! may be mounted below it yet, and `HostMounts` (root.path, hull's mount
//! namespace, the mounts *at* root.path, such as an engine's overlay) is in
//! cleanup.json before the clone. From then on every mount below root.path,
//! or at it but not kept, is the container's: `remove` unmounts them
//! (deepest first, MNT_DETACH), each reached by resolving its mount point
//! inside root.path and checked by mount id before it is detached.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::mount::{umount2, MntFlags};
use pathrs::Root;
use serde::{Deserialize, Serialize};

use super::fs::fd_path;
use crate::config::Plan;
use crate::files::DirLock;
use crate::syscall::unescape_mountinfo;

/// What delete needs to find the container's mounts: written before they
/// are made, kept in cleanup.json and state.json.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HostMounts {
    /// root.path, canonical: every mount below it is the container's.
    pub rootfs: PathBuf,
    /// The inode of hull's mount namespace, where the mounts are.
    pub mnt_ns: u64,
    /// The mounts at root.path itself before create: never unmounted.
    #[serde(default)]
    pub kept: Vec<KeptMount>,
}

/// A mount at root.path that was there before create (an overlay made by
/// the engine). Its id alone could be reused; with its device and root it
/// is not mistaken for a mount of the container's.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeptMount {
    pub id: u32,
    pub dev: String,
    pub root: String,
}

/// root.path claimed for a create: the lock and what was recorded.
pub struct Claim {
    pub record: HostMounts,
    pub lock: DirLock,
}

impl Claim {
    /// The lock's fd, for the init to hold until its mounts are made.
    pub fn lock_fd(&self) -> BorrowedFd<'_> {
        self.lock.as_fd()
    }
}

/// Claim root.path when the container will have mounts among hull's own.
/// Refused while anything is mounted below root.path: it may be another
/// container's, whose delete would then take this one's (or the reverse).
pub fn claim(plan: &Plan) -> Result<Option<Claim>> {
    if !plan.mounts_on_host() {
        return Ok(None);
    }
    let rootfs = &plan.rootfs;
    let lock = DirLock::lock(rootfs).with_context(|| format!("root.path {rootfs:?}: lock"))?;
    let mounts = read_mountinfo()?;
    let below: Vec<&MountLine> = mounts
        .iter()
        .filter(|m| m.point != *rootfs && m.point.starts_with(rootfs))
        .collect();
    if let Some(first) = below.first() {
        let more = match below.len() {
            1 => String::new(),
            n => format!(" and {} more", n - 1),
        };
        bail!(
            "mounts: root.path {rootfs:?} has mounts below it already ({:?}{more}): without a \"mount\" namespace hull mounts there, in its own mount namespace, and unmounts everything below root.path at delete (unmount them or delete the container they belong to first, or give this one a \"mount\" namespace)",
            first.point
        );
    }
    let kept = mounts
        .iter()
        .filter(|m| m.point == *rootfs)
        .map(|m| KeptMount {
            id: m.id,
            dev: m.dev.clone(),
            root: m.root.clone(),
        })
        .collect();
    let record = HostMounts {
        rootfs: rootfs.clone(),
        mnt_ns: own_mount_namespace()?,
        kept,
    };
    Ok(Some(Claim { record, lock }))
}

/// Rounds of `remove`: each detaches what it can reach; only a mount
/// hidden under another needs one more, or a process still mounting.
const MAX_PASSES: usize = 1000;

/// `remove` under root.path's lock, taken here (delete). A root.path
/// that is gone has nothing mounted below it.
pub fn remove_locked(record: &HostMounts) -> Result<()> {
    let rootfs = &record.rootfs;
    let lock = match DirLock::lock(rootfs) {
        Ok(lock) => lock,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err).with_context(|| format!("root.path {rootfs:?}: lock")),
    };
    remove(record, &lock)
}

/// Unmount every mount of the container's: below root.path, or at it and
/// not kept; deepest first, each detached only once its mount point,
/// resolved inside root.path, is shown to be that very mount (by id). A
/// mount hidden under another is reached once the upper one is gone.
pub fn remove(record: &HostMounts, _lock: &DirLock) -> Result<()> {
    let rootfs = &record.rootfs;
    let ns = own_mount_namespace()?;
    if ns != record.mnt_ns {
        bail!(
            "the mounts below root.path {rootfs:?} are in mount namespace mnt:[{}], and this runs in mnt:[{ns}]: run it there",
            record.mnt_ns
        );
    }
    for _ in 0..MAX_PASSES {
        let mounts = read_mountinfo()?;
        let ours = containers_mounts(&mounts, record);
        if ours.is_empty() {
            return Ok(());
        }
        let root = Root::open(rootfs).with_context(|| format!("open root.path {rootfs:?}"))?;
        let mut detached = 0;
        let mut last_error = None;
        for m in &ours {
            match detach(&root, rootfs, m) {
                Ok(true) => detached += 1,
                Ok(false) => {}
                Err(err) => last_error = Some(err),
            }
        }
        if detached == 0 {
            let points: Vec<&Path> = ours.iter().map(|m| m.point.as_path()).collect();
            let why = match last_error {
                Some(err) => format!("{err:#}"),
                None => "not reachable inside root.path".to_string(),
            };
            bail!("unmount {points:?} (below root.path {rootfs:?}): {why}");
        }
    }
    bail!("below root.path {rootfs:?}: mounts are still being made after {MAX_PASSES} rounds of unmounting")
}

/// Detach `m` if its mount point, resolved inside the rootfs, is the root
/// of that mount; false when another mount hides it (or the path no
/// longer leads there).
fn detach(root: &Root, rootfs: &Path, m: &MountLine) -> Result<bool> {
    let Ok(inside) = m.point.strip_prefix(rootfs) else {
        return Ok(false);
    };
    let Ok(handle) = root.resolve_nofollow(Path::new("/").join(inside)) else {
        return Ok(false);
    };
    if mount_id(handle.as_fd())? != m.id {
        return Ok(false);
    }
    umount2(&fd_path(handle.as_fd().as_raw_fd()), MntFlags::MNT_DETACH)
        .with_context(|| format!("unmount {:?}", m.point))?;
    Ok(true)
}

/// The container's mounts in `mounts`, in the order to detach them:
/// deepest first and, at one mount point, the upper (later) first.
fn containers_mounts<'a>(mounts: &'a [MountLine], record: &HostMounts) -> Vec<&'a MountLine> {
    let mut ours: Vec<(usize, &MountLine)> = mounts
        .iter()
        .enumerate()
        .filter(|(_, m)| {
            if m.point == record.rootfs {
                !record
                    .kept
                    .iter()
                    .any(|k| k.id == m.id && k.dev == m.dev && k.root == m.root)
            } else {
                m.point.starts_with(&record.rootfs)
            }
        })
        .collect();
    ours.sort_by_key(|(i, m)| std::cmp::Reverse((m.point.components().count(), *i)));
    ours.into_iter().map(|(_, m)| m).collect()
}

/// One line of /proc/self/mountinfo, as far as needed here.
#[derive(Debug)]
struct MountLine {
    id: u32,
    /// major:minor
    dev: String,
    /// The mount's root within its filesystem.
    root: String,
    point: PathBuf,
}

fn read_mountinfo() -> Result<Vec<MountLine>> {
    let text = std::fs::read("/proc/self/mountinfo").context("read /proc/self/mountinfo")?;
    Ok(parse_mountinfo(&text))
}

fn parse_mountinfo(text: &[u8]) -> Vec<MountLine> {
    text.split(|b| *b == b'\n')
        .filter_map(|line| {
            let mut fields = line.split(|b| *b == b' ');
            let id = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
            let _parent = fields.next()?;
            let dev = String::from_utf8_lossy(fields.next()?).into_owned();
            let root = unescape_mountinfo(fields.next()?);
            let point = PathBuf::from(std::ffi::OsString::from_vec(unescape_mountinfo(
                fields.next()?,
            )));
            Some(MountLine {
                id,
                dev,
                root: String::from_utf8_lossy(&root).into_owned(),
                point,
            })
        })
        .collect()
}

/// The id of the mount an fd is on (`mnt_id` of its fdinfo).
fn mount_id(fd: BorrowedFd<'_>) -> Result<u32> {
    let path = format!("/proc/self/fdinfo/{}", fd.as_raw_fd());
    let text = std::fs::read_to_string(&path).with_context(|| format!("read {path}"))?;
    text.lines()
        .find_map(|line| line.strip_prefix("mnt_id:"))
        .and_then(|id| id.trim().parse().ok())
        .with_context(|| format!("{path}: no mnt_id"))
}

/// The inode of hull's mount namespace.
fn own_mount_namespace() -> Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata("/proc/self/ns/mnt").context("stat /proc/self/ns/mnt")?;
    Ok(meta.ino())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &[u8] = b"\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
40 27 0:40 / /b/rootfs rw - overlay overlay rw
41 40 0:41 / /b/rootfs/proc rw - proc proc rw
42 40 0:42 / /b/rootfs/dev rw - tmpfs tmpfs rw
43 42 0:43 / /b/rootfs/dev/pts rw - devpts devpts rw
44 40 0:44 / /b/rootfs/dev rw - tmpfs tmpfs rw
45 27 0:45 / /b/rootfs2/proc rw - proc proc rw
46 40 0:46 /x /b/rootfs rw - tmpfs tmpfs rw
47 40 0:47 / /b/rootfs/a\\040b rw - tmpfs tmpfs rw
";

    fn record(kept: Vec<KeptMount>) -> HostMounts {
        HostMounts {
            rootfs: PathBuf::from("/b/rootfs"),
            mnt_ns: 1,
            kept,
        }
    }

    fn ids(mounts: &[&MountLine]) -> Vec<u32> {
        mounts.iter().map(|m| m.id).collect()
    }

    #[test]
    fn the_containers_mounts_deepest_and_uppermost_first() {
        let mounts = parse_mountinfo(MOUNTINFO);
        let overlay = KeptMount {
            id: 40,
            dev: "0:40".into(),
            root: "/".into(),
        };
        let ours = containers_mounts(&mounts, &record(vec![overlay]));
        // Never the kept overlay, the host's "/" or a sibling rootfs2.
        assert_eq!(ids(&ours), vec![43, 47, 44, 42, 41, 46]);
        assert_eq!(ours[1].point, Path::new("/b/rootfs/a b"));
    }

    #[test]
    fn a_reused_id_is_not_kept() {
        let mounts = parse_mountinfo(MOUNTINFO);
        // Id 40 was the overlay's; the mount with that id now is another.
        let other = KeptMount {
            id: 40,
            dev: "0:99".into(),
            root: "/".into(),
        };
        let ours = containers_mounts(&mounts, &record(vec![other]));
        assert!(ids(&ours).contains(&40), "{ours:?}");
    }

    #[test]
    fn escapes_are_undone() {}
}
