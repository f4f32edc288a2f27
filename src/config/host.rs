//! What planning asks the host: whether the paths config.json names exist,
//! which capabilities can be granted, which LSMs are on. `SystemHost` asks
//! the kernel; `FixedHost` answers without a syscall, so a plan can be
//! built purely (the fuzz test does, many thousand times a second).

use std::io;
use std::path::{Path, PathBuf};

use caps::CapsHashSet;

/// The host facts validation depends on (runc's validator gathers them
/// the same way: once, passed in).
pub trait Host {
    /// `stat(path)`: the directory's (device, inode), None when it is not
    /// a directory, or why it cannot be read.
    fn dir_id(&self, path: &Path) -> io::Result<Option<(u64, u64)>>;
    /// `stat(path)`: whether it is there (a namespace file).
    fn exists(&self, path: &Path) -> io::Result<()>;
    /// `lstat(path)`: whether something is there (a bind source may be a
    /// dangling symlink: the rootfs code resolves it later).
    fn exists_nofollow(&self, path: &Path) -> io::Result<()>;
    /// The path with every symlink resolved (the rootfs).
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf>;
    /// Whether the namespace file at `path` is hull's own `kind` namespace.
    fn is_own_namespace(&self, path: &Path, kind: &str) -> bool;
    /// The capabilities a process made by hull can be given.
    fn grantable_caps(&self) -> CapsHashSet;
    fn apparmor_enabled(&self) -> bool;
    fn selinux_enabled(&self) -> bool;
    /// The seccomp filter flags this libseccomp and kernel apply.
    fn seccomp_flags(&self) -> Vec<&'static str> {
        crate::security::seccomp::supported_flags()
    }
    /// The NUMA nodes that are online ("0-1,3").
    fn online_nodes(&self) -> io::Result<String> {
        std::fs::read_to_string(crate::security::mempolicy::ONLINE_NODES)
    }
    /// The resctrl mount (None: not mounted) and what it offers.
    fn resctrl(&self) -> io::Result<Option<crate::resctrl::HostResctrl>> {
        crate::resctrl::HostResctrl::find()
    }
}

/// The real host.
pub struct SystemHost;

impl Host for SystemHost {
    fn dir_id(&self, path: &Path) -> io::Result<Option<(u64, u64)>> {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).map(|m| m.is_dir().then(|| (m.dev(), m.ino())))
    }

    fn exists(&self, path: &Path) -> io::Result<()> {
        std::fs::metadata(path).map(drop)
    }

    fn exists_nofollow(&self, path: &Path) -> io::Result<()> {
        std::fs::symlink_metadata(path).map(drop)
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        path.canonicalize()
    }

    fn is_own_namespace(&self, path: &Path, kind: &str) -> bool {
        is_own_namespace(path, kind)
    }

    fn grantable_caps(&self) -> CapsHashSet {
        crate::security::capabilities::grantable()
    }

    fn apparmor_enabled(&self) -> bool {
        crate::security::attrs::apparmor_enabled()
    }

    fn selinux_enabled(&self) -> bool {
        crate::security::attrs::selinux_enabled()
    }
}

/// A host that answers from its fields, without a syscall: every path
/// exists as a directory (its own canonical form), no namespace file is
/// hull's own, every capability is grantable, one NUMA node, no resctrl (the seccomp flags are still
/// libseccomp's answer: they decide which filters this build can load).
#[derive(Debug, Clone, Default)]
pub struct FixedHost {
    pub apparmor: bool,
    pub selinux: bool,
}

impl Host for FixedHost {
    fn dir_id(&self, _path: &Path) -> io::Result<Option<(u64, u64)>> {
        Ok(Some((0, 0)))
    }

    fn exists(&self, _path: &Path) -> io::Result<()> {
        Ok(())
    }

    fn exists_nofollow(&self, _path: &Path) -> io::Result<()> {
        Ok(())
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        Ok(path.to_path_buf())
    }

    fn is_own_namespace(&self, _path: &Path, _kind: &str) -> bool {
        false
    }

    fn grantable_caps(&self) -> CapsHashSet {
        caps::all()
    }

    fn online_nodes(&self) -> io::Result<String> {
        Ok("0".into())
    }

    fn resctrl(&self) -> io::Result<Option<crate::resctrl::HostResctrl>> {
        Ok(None)
    }

    fn apparmor_enabled(&self) -> bool {
        self.apparmor
    }

    fn selinux_enabled(&self) -> bool {
        self.selinux
    }
}

/// Whether the namespace file at `path` is the one hull itself is in.
fn is_own_namespace(path: &Path, kind: &str) -> bool {
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
