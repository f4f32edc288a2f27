//! The one interface every backend implements (`CgroupManager`), what
//! state.json keeps of a cgroup, and `exec --cgroup` sub-cgroups.

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use anyhow::{bail, Result};
use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

use crate::cgroups::common::Limits;
use crate::cgroups::devices::DeviceRule;
use crate::cgroups::stats::Stats;

/// How the host mounts its cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// cgroup2 at /sys/fs/cgroup: one hierarchy for every controller.
    Unified,
    /// v1 hierarchies under /sys/fs/cgroup, maybe a cgroup2 beside them.
    Legacy,
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
    /// `--systemd-cgroup`: the transient unit the cgroup is, which delete
    /// stops (absent for the cgroupfs driver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd: Option<SystemdUnit>,
}

/// The systemd unit a container's cgroup is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemdUnit {
    /// "hull-ID.scope", or a slice.
    pub unit: String,
    /// Started by the calling user's manager (rootless), not the system's.
    #[serde(default)]
    pub user: bool,
}

/// One cgroup of a container, whatever the host's mode.
pub trait CgroupManager {
    /// What state.json records to find this cgroup again.
    fn state(&self) -> CgroupState;
    /// Check the limits converted for this backend against the host (what
    /// the backend refused, controllers present, cpus that exist) before
    /// anything is made.
    fn check(&self, limits: &Limits) -> Result<()>;
    /// Whether the cgroup can only be made around a process (a systemd
    /// scope is started with its first pid): then `create` runs after the
    /// clone with the init's pid, and the init waits for it.
    fn needs_init(&self) -> bool {
        false
    }
    /// Make the directories (the ones that do not exist yet); `init`: the
    /// init's pid, when `needs_init`.
    fn create(&mut self, init: Option<i32>) -> Result<()>;
    /// Whether a process `exec` starts is put in the cgroup by `attach`
    /// after the clone (a rootless systemd unit: only systemd may move a
    /// process into the user's delegated subtree) instead of being born
    /// there; it waits meanwhile.
    fn attaches_after_clone(&self) -> bool {
        false
    }
    /// Put `pid` in the cgroup (see `attaches_after_clone`).
    fn attach(&self, pid: i32) -> Result<()> {
        bail!("process {pid}: this cgroup takes processes through its files")
    }
    /// Write the limits that are set; `update` for a running container.
    fn apply(&self, limits: &Limits, update: bool) -> Result<()>;
    /// `update`: `resources` (as the command gave them) converted into
    /// `limits`, written into the running container's cgroup.
    fn update(&self, _resources: &LinuxResources, limits: &Limits) -> Result<()> {
        self.apply(limits, true)
    }
    /// Device rules (v1 devices.allow/deny, v2 an eBPF program).
    fn apply_devices(&self, rules: &[DeviceRule]) -> Result<()>;
    /// Whether `apply_devices` swaps the whole rule set in at once (one
    /// eBPF program attach), so it can run while the init sets up its
    /// rootfs: the init is never left between two partial rule sets. v1's
    /// "deny all, then allow each" could refuse the init's mknod midway.
    fn devices_swap_at_once(&self) -> bool {
        false
    }
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
            bail!(
                "--cgroup {value:?}: a path relative to the container's cgroup, without \"..\", is needed"
            );
        }
        Ok(SubCgroup { controller, path })
    }

    /// The existing directory `base/path`, or an error naming it.
    pub fn dir_below(&self, base: &std::path::Path) -> Result<PathBuf> {
        let dir = base.join(&self.path);
        if !dir.is_dir() {
            bail!(
                "--cgroup {:?}: {dir:?} is not a cgroup (make it first)",
                self.path
            );
        }
        Ok(dir)
    }
}
