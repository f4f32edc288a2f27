//! Namespaces in config.json: which ones a container gets (new or joined),
//! what needs one of its own (host and domain names, sysctls, mounts) and
//! a new time namespace's offsets.

use std::collections::HashSet;

use anyhow::{bail, Result};
use nix::sched::CloneFlags;
use oci_spec::runtime::{Linux, Spec};

use crate::config::facts::HostFacts;
use crate::config::plan::{namespace_kind, NamespacePlan, CLONE_NEWTIME};
use crate::config::strings;
use crate::error::describe_io;

/// The namespace types a container can have (new or joined), as the spec
/// names them; `plan_namespaces` refuses the others.
pub const NAMESPACES: &[&str] = &[
    "cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time",
];

/// `linux.namespaces`: each type once, a joined one by an absolute path
/// that exists.
pub fn plan_namespaces(linux: &Linux, facts: &HostFacts) -> Result<Vec<NamespacePlan>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, ns) in linux.namespaces().iter().flatten().enumerate() {
        let (flag, kind) = namespace_kind(ns.typ());
        if !seen.insert(kind) {
            bail!("linux.namespaces[{i}]: {kind:?} is listed twice");
        }
        let path = ns.path().clone().filter(|p| !p.as_os_str().is_empty());
        if let Some(p) = &path {
            if !p.is_absolute() {
                bail!("linux.namespaces[{i}].path {p:?}: must be absolute");
            }
            if let Err(err) = facts.namespace_exists(p) {
                bail!("linux.namespaces[{i}].path {p:?}: {}", describe_io(err));
            }
        }
        out.push(NamespacePlan { flag, kind, path });
    }
    Ok(out)
}

/// `hostname` and `domainname`: the kernel's length limit, and a uts
/// namespace that is not hull's own: one joined by path could be the
/// host's (as for sysctls).
pub fn check_hostname(spec: &Spec, namespaces: &[NamespacePlan], facts: &HostFacts) -> Result<()> {
    for (field, name) in [
        ("hostname", spec.hostname()),
        ("domainname", spec.domainname()),
    ] {
        let Some(name) = name.as_deref().filter(|n| !n.is_empty()) else {
            continue;
        };
        strings::check_host_name(field, name)?;
        match namespaces.iter().find(|ns| ns.flag == CloneFlags::CLONE_NEWUTS) {
            None => bail!("{field}: setting it needs a \"uts\" namespace in linux.namespaces"),
            Some(NamespacePlan { path: Some(p), .. }) if facts.is_own_namespace(p, "uts") => bail!(
                "{field}: the \"uts\" namespace {p:?} is the one hull runs in: setting it would change the host's {field}"
            ),
            Some(_) => {}
        }
    }
    Ok(())
}

/// `linux.sysctl`, sorted by key, each key checked by `check_sysctl`.
pub fn plan_sysctl(
    linux: &Linux,
    namespaces: &[NamespacePlan],
    facts: &HostFacts,
) -> Result<Vec<(String, String)>> {
    let mut sysctl: Vec<(String, String)> = linux
        .sysctl()
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    sysctl.sort();
    for (key, _) in &sysctl {
        check_sysctl(key, namespaces, facts)?;
    }
    Ok(sysctl)
}

/// Only namespaced sysctls may be set, and only with their namespace (runc's rule).
pub fn check_sysctl(key: &str, namespaces: &[NamespacePlan], facts: &HostFacts) -> Result<()> {
    // A namespace joined by path counts only if it is not the one hull runs
    // in: writing there would change the host.
    let has_new = |flag: CloneFlags| {
        namespaces.iter().any(|ns| {
            ns.flag == flag
                && match &ns.path {
                    None => true,
                    Some(path) => !facts.is_own_namespace(path, ns.kind),
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
    // The user.max_*_namespaces limits are each user namespace's own
    // (runc 1.4 allows them with one).
    if key.starts_with("user.") {
        if has_new(CloneFlags::CLONE_NEWUSER) {
            return Ok(());
        }
        bail!("linux.sysctl {key:?}: needs a \"user\" namespace in linux.namespaces (user.* limits belong to a user namespace)");
    }
    if key.starts_with("net.") {
        if has_new(CloneFlags::CLONE_NEWNET) {
            return Ok(());
        }
        bail!("linux.sysctl {key:?}: needs a \"network\" namespace in linux.namespaces");
    }
    bail!("linux.sysctl {key:?}: not a namespaced sysctl, it would change the host")
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
pub fn check_mount_namespace(
    namespaces: &[NamespacePlan],
    mount_settings: &[&str],
    facts: &HostFacts,
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
        Some((i, NamespacePlan { path: Some(p), .. })) if facts.is_own_namespace(p, "mount") => bail!(
            "linux.namespaces[{i}].path {p:?}: is hull's own mount namespace (the rootfs would be set up among the host's mounts; leave \"mount\" out of linux.namespaces to share hull's mounts)"
        ),
        Some(_) => {}
    }
    Ok(())
}

/// linux.timeOffsets: only for a new time namespace, only its two clocks.
pub fn plan_time_offsets(
    linux: &Linux,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::checks::test_spec;
    use crate::config::facts::NamespacePathFacts;
    use std::io;
    use std::path::{Path, PathBuf};

    fn ns(flag: CloneFlags) -> NamespacePlan {
        NamespacePlan {
            flag,
            kind: "x",
            path: None,
        }
    }

    fn joined(flag: CloneFlags, kind: &'static str, path: &str) -> NamespacePlan {
        NamespacePlan {
            flag,
            kind,
            path: Some(PathBuf::from(path)),
        }
    }

    /// Facts where `path` is hull's own `kind` namespace.
    fn own(path: &str, kind: &'static str) -> HostFacts {
        HostFacts {
            namespace_paths: vec![NamespacePathFacts {
                path: PathBuf::from(path),
                kind,
                exists: Ok(()),
                own: true,
            }],
            ..HostFacts::default()
        }
    }

    fn linux(json: serde_json::Value) -> Linux {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn namespaces_are_listed_once_and_joined_by_existing_absolute_paths() {
        let facts = HostFacts::default();
        let plan = plan_namespaces(
            &linux(serde_json::json!({"namespaces": [{"type": "pid"}, {"type": "network", "path": "/run/netns/a"}]})),
            &facts,
        )
        .unwrap();
        assert_eq!(plan.len(), 2);
        assert_eq!(plan[1].path.as_deref(), Some(Path::new("/run/netns/a")));
        let err = plan_namespaces(
            &linux(serde_json::json!({"namespaces": [{"type": "pid"}, {"type": "pid"}]})),
            &facts,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "linux.namespaces[1]: \"pid\" is listed twice"
        );
        let err = plan_namespaces(
            &linux(serde_json::json!({"namespaces": [{"type": "pid", "path": "rel"}]})),
            &facts,
        )
        .unwrap_err();
        assert!(err
            .to_string()
            .starts_with("linux.namespaces[0].path \"rel\": must be absolute"));
        let missing = HostFacts {
            namespace_paths: vec![NamespacePathFacts {
                path: PathBuf::from("/gone"),
                kind: "pid",
                exists: Err(io::Error::from_raw_os_error(libc::ENOENT)),
                own: false,
            }],
            ..HostFacts::default()
        };
        let err = plan_namespaces(
            &linux(serde_json::json!({"namespaces": [{"type": "pid", "path": "/gone"}]})),
            &missing,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("linux.namespaces[0].path \"/gone\": "),
            "{err}"
        );
    }

    #[test]
    fn hostname_needs_a_uts_namespace_not_hulls_own() {
        let spec = test_spec(serde_json::json!({"hostname": "box"}));
        let facts = HostFacts::default();
        let uts = [ns(CloneFlags::CLONE_NEWUTS)];
        assert!(check_hostname(&spec, &uts, &facts).is_ok());
        let err = check_hostname(&spec, &[], &facts).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("hostname: setting it needs a \"uts\" namespace"));
        let host_uts = [joined(CloneFlags::CLONE_NEWUTS, "uts", "/proc/1/ns/uts")];
        let err = check_hostname(&spec, &host_uts, &own("/proc/1/ns/uts", "uts")).unwrap_err();
        assert!(err.to_string().contains("is the one hull runs in"), "{err}");
        let spec = test_spec(serde_json::json!({"domainname": "d".repeat(65)}));
        let err = check_hostname(&spec, &uts, &facts).unwrap_err();
        assert!(
            err.to_string().starts_with("domainname: 65 bytes long"),
            "{err}"
        );
    }

    #[test]
    fn sysctl_in_the_hosts_own_namespace_is_refused() {
        let joined_host = [joined(
            CloneFlags::CLONE_NEWNET,
            "network",
            "/proc/self/ns/net",
        )];
        let facts = own("/proc/self/ns/net", "network");
        assert!(check_sysctl("net.ipv4.ip_forward", &joined_host, &facts).is_err());
        let other = HostFacts::default();
        assert!(check_sysctl("net.ipv4.ip_forward", &joined_host, &other).is_ok());
    }

    #[test]
    fn sysctl_needs_its_namespace() {
        let facts = HostFacts::default();
        let net = [ns(CloneFlags::CLONE_NEWNET)];
        assert!(check_sysctl("net.ipv4.ip_forward", &net, &facts).is_ok());
        assert!(check_sysctl("net.ipv4.ip_forward", &[], &facts).is_err());
        assert!(check_sysctl("kernel.shmmax", &[ns(CloneFlags::CLONE_NEWIPC)], &facts).is_ok());
        assert!(check_sysctl("kernel.shmmax", &net, &facts).is_err());
        assert!(check_sysctl("kernel.panic", &net, &facts).is_err());
        assert!(check_sysctl("vm.swappiness", &net, &facts).is_err());
        let user = [ns(CloneFlags::CLONE_NEWUSER)];
        assert!(check_sysctl("user.max_user_namespaces", &user, &facts).is_ok());
        let e = check_sysctl("user.max_user_namespaces", &net, &facts).unwrap_err();
        assert!(format!("{e}").contains("needs a \"user\" namespace"), "{e}");
        let err = check_sysctl("../x", &net, &facts).unwrap_err();
        assert_eq!(err.to_string(), "linux.sysctl \"../x\": not a sysctl name");
    }

    #[test]
    fn sysctl_is_planned_sorted() {
        let l = linux(serde_json::json!({"sysctl": {"net.b": "2", "net.a": "1"}}));
        let plan = plan_sysctl(&l, &[ns(CloneFlags::CLONE_NEWNET)], &HostFacts::default()).unwrap();
        assert_eq!(plan[0], ("net.a".to_string(), "1".to_string()));
        let err = plan_sysctl(&l, &[], &HostFacts::default()).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("linux.sysctl \"net.a\": needs a \"network\""));
    }

    #[test]
    fn mount_namespace_decides_what_may_reach_beyond_the_rootfs() {
        let facts = HostFacts::default();
        assert!(check_mount_namespace(&[], &["mounts"], &facts).is_ok());
        let err = check_mount_namespace(&[], &["root.readonly"], &facts).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("root.readonly: needs a \"mount\" namespace"));
        let err = check_mount_namespace(&[ns(CloneFlags::CLONE_NEWUSER)], &[], &facts).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("linux.namespaces: a \"user\" namespace needs"));
        let mnt = [ns(CloneFlags::CLONE_NEWNS)];
        assert!(check_mount_namespace(&mnt, &["root.readonly"], &facts).is_ok());
        let hulls = [joined(
            CloneFlags::CLONE_NEWNS,
            "mount",
            "/proc/self/ns/mnt",
        )];
        let err =
            check_mount_namespace(&hulls, &[], &own("/proc/self/ns/mnt", "mount")).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("linux.namespaces[0].path \"/proc/self/ns/mnt\": is hull's own"));
    }

    #[test]
    fn time_offsets_need_a_new_time_namespace() {
        let l = linux(serde_json::json!({"timeOffsets": {"monotonic": {"secs": 5}}}));
        let time = [NamespacePlan {
            flag: CLONE_NEWTIME,
            kind: "time",
            path: None,
        }];
        assert_eq!(
            plan_time_offsets(&l, &time).unwrap(),
            vec![("monotonic".to_string(), 5, 0)]
        );
        let err = plan_time_offsets(&l, &[]).unwrap_err();
        assert!(err.to_string().starts_with("linux.timeOffsets: set, but"));
        let l = linux(serde_json::json!({"timeOffsets": {"realtime": {"secs": 5}}}));
        let err = plan_time_offsets(&l, &time).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("linux.timeOffsets: \"realtime\""));
    }
}
