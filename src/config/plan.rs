//! The validated plan of a container: the types create, the init and exec
//! read. Built and checked by `config`'s checks, never changed afterwards.

use std::collections::HashMap;
use std::path::PathBuf;

use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use oci_spec::runtime::LinuxNamespaceType;

use super::mount_options::MountOptions;
use crate::security::attrs;
use crate::security::capabilities::CapsPlan;
use crate::security::seccomp::SeccompPlan;

/// One entry of `mounts`, ready to be mounted.
#[derive(Debug, Clone)]
pub struct MountPlan {
    pub destination: PathBuf,
    pub fs_type: String,
    pub source: Option<PathBuf>,
    pub options: MountOptions,
    /// An id-mapped bind mount: the source's ids seen through these maps.
    pub idmap: Option<IdmapPlan>,
}

/// The maps of an id-mapped mount (the user namespace's when the mount
/// names none) and whether submounts are mapped too (`ridmap`).
#[derive(Debug, Clone)]
pub struct IdmapPlan {
    pub uid: Vec<IdMap>,
    pub gid: Vec<IdMap>,
    pub recursive: bool,
}

impl MountPlan {
    pub fn is_bind(&self) -> bool {
        self.options.is_bind() || self.fs_type == "bind"
    }
}

/// A device node to create under the rootfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePlan {
    pub path: PathBuf,
    /// S_IFCHR, S_IFBLK or S_IFIFO.
    pub kind: libc::mode_t,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// A namespace the container gets: created by the clone, or joined by path.
#[derive(Debug, Clone)]
pub struct NamespacePlan {
    pub flag: CloneFlags,
    pub kind: &'static str,
    pub path: Option<PathBuf>,
}

/// The clone flag of a time namespace (not in nix's CloneFlags).
pub const CLONE_NEWTIME: CloneFlags = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);

/// A namespace type's clone flag and its name in the spec.
pub fn namespace_kind(typ: LinuxNamespaceType) -> (CloneFlags, &'static str) {
    match typ {
        LinuxNamespaceType::Pid => (CloneFlags::CLONE_NEWPID, "pid"),
        LinuxNamespaceType::Network => (CloneFlags::CLONE_NEWNET, "network"),
        LinuxNamespaceType::Ipc => (CloneFlags::CLONE_NEWIPC, "ipc"),
        LinuxNamespaceType::Uts => (CloneFlags::CLONE_NEWUTS, "uts"),
        LinuxNamespaceType::Mount => (CloneFlags::CLONE_NEWNS, "mount"),
        LinuxNamespaceType::Cgroup => (CloneFlags::CLONE_NEWCGROUP, "cgroup"),
        LinuxNamespaceType::User => (CloneFlags::CLONE_NEWUSER, "user"),
        LinuxNamespaceType::Time => (CLONE_NEWTIME, "time"),
    }
}

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

#[derive(Debug, Clone)]
pub struct Rlimit {
    pub name: String,
    pub resource: libc::c_int,
    pub soft: u64,
    pub hard: u64,
}

#[derive(Debug, Clone)]
pub struct ProcessPlan {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    /// crun's `run.oci.keep_original_groups` annotation: no setgroups, the
    /// process keeps the supplementary groups of whoever ran hull.
    pub keep_original_groups: bool,
    pub umask: Option<u32>,
    pub rlimits: Vec<Rlimit>,
    pub no_new_privileges: bool,
    pub oom_score_adj: Option<i32>,
    /// None: the config has no `capabilities`, the process keeps its user's.
    pub capabilities: Option<CapsPlan>,
    /// A pty as stdio and controlling terminal, sent to --console-socket.
    pub terminal: bool,
    /// (rows, columns) of the pty.
    pub console_size: Option<(u16, u16)>,
    /// ioprio_set(2)'s value.
    pub io_priority: Option<u32>,
    pub scheduler: Option<attrs::SchedPlan>,
    /// Applied to exec'd processes only (the spec leaves the init alone).
    pub exec_cpu_affinity: Option<attrs::AffinityPlan>,
    /// linux.memoryPolicy: set_mempolicy(2) for the init and, from the
    /// state, for each exec'd process (they are not the init's children).
    pub memory_policy: Option<crate::security::mempolicy::MemoryPolicyPlan>,
}

/// Everything create needs, validated.
#[derive(Debug, Clone)]
pub struct Plan {
    pub bundle: PathBuf,
    pub oci_version: String,
    pub rootfs: PathBuf,
    /// (st_dev, st_ino) of root.path as hull sees it: a joined mount
    /// namespace whose root is this directory needs no rootfs set up.
    pub rootfs_id: (u64, u64),
    pub rootfs_readonly: bool,
    /// linux.rootfsPropagation, or rslave when it is not set.
    pub rootfs_propagation: MsFlags,
    pub namespaces: Vec<NamespacePlan>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub mounts: Vec<MountPlan>,
    /// Default devices and /dev symlinks are made unless /dev is a bind mount.
    pub setup_dev: bool,
    pub devices: Vec<DevicePlan>,
    pub masked_paths: Vec<PathBuf>,
    pub readonly_paths: Vec<PathBuf>,
    /// The config.json fields set here that are applied by mounting
    /// (`mounts`, `root.readonly`, …): all refused in a joined mount
    /// namespace whose tree is shared as it is; without a mount namespace,
    /// those that would reach beyond root.path.
    pub mount_settings: Vec<&'static str>,
    pub sysctl: Vec<(String, String)>,
    /// linux.uidMappings/gidMappings of a new user namespace.
    pub uid_mappings: Vec<IdMap>,
    pub gid_mappings: Vec<IdMap>,
    /// linux.timeOffsets of a new time namespace: (clock, seconds, nanoseconds).
    pub time_offsets: Vec<(String, i64, u32)>,
    pub process: ProcessPlan,
    pub annotations: HashMap<String, String>,
    /// Settings that are read but not applied yet: said once, as warnings.
    pub not_applied: Vec<String>,
    /// Other things a person should know (skipped capabilities, …).
    pub warnings: Vec<String>,
    pub hooks: crate::hooks::HooksPlan,
    /// The seccomp filter of the container's processes (init and exec).
    pub seccomp: Option<SeccompPlan>,
    /// linux.seccomp as given, kept in the state dir for `exec`.
    pub seccomp_spec: Option<oci_spec::runtime::LinuxSeccomp>,
    /// personality(2)'s value for the init.
    pub personality: Option<libc::c_ulong>,
    /// linux.netDevices: moved into the network namespace after the clone.
    pub net_devices: Vec<crate::netdev::NetDevicePlan>,
    /// linux.intelRdt: the resctrl group the init is put in.
    pub intel_rdt: Option<crate::resctrl::RdtPlan>,
    /// The cgroup path, its limits and device rules.
    pub cgroup: crate::cgroups::CgroupPlan,
}

impl Plan {
    /// Flags for the one clone that creates every new namespace. A time
    /// namespace is not among them: its offsets must be written before a
    /// process is in it, so the init unshares it itself.
    pub fn new_namespace_flags(&self) -> CloneFlags {
        self.namespaces
            .iter()
            .filter(|ns| ns.path.is_none() && ns.flag != CLONE_NEWTIME)
            .fold(CloneFlags::empty(), |acc, ns| acc | ns.flag)
    }

    /// Whether the container gets a user namespace of its own (with maps).
    pub fn new_user_namespace(&self) -> bool {
        self.has_new_namespace(CloneFlags::CLONE_NEWUSER)
    }

    /// Whether the container runs in a user namespace, new or joined.
    pub fn in_user_namespace(&self) -> bool {
        self.namespace(CloneFlags::CLONE_NEWUSER).is_some()
    }

    pub fn namespace(&self, flag: CloneFlags) -> Option<&NamespacePlan> {
        self.namespaces.iter().find(|ns| ns.flag == flag)
    }

    pub fn has_new_namespace(&self, flag: CloneFlags) -> bool {
        self.namespace(flag).is_some_and(|ns| ns.path.is_none())
    }

    /// Whether hull mounts in its own mount namespace (below root.path):
    /// the container has no mount namespace, and `mounts` or a console.
    pub fn mounts_on_host(&self) -> bool {
        self.namespace(CloneFlags::CLONE_NEWNS).is_none()
            && (!self.mounts.is_empty() || self.process.terminal)
    }
}
