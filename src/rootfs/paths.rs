//! `linux.readonlyPaths` and `linux.maskedPaths`. Paths that do not exist
//! in the rootfs are skipped, as the spec allows.

use std::os::fd::{AsFd, AsRawFd};
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

pub fn mask(root: &Root, path: &Path) -> Result<()> {
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
    let null = verified_dev_null(root)?;
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
