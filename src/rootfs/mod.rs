//! The container's filesystem: the rootfs bind, `mounts`, devices, masked
//! and read-only paths, then pivot_root and the root's propagation. Runs in
//! the init, in the container's mount namespace; without one, `mounts`,
//! devices and the console are made below root.path in hull's, then chroot.
//!
//! Every path inside the rootfs is resolved with pathrs (openat2
//! RESOLVE_IN_ROOT, or its safe fallback), never by joining strings, and
//! mounts target the resolved fd through /proc/self/fd, so a symlink in the
//! rootfs can never send a mount to the host.

pub mod console;
mod devices;
mod fs;
pub mod host_mounts;
pub mod idmap;
mod mounts;
mod paths;
mod pivot;
mod propagation;

use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::Path;

use anyhow::{bail, Context, Result};
use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use pathrs::Root;

use crate::config::{NamespacePlan, Plan};

/// Make root.path the container's root, as its mount namespace allows:
/// - a new one, or one joined by path whose root is not root.path yet:
///   the rootfs is set up in it (`prepare`) and `/` made read-only if asked;
/// - one joined by path whose root already is root.path (another
///   container's): nothing is mounted, the tree is shared as it is;
/// - none (hull's own is shared): `mounts`, devices and the console are
///   made below root.path there (create claimed it, see `host_mounts`),
///   then root.path is chrooted into.
///
/// `between` runs after the mounts and before masked/read-only paths (hull
/// runs the create hooks and writes sysctls there, as runc does). Returns
/// the pty when `process.terminal` asks for one.
/// `park`: a detached mount of the init's (its procfs) that may be
/// attached beneath the old root's /proc, to go with it at the pivot.
pub fn enter(
    plan: &Plan,
    no_pivot: bool,
    idmapped: &[(usize, OwnedFd)],
    park: Option<BorrowedFd<'_>>,
    between: impl FnOnce() -> Result<()>,
) -> Result<Option<console::Pty>> {
    match plan.namespace(CloneFlags::CLONE_NEWNS) {
        None => enter_without_mount_namespace(plan, idmapped, between),
        Some(NamespacePlan { path: Some(p), .. }) if root_is_rootfs(plan)? => {
            enter_joined_tree(plan, p, between)?;
            Ok(None)
        }
        Some(ns) => {
            if let (Some(p), false) = (&ns.path, plan.rootfs.is_dir()) {
                bail!(
                    "root.path {:?}: not a directory in the joined mount namespace {p:?}, where the rootfs is set up",
                    plan.rootfs
                );
            }
            // Only in a mount namespace of the init's own.
            let park = park.filter(|_| ns.path.is_none() && !no_pivot);
            let pty = prepare(plan, no_pivot, idmapped, park, between)?;
            if plan.rootfs_readonly {
                pivot::remount_root_readonly()?;
            }
            Ok(pty)
        }
    }
}

/// Everything up to and including pivot_root (or chroot with `no_pivot`),
/// then the asked propagation on the new `/`.
/// `idmapped` holds the id-mapped trees hull made, by mount index.
fn prepare(
    plan: &Plan,
    no_pivot: bool,
    idmapped: &[(usize, OwnedFd)],
    park: Option<BorrowedFd<'_>>,
    between: impl FnOnce() -> Result<()>,
) -> Result<Option<console::Pty>> {
    let rootfs = &plan.rootfs;
    let none_shared = propagation::prepare_tree(plan.rootfs_propagation)?;
    if !none_shared {
        propagation::make_rootfs_mount_private(rootfs)?;
    } else if let Some(procfs) = park {
        // Nothing propagates from here to the host. Hidden under /proc
        // (whose lookups it does not change), it is unmounted with the
        // old root; where the kernel refuses, it stays detached. So does
        // the exe guard's read-only bind of hull, over a file of it.
        if crate::syscall::move_mount_beneath(procfs, c"/proc").is_ok() {
            if let Some(exe) = crate::security::exe_guard::exe_tree() {
                let _ = crate::syscall::move_mount_to(exe, procfs, c"uptime");
            }
        }
    }
    nix::mount::mount(
        Some(rootfs.as_path()),
        rootfs.as_path(),
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .with_context(|| format!("bind rootfs {rootfs:?} onto itself"))?;

    let root = Root::open(rootfs).with_context(|| format!("open rootfs {rootfs:?}"))?;
    let pty = mount_inside(&root, plan, idmapped)?;

    between()?;

    for path in &plan.readonly_paths {
        paths::make_readonly(&root, path)?;
    }
    paths::mask_all(&root, &plan.masked_paths)?;
    drop(root);
    if no_pivot {
        pivot::move_root(rootfs)?;
    } else {
        pivot::pivot_root(rootfs)?;
    }
    propagation::apply_to_root(plan.rootfs_propagation)?;
    Ok(pty)
}

/// Whether the root of the mount namespace the init joined is root.path
/// (the same directory hull saw at create).
fn root_is_rootfs(plan: &Plan) -> Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/").context("stat the root of the joined mount namespace")?;
    Ok((root.dev(), root.ino()) == plan.rootfs_id)
}

/// The joined namespace's root is root.path already, set up by whoever
/// made that namespace (another container): it is shared as it is. What
/// would change it (mounts, masking, a read-only `/`, …) is refused.
fn enter_joined_tree(plan: &Plan, ns: &Path, between: impl FnOnce() -> Result<()>) -> Result<()> {
    if let Some(field) = plan.mount_settings.first() {
        bail!(
            "{field}: the mount namespace {ns:?} is joined with root.path already its root, and hull changes nothing in it (leave {field} out)"
        );
    }
    let root = Root::open("/").context("open the root of the joined mount namespace")?;
    create_cwd(&root, plan)?;
    drop(root);
    between()
}

/// `mounts` in order, devices, the console and process.cwd, every target
/// resolved inside `root`: what a container gets with a mount namespace
/// of its own or without (then below root.path in hull's).
fn mount_inside(
    root: &Root,
    plan: &Plan,
    idmapped: &[(usize, OwnedFd)],
) -> Result<Option<console::Pty>> {
    let own_cgroup_ns = plan.has_new_namespace(CloneFlags::CLONE_NEWCGROUP);
    for (i, m) in plan.mounts.iter().enumerate() {
        let tree = idmapped.iter().find(|(at, _)| *at == i).map(|(_, fd)| fd);
        mounts::mount_entry(root, m, own_cgroup_ns, tree)?;
    }
    if plan.setup_dev {
        devices::create_devices(root, &plan.devices, plan.in_user_namespace())?;
        devices::create_dev_symlinks(root)?;
    }
    let pty = if plan.process.terminal {
        Some(console::open(root)?)
    } else {
        None
    };
    create_cwd(root, plan)?;
    Ok(pty)
}

/// No mount namespace of its own: the mounts are made below root.path in
/// hull's mount namespace (create claimed root.path and recorded it for
/// delete first), devices in a /dev tmpfs or on disk, then the init
/// chroots into root.path. `config` refused what would reach beyond it
/// (masked/read-only paths, a read-only root, rootfsPropagation).
fn enter_without_mount_namespace(
    plan: &Plan,
    idmapped: &[(usize, OwnedFd)],
    between: impl FnOnce() -> Result<()>,
) -> Result<Option<console::Pty>> {
    let rootfs = &plan.rootfs;
    let root = Root::open(rootfs).with_context(|| format!("open rootfs {rootfs:?}"))?;
    let pty = mount_inside(&root, plan, idmapped)?;
    between()?;
    drop(root);
    pivot::chroot_into(rootfs)?;
    Ok(pty)
}

fn create_cwd(root: &Root, plan: &Plan) -> Result<()> {
    let cwd = &plan.process.cwd;
    fs::mkdir_all(root, cwd, 0o755)
        .with_context(|| format!("create process.cwd {cwd:?} in the rootfs"))?;
    Ok(())
}
