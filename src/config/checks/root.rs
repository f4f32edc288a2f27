//! The top of config.json: `ociVersion`, `root` (the rootfs directory as
//! the host has it) and `linux.rootfsPropagation`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use nix::mount::MsFlags;
use oci_spec::runtime::{Linux, Spec};

use crate::config::facts::{io_error, HostFacts};
use crate::config::mount_options::MountOptions;
use crate::error::describe_io;

/// The spec is compatible within a major version: accept 1.x, refuse others.
pub fn check_oci_version(version: &str) -> Result<()> {
    if version.is_empty() {
        bail!(
            "ociVersion: missing (this runtime implements {})",
            crate::OCI_VERSION
        );
    }
    let core = version.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !numeric {
        bail!("ociVersion {version:?}: not a version like \"1.0.2\"");
    }
    if parts[0] != "1" {
        bail!(
            "ociVersion {version:?}: unsupported (this runtime implements {}, and accepts 1.x)",
            crate::OCI_VERSION
        );
    }
    Ok(())
}

/// `root`, checked against the host.
#[derive(Debug, Clone)]
pub struct RootfsPlan {
    /// Every symlink resolved.
    pub path: PathBuf,
    /// (st_dev, st_ino).
    pub id: (u64, u64),
    pub readonly: bool,
}

/// `root`: required, and root.path a directory.
pub fn plan_rootfs(spec: &Spec, facts: &HostFacts) -> Result<RootfsPlan> {
    let root = spec
        .root()
        .as_ref()
        .context("root: missing (the rootfs directory is required)")?;
    let rootfs = facts
        .rootfs
        .as_ref()
        .context("root.path: the host was not asked about it")?;
    let path = &rootfs.path;
    let id = match &rootfs.dir_id {
        Ok(Some(id)) => *id,
        Ok(None) => bail!("root.path {path:?}: not a directory"),
        Err(err) => bail!("root.path {path:?}: {}", describe_io(err)),
    };
    let canonical = match &rootfs.canonical {
        Ok(canonical) => canonical.clone(),
        Err(err) => return Err(io_error(err)).with_context(|| format!("root.path {path:?}")),
    };
    Ok(RootfsPlan {
        path: canonical,
        id,
        readonly: root.readonly().unwrap_or(false),
    })
}

/// No `linux` object means no namespaces, masked paths or limits: every
/// namespace is inherited from hull (spec), nothing is invented.
/// oci-spec's Linux::default() would list six new namespaces.
pub fn linux_or_empty(spec: &Spec) -> Result<Linux> {
    match spec.linux() {
        Some(linux) => Ok(linux.clone()),
        None => serde_json::from_str("{}").context("linux: an empty linux object"),
    }
}

/// `linux.rootfsPropagation`, rslave when it is not set.
pub fn plan_rootfs_propagation(linux: &Linux) -> Result<MsFlags> {
    Ok(match linux.rootfs_propagation().as_deref() {
        None | Some("") => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        Some(p) => {
            let opts = MountOptions::parse(&[p.to_string()]);
            match opts.propagation.as_slice() {
                [flag] => *flag,
                _ => bail!(
                    "linux.rootfsPropagation: {p:?} is not one of private, rprivate, shared, rshared, slave, rslave, unbindable, runbindable"
                ),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::checks::test_spec;
    use crate::config::facts::RootfsFacts;
    use std::io;
    use std::path::Path;

    #[test]
    fn oci_versions() {
        assert!(check_oci_version("1.0.2").is_ok());
        assert!(check_oci_version("1.0.2-dev").is_ok());
        assert!(check_oci_version("1.2.0").is_ok());
        assert!(check_oci_version("2.0.0").is_err());
        assert!(check_oci_version("").is_err());
        assert!(check_oci_version("banana").is_err());
        let err = check_oci_version("2.0.0").unwrap_err().to_string();
        assert!(
            err.starts_with("ociVersion \"2.0.0\": unsupported"),
            "{err}"
        );
    }

    fn rootfs_facts(dir_id: io::Result<Option<(u64, u64)>>) -> HostFacts {
        HostFacts {
            rootfs: Some(RootfsFacts {
                path: PathBuf::from("/b/rootfs"),
                dir_id,
                canonical: Ok(PathBuf::from("/real/rootfs")),
            }),
            ..HostFacts::default()
        }
    }

    #[test]
    fn rootfs_is_a_directory_named_by_its_canonical_path() {
        let spec = test_spec(serde_json::json!({}));
        let plan = plan_rootfs(&spec, &rootfs_facts(Ok(Some((1, 2))))).unwrap();
        assert_eq!(plan.path, Path::new("/real/rootfs"));
        assert_eq!(plan.id, (1, 2));
        let err = plan_rootfs(&spec, &rootfs_facts(Ok(None))).unwrap_err();
        assert_eq!(err.to_string(), "root.path \"/b/rootfs\": not a directory");
        let missing = Err(io::Error::from_raw_os_error(libc::ENOENT));
        let err = format!(
            "{:#}",
            plan_rootfs(&spec, &rootfs_facts(missing)).unwrap_err()
        );
        assert!(err.starts_with("root.path \"/b/rootfs\": "), "{err}");
        let mut facts = rootfs_facts(Ok(Some((1, 2))));
        facts.rootfs.as_mut().unwrap().canonical = Err(io::Error::from_raw_os_error(libc::ELOOP));
        let err = format!("{:#}", plan_rootfs(&spec, &facts).unwrap_err());
        assert!(err.starts_with("root.path \"/b/rootfs\": "), "{err}");
        let mut spec = spec;
        spec.set_root(None);
        let err = plan_rootfs(&spec, &HostFacts::default()).unwrap_err();
        assert!(err.to_string().starts_with("root: missing"), "{err}");
    }

    #[test]
    fn rootfs_propagation_is_one_propagation() {
        let linux = |p: &str| -> Linux {
            serde_json::from_value(serde_json::json!({"rootfsPropagation": p})).unwrap()
        };
        let rslave = MsFlags::MS_SLAVE | MsFlags::MS_REC;
        assert_eq!(plan_rootfs_propagation(&linux("")).unwrap(), rslave);
        assert_eq!(
            plan_rootfs_propagation(&linux("private")).unwrap(),
            MsFlags::MS_PRIVATE
        );
        let err = plan_rootfs_propagation(&linux("ro")).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("linux.rootfsPropagation: \"ro\""));
    }
}
