//! One entry of `mounts`: create its target inside the rootfs, mount it,
//! then apply remount flags, propagation and recursive attributes.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::mount::MsFlags;
use pathrs::Root;

use super::fs::{dir_perms, fd_path, mount_at, resolve};
use crate::config::MountPlan;
use crate::syscall::mount_setattr;

/// `own_cgroup_ns`: the init has a cgroup namespace of its own, so a fresh
/// cgroup mount shows only its subtree (else its cgroup dir is bound).
/// `idmapped`: the detached id-mapped tree hull made for this mount.
pub fn mount_entry(
    root: &Root,
    m: &MountPlan,
    own_cgroup_ns: bool,
    idmapped: Option<&OwnedFd>,
) -> Result<()> {
    let dest = &m.destination;
    if m.fs_type == "cgroup" {
        return mount_cgroups(root, m, own_cgroup_ns);
    }
    let source_is_file = m.is_bind()
        && m.source
            .as_ref()
            .and_then(|s| std::fs::metadata(s).ok())
            .is_some_and(|meta| !meta.is_dir());
    create_target(root, dest, source_is_file)?;
    let target = resolve(root, dest)?;
    let what = || describe(m);

    if m.is_bind() {
        if let Some(tree) = idmapped {
            crate::syscall::move_mount_onto(tree.as_fd(), target.as_fd())
                .with_context(|| format!("{}: attach the id-mapped tree", what()))?;
        } else {
            let bind = m.options.flags & (MsFlags::MS_BIND | MsFlags::MS_REC);
            mount_at(m.source.as_deref(), &target, None, bind, None, &what)?;
        }
        let extra = m.options.flags - (MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
        if !extra.is_empty() {
            let mounted = resolve(root, dest)?;
            // The source's own flags stay unless an option clears them: a
            // remount replaces them all, and in a user namespace dropping
            // a locked one (nosuid of the host's mount, say) fails.
            let kept = super::fs::current_mount_flags(&mounted)? - m.options.cleared;
            let flags = extra | kept;
            mount_at(
                None,
                &mounted,
                None,
                MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags,
                None,
                &|| format!("remount {:?} with {:?}", dest, flags),
            )?;
        }
    } else {
        let source = m
            .source
            .clone()
            .unwrap_or_else(|| PathBuf::from(&m.fs_type));
        let data = m.options.data_string();
        mount_at(
            Some(&source),
            &target,
            Some(&m.fs_type),
            m.options.flags,
            (!data.is_empty()).then_some(data.as_str()),
            &what,
        )?;
    }
    apply_after_mount(root, m)
}

fn apply_after_mount(root: &Root, m: &MountPlan) -> Result<()> {
    let dest = &m.destination;
    if m.options.propagation.is_empty()
        && m.options.rec_attr_set == 0
        && m.options.rec_attr_clr == 0
    {
        return Ok(());
    }
    let mounted = resolve(root, dest)?;
    for flag in &m.options.propagation {
        nix::mount::mount(
            None::<&str>,
            &fd_path(mounted.as_fd().as_raw_fd()),
            None::<&str>,
            *flag,
            None::<&str>,
        )
        .with_context(|| format!("set propagation {flag:?} on {dest:?}"))?;
    }
    if m.options.rec_attr_set != 0 || m.options.rec_attr_clr != 0 {
        mount_setattr(
            mounted.as_fd().as_raw_fd(),
            c"",
            (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint,
            m.options.rec_attr_set,
            m.options.rec_attr_clr,
        )
        .with_context(|| format!("set recursive mount attributes on {dest:?} (mount_setattr)"))?;
    }
    Ok(())
}

fn describe(m: &MountPlan) -> String {
    match (&m.source, m.is_bind()) {
        (Some(src), true) => format!("bind mount {src:?} on {:?}", m.destination),
        (Some(src), false) => format!("mount {:?} ({}) on {:?}", src, m.fs_type, m.destination),
        (None, _) => format!("mount {} on {:?}", m.fs_type, m.destination),
    }
}

/// Create the mount point: a directory, or an empty file for a file bind.
fn create_target(root: &Root, dest: &Path, file: bool) -> Result<()> {
    if !file {
        super::fs::mkdir_all(root, dest, 0o755)
            .with_context(|| format!("create mount point {dest:?} in the rootfs"))?;
        return Ok(());
    }
    if let Some(parent) = dest.parent() {
        super::fs::mkdir_all(root, parent, 0o755)
            .with_context(|| format!("create mount point {parent:?} in the rootfs"))?;
    }
    // Whatever is there already (a file, a fifo, a device node) is mounted
    // over, never opened: opening a fifo would block, a device would run
    // its driver's open.
    if root.resolve(dest).is_ok() {
        return Ok(());
    }
    match super::fs::create(root, dest, &pathrs::InodeType::File(dir_perms(0o644))) {
        Ok(()) => Ok(()),
        Err(_) if root.resolve(dest).is_ok() => Ok(()),
        Err(err) => Err(err).with_context(|| format!("create mount point {dest:?} in the rootfs")),
    }
}

/// Whether /sys/fs/cgroup is a cgroup2 mount (a unified host).
pub fn host_is_unified() -> bool {
    nix::sys::statfs::statfs("/sys/fs/cgroup")
        .map(|st| st.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        .unwrap_or(false)
}

/// A `cgroup` mount. On a unified host it is cgroup2. On a v1 or hybrid host
/// it is a tmpfs holding one mount per hierarchy the init belongs to: a fresh
/// cgroup mount rooted at the init's cgroup with a new cgroup namespace,
/// otherwise a bind of the init's own cgroup directory.
fn mount_cgroups(root: &Root, m: &MountPlan, own_ns: bool) -> Result<()> {
    let dest = &m.destination;
    super::fs::mkdir_all(root, dest, 0o755)
        .with_context(|| format!("create mount point {dest:?} in the rootfs"))?;
    let flags = m.options.flags - (MsFlags::MS_BIND | MsFlags::MS_REC);
    if host_is_unified() {
        let target = resolve(root, dest)?;
        return mount_at(
            Some(Path::new("cgroup2")),
            &target,
            Some("cgroup2"),
            flags,
            None,
            &|| format!("mount cgroup2 on {dest:?}"),
        );
    }
    let target = resolve(root, dest)?;
    mount_at(
        Some(Path::new("tmpfs")),
        &target,
        Some("tmpfs"),
        flags - MsFlags::MS_RDONLY,
        Some("mode=755"),
        &|| format!("mount tmpfs for cgroups on {dest:?}"),
    )?;
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").context("read /proc/self/cgroup")?;
    let mountinfo =
        std::fs::read_to_string("/proc/self/mountinfo").context("read /proc/self/mountinfo")?;
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (dir_name, fs_type, data) = if id == "0" && ctrls.is_empty() {
            ("unified".to_string(), "cgroup2", String::new())
        } else if let Some(name) = ctrls.strip_prefix("name=") {
            (name.to_string(), "cgroup", format!("none,{ctrls}"))
        } else {
            (ctrls.to_string(), "cgroup", ctrls.to_string())
        };
        let sub = dest.join(&dir_name);
        super::fs::mkdir_all(root, &sub, 0o755)
            .with_context(|| format!("create {sub:?} in the rootfs"))?;
        let target = resolve(root, &sub)?;
        if own_ns {
            mount_at(
                Some(Path::new("cgroup")),
                &target,
                Some(fs_type),
                flags,
                (!data.is_empty()).then_some(data.as_str()),
                &|| format!("mount {fs_type} ({data}) on {sub:?}"),
            )?;
        } else {
            let Some(host_dir) = host_cgroup_dir(&mountinfo, fs_type, ctrls, path) else {
                continue;
            };
            mount_at(
                Some(&host_dir),
                &target,
                None,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None,
                &|| format!("bind cgroup {host_dir:?} on {sub:?}"),
            )?;
            let mounted = resolve(root, &sub)?;
            mount_at(
                None,
                &mounted,
                None,
                MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags,
                None,
                &|| format!("remount cgroup {sub:?}"),
            )?;
        }
        if ctrls.contains(',') {
            for ctrl in ctrls.split(',') {
                let _ = super::fs::create(
                    root,
                    dest.join(ctrl),
                    &pathrs::InodeType::Symlink(PathBuf::from(&dir_name)),
                );
            }
        }
    }
    if flags.contains(MsFlags::MS_RDONLY) {
        let mounted = resolve(root, dest)?;
        mount_at(
            None,
            &mounted,
            None,
            MsFlags::MS_REMOUNT | flags,
            Some("mode=755"),
            &|| format!("remount {dest:?} read-only"),
        )?;
    }
    Ok(())
}

/// The host directory of the cgroup `path` in the v1 hierarchy of `ctrls`.
fn host_cgroup_dir(mountinfo: &str, fs_type: &str, ctrls: &str, path: &str) -> Option<PathBuf> {
    for line in mountinfo.lines() {
        let (pre, post) = line.split_once(" - ")?;
        let mut post_fields = post.split(' ');
        if post_fields.next()? != fs_type {
            continue;
        }
        let super_opts = post_fields.nth(1).unwrap_or("");
        let matches = fs_type == "cgroup2"
            || ctrls
                .split(',')
                .all(|c| super_opts.split(',').any(|o| o == c));
        if !matches {
            continue;
        }
        let fields: Vec<&str> = pre.split(' ').collect();
        let (mnt_root, mount_point) = (fields.get(3)?, fields.get(4)?);
        let rel = path.strip_prefix(mnt_root).unwrap_or(path);
        return Some(Path::new(mount_point).join(rel.trim_start_matches('/')));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_dir_from_mountinfo() {
        let mi = "30 25 0:26 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu\n\
                  31 25 0:27 / /sys/fs/cgroup/memory rw,relatime shared:10 - cgroup cgroup rw,memory\n";
        assert_eq!(
            host_cgroup_dir(mi, "cgroup", "memory", "/a/b"),
            Some(PathBuf::from("/sys/fs/cgroup/memory/a/b"))
        );
        assert_eq!(host_cgroup_dir(mi, "cgroup", "pids", "/"), None);
    }
}
