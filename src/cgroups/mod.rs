//! Cgroups: the host's mode, where a container's cgroup lives, and one
//! `CgroupManager` trait with a v1 (legacy/hybrid) and a v2 (unified)
//! backend, each in its folder with its own conversion of
//! `linux.resources` into interface files.

pub mod both;
pub mod common;
pub mod devices;
pub mod fs;
pub mod manager;
pub mod path;
pub mod stats;
pub mod systemd;
pub mod v1;
pub mod v2;
pub mod validate;

use std::os::fd::OwnedFd;

use anyhow::{anyhow, bail, Result};
use oci_spec::runtime::LinuxResources;

pub use common::{Limits, Write};
pub use devices::DeviceRule;
pub use manager::{CgroupManager, CgroupState, Mode, SubCgroup, SystemdUnit};
pub use path::CGROUP_ROOT;
pub use stats::Stats;

/// The container's cgroup settings from config.json, validated and
/// converted once for the host's mode.
#[derive(Debug, Clone)]
pub struct CgroupPlan {
    /// `linux.cgroupsPath` as written (None when absent or empty).
    pub path: Option<String>,
    /// The host's mode, which `limits` were converted for, or why
    /// /sys/fs/cgroup could not tell (reported when the cgroup is made).
    pub mode: std::result::Result<Mode, String>,
    /// `linux.resources` as written (what is set decides how a joined
    /// cgroup is treated); never converted again.
    pub resources: LinuxResources,
    /// `resources` as the files of `mode`'s backend take them.
    pub limits: Limits,
    /// `linux.resources.devices` followed by the default allowed devices.
    pub devices: Vec<DeviceRule>,
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

/// Who makes a container's cgroup: hull through the files, or systemd
/// (`--systemd-cgroup`) as a transient unit with the annotations'
/// `org.systemd.property.*` among its properties.
#[derive(Debug, Clone, Copy)]
pub enum Driver<'a> {
    Cgroupfs,
    Systemd(&'a std::collections::HashMap<String, String>),
}

/// The manager for a new container's cgroup: paths resolved on this host.
pub fn manager_for(plan: &CgroupPlan, id: &str, driver: Driver) -> Result<Box<dyn CgroupManager>> {
    if let Driver::Systemd(annotations) = driver {
        return Ok(Box::new(systemd::manager::Manager::resolve(
            plan,
            annotations,
            id,
        )?));
    }
    match plan.mode.as_ref().map_err(|why| anyhow!("{why}"))? {
        Mode::Unified => Ok(Box::new(v2::Manager::resolve(plan.path.as_deref(), id)?)),
        Mode::Legacy => Ok(Box::new(v1::Manager::resolve(plan.path.as_deref(), id)?)),
    }
}

/// The manager of an existing container, from its state.
pub fn manager_from_state(state: &CgroupState) -> Box<dyn CgroupManager> {
    if let Some(unit) = &state.systemd {
        return Box::new(systemd::manager::Manager::from_state(state, unit));
    }
    match state.mode {
        Mode::Unified => Box::new(v2::Manager::from_state(state)),
        Mode::Legacy => Box::new(v1::Manager::from_state(state)),
    }
}

/// `r` as the files of `mode`'s backend take them (errors and warnings
/// name the `linux.resources` field).
pub fn convert(mode: Mode, r: &LinuxResources, warnings: &mut Vec<String>) -> Result<Limits> {
    match mode {
        Mode::Unified => v2::convert(r, warnings),
        Mode::Legacy => v1::convert(r),
    }
}

/// As `convert`, with what the backend cannot express kept for `check`, so
/// that a config plans the same on every host; the warnings only when the
/// conversion succeeds (a refused config gets its one error line).
fn convert_for_plan(mode: Mode, r: &LinuxResources, warnings: &mut Vec<String>) -> Limits {
    let mut own = Vec::new();
    match convert(mode, r, &mut own) {
        Ok(limits) => {
            warnings.append(&mut own);
            limits
        }
        Err(err) => Limits {
            refused: Some(format!("{err:#}")),
            ..Limits::default()
        },
    }
}

/// Validate `linux.cgroupsPath` and `linux.resources` from config.json and
/// convert the resources for the host's mode (the host's controllers and
/// cpus are asked later, still before anything is made).
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
    validate::validate(&resources, "linux.resources", warnings)?;
    let devices = devices::plan(resources.devices().as_deref().unwrap_or(&[]))?;
    let mode = detect_mode().map_err(|err| format!("{err:#}"));
    let limits = match &mode {
        Ok(mode) => convert_for_plan(*mode, &resources, warnings),
        Err(_) => Limits::default(),
    };
    Ok(CgroupPlan {
        path,
        mode,
        resources,
        limits,
        devices,
    })
}
