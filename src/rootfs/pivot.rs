//! Making the prepared rootfs the container's `/`: pivot_root and detaching
//! the old root, or MS_MOVE + chroot for `--no-pivot`.

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

/// pivot_root refuses a new root whose parent mount is shared: make the
/// mount that holds the rootfs private (only in our mount namespace).
pub fn make_parent_mount_private(rootfs: &Path) -> Result<()> {
    let parent = rootfs.parent().unwrap_or(Path::new("/"));
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").context("read mountinfo")?;
    let mount_point = mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(unescape_mountinfo)
        .filter(|mp| parent.starts_with(mp))
        .max_by_key(|mp| mp.len())
        .unwrap_or_else(|| "/".to_string());
    mount(
        None::<&str>,
        mount_point.as_str(),
        None::<&str>,
        MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .with_context(|| format!("make {mount_point:?} private for pivot_root"))
}

fn unescape_mountinfo(s: &str) -> String {
    let mut out = String::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8) {
                out.push(v as char);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i] as char);
        i += 1;
    }
    out
}

/// `root.readonly`: remount the new `/` read-only, keeping its other flags.
pub fn remount_root_readonly() -> Result<()> {
    let st = nix::sys::statvfs::statvfs("/").context("statvfs \"/\"")?;
    let flags =
        super::mount_flags_of(&st) | MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
    mount(None::<&str>, "/", None::<&str>, flags, None::<&str>)
        .context("remount \"/\" read-only (root.readonly)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape_mountinfo("/a\\040b"), "/a b");
        assert_eq!(unescape_mountinfo("/plain"), "/plain");
    }
}
