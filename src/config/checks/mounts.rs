//! What is mounted or made under the rootfs: `mounts`, `linux.devices`,
//! `linux.maskedPaths`/`readonlyPaths`, and which of them need the
//! container's own mount namespace.

use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use oci_spec::runtime::{Linux, LinuxDeviceType, Spec};

use crate::config::facts::{against_bundle, HostFacts};
use crate::config::mount_options::MountOptions;
use crate::config::plan::{DevicePlan, IdmapPlan, MountPlan, NamespacePlan};
use crate::error::describe_io;

/// `mounts`: destinations without "..", bind mounts with a source that is
/// there, other mounts with a type. Their id maps are planned later, by
/// `plan_mount_idmaps` (they need the user namespace's maps).
pub fn plan_mounts(
    bundle: &Path,
    spec: &Spec,
    namespaces: &[NamespacePlan],
    facts: &HostFacts,
) -> Result<Vec<MountPlan>> {
    let mut mounts = Vec::new();
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let dest = m.destination();
        let destination = if dest.is_absolute() {
            dest.clone()
        } else {
            Path::new("/").join(dest)
        };
        if destination.components().any(|c| c == Component::ParentDir) {
            bail!("mounts[{i}].destination {dest:?}: must not contain \"..\"");
        }
        let options = MountOptions::parse(m.options().as_deref().unwrap_or(&[]));
        let fs_type = m.typ().clone().unwrap_or_default();
        let mut plan = MountPlan {
            destination,
            fs_type: fs_type.clone(),
            source: m.source().clone(),
            idmap: None,
            options,
        };
        if plan.is_bind() {
            let source = plan
                .source
                .as_ref()
                .with_context(|| format!("mounts[{i}] ({dest:?}): a bind mount needs a source"))?;
            let source = against_bundle(bundle, source);
            if let Err(err) = facts.bind_source_exists(&source) {
                bail!(
                    "mounts[{i}] ({dest:?}): source {source:?}: {}",
                    describe_io(err)
                );
            }
            plan.source = Some(source);
            plan.options.flags.insert(MsFlags::MS_BIND);
        } else if fs_type.is_empty() {
            bail!("mounts[{i}] ({dest:?}): type is required for a mount that is not a bind mount");
        }
        mounts.push(plan);
    }
    bind_sysfs_in_user_namespace(&mut mounts, namespaces);
    Ok(mounts)
}

/// sysfs can only be mounted by the owner of the network namespace: in
/// a user namespace without a network namespace of its own, the host's
/// /sys is bound instead (runc does the same).
fn bind_sysfs_in_user_namespace(mounts: &mut [MountPlan], namespaces: &[NamespacePlan]) {
    let user = namespaces
        .iter()
        .any(|ns| ns.flag == CloneFlags::CLONE_NEWUSER);
    let new_net = namespaces
        .iter()
        .any(|ns| ns.flag == CloneFlags::CLONE_NEWNET && ns.path.is_none());
    if user && !new_net {
        for m in mounts.iter_mut().filter(|m| m.fs_type == "sysfs") {
            m.fs_type = "bind".into();
            m.source = Some(PathBuf::from("/sys"));
            m.options.flags.insert(MsFlags::MS_BIND | MsFlags::MS_REC);
        }
    }
}

/// The mounts with their id maps (`plan_mount_idmaps`, in the same order).
pub fn with_idmaps(mounts: Vec<MountPlan>, idmaps: Vec<Option<IdmapPlan>>) -> Vec<MountPlan> {
    mounts
        .into_iter()
        .zip(idmaps)
        .map(|(m, idmap)| MountPlan { idmap, ..m })
        .collect()
}

/// Default devices and /dev symlinks are made unless /dev is a bind mount.
pub fn setup_dev(mounts: &[MountPlan]) -> bool {
    !mounts
        .iter()
        .any(|m| m.destination == Path::new("/dev") && m.is_bind())
}

/// The devices every container gets (runc's list).
pub fn default_devices() -> Vec<DevicePlan> {
    let dev = |path: &str, major, minor| DevicePlan {
        path: PathBuf::from(path),
        kind: libc::S_IFCHR,
        major,
        minor,
        mode: 0o666,
        uid: 0,
        gid: 0,
    };
    vec![
        dev("/dev/null", 1, 3),
        dev("/dev/zero", 1, 5),
        dev("/dev/full", 1, 7),
        dev("/dev/random", 1, 8),
        dev("/dev/urandom", 1, 9),
        dev("/dev/tty", 5, 0),
    ]
}

/// `linux.devices` over the default ones (a config's device replaces the
/// default at its path): node types only, absolute paths, no negative
/// numbers.
pub fn plan_devices(linux: &Linux) -> Result<Vec<DevicePlan>> {
    let mut devices = default_devices();
    for (i, d) in linux.devices().iter().flatten().enumerate() {
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => libc::S_IFCHR,
            LinuxDeviceType::B => libc::S_IFBLK,
            LinuxDeviceType::P => libc::S_IFIFO,
            LinuxDeviceType::A => {
                bail!("linux.devices[{i}].type: \"a\" is not a device node type (use c, b, u or p)")
            }
        };
        if !d.path().is_absolute() || d.path().components().any(|c| c == Component::ParentDir) {
            bail!(
                "linux.devices[{i}].path {:?}: must be absolute, without \"..\"",
                d.path()
            );
        }
        if d.major() < 0 || d.minor() < 0 {
            bail!(
                "linux.devices[{i}] ({:?}): major and minor must not be negative",
                d.path()
            );
        }
        let plan = DevicePlan {
            path: d.path().clone(),
            kind,
            major: d.major() as u64,
            minor: d.minor() as u64,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        };
        devices.retain(|existing| existing.path != plan.path);
        devices.push(plan);
    }
    Ok(devices)
}

/// `linux.maskedPaths` or `linux.readonlyPaths` (`field`): absolute paths.
pub fn plan_paths(list: &Option<Vec<String>>, field: &str) -> Result<Vec<PathBuf>> {
    list.iter()
        .flatten()
        .map(|p| {
            let path = PathBuf::from(p);
            if !path.is_absolute() {
                bail!("linux.{field}: {p:?} is not an absolute path");
            }
            Ok(path)
        })
        .collect()
}

/// What only mounts in the container's own mount namespace can apply:
/// the fields of config.json that are set, for `check_mount_namespace`.
pub fn mount_settings(spec: &Spec, linux: &Linux, terminal: bool) -> Vec<&'static str> {
    let set = |list: &Option<Vec<String>>| list.as_ref().is_some_and(|l| !l.is_empty());
    let asked = [
        (
            "mounts",
            spec.mounts().as_ref().is_some_and(|m| !m.is_empty()),
        ),
        ("linux.maskedPaths", set(linux.masked_paths())),
        ("linux.readonlyPaths", set(linux.readonly_paths())),
        (
            "linux.devices",
            linux.devices().as_ref().is_some_and(|d| !d.is_empty()),
        ),
        (
            "root.readonly",
            spec.root()
                .as_ref()
                .is_some_and(|r| r.readonly().unwrap_or(false)),
        ),
        (
            "linux.rootfsPropagation",
            linux
                .rootfs_propagation()
                .as_deref()
                .is_some_and(|p| !p.is_empty()),
        ),
        ("process.terminal", terminal),
    ];
    asked
        .into_iter()
        .filter_map(|(field, set)| set.then_some(field))
        .collect()
}

/// The `tmpcopyup` option is recognised but not applied: said once.
pub fn note_tmpcopyup(mounts: &[MountPlan], not_applied: &mut Vec<String>) {
    for m in mounts.iter().filter(|m| m.options.tmpcopyup) {
        not_applied.push(format!(
            "the \"tmpcopyup\" option of the mount on {:?} (the tmpfs starts empty)",
            m.destination
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::checks::test_spec;
    use std::io;

    fn linux(json: serde_json::Value) -> Linux {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn mounts_need_a_type_or_a_source_that_is_there() {
        let bundle = Path::new("/b");
        let spec = test_spec(serde_json::json!({"mounts": [
            {"destination": "proc", "type": "proc"},
            {"destination": "/data", "type": "bind", "source": "data"}
        ]}));
        let mounts = plan_mounts(bundle, &spec, &[], &HostFacts::default()).unwrap();
        assert_eq!(mounts[0].destination, Path::new("/proc"));
        assert_eq!(mounts[1].source.as_deref(), Some(Path::new("/b/data")));
        assert!(mounts[1].options.flags.contains(MsFlags::MS_BIND));
        assert!(setup_dev(&mounts));
        let dev = test_spec(serde_json::json!({"mounts": [
            {"destination": "/dev", "type": "bind", "source": "/dev"}
        ]}));
        let dev = plan_mounts(bundle, &dev, &[], &HostFacts::default()).unwrap();
        assert!(!setup_dev(&dev), "a bound /dev gets no default devices");
        let missing = HostFacts {
            bind_sources: vec![(
                PathBuf::from("/b/data"),
                Err(io::Error::from_raw_os_error(libc::ENOENT)),
            )],
            ..HostFacts::default()
        };
        let err = plan_mounts(bundle, &spec, &[], &missing).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("mounts[1] (\"/data\"): source \"/b/data\": "));
        for (mount, want) in [
            (
                serde_json::json!({"destination": "/a/../x", "type": "tmpfs"}),
                "mounts[0].destination \"/a/../x\": must not contain \"..\"",
            ),
            (
                serde_json::json!({"destination": "/x"}),
                "mounts[0] (\"/x\"): type is required",
            ),
            (
                serde_json::json!({"destination": "/x", "type": "bind"}),
                "mounts[0] (\"/x\"): a bind mount needs a source",
            ),
        ] {
            let spec = test_spec(serde_json::json!({ "mounts": [mount] }));
            let err = plan_mounts(bundle, &spec, &[], &HostFacts::default()).unwrap_err();
            assert!(err.to_string().starts_with(want), "{err}");
        }
    }

    #[test]
    fn sysfs_is_bound_in_a_user_namespace_without_its_own_network() {
        let spec = test_spec(serde_json::json!({"mounts": [
            {"destination": "/sys", "type": "sysfs", "source": "sysfs"}
        ]}));
        let ns = |flag| NamespacePlan {
            flag,
            kind: "x",
            path: None,
        };
        let user = [ns(CloneFlags::CLONE_NEWUSER)];
        let mounts = plan_mounts(Path::new("/b"), &spec, &user, &HostFacts::default()).unwrap();
        assert_eq!(mounts[0].fs_type, "bind");
        assert_eq!(mounts[0].source.as_deref(), Some(Path::new("/sys")));
        let user_net = [ns(CloneFlags::CLONE_NEWUSER), ns(CloneFlags::CLONE_NEWNET)];
        let mounts = plan_mounts(Path::new("/b"), &spec, &user_net, &HostFacts::default()).unwrap();
        assert_eq!(mounts[0].fs_type, "sysfs");
    }

    #[test]
    fn devices_are_nodes_at_absolute_paths() {
        let l = linux(serde_json::json!({"devices": [
            {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600},
            {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}
        ]}));
        let devices = plan_devices(&l).unwrap();
        assert_eq!(devices.len(), default_devices().len() + 1);
        assert_eq!(
            devices
                .iter()
                .filter(|d| d.path == Path::new("/dev/null"))
                .count(),
            1
        );
        for (device, want) in [
            (
                serde_json::json!({"path": "/dev/x", "type": "a"}),
                "linux.devices[0].type: \"a\" is not a device node type",
            ),
            (
                serde_json::json!({"path": "dev/x", "type": "c", "major": 1, "minor": 1}),
                "linux.devices[0].path \"dev/x\": must be absolute",
            ),
            (
                serde_json::json!({"path": "/dev/x", "type": "c", "major": -1, "minor": 1}),
                "linux.devices[0] (\"/dev/x\"): major and minor must not be negative",
            ),
        ] {
            let err = plan_devices(&linux(serde_json::json!({ "devices": [device] }))).unwrap_err();
            assert!(err.to_string().starts_with(want), "{err}");
        }
    }

    #[test]
    fn masked_and_readonly_paths_are_absolute() {
        let ok = Some(vec!["/proc/kcore".to_string()]);
        assert_eq!(
            plan_paths(&ok, "maskedPaths").unwrap(),
            vec![PathBuf::from("/proc/kcore")]
        );
        let err = plan_paths(&Some(vec!["proc".into()]), "readonlyPaths").unwrap_err();
        assert_eq!(
            err.to_string(),
            "linux.readonlyPaths: \"proc\" is not an absolute path"
        );
    }

    #[test]
    fn mount_settings_name_the_fields_set() {
        let spec = test_spec(serde_json::json!({"mounts": []}));
        let l = linux(serde_json::json!({"maskedPaths": ["/a"], "rootfsPropagation": ""}));
        assert_eq!(
            mount_settings(&spec, &l, true),
            vec!["linux.maskedPaths", "process.terminal"]
        );
    }

    #[test]
    fn tmpcopyup_is_said_not_applied() {
        let mut notes = Vec::new();
        let spec = test_spec(serde_json::json!({"mounts": [
            {"destination": "/t", "type": "tmpfs", "options": ["tmpcopyup"]}
        ]}));
        let mounts = plan_mounts(Path::new("/b"), &spec, &[], &HostFacts::default()).unwrap();
        note_tmpcopyup(&mounts, &mut notes);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("\"/t\""), "{notes:?}");
    }
}
