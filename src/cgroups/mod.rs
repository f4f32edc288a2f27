//! Cgroups: the host's mode, where a container's cgroup lives, and one
//! `CgroupManager` trait with a v1 (legacy/hybrid) and a v2 (unified) side.

pub mod devices;
pub mod fs;
pub mod path;
pub mod resources;
pub mod stats;
pub mod v1;
pub mod v2;

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use anyhow::{bail, Result};
use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

pub use devices::DeviceRule;
pub use stats::Stats;

/// Where the cgroup filesystems are mounted.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// How the host mounts its cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// cgroup2 at /sys/fs/cgroup: one hierarchy for every controller.
    Unified,
    /// v1 hierarchies under /sys/fs/cgroup, maybe a cgroup2 beside them.
    Legacy,
}

/// The container's cgroup settings from config.json, validated.
#[derive(Debug, Clone, Default)]
pub struct CgroupPlan {
    /// `linux.cgroupsPath` as written (None when absent or empty).
    pub path: Option<String>,
    pub resources: LinuxResources,
    /// `linux.resources.devices` followed by the default allowed devices.
    pub devices: Vec<DeviceRule>,
}

/// What state.json keeps about a container's cgroup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupState {
    pub mode: Mode,
    /// Hierarchy (v1 controllers like "memory" or "cpu,cpuacct", "name=systemd",
    /// "unified"; "" on a unified host) → the container's directory in it.
    pub paths: BTreeMap<String, PathBuf>,
    /// Whether hull made the leaf directories (a joined, shared cgroup is
    /// neither emptied nor removed on delete).
    pub owned: bool,
}

/// One cgroup of a container, whatever the host's mode.
pub trait CgroupManager {
    /// What state.json records to find this cgroup again.
    fn state(&self) -> CgroupState;
    /// Check `resources` against the host (controllers present, cpus that
    /// exist) before anything is made.
    fn check(&self, resources: &LinuxResources) -> Result<()>;
    /// Make the directories (the ones that do not exist yet).
    fn create(&mut self) -> Result<()>;
    /// Write the limits that are set; `update` for a running container.
    fn apply(&self, resources: &LinuxResources, update: bool) -> Result<()>;
    /// Device rules (v1 devices.allow/deny, v2 an eBPF program).
    fn apply_devices(&self, rules: &[DeviceRule]) -> Result<()>;
    /// The v1 `tasks` files, opened for writing: the init, still
    /// single-threaded, writes "0" into each before any container code runs.
    fn open_procs(&self) -> Result<Vec<OwnedFd>>;
    /// The cgroup2 directory (unified host, or a hybrid host's cgroup2
    /// beside the v1 hierarchies) opened for clone3's CLONE_INTO_CGROUP.
    fn clone_into_fd(&self) -> Option<OwnedFd>;
    fn freeze(&self) -> Result<()>;
    fn thaw(&self) -> Result<()>;
    fn is_frozen(&self) -> Result<bool>;
    /// Host pids of every process in the cgroup.
    fn pids(&self) -> Result<Vec<i32>>;
    /// SIGKILL every process in it (v2 cgroup.kill where the kernel has it).
    fn kill_all(&self) -> Result<()>;
    fn stats(&self) -> Result<Stats>;
    /// How many OOM kills the memory controller has seen.
    fn oom_kills(&self) -> Result<u64>;
    /// Remove the directories hull made (waits for dying processes to go).
    fn destroy(&self) -> Result<()>;
    /// The same cgroup with existing sub-cgroups below it, for `exec
    /// --cgroup`: (controller, relative path) pairs, a pair without a
    /// controller standing for every hierarchy.
    fn sub_cgroup(&self, subs: &[SubCgroup]) -> Result<Box<dyn CgroupManager>>;
}

/// One `exec --cgroup` value: `[CONTROLLER:]PATH`, PATH relative to the
/// container's cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubCgroup {
    pub controller: Option<String>,
    pub path: PathBuf,
}

impl SubCgroup {
    /// Parse and check one value: the path stays below the container's
    /// cgroup (relative, no `..`).
    pub fn parse(value: &str) -> Result<SubCgroup> {
        let (controller, path) = match value.split_once(':') {
            Some((c, p)) if !c.is_empty() => (Some(c.to_string()), p),
            Some((_, p)) => (None, p),
            None => (None, value),
        };
        let path = PathBuf::from(path);
        let below = path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if path.as_os_str().is_empty() || !below {
            anyhow::bail!(
                "--cgroup {value:?}: a path relative to the container's cgroup, without \"..\", is needed"
            );
        }
        Ok(SubCgroup { controller, path })
    }

    /// The existing directory `base/path`, or an error naming it.
    pub fn dir_below(&self, base: &std::path::Path) -> Result<PathBuf> {
        let dir = base.join(&self.path);
        if !dir.is_dir() {
            anyhow::bail!(
                "--cgroup {:?}: {dir:?} is not a cgroup (make it first)",
                self.path
            );
        }
        Ok(dir)
    }
}

/// Clone a process (fork-like, `flags` for new namespaces) into the
/// cgroup: born in the cgroup2 directory `into` with clone3; where clone3
/// is missing (old kernels, seccomp profiles that answer ENOSYS) a plain
/// clone, with the directory's cgroup.procs added to `procs`, which the
/// child writes itself into first thing.
pub fn clone_into(
    flags: libc::c_int,
    into: Option<&OwnedFd>,
    procs: &mut Vec<OwnedFd>,
) -> std::io::Result<crate::syscall::CloneResult> {
    use std::os::fd::AsFd;
    let Some(dir) = into else {
        return crate::syscall::clone_fork(flags);
    };
    match crate::syscall::clone_fork_into(flags, dir.as_fd()) {
        Err(err) if err.raw_os_error() == Some(libc::ENOSYS) => {
            crate::logging::debug("clone3 is not available (ENOSYS): the child joins its cgroup2 through cgroup.procs");
            let fd = nix::fcntl::openat(
                dir.as_fd(),
                "cgroup.procs",
                nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .map_err(std::io::Error::from)?;
            procs.push(fd);
            crate::syscall::clone_fork(flags)
        }
        other => other,
    }
}

/// The host's mode, from the filesystem mounted at /sys/fs/cgroup.
pub fn detect_mode() -> Result<Mode> {
    let st = nix::sys::statfs::statfs(CGROUP_ROOT)
        .map_err(|e| anyhow::anyhow!("statfs {CGROUP_ROOT}: {e}"))?;
    if st.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC {
        Ok(Mode::Unified)
    } else {
        Ok(Mode::Legacy)
    }
}

/// The manager for a new container's cgroup: paths resolved on this host.
pub fn manager_for(plan: &CgroupPlan, id: &str) -> Result<Box<dyn CgroupManager>> {
    match detect_mode()? {
        Mode::Unified => Ok(Box::new(v2::Manager::resolve(plan.path.as_deref(), id)?)),
        Mode::Legacy => Ok(Box::new(v1::Manager::resolve(plan.path.as_deref(), id)?)),
    }
}

/// The manager of an existing container, from its state.
pub fn manager_from_state(state: &CgroupState) -> Box<dyn CgroupManager> {
    match state.mode {
        Mode::Unified => Box::new(v2::Manager::from_state(state)),
        Mode::Legacy => Box::new(v1::Manager::from_state(state)),
    }
}

/// Validate `linux.cgroupsPath` and `linux.resources` from config.json
/// (values only; the host is asked later, still before anything is made).
pub fn plan(
    path: Option<&std::path::Path>,
    resources: Option<&LinuxResources>,
    warnings: &mut Vec<String>,
) -> Result<CgroupPlan> {
    let path = match path {
        None => None,
        Some(p) => {
            let Some(s) = p.to_str() else {
                bail!("linux.cgroupsPath {p:?}: not valid UTF-8");
            };
            path::check(s)?;
            (!s.is_empty()).then(|| s.to_string())
        }
    };
    let resources = resources.cloned().unwrap_or_default();
    resources::validate(&resources, "linux.resources", warnings)?;
    let devices = devices::plan(resources.devices().as_deref().unwrap_or(&[]))?;
    Ok(CgroupPlan {
        path,
        resources,
        devices,
    })
}
