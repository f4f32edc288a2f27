//! The host facts validation depends on, asked of a `Host` once, up front:
//! the checks are then pure functions of the spec and these facts.

use std::io;
use std::path::{Path, PathBuf};

use caps::CapsHashSet;
use oci_spec::runtime::Spec;

use super::host::Host;
use super::mount_options::MountOptions;
use super::plan::namespace_kind;

/// Everything validation asks the host, for one config.
#[derive(Debug)]
pub struct HostFacts {
    /// root.path as stat and realpath see it (None: the config has no root).
    pub rootfs: Option<RootfsFacts>,
    /// Each namespace file linux.namespaces names by an absolute path.
    pub namespace_paths: Vec<NamespacePathFacts>,
    /// Each bind mount's source (absolute): lstat's answer.
    pub bind_sources: Vec<(PathBuf, io::Result<()>)>,
    pub process: ProcessFacts,
    /// The seccomp filter flags this libseccomp and kernel apply (empty
    /// when the config has no profile).
    pub seccomp_flags: Vec<&'static str>,
    /// The NUMA nodes online (asked only for a config with
    /// linux.memoryPolicy).
    pub online_nodes: Option<io::Result<String>>,
    /// The resctrl mount and what it offers (asked only for a config with
    /// linux.intelRdt).
    pub resctrl: Option<io::Result<Option<crate::resctrl::HostResctrl>>>,
}

/// root.path made absolute against the bundle, and what the host says of it.
#[derive(Debug)]
pub struct RootfsFacts {
    pub path: PathBuf,
    /// (st_dev, st_ino); None when it is not a directory.
    pub dir_id: io::Result<Option<(u64, u64)>>,
    /// Every symlink resolved.
    pub canonical: io::Result<PathBuf>,
}

/// A namespace file joined by path.
#[derive(Debug)]
pub struct NamespacePathFacts {
    pub path: PathBuf,
    /// The spec's name of the namespace type it is listed as.
    pub kind: &'static str,
    pub exists: io::Result<()>,
    /// It is hull's own namespace of that type: joining it changes the host.
    pub own: bool,
}

/// What a process's settings depend on (config.json's or `exec`'s).
#[derive(Debug, Clone)]
pub struct ProcessFacts {
    /// The capabilities a process made by hull can be given.
    pub grantable_caps: CapsHashSet,
    pub apparmor: bool,
    pub selinux: bool,
}

impl ProcessFacts {
    pub fn gather(host: &dyn Host) -> ProcessFacts {
        ProcessFacts {
            grantable_caps: host.grantable_caps(),
            apparmor: host.apparmor_enabled(),
            selinux: host.selinux_enabled(),
        }
    }
}

impl Default for ProcessFacts {
    /// FixedHost's answers: every capability, no LSM.
    fn default() -> Self {
        ProcessFacts {
            grantable_caps: caps::all(),
            apparmor: false,
            selinux: false,
        }
    }
}

impl Default for HostFacts {
    /// Facts of a config naming no path, on a host like `FixedHost`.
    fn default() -> Self {
        HostFacts {
            rootfs: None,
            namespace_paths: Vec::new(),
            bind_sources: Vec::new(),
            process: ProcessFacts::default(),
            seccomp_flags: crate::security::seccomp::supported_flags(),
            online_nodes: None,
            resctrl: None,
        }
    }
}

impl HostFacts {
    /// Ask `host` everything the checks of `spec` will need (and nothing
    /// else: no file is read beyond stat, nothing is made).
    pub fn gather(bundle: &Path, spec: &Spec, host: &dyn Host) -> HostFacts {
        let rootfs = spec.root().as_ref().map(|root| {
            let path = against_bundle(bundle, root.path());
            RootfsFacts {
                dir_id: host.dir_id(&path),
                canonical: host.canonicalize(&path),
                path,
            }
        });
        let linux = spec.linux().as_ref();
        let namespace_paths = linux
            .and_then(|l| l.namespaces().as_ref())
            .into_iter()
            .flatten()
            .filter_map(|ns| {
                let path = ns.path().as_ref().filter(|p| p.is_absolute())?;
                let (_, kind) = namespace_kind(ns.typ());
                Some(NamespacePathFacts {
                    exists: host.exists(path),
                    own: host.is_own_namespace(path, kind),
                    path: path.clone(),
                    kind,
                })
            })
            .collect();
        let bind_sources = spec
            .mounts()
            .iter()
            .flatten()
            .filter(|m| is_bind(m))
            .filter_map(|m| m.source().as_ref())
            .map(|source| {
                let source = against_bundle(bundle, source);
                let exists = host.exists_nofollow(&source);
                (source, exists)
            })
            .collect();
        HostFacts {
            rootfs,
            namespace_paths,
            bind_sources,
            process: ProcessFacts::gather(host),
            // libseccomp is asked only for a config with a profile.
            seccomp_flags: match linux.and_then(|l| l.seccomp().as_ref()) {
                Some(_) => host.seccomp_flags(),
                None => Vec::new(),
            },
            online_nodes: linux
                .and_then(|l| l.memory_policy().as_ref())
                .map(|_| host.online_nodes()),
            resctrl: linux
                .and_then(|l| l.intel_rdt().as_ref())
                .map(|_| host.resctrl()),
        }
    }

    /// Whether the namespace file `path` exists. A path not gathered is
    /// taken as there, as `FixedHost` answers.
    pub fn namespace_exists(&self, path: &Path) -> Result<(), &io::Error> {
        match self.namespace_paths.iter().find(|ns| ns.path == path) {
            Some(ns) => ns.exists.as_ref().map(|_| ()),
            None => Ok(()),
        }
    }

    /// Whether the namespace file `path` is hull's own `kind` namespace.
    pub fn is_own_namespace(&self, path: &Path, kind: &str) -> bool {
        self.namespace_paths
            .iter()
            .any(|ns| ns.path == path && ns.kind == kind && ns.own)
    }

    /// Whether a bind source is there (lstat). A path not gathered is
    /// taken as there, as `FixedHost` answers.
    pub fn bind_source_exists(&self, source: &Path) -> Result<(), &io::Error> {
        match self.bind_sources.iter().find(|(path, _)| path == source) {
            Some((_, exists)) => exists.as_ref().map(|_| ()),
            None => Ok(()),
        }
    }
}

/// A path of config.json: as it is when absolute, else below the bundle.
pub fn against_bundle(bundle: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        bundle.join(path)
    }
}

/// Whether a mount of config.json is a bind mount (`MountPlan::is_bind`).
fn is_bind(m: &oci_spec::runtime::Mount) -> bool {
    let options = MountOptions::parse(m.options().as_deref().unwrap_or(&[]));
    options.is_bind() || m.typ().as_deref() == Some("bind")
}

/// An owned copy of an io error (the facts keep theirs), with the same text.
pub fn io_error(err: &io::Error) -> io::Error {
    match err.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(err.kind(), err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::host::{FixedHost, SystemHost};

    fn spec(json: serde_json::Value) -> Spec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_paths_config_json_names_are_asked_about() {
        let spec = spec(serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "rootfs"},
            "mounts": [{"destination": "/a", "type": "bind", "source": "a"},
                       {"destination": "/b", "type": "tmpfs", "source": "tmpfs"},
                       {"destination": "/c", "source": "/c", "options": ["rbind"]}],
            "linux": {"namespaces": [{"type": "network", "path": "/run/netns/x"},
                                     {"type": "pid"}, {"type": "ipc", "path": "rel"}]}
        }));
        let facts = HostFacts::gather(Path::new("/bundle"), &spec, &FixedHost::default());
        let rootfs = facts.rootfs.as_ref().unwrap();
        assert_eq!(rootfs.path, Path::new("/bundle/rootfs"));
        assert!(matches!(rootfs.dir_id, Ok(Some(_))));
        let sources: Vec<&Path> = facts
            .bind_sources
            .iter()
            .map(|(p, _)| p.as_path())
            .collect();
        assert_eq!(sources, [Path::new("/bundle/a"), Path::new("/c")]);
        assert_eq!(facts.namespace_paths.len(), 1);
        assert_eq!(facts.namespace_paths[0].kind, "network");
        assert!(!facts.is_own_namespace(Path::new("/run/netns/x"), "network"));
    }

    #[test]
    fn the_system_host_knows_its_own_namespaces() {
        let spec = spec(serde_json::json!({
            "ociVersion": "1.0.2",
            "linux": {"namespaces": [{"type": "network", "path": "/proc/self/ns/net"},
                                     {"type": "pid", "path": "/no/such/ns"}]}
        }));
        let facts = HostFacts::gather(Path::new("/"), &spec, &SystemHost);
        assert!(facts.rootfs.is_none());
        assert!(facts.is_own_namespace(Path::new("/proc/self/ns/net"), "network"));
        assert!(!facts.is_own_namespace(Path::new("/proc/self/ns/net"), "pid"));
        assert!(facts
            .namespace_exists(Path::new("/proc/self/ns/net"))
            .is_ok());
        assert!(facts.namespace_exists(Path::new("/no/such/ns")).is_err());
    }
}
