//! `linux.readonlyPaths` and `linux.maskedPaths`. Paths that do not exist
//! in the rootfs are skipped, as the spec allows.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use anyhow::{bail, Context, Result};
use nix::mount::MsFlags;
use nix::sys::stat::{fstat, SFlag};
use pathrs::Root;

use super::fs::{current_mount_flags, fd_path, is_not_found, mount_at, resolve};

pub fn make_readonly(root: &Root, path: &Path) -> Result<()> {
    let handle = match root.resolve(path) {
        Ok(h) => h,
        Err(err) if is_not_found(&err) => return Ok(()),
        Err(err) => return Err(err).with_context(|| format!("readonly path {path:?}")),
    };
    match readonly_copy(&handle) {
        Ok(tree) => {
            return crate::syscall::move_mount_onto(tree.as_fd(), handle.as_fd())
                .with_context(|| format!("mount readonly path {path:?} read-only"))
        }
        // Before Linux 5.12: a bind and a remount.
        Err(err) if err.raw_os_error() == Some(libc::ENOSYS) => {}
        Err(err) => {
            return Err(err).with_context(|| format!("bind readonly path {path:?} read-only"))
        }
    }
    let src = fd_path(handle.as_fd().as_raw_fd());
    mount_at(
        Some(&src),
        &handle,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
        &|| format!("bind readonly path {path:?}"),
    )?;
    let mounted = resolve(root, path)?;
    let flags = current_mount_flags(&mounted)?
        | MsFlags::MS_BIND
        | MsFlags::MS_REMOUNT
        | MsFlags::MS_RDONLY;
    mount_at(None, &mounted, None, flags, None, &|| {
        format!("remount readonly path {path:?} read-only")
    })
}

/// A detached copy of the mount tree at `handle`, its top mount read-only
/// (as a remount of a bind would make it): attached over the path, it is
/// the bind and remount in three syscalls, with no /proc/self/fd lookup
/// and no second resolve.
fn readonly_copy(handle: &pathrs::Handle) -> std::io::Result<OwnedFd> {
    const MOUNT_ATTR_RDONLY: u64 = 0x1;
    let tree = crate::syscall::open_tree_clone_at(handle.as_fd(), true)?;
    crate::syscall::mount_setattr(
        tree.as_raw_fd(),
        c"",
        libc::AT_EMPTY_PATH as libc::c_uint,
        MOUNT_ATTR_RDONLY,
        0,
    )?;
    Ok(tree)
}

/// `linux.maskedPaths`: directories under a read-only tmpfs, the rest
/// under the container's /dev/null (checked once).
pub fn mask_all(root: &Root, paths: &[std::path::PathBuf]) -> Result<()> {
    let mut null = None;
    for path in paths {
        mask(root, path, &mut null)?;
    }
    Ok(())
}

fn mask(root: &Root, path: &Path, null: &mut Option<pathrs::Handle>) -> Result<()> {
    let handle = match root.resolve(path) {
        Ok(h) => h,
        Err(err) if is_not_found(&err) => return Ok(()),
        Err(err) => return Err(err).with_context(|| format!("masked path {path:?}")),
    };
    let st = fstat(&handle).with_context(|| format!("stat masked path {path:?}"))?;
    if SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT) == SFlag::S_IFDIR {
        return mount_at(
            Some(Path::new("tmpfs")),
            &handle,
            Some("tmpfs"),
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            None,
            &|| format!("mask directory {path:?} with a read-only tmpfs"),
        );
    }
    let null = match null {
        Some(null) => null,
        None => null.insert(verified_dev_null(root)?),
    };
    mount_at(
        Some(&fd_path(null.as_fd().as_raw_fd())),
        &handle,
        None,
        MsFlags::MS_BIND,
        None,
        &|| format!("mask {path:?} with /dev/null"),
    )
}

/// The container's /dev/null, checked to be the real null device (1:3), so
/// a rootfs cannot make a masked path show something else.
fn verified_dev_null(root: &Root) -> Result<pathrs::Handle> {
    let null = root
        .resolve_nofollow("/dev/null")
        .context("open /dev/null to mask paths with")?;
    let st = fstat(&null).context("stat /dev/null")?;
    let is_char = SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT) == SFlag::S_IFCHR;
    if !is_char || libc::major(st.st_rdev) != 1 || libc::minor(st.st_rdev) != 3 {
        bail!(
            "/dev/null in the rootfs is not the null device (char 1:3): refusing to mask with it"
        );
    }
    Ok(null)
}
