//! Id maps: a new user namespace's (`linux.uidMappings`/`gidMappings`) and
//! an id-mapped mount's, under the kernel's rules.

use anyhow::{bail, Result};
use nix::sched::CloneFlags;
use oci_spec::runtime::{Linux, LinuxIdMapping, Mount, Spec};

use crate::config::plan::{IdMap, IdmapPlan, MountPlan, NamespacePlan};

fn id_maps(maps: &[LinuxIdMapping]) -> Vec<IdMap> {
    maps.iter()
        .map(|m| IdMap {
            container: m.container_id(),
            host: m.host_id(),
            size: m.size(),
        })
        .collect()
}

/// The id maps of a new user namespace: required there, refused elsewhere,
/// each range non-empty and no two overlapping (the kernel's rules).
pub fn plan_id_maps(
    linux: &Linux,
    namespaces: &[NamespacePlan],
) -> Result<(Vec<IdMap>, Vec<IdMap>)> {
    let user = namespaces
        .iter()
        .find(|ns| ns.flag == CloneFlags::CLONE_NEWUSER);
    let convert = |field: &str, maps: &Option<Vec<LinuxIdMapping>>| {
        let maps = id_maps(maps.as_deref().unwrap_or(&[]));
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

/// One map: at most 340 lines, none empty, running past the largest id or
/// overlapping another.
pub fn check_id_maps(field: &str, maps: &[IdMap]) -> Result<()> {
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

/// Each mount's id map (None: not id-mapped), in `mounts`' order: the
/// plans of `plan_mounts`, with the user namespace's maps.
pub fn plan_mount_idmaps(
    spec: &Spec,
    mounts: &[MountPlan],
    uid_mappings: &[IdMap],
    gid_mappings: &[IdMap],
) -> Result<Vec<Option<IdmapPlan>>> {
    spec.mounts()
        .iter()
        .flatten()
        .zip(mounts)
        .enumerate()
        .map(|(i, (m, plan))| plan_mount_idmap(i, m, plan, uid_mappings, gid_mappings))
        .collect()
}

/// An id-mapped mount's maps: its own, else the container's user namespace's.
pub fn plan_mount_idmap(
    i: usize,
    m: &Mount,
    plan: &MountPlan,
    uid_mappings: &[IdMap],
    gid_mappings: &[IdMap],
) -> Result<Option<IdmapPlan>> {
    let dest = &plan.destination;
    let uid = m.uid_mappings().as_deref().map(id_maps);
    let gid = m.gid_mappings().as_deref().map(id_maps);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::checks::test_spec;
    use crate::config::mount_options::MountOptions;
    use std::path::PathBuf;

    fn map(container: u32, host: u32, size: u32) -> IdMap {
        IdMap {
            container,
            host,
            size,
        }
    }

    fn user(path: Option<&str>) -> Vec<NamespacePlan> {
        vec![NamespacePlan {
            flag: CloneFlags::CLONE_NEWUSER,
            kind: "user",
            path: path.map(PathBuf::from),
        }]
    }

    #[test]
    fn id_maps_follow_the_kernels_rules() {
        assert!(check_id_maps("linux.uidMappings", &[map(0, 1000, 1), map(1, 2000, 10)]).is_ok());
        let err = check_id_maps("linux.uidMappings", &[map(0, 1000, 0)]).unwrap_err();
        assert_eq!(err.to_string(), "linux.uidMappings[0]: size must not be 0");
        let err =
            check_id_maps("linux.uidMappings", &[map(0, 1000, 5), map(3, 9000, 5)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "linux.uidMappings[1]: overlaps linux.uidMappings[0]"
        );
        let err = check_id_maps("linux.gidMappings", &[map(u32::MAX, 0, 2)]).unwrap_err();
        assert!(err.to_string().contains("run past the largest id"), "{err}");
    }

    #[test]
    fn user_namespace_maps_are_required_there_and_refused_elsewhere() {
        let linux: Linux = serde_json::from_value(serde_json::json!({
            "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
            "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]
        }))
        .unwrap();
        let (uid, gid) = plan_id_maps(&linux, &user(None)).unwrap();
        assert_eq!((uid, gid), (vec![map(0, 1000, 1)], vec![map(0, 1000, 1)]));
        let err = plan_id_maps(&linux, &[]).unwrap_err();
        assert!(err.to_string().starts_with("linux.uidMappings: set, but"));
        let err = plan_id_maps(&linux, &user(Some("/proc/1/ns/user"))).unwrap_err();
        assert!(err.to_string().contains("is joined"), "{err}");
        let empty: Linux = serde_json::from_str("{}").unwrap();
        let err = plan_id_maps(&empty, &user(None)).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("linux.uidMappings: a new user namespace needs"));
    }

    fn mount_plan(fs_type: &str, options: &[&str]) -> MountPlan {
        let options: Vec<String> = options.iter().map(|o| o.to_string()).collect();
        MountPlan {
            destination: PathBuf::from("/data"),
            fs_type: fs_type.into(),
            source: Some(PathBuf::from("/src")),
            options: MountOptions::parse(&options),
            idmap: None,
        }
    }

    #[test]
    fn mount_idmaps_are_for_bind_mounts_with_maps() {
        let spec = test_spec(serde_json::json!({"mounts": [
            {"destination": "/data", "type": "bind", "source": "/src", "options": ["idmap"]}
        ]}));
        let bind = [mount_plan("bind", &["idmap"])];
        let maps = [map(0, 1000, 10)];
        let planned = plan_mount_idmaps(&spec, &bind, &maps, &maps).unwrap();
        assert_eq!(planned[0].as_ref().unwrap().uid, maps.to_vec());
        let err = plan_mount_idmaps(&spec, &bind, &[], &[]).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("mounts[0] (\"/data\"): an id-mapped mount needs"));
        let tmpfs = [mount_plan("tmpfs", &["idmap"])];
        let err = plan_mount_idmaps(&spec, &tmpfs, &maps, &maps).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("only bind mounts can be id-mapped"),
            "{err}"
        );
        let plain = [mount_plan("bind", &[])];
        let spec = test_spec(serde_json::json!({"mounts": [
            {"destination": "/data", "type": "bind", "source": "/src"}
        ]}));
        assert!(plan_mount_idmaps(&spec, &plain, &maps, &maps).unwrap()[0].is_none());
    }
}
