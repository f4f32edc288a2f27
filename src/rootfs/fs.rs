//! Paths and mounts inside the rootfs, the helpers every step shares:
//! resolve with pathrs, mount through the resolved fd's /proc/self/fd path,
//! read a mount's flags back.

use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::mount::MsFlags;
use pathrs::{Handle, Root};

pub(super) fn dir_perms(mode: u32) -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(mode)
}

/// The /proc/self/fd path of an fd: how mount(2) is pointed at an inode that
/// was resolved safely. Valid before pivot_root, while /proc is the host's.
pub(super) fn fd_path(fd: RawFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{fd}"))
}

/// Resolve `path` inside the rootfs, following symlinks only within it.
pub(super) fn resolve(root: &Root, path: &Path) -> Result<Handle> {
    root.resolve(path)
        .with_context(|| format!("resolve {path:?} inside the rootfs"))
}

/// Whether a pathrs error is "no such file or directory".
pub(super) fn is_not_found(err: &pathrs::error::Error) -> bool {
    matches!(
        err.kind(),
        pathrs::error::ErrorKind::OsError(Some(libc::ENOENT))
    )
}

/// mount(2) with an error naming what and where.
pub(super) fn mount_at(
    source: Option<&Path>,
    target: &Handle,
    fs_type: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
    what: &dyn Fn() -> String,
) -> Result<()> {
    let target_path = fd_path(target.as_fd().as_raw_fd());
    nix::mount::mount(source, &target_path, fs_type, flags, data).with_context(what)
}

/// The per-mount flags (nosuid, nodev, …) the mount of `handle` has now, so a
/// remount keeps them (dropping a locked flag fails in a user namespace).
pub(super) fn current_mount_flags(handle: &Handle) -> Result<MsFlags> {
    let st = nix::sys::statvfs::fstatvfs(handle).with_context(|| {
        format!(
            "statvfs {:?}",
            std::fs::read_link(fd_path(handle.as_fd().as_raw_fd())).unwrap_or_default()
        )
    })?;
    Ok(mount_flags_of(&st))
}

/// The per-mount flags of a statvfs result, as mount(2) flags.
pub(super) fn mount_flags_of(st: &nix::sys::statvfs::Statvfs) -> MsFlags {
    use nix::sys::statvfs::FsFlags;
    let f = st.flags();
    let mut out = MsFlags::empty();
    for (from, to) in [
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(from) {
            out |= to;
        }
    }
    out
}
