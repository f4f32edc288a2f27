//! `linux.cgroupsPath` under `--systemd-cgroup`: `slice:prefix:name`, as
//! runc reads it, to the unit hull asks systemd for and the cgroup that
//! unit gets. Pure: no D-Bus, no host.

use std::path::PathBuf;

use anyhow::{bail, Result};

/// The unit a container's cgroup is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// `<prefix>-<name>.scope`, or the slice `name` itself.
    pub name: String,
    /// The slice a scope is started in (`Slice=`), or the parent slice a
    /// slice unit wants (`Wants=`); "-.slice" for the root slice.
    pub slice: String,
    /// The unit's cgroup relative to the manager's root cgroup: the slice
    /// expanded the way systemd nests slices, then the scope.
    pub path: PathBuf,
}

impl Unit {
    pub fn is_slice(&self) -> bool {
        self.name.ends_with(".slice")
    }
}

/// The unit for `cgroups_path` (None or "" → `:hull:<id>`); the default
/// slice is `system.slice`, `user.slice` for a rootless caller.
pub fn unit_for(cgroups_path: Option<&str>, id: &str, rootless: bool) -> Result<Unit> {
    let default_slice = if rootless {
        "user.slice"
    } else {
        "system.slice"
    };
    let (slice, prefix, name) = match cgroups_path.filter(|p| !p.is_empty()) {
        None => (default_slice, "hull", id),
        Some(path) => match path.split(':').collect::<Vec<_>>()[..] {
            [slice, prefix, name] => (
                if slice.is_empty() { default_slice } else { slice },
                prefix,
                name,
            ),
            _ => bail!(
                "linux.cgroupsPath {path:?}: with --systemd-cgroup it is \"slice:prefix:name\" (e.g. \"system.slice:hull:ID\")"
            ),
        },
    };
    let field = || format!("linux.cgroupsPath {:?}", cgroups_path.unwrap_or(""));
    if name.is_empty() {
        bail!("{}: the name part is empty", field());
    }
    let slice = if slice == "-" { "-.slice" } else { slice };
    let slice_path = expand_slice(slice).map_err(|why| anyhow::anyhow!("{}: {why}", field()))?;
    let unit = if name.ends_with(".slice") {
        let path = expand_slice(name).map_err(|why| anyhow::anyhow!("{}: {why}", field()))?;
        return Ok(Unit {
            name: name.to_string(),
            slice: slice.to_string(),
            path,
        });
    } else if prefix.is_empty() {
        format!("{name}.scope")
    } else {
        format!("{prefix}-{name}.scope")
    };
    check_unit_name(&unit).map_err(|why| anyhow::anyhow!("{}: {why}", field()))?;
    Ok(Unit {
        path: slice_path.join(&unit),
        name: unit,
        slice: slice.to_string(),
    })
}

/// `a-b-c.slice` → `a.slice/a-b.slice/a-b-c.slice`, as systemd nests
/// slices; `-.slice` is the root.
pub fn expand_slice(slice: &str) -> std::result::Result<PathBuf, String> {
    let Some(base) = slice.strip_suffix(".slice") else {
        return Err(format!("slice {slice:?} does not end in \".slice\""));
    };
    if base == "-" {
        return Ok(PathBuf::new());
    }
    check_unit_name(slice)?;
    let mut path = PathBuf::new();
    let mut prefix = String::new();
    for part in base.split('-') {
        if part.is_empty() {
            return Err(format!(
                "slice {slice:?}: a slice name has no empty part (no leading, trailing or double '-')"
            ));
        }
        path.push(format!("{prefix}{part}.slice"));
        prefix.push_str(part);
        prefix.push('-');
    }
    Ok(path)
}

/// What systemd accepts as a unit name: ASCII letters, digits and
/// `:-_.\`, at most 255 bytes, not empty before its suffix.
fn check_unit_name(unit: &str) -> std::result::Result<(), String> {
    if unit.len() > 255 {
        return Err(format!("unit name {unit:?} is over 255 bytes"));
    }
    if let Some(c) = unit
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || ":-_.\\".contains(*c)))
    {
        return Err(format!(
            "unit name {unit:?}: {c:?} is not allowed (letters, digits and \":-_.\\\" only)"
        ));
    }
    if unit.starts_with('.') {
        return Err(format!("unit name {unit:?} has no name before its suffix"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(path: &str) -> Unit {
        unit_for(Some(path), "ID", false).unwrap()
    }

    #[test]
    fn slice_prefix_name() {
        let u = unit("system.slice:docker:abc");
        assert_eq!(u.name, "docker-abc.scope");
        assert_eq!(u.slice, "system.slice");
        assert_eq!(u.path, PathBuf::from("system.slice/docker-abc.scope"));
        assert!(!u.is_slice());
        // kubelet's form: nested slices.
        let u = unit("kubepods-burstable-pod1.slice:cri-containerd:c1");
        assert_eq!(
            u.path,
            PathBuf::from(
                "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-c1.scope"
            )
        );
        // No prefix: the name alone.
        assert_eq!(unit("system.slice::c1").name, "c1.scope");
    }

    #[test]
    fn defaults_and_root_slice() {
        let u = unit_for(None, "ID", false).unwrap();
        assert_eq!(u.name, "hull-ID.scope");
        assert_eq!(u.path, PathBuf::from("system.slice/hull-ID.scope"));
        let u = unit_for(Some(""), "ID", true).unwrap();
        assert_eq!(u.path, PathBuf::from("user.slice/hull-ID.scope"));
        assert_eq!(unit(":p:n").slice, "system.slice");
        for root in ["-:p:n", "-.slice:p:n"] {
            let u = unit(root);
            assert_eq!(u.slice, "-.slice");
            assert_eq!(u.path, PathBuf::from("p-n.scope"));
        }
    }

    #[test]
    fn a_slice_name_is_the_unit_itself() {
        let u = unit("system.slice:ignored:a-b.slice");
        assert_eq!(u.name, "a-b.slice");
        assert!(u.is_slice());
        assert_eq!(u.path, PathBuf::from("a.slice/a-b.slice"));
    }

    #[test]
    fn bad_paths_name_the_field() {
        for (path, why) in [
            ("/a/b", "\"slice:prefix:name\""),
            ("a:b", "\"slice:prefix:name\""),
            ("a.slice:b:c:d", "\"slice:prefix:name\""),
            ("system.slice:p:", "the name part is empty"),
            ("system:p:n", "does not end in \".slice\""),
            ("a--b.slice:p:n", "no empty part"),
            ("-a.slice:p:n", "no empty part"),
            ("a/b.slice:p:n", "'/' is not allowed"),
            ("system.slice:p:n/../x", "'/' is not allowed"),
            ("system.slice:p:n x", "' ' is not allowed"),
        ] {
            let err = unit_for(Some(path), "ID", false).unwrap_err().to_string();
            assert!(err.starts_with("linux.cgroupsPath"), "{path}: {err}");
            assert!(err.contains(why), "{path}: {err}");
        }
        let long = format!("system.slice:p:{}", "n".repeat(260));
        assert!(unit_for(Some(&long), "ID", false).is_err());
    }
}
