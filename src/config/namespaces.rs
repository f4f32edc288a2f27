//! Namespaces in config.json: which ones a container gets (new or joined),
//! the id maps of a user namespace, time offsets, and which sysctls a
//! namespace makes safe to set.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{bail, Result};
use nix::sched::CloneFlags;
use oci_spec::runtime::LinuxNamespaceType;

use super::{Host, IdmapPlan, MountPlan, NamespacePlan};
use crate::error::describe_io;

/// One line of a uid or gid map: `size` ids from `container` on, seen as
/// `host` on on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

impl IdMap {
    /// The host id of container id `id`, when this line maps it.
    pub fn to_host(&self, id: u32) -> Option<u32> {
        (id >= self.container && id - self.container < self.size)
            .then(|| self.host + (id - self.container))
    }
}

/// The text for /proc/PID/uid_map or gid_map.
pub fn id_map_text(maps: &[IdMap]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container, m.host, m.size))
        .collect()
}

/// The host id container id `id` maps to; `id` itself without a map.
pub fn host_id(maps: &[IdMap], id: u32) -> Option<u32> {
    if maps.is_empty() {
        return Some(id);
    }
    maps.iter().find_map(|m| m.to_host(id))
}

/// The clone flag of a time namespace (not in nix's CloneFlags).
pub const CLONE_NEWTIME: CloneFlags = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);

/// The namespace types a container can have (new or joined), as the spec
/// names them; `plan_namespaces` refuses the others.
pub const NAMESPACES: &[&str] = &[
    "cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time",
];

pub(super) fn plan_namespaces(
    linux: &oci_spec::runtime::Linux,
    host: &dyn Host,
) -> Result<Vec<NamespacePlan>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, ns) in linux.namespaces().iter().flatten().enumerate() {
        let (flag, kind) = match ns.typ() {
            LinuxNamespaceType::Pid => (CloneFlags::CLONE_NEWPID, "pid"),
            LinuxNamespaceType::Network => (CloneFlags::CLONE_NEWNET, "network"),
            LinuxNamespaceType::Ipc => (CloneFlags::CLONE_NEWIPC, "ipc"),
            LinuxNamespaceType::Uts => (CloneFlags::CLONE_NEWUTS, "uts"),
            LinuxNamespaceType::Mount => (CloneFlags::CLONE_NEWNS, "mount"),
            LinuxNamespaceType::Cgroup => (CloneFlags::CLONE_NEWCGROUP, "cgroup"),
            LinuxNamespaceType::User => (CloneFlags::CLONE_NEWUSER, "user"),
            LinuxNamespaceType::Time => (CLONE_NEWTIME, "time"),
        };
        if !seen.insert(kind) {
            bail!("linux.namespaces[{i}]: {kind:?} is listed twice");
        }
        let path = ns.path().clone().filter(|p| !p.as_os_str().is_empty());
        if let Some(p) = &path {
            if !p.is_absolute() {
                bail!("linux.namespaces[{i}].path {p:?}: must be absolute");
            }
            if let Err(err) = host.exists(p) {
                bail!("linux.namespaces[{i}].path {p:?}: {}", describe_io(&err));
            }
        }
        out.push(NamespacePlan { flag, kind, path });
    }
    Ok(out)
}

/// What a container without a mount namespace of its own cannot have,
/// and why: each would change the host's mounts beyond root.path, or
/// promise what hull's mount namespace cannot hold. Its `mounts`, devices
/// and console are made below root.path there (see rootfs::host_mounts).
const NEEDS_OWN_MOUNT_NAMESPACE: &[(&str, &str)] = &[
    (
        "linux.maskedPaths",
        "the container is only chrooted in hull's mount namespace, where the host's /proc and /sys stay unmasked; runc refuses it too",
    ),
    (
        "linux.readonlyPaths",
        "the container is only chrooted in hull's mount namespace, where the host's /proc and /sys stay writable; runc refuses it too",
    ),
    (
        "root.readonly",
        "it would remount the host's mount holding root.path read-only",
    ),
    (
        "linux.rootfsPropagation",
        "it would change the propagation of the host's mounts",
    ),
];

/// The mount namespace decides where the rootfs is set up. Without one
/// the container shares hull's mounts (spec: an unlisted namespace is
/// inherited): its mounts are made below root.path there and it is
/// chrooted into root.path; what would reach beyond root.path is refused.
/// Joining hull's own mount namespace by path would set the rootfs up
/// among the host's mounts and pivot_root the host: refused too.
pub(super) fn check_mount_namespace(
    namespaces: &[NamespacePlan],
    mount_settings: &[&str],
) -> Result<()> {
    let mount = namespaces
        .iter()
        .enumerate()
        .find(|(_, ns)| ns.flag == CloneFlags::CLONE_NEWNS);
    match mount {
        None => {
            for (field, why) in NEEDS_OWN_MOUNT_NAMESPACE {
                if mount_settings.contains(field) {
                    bail!("{field}: needs a \"mount\" namespace in linux.namespaces ({why})");
                }
            }
            if namespaces
                .iter()
                .any(|ns| ns.flag == CloneFlags::CLONE_NEWUSER)
            {
                bail!(
                    "linux.namespaces: a \"user\" namespace needs a \"mount\" namespace too (in a user namespace hull could not mount in its own mount namespace, and the default devices are bind-mounted from the host)"
                );
            }
        }
        Some((i, NamespacePlan { path: Some(p), .. })) if is_own_namespace(p, "mount") => bail!(
            "linux.namespaces[{i}].path {p:?}: is hull's own mount namespace (the rootfs would be set up among the host's mounts; leave \"mount\" out of linux.namespaces to share hull's mounts)"
        ),
        Some(_) => {}
    }
    Ok(())
}

/// The id maps of a new user namespace: required there, refused elsewhere,
/// each range non-empty and no two overlapping (the kernel's rules).
pub(super) fn plan_id_maps(
    linux: &oci_spec::runtime::Linux,
    namespaces: &[NamespacePlan],
) -> Result<(Vec<IdMap>, Vec<IdMap>)> {
    let user = namespaces
        .iter()
        .find(|ns| ns.flag == CloneFlags::CLONE_NEWUSER);
    let convert = |field: &str, maps: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| {
        let maps: Vec<IdMap> = maps
            .iter()
            .flatten()
            .map(|m| IdMap {
                container: m.container_id(),
                host: m.host_id(),
                size: m.size(),
            })
            .collect();
        match user {
            None if !maps.is_empty() => {
                bail!("linux.{field}: set, but linux.namespaces has no \"user\" namespace")
            }
            Some(NamespacePlan { path: Some(p), .. }) if !maps.is_empty() => {
                bail!("linux.{field}: the user namespace {p:?} is joined, its maps are already set")
            }
            Some(NamespacePlan { path: None, .. }) if maps.is_empty() => {
                bail!("linux.{field}: a new user namespace needs at least one mapping")
            }
            _ => {}
        }
        check_id_maps(&format!("linux.{field}"), &maps)?;
        Ok(maps)
    };
    Ok((
        convert("uidMappings", linux.uid_mappings())?,
        convert("gidMappings", linux.gid_mappings())?,
    ))
}

pub(super) fn check_id_maps(field: &str, maps: &[IdMap]) -> Result<()> {
    // The kernel takes at most 340 lines per map.
    if maps.len() > 340 {
        bail!(
            "linux.{field}: {} ranges, the kernel takes at most 340",
            maps.len()
        );
    }
    for (i, m) in maps.iter().enumerate() {
        if m.size == 0 {
            bail!("{field}[{i}]: size must not be 0");
        }
        if m.container.checked_add(m.size).is_none() || m.host.checked_add(m.size).is_none() {
            bail!(
                "{field}[{i}]: {} ids from {} (host {}) run past the largest id",
                m.size,
                m.container,
                m.host
            );
        }
        for (j, other) in maps[..i].iter().enumerate() {
            let overlap = |a: u32, b: u32| a < b + other.size && b < a + m.size;
            if overlap(m.container, other.container) || overlap(m.host, other.host) {
                bail!("{field}[{i}]: overlaps {field}[{j}]");
            }
        }
    }
    Ok(())
}

/// An id-mapped mount's maps: its own, else the container's user namespace's.
pub(super) fn plan_mount_idmap(
    i: usize,
    m: &oci_spec::runtime::Mount,
    plan: &MountPlan,
    uid_mappings: &[IdMap],
    gid_mappings: &[IdMap],
) -> Result<Option<IdmapPlan>> {
    let dest = &plan.destination;
    let convert = |maps: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| -> Option<Vec<IdMap>> {
        maps.as_ref().map(|v| {
            v.iter()
                .map(|m| IdMap {
                    container: m.container_id(),
                    host: m.host_id(),
                    size: m.size(),
                })
                .collect()
        })
    };
    let (uid, gid) = (convert(m.uid_mappings()), convert(m.gid_mappings()));
    if !plan.options.idmap && uid.is_none() && gid.is_none() {
        return Ok(None);
    }
    if !plan.is_bind() {
        bail!("mounts[{i}] ({dest:?}): only bind mounts can be id-mapped");
    }
    let (uid, gid) = match (uid, gid) {
        (Some(u), Some(g)) => (u, g),
        (None, None) if !uid_mappings.is_empty() => (uid_mappings.to_vec(), gid_mappings.to_vec()),
        (None, None) => bail!(
            "mounts[{i}] ({dest:?}): an id-mapped mount needs uidMappings and gidMappings (or a user namespace whose maps it takes)"
        ),
        _ => bail!("mounts[{i}] ({dest:?}): uidMappings and gidMappings go together"),
    };
    for (field, maps) in [("uidMappings", &uid), ("gidMappings", &gid)] {
        if maps.is_empty() {
            bail!("mounts[{i}].{field}: must not be empty");
        }
        check_id_maps(&format!("mounts[{i}].{field}"), maps)?;
    }
    Ok(Some(IdmapPlan {
        uid,
        gid,
        recursive: plan.options.idmap_recursive,
    }))
}

/// linux.timeOffsets: only for a new time namespace, only its two clocks.
pub(super) fn plan_time_offsets(
    linux: &oci_spec::runtime::Linux,
    namespaces: &[NamespacePlan],
) -> Result<Vec<(String, i64, u32)>> {
    let Some(offsets) = linux.time_offsets().as_ref().filter(|o| !o.is_empty()) else {
        return Ok(Vec::new());
    };
    let new_time_ns = namespaces
        .iter()
        .any(|ns| ns.flag == CLONE_NEWTIME && ns.path.is_none());
    if !new_time_ns {
        bail!("linux.timeOffsets: set, but linux.namespaces has no new \"time\" namespace");
    }
    let mut out = Vec::new();
    for (clock, offset) in offsets {
        if clock != "monotonic" && clock != "boottime" {
            bail!("linux.timeOffsets: {clock:?} is not a clock of a time namespace (monotonic, boottime)");
        }
        let nanos = offset.nanosecs().unwrap_or(0);
        if nanos >= 1_000_000_000 {
            bail!("linux.timeOffsets.{clock}.nanosecs {nanos}: must be below 1000000000");
        }
        out.push((clock.clone(), offset.secs().unwrap_or(0), nanos));
    }
    out.sort();
    Ok(out)
}

/// Only namespaced sysctls may be set, and only with their namespace (runc's rule).
pub(super) fn check_sysctl(key: &str, namespaces: &[NamespacePlan], host: &dyn Host) -> Result<()> {
    // A namespace joined by path counts only if it is not the one hull runs
    // in: writing there would change the host.
    let has_new = |flag: CloneFlags| {
        namespaces.iter().any(|ns| {
            ns.flag == flag
                && match &ns.path {
                    None => true,
                    Some(path) => !host.is_own_namespace(path, ns.kind),
                }
        })
    };
    let ipc_keys = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if key.is_empty() || key.contains("..") || key.contains('/') || key.starts_with('.') {
        bail!("linux.sysctl {key:?}: not a sysctl name");
    }
    if ipc_keys.contains(&key) || key.starts_with("fs.mqueue.") {
        if has_new(CloneFlags::CLONE_NEWIPC) {
            return Ok(());
        }
        bail!("linux.sysctl {key:?}: needs an \"ipc\" namespace in linux.namespaces");
    }
    if key == "kernel.hostname" || key == "kernel.domainname" {
        if has_new(CloneFlags::CLONE_NEWUTS) {
            return Ok(());
        }
        bail!("linux.sysctl {key:?}: needs a \"uts\" namespace in linux.namespaces");
    }
    if key.starts_with("net.") {
        if has_new(CloneFlags::CLONE_NEWNET) {
            return Ok(());
        }
        bail!("linux.sysctl {key:?}: needs a \"network\" namespace in linux.namespaces");
    }
    bail!("linux.sysctl {key:?}: not a namespaced sysctl, it would change the host")
}

/// Whether the namespace file at `path` is the one hull itself is in.
pub(super) fn is_own_namespace(path: &Path, kind: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    let own = match kind {
        "network" => "net",
        "mount" => "mnt",
        other => other,
    };
    match (
        std::fs::metadata(path),
        std::fs::metadata(format!("/proc/self/ns/{own}")),
    ) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}
