//! `linux.rootfsPropagation`, in runc's order: the mount tree gets its base
//! propagation and the mount holding the rootfs is made private *before*
//! the rootfs is bound (a bind taken from a shared mount joins its peer
//! group, and pivot_root refuses a shared mount with EINVAL); the asked
//! propagation is given to the new `/` after the pivot.

use std::path::Path;

use anyhow::{Context, Result};
use nix::mount::{mount, MsFlags};

use crate::syscall::unescape_mountinfo;

/// What `/` of the container's mount namespace gets before the rootfs is
/// bound. shared/rshared keep the host's peer groups (a bidirectional
/// volume is a peer of its source), private and slave are applied as
/// asked, as runc does. Unbindable waits for the pivot: an unbindable
/// mount could not even give the rootfs bind. Returns whether no mount
/// of the tree is shared now (rslave or rprivate, the default rslave
/// among them).
pub fn prepare_tree(asked: MsFlags) -> Result<bool> {
    let base = if asked.contains(MsFlags::MS_UNBINDABLE) {
        MsFlags::MS_SLAVE | MsFlags::MS_REC
    } else {
        asked
    };
    mount(None::<&str>, "/", None::<&str>, base, None::<&str>).with_context(|| {
        format!(
            "linux.rootfsPropagation: make \"/\" of the container's mount namespace {}",
            describe(base)
        )
    })?;
    Ok(base.contains(MsFlags::MS_REC) && base.intersects(MsFlags::MS_SLAVE | MsFlags::MS_PRIVATE))
}

/// Make the mount that holds `rootfs` private when it is shared (only in
/// the container's mount namespace): the rootfs bind then neither
/// propagates to the host nor is shared, which pivot_root requires.
/// Reads the mountinfo, so only called when `prepare_tree` left shared
/// mounts.
pub fn make_rootfs_mount_private(rootfs: &Path) -> Result<()> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
        .context("read /proc/self/mountinfo to find the mount holding the rootfs")?;
    let Some(holder) = holding_mount(&mountinfo, rootfs) else {
        anyhow::bail!("root.path {rootfs:?}: no mount holds it in /proc/self/mountinfo");
    };
    if !holder.shared {
        return Ok(());
    }
    mount(
        None::<&str>,
        holder.mount_point.as_str(),
        None::<&str>,
        MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .with_context(|| {
        format!(
            "make {:?}, the mount holding the rootfs, private",
            holder.mount_point
        )
    })
}

/// Give the container's `/` (after pivot_root or chroot) the asked
/// propagation: `shared:N` shows in its mountinfo for shared.
pub fn apply_to_root(asked: MsFlags) -> Result<()> {
    mount(None::<&str>, "/", None::<&str>, asked, None::<&str>).with_context(|| {
        format!(
            "linux.rootfsPropagation: make the container's \"/\" {}",
            describe(asked)
        )
    })
}

fn describe(flags: MsFlags) -> &'static str {
    let rec = flags.contains(MsFlags::MS_REC);
    match (
        flags.contains(MsFlags::MS_SHARED),
        flags.contains(MsFlags::MS_SLAVE),
        flags.contains(MsFlags::MS_UNBINDABLE),
        rec,
    ) {
        (true, _, _, false) => "shared",
        (true, _, _, true) => "rshared",
        (_, true, _, false) => "slave",
        (_, true, _, true) => "rslave",
        (_, _, true, false) => "unbindable",
        (_, _, true, true) => "runbindable",
        (_, _, _, false) => "private",
        (_, _, _, true) => "rprivate",
    }
}

/// A mount of /proc/self/mountinfo: where, and whether it is shared.
#[derive(Debug, PartialEq, Eq)]
struct Holder {
    mount_point: String,
    shared: bool,
}

/// The mount `path` is on: the longest mount point that is `path` or one
/// of its ancestors, the topmost when several are stacked there (the
/// later line). `path` itself counts: a rootfs that is a mount point (an
/// overlay) is its own holder.
fn holding_mount(mountinfo: &str, path: &Path) -> Option<Holder> {
    let mut best: Option<Holder> = None;
    for line in mountinfo.lines() {
        let Some((pre, _)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = pre.split(' ').collect();
        let Some(mount_point) = fields
            .get(4)
            .map(|m| String::from_utf8_lossy(&unescape_mountinfo(m.as_bytes())).into_owned())
        else {
            continue;
        };
        if !path.starts_with(&mount_point) {
            continue;
        }
        if best
            .as_ref()
            .is_some_and(|b| b.mount_point.len() > mount_point.len())
        {
            continue;
        }
        let shared = fields
            .iter()
            .skip(6)
            .any(|optional| optional.starts_with("shared:"));
        best = Some(Holder {
            mount_point,
            shared,
        });
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
40 27 0:40 / /tmp rw shared:7 master:2 - tmpfs tmpfs rw
41 40 0:41 / /tmp/a\\040b rw - tmpfs tmpfs rw
42 27 0:42 / /tmpfoo rw - tmpfs tmpfs rw
43 40 0:43 / /tmp/over rw - overlay overlay rw
44 43 0:44 / /tmp/over rw shared:9 - overlay overlay rw
";

    #[test]
    fn holder_is_the_longest_ancestor_mount() {
        let holder = |p: &str| holding_mount(MOUNTINFO, Path::new(p)).unwrap();
        assert_eq!(
            holder("/tmp/x/rootfs"),
            Holder {
                mount_point: "/tmp".into(),
                shared: true
            }
        );
        assert_eq!(holder("/tmp/a b/rootfs").mount_point, "/tmp/a b");
        assert!(!holder("/tmp/a b/rootfs").shared);
        // Component-wise: /tmpfoo does not hold /tmp/x.
        assert_eq!(holder("/tmpfoo/r").mount_point, "/tmpfoo");
        assert_eq!(
            holder("/srv/r"),
            Holder {
                mount_point: "/".into(),
                shared: true
            }
        );
    }

    #[test]
    fn a_rootfs_mount_point_holds_itself_topmost_first() {
        let holder = holding_mount(MOUNTINFO, Path::new("/tmp/over")).unwrap();
        assert_eq!(holder.mount_point, "/tmp/over");
        assert!(holder.shared, "the later, stacked mount is the visible one");
    }

    #[test]
    fn propagation_names() {
        for (flags, name) in [
            (MsFlags::MS_SHARED, "shared"),
            (MsFlags::MS_SHARED | MsFlags::MS_REC, "rshared"),
            (MsFlags::MS_SLAVE | MsFlags::MS_REC, "rslave"),
            (MsFlags::MS_PRIVATE, "private"),
            (MsFlags::MS_UNBINDABLE | MsFlags::MS_REC, "runbindable"),
        ] {
            assert_eq!(describe(flags), name);
        }
    }
}
