//! Making the prepared rootfs the container's `/`: pivot_root and detaching
//! the old root, MS_MOVE + chroot for `--no-pivot`, or a plain chroot when
//! the container shares hull's mount namespace.

use std::os::fd::AsFd;
use std::path::Path;

use anyhow::{Context, Result};
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;
use nix::unistd::{chdir, chroot, fchdir, pivot_root as sys_pivot_root};

pub fn pivot_root(rootfs: &Path) -> Result<()> {
    let flags = OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC;
    let old_root = open("/", flags, Mode::empty()).context("open \"/\"")?;
    let new_root =
        open(rootfs, flags, Mode::empty()).with_context(|| format!("open {rootfs:?}"))?;
    fchdir(new_root.as_fd()).with_context(|| format!("chdir to {rootfs:?}"))?;
    // pivot_root(".", ".") stacks the old root on top of the new one, so no
    // directory for it is needed inside the rootfs.
    sys_pivot_root(".", ".").with_context(|| format!("pivot_root to {rootfs:?}"))?;
    fchdir(old_root.as_fd()).context("chdir to the old root")?;
    // The unmount must not propagate to the host's mounts.
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .context("make the old root a slave")?;
    umount2(".", MntFlags::MNT_DETACH).context("detach the old root")?;
    chdir("/").context("chdir to the new root")?;
    Ok(())
}

pub fn move_root(rootfs: &Path) -> Result<()> {
    chdir(rootfs).with_context(|| format!("chdir to {rootfs:?}"))?;
    // A mount moved onto a shared "/" would propagate to its peers: the
    // host's "/" under rshared. A slave receives but never sends.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_SLAVE,
        None::<&str>,
    )
    .context("make \"/\" a slave before moving the rootfs onto it")?;
    mount(
        Some(rootfs),
        "/",
        None::<&str>,
        MsFlags::MS_MOVE,
        None::<&str>,
    )
    .with_context(|| format!("move {rootfs:?} to \"/\""))?;
    chroot(".").with_context(|| format!("chroot to {rootfs:?}"))?;
    chdir("/").context("chdir to the new root")?;
    Ok(())
}

/// `root.readonly`: remount the new `/` read-only, keeping its other flags.
pub fn remount_root_readonly() -> Result<()> {
    let st = nix::sys::statvfs::statvfs("/").context("statvfs \"/\"")?;
    let flags = super::fs::mount_flags_of(&st)
        | MsFlags::MS_BIND
        | MsFlags::MS_REMOUNT
        | MsFlags::MS_RDONLY;
    mount(None::<&str>, "/", None::<&str>, flags, None::<&str>)
        .context("remount \"/\" read-only (root.readonly)")
}

/// Without a mount namespace of its own the container only gets root.path
/// as its root directory (runc does the same): nothing is mounted or
/// moved among the host's mounts.
pub fn chroot_into(rootfs: &Path) -> Result<()> {
    chdir(rootfs).with_context(|| format!("chdir to {rootfs:?}"))?;
    chroot(".").with_context(|| format!("chroot to {rootfs:?}"))?;
    chdir("/").context("chdir to the new root")?;
    Ok(())
}
