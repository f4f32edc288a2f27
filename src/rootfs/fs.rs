//! Paths and mounts inside the rootfs, the helpers every step shares:
//! resolve with pathrs, mount through the resolved fd's /proc/self/fd path,
//! read a mount's flags back.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::mount::MsFlags;
use nix::sys::stat::{Mode, SFlag};
use pathrs::{Handle, InodeType, Root};

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
        // ST_RELATIME (0x1000): nix names it for glibc only.
        (FsFlags::from_bits_retain(0x1000), MsFlags::MS_RELATIME),
    ] {
        if f.contains(from) {
            out |= to;
        }
    }
    out
}

// Making things inside the rootfs. pathrs verifies every step of its own
// mkdir_all/create/remove_file through procfs (some 30 syscalls each, most
// of create's time); here the parent is resolved with one openat2
// (RESOLVE_IN_ROOT: the kernel keeps it inside the root, also against a
// racing rename) and the last component is made on that fd by a call that
// never follows it (mkdirat, mknodat, symlinkat, openat O_CREAT|O_EXCL,
// unlinkat). pathrs does the same where openat2 is missing (ENOSYS) or a
// path has a `..` component.

/// `path` (a directory) resolved in the root, as an O_PATH fd; EAGAIN (a
/// racing rename) is retried.
fn open_in_root(root: &Root, path: &Path) -> nix::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let mut tries = 0;
    loop {
        match nix::fcntl::openat2(root.as_fd(), path, how) {
            Err(Errno::EAGAIN) if tries < 32 => tries += 1,
            other => return other,
        }
    }
}

/// The path's plain components, or None when one is `..` (pathrs's rules).
fn plain_components(path: &Path) -> Option<Vec<&OsStr>> {
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(name) => out.push(name),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// `mkdir -p` inside the rootfs (each new directory `mode`, umask applies).
pub(super) fn mkdir_all(root: &Root, path: impl AsRef<Path>, mode: u32) -> std::io::Result<()> {
    let path = path.as_ref();
    match plain_components(path).map(|parts| mkdir_all_fast(root, &parts, mode)) {
        Some(Err(Errno::ENOSYS)) | None => root
            .mkdir_all(path, &dir_perms(mode))
            .map(drop)
            .map_err(pathrs_io_error),
        Some(result) => result.map_err(std::io::Error::from),
    }
}

/// The absolute path of `parts` inside the root.
fn in_root_path(parts: &[&OsStr]) -> PathBuf {
    std::iter::once(OsStr::new("/"))
        .chain(parts.iter().copied())
        .collect()
}

fn mkdir_all_fast(root: &Root, parts: &[&OsStr], mode: u32) -> nix::Result<()> {
    // Most targets exist already (/proc, /dev, /sys): one openat2.
    match open_in_root(root, &in_root_path(parts)) {
        Err(Errno::ENOENT) => {}
        other => return other.map(drop),
    }
    let mut prefix = PathBuf::from("/");
    let mut parent = open_in_root(root, &prefix)?;
    for part in parts {
        prefix.push(part);
        parent = match open_in_root(root, &prefix) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => {
                match nix::sys::stat::mkdirat(&parent, *part, Mode::from_bits_truncate(mode)) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(err) => return Err(err),
                }
                open_in_root(root, &prefix)?
            }
            Err(err) => return Err(err),
        };
    }
    Ok(())
}

/// The parent resolved in the root and the last component, when the path
/// has a plain last component and no `..`.
fn parent_and_name(root: &Root, path: &Path) -> Option<nix::Result<(OwnedFd, OsString)>> {
    let parts = plain_components(path)?;
    let (name, dirs) = parts.split_last()?;
    Some(open_in_root(root, &in_root_path(dirs)).map(|fd| (fd, name.to_os_string())))
}

/// Create the inode at `path` inside the rootfs; an existing one is
/// EEXIST, never followed or opened.
pub(super) fn create(
    root: &Root,
    path: impl AsRef<Path>,
    inode: &InodeType,
) -> std::io::Result<()> {
    let path = path.as_ref();
    let fast =
        parent_and_name(root, path).map(|r| r.and_then(|(dir, name)| make(&dir, &name, inode)));
    match fast {
        Some(Err(Errno::ENOSYS)) | Some(Err(Errno::ENOTSUP)) | None => {
            root.create(path, inode).map_err(pathrs_io_error)
        }
        Some(result) => result.map_err(std::io::Error::from),
    }
}

/// The inode `name` in `dir`; ENOTSUP for a kind pathrs makes itself.
fn make(dir: &OwnedFd, name: &OsStr, inode: &InodeType) -> nix::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::fs::Permissions| Mode::from_bits_truncate(p.mode());
    match inode {
        InodeType::File(perms) => nix::fcntl::openat(
            dir,
            name,
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_RDONLY,
            mode(perms),
        )
        .map(drop),
        InodeType::Directory(perms) => nix::sys::stat::mkdirat(dir, name, mode(perms)),
        InodeType::Symlink(target) => nix::unistd::symlinkat(target.as_path(), dir, name),
        InodeType::Fifo(perms) => {
            nix::sys::stat::mknodat(dir, name, SFlag::S_IFIFO, mode(perms), 0)
        }
        InodeType::CharacterDevice(perms, dev) => {
            nix::sys::stat::mknodat(dir, name, SFlag::S_IFCHR, mode(perms), *dev)
        }
        InodeType::BlockDevice(perms, dev) => {
            nix::sys::stat::mknodat(dir, name, SFlag::S_IFBLK, mode(perms), *dev)
        }
        _ => Err(Errno::ENOTSUP),
    }
}

/// Remove the non-directory at `path` inside the rootfs (a symlink itself,
/// never its target).
pub(super) fn remove_file(root: &Root, path: impl AsRef<Path>) -> std::io::Result<()> {
    let path = path.as_ref();
    let fast = parent_and_name(root, path).map(|r| {
        r.and_then(|(dir, name)| {
            nix::unistd::unlinkat(
                &dir,
                name.as_os_str(),
                nix::unistd::UnlinkatFlags::NoRemoveDir,
            )
        })
    });
    match fast {
        Some(Err(Errno::ENOSYS)) | None => root.remove_file(path).map_err(pathrs_io_error),
        Some(result) => result.map_err(std::io::Error::from),
    }
}

/// A pathrs error as the io::Error it carries (or one with its text).
fn pathrs_io_error(err: pathrs::error::Error) -> std::io::Error {
    match err.kind() {
        pathrs::error::ErrorKind::OsError(Some(errno)) => std::io::Error::from_raw_os_error(errno),
        _ => std::io::Error::other(err),
    }
}
