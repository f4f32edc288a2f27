//! Device nodes and the standard /dev symlinks, created inside the rootfs.

use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use pathrs::{InodeType, Root};

use super::fs::dir_perms;
use crate::config::DevicePlan;

/// `bind_from_host`: in a user namespace mknod is not allowed; the host's
/// node of the same path is bind-mounted instead, as runc does.
pub fn create_devices(root: &Root, devices: &[DevicePlan], bind_from_host: bool) -> Result<()> {
    for d in devices {
        if bind_from_host {
            bind_device(root, d)
        } else {
            create_device(root, d)
        }
        .with_context(|| format!("create device {:?}", d.path))?;
    }
    Ok(())
}

fn bind_device(root: &Root, d: &DevicePlan) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let host = std::fs::metadata(&d.path).with_context(|| {
        format!(
            "a user namespace cannot make device nodes, and the host has no {:?} to bind",
            d.path
        )
    })?;
    let ft = host.file_type();
    if !(ft.is_char_device() || ft.is_block_device() || ft.is_fifo()) {
        anyhow::bail!("the host's {:?} is not a device node", d.path);
    }
    if let Some(parent) = d.path.parent() {
        super::fs::mkdir_all(root, parent, 0o755)
            .with_context(|| format!("create {parent:?} in the rootfs"))?;
    }
    // A node already in the rootfs is mounted over, never opened.
    if root.resolve_nofollow(&d.path).is_err() {
        super::fs::create(root, &d.path, &InodeType::File(dir_perms(0o644)))
            .with_context(|| format!("create the mount point {:?}", d.path))?;
    }
    let target = super::fs::resolve(root, &d.path)?;
    super::fs::mount_at(
        Some(&d.path),
        &target,
        None,
        nix::mount::MsFlags::MS_BIND,
        None,
        &|| format!("bind the host's {:?}", d.path),
    )
}

fn create_device(root: &Root, d: &DevicePlan) -> Result<()> {
    if let Some(parent) = d.path.parent() {
        super::fs::mkdir_all(root, parent, 0o755)
            .with_context(|| format!("create {parent:?} in the rootfs"))?;
    }
    match super::fs::remove_file(root, &d.path) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("remove {:?}", d.path)),
    }
    let perms = std::fs::Permissions::from_mode(d.mode);
    let dev = libc::makedev(d.major as u32, d.minor as u32);
    let inode = match d.kind {
        libc::S_IFBLK => InodeType::BlockDevice(perms, dev),
        libc::S_IFIFO => InodeType::Fifo(perms),
        _ => InodeType::CharacterDevice(perms, dev),
    };
    super::fs::create(root, &d.path, &inode)
        .with_context(|| format!("make the device node {:?}", d.path))?;
    if d.uid != 0 || d.gid != 0 {
        let handle = root.resolve_nofollow(&d.path)?;
        nix::unistd::fchownat(
            &handle,
            "",
            Some(d.uid.into()),
            Some(d.gid.into()),
            nix::fcntl::AtFlags::AT_EMPTY_PATH,
        )
        .context("chown")?;
        let _ = handle.as_fd().as_raw_fd();
    }
    Ok(())
}

/// /dev/fd, /dev/std{in,out,err}, /dev/ptmx -> pts/ptmx and /dev/core.
pub fn create_dev_symlinks(root: &Root) -> Result<()> {
    let mut links = vec![
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("/dev/core", "/proc/kcore"));
    }
    for (link, target) in links {
        match super::fs::create(root, link, &InodeType::Symlink(PathBuf::from(target))) {
            Ok(()) => {}
            Err(_) if root.resolve_nofollow(link).is_ok() => {}
            Err(err) => return Err(err).with_context(|| format!("create symlink {link:?}")),
        }
    }
    match super::fs::remove_file(root, "/dev/ptmx") {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).context("remove /dev/ptmx"),
    }
    super::fs::create(
        root,
        "/dev/ptmx",
        &InodeType::Symlink(PathBuf::from("pts/ptmx")),
    )
    .context("create symlink /dev/ptmx")?;
    Ok(())
}
