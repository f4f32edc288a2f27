//! The systemd backend of `CgroupManager`: the container's cgroup is a
//! transient unit. hull starts it over D-Bus around the init (a scope needs
//! a pid), with `Delegate=yes` and the properties systemd has for
//! linux.resources; then writes every limit through the unit's cgroup files
//! and attaches the device filter, as the cgroupfs v2 backend does. Reading
//! (stats, pids, freeze, kill) is the v2 backend's on the unit's cgroup.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use oci_spec::runtime::LinuxResources;

use super::dbus::systemd::{CallError, Systemd};
use super::properties::{self, Property, Value};
use super::unit::{self, Unit};
use crate::cgroups::common::Limits;
use crate::cgroups::devices::DeviceRule;
use crate::cgroups::manager::{CgroupManager, CgroupState, Mode, SubCgroup, SystemdUnit};
use crate::cgroups::path::CGROUP_ROOT;
use crate::cgroups::stats::Stats;
use crate::cgroups::{self, v2};

const UNIT_EXISTS: &str = "org.freedesktop.systemd1.UnitExists";
const NO_SUCH_UNIT: &str = "org.freedesktop.systemd1.NoSuchUnit";

pub struct Manager {
    unit: SystemdUnit,
    /// The unit's cgroup: predicted until the unit is started, then the
    /// ControlGroup systemd reports.
    fs: v2::Manager,
    /// linux.resources and the annotations as unit properties (create).
    props: Vec<Property>,
}

impl Manager {
    /// The unit for `cgroups_path` (`slice:prefix:name`) and its
    /// properties, checked before anything is made. systemd is asked
    /// nothing yet but, for a rootless caller, where its manager's cgroup is.
    pub fn resolve(
        plan: &cgroups::CgroupPlan,
        annotations: &HashMap<String, String>,
        id: &str,
    ) -> Result<Manager> {
        let user = !nix::unistd::geteuid().is_root();
        let unit = unit::unit_for(plan.path.as_deref(), id, user)?;
        let mut props = properties::resources(&plan.resources)?;
        props.extend(super::annotations::properties(annotations)?);
        match plan.mode.as_ref().map_err(|why| anyhow!("{why}"))? {
            Mode::Unified => {}
            Mode::Legacy => bail!(
                "--systemd-cgroup: hull's systemd driver needs a cgroup v2 host (cgroup2 mounted at {CGROUP_ROOT}); this host has v1 hierarchies: use the cgroupfs driver"
            ),
        }
        let root = if user {
            manager_cgroup(&mut connect(user)?)?
        } else {
            PathBuf::from("/")
        };
        let dir = Path::new(CGROUP_ROOT)
            .join(root.strip_prefix("/").unwrap_or(&root))
            .join(&unit.path);
        Ok(Manager {
            // Owned once started: a unit of that name that is another's
            // is never stopped by a create that failed to start its own.
            fs: v2::Manager::at(dir, false),
            unit: SystemdUnit {
                unit: unit.name.clone(),
                user,
            },
            props: unit_properties(&unit, id, props),
        })
    }

    pub fn from_state(state: &CgroupState, unit: &SystemdUnit) -> Manager {
        Manager {
            fs: v2::Manager::from_state(state),
            unit: unit.clone(),
            props: Vec::new(),
        }
    }

    fn is_slice(&self) -> bool {
        self.unit.unit.ends_with(".slice")
    }

    /// Start the unit with `init` in it (a slice holds no pids: the init
    /// joins its cgroup through the files), retrying once after a reset
    /// when a unit of that name is left over; then where its cgroup is.
    fn start(&mut self, init: i32) -> Result<()> {
        let mut sd = connect(self.unit.user)?;
        let name = self.unit.unit.clone();
        let mut props = self.props.clone();
        if !self.is_slice() {
            let pid = u32::try_from(init).map_err(|_| anyhow!("init pid {init}"))?;
            props.push(Property::new("PIDs", Value::U32s(vec![pid]), "the init"));
        }
        let mut owned = true;
        if let Err(err) = sd.start_transient_unit(&name, "replace", &props) {
            if !err.is(UNIT_EXISTS) {
                return Err(err.into());
            }
            if self.is_slice() {
                // A slice that exists (a pod's, made by the engine) is
                // joined as it is, as runc does.
                owned = false;
            } else {
                // Maybe a failed unit of an earlier container: forgotten,
                // systemd may take the name again.
                let _ = sd.reset_failed_unit(&name);
                sd.start_transient_unit(&name, "replace", &props)
                    .map_err(|err| anyhow!("{err} (not a failed unit that could be reset: another container's? `systemctl stop {name}` ends it)"))?;
            }
        }
        let interface = if self.is_slice() {
            "org.freedesktop.systemd1.Slice"
        } else {
            "org.freedesktop.systemd1.Scope"
        };
        let cgroup = match sd.get_unit_property(&name, interface, "ControlGroup")? {
            Value::Str(path) if path.starts_with('/') => path,
            other => bail!("unit {name:?}: systemd reports its ControlGroup as {other:?}"),
        };
        let dir = Path::new(CGROUP_ROOT).join(cgroup.trim_start_matches('/'));
        crate::logging::debug(&format!("started unit {name:?}, cgroup {dir:?}"));
        self.fs = v2::Manager::at(dir, owned);
        if self.is_slice() {
            std::fs::create_dir_all(self.fs.dir())
                .with_context(|| format!("create the cgroup of slice {name:?}"))?;
            crate::cgroups::fs::write(self.fs.dir(), "cgroup.procs", &init.to_string())
                .with_context(|| format!("move the init into slice {name:?}"))?;
        }
        Ok(())
    }
}

/// The properties every unit gets, as runc sets them, then `resources`.
fn unit_properties(unit: &Unit, id: &str, resources: Vec<Property>) -> Vec<Property> {
    let prop = |name: &str, value| Property::new(name, value, "--systemd-cgroup");
    let mut props = vec![prop(
        "Description",
        Value::Str(format!("hull container {id}")),
    )];
    if unit.is_slice() {
        // A slice's parent is the one it wants.
        props.push(prop("Wants", Value::Strs(vec![unit.slice.clone()])));
    } else {
        props.push(prop("Slice", Value::Str(unit.slice.clone())));
        props.push(prop("Delegate", Value::Bool(true)));
    }
    for accounting in [
        "MemoryAccounting",
        "CPUAccounting",
        "IOAccounting",
        "TasksAccounting",
    ] {
        props.push(prop(accounting, Value::Bool(true)));
    }
    props.push(prop("DefaultDependencies", Value::Bool(false)));
    props.extend(resources);
    props
}

/// The system manager, or the calling user's.
fn connect(user: bool) -> Result<Systemd, CallError> {
    if user {
        Systemd::user()
    } else {
        Systemd::system()
    }
}

/// The cgroup of the manager's root ("/user.slice/user-1000.slice/user@1000.service").
fn manager_cgroup(sd: &mut Systemd) -> Result<PathBuf> {
    match sd.manager_property("ControlGroup")? {
        Value::Str(path) if path.starts_with('/') => Ok(PathBuf::from(path)),
        other => bail!("systemd reports its own ControlGroup as {other:?}"),
    }
}

impl CgroupManager for Manager {
    fn state(&self) -> CgroupState {
        CgroupState {
            systemd: Some(self.unit.clone()),
            ..self.fs.state()
        }
    }

    fn check(&self, limits: &Limits) -> Result<()> {
        self.fs.check(limits)
    }

    fn needs_init(&self) -> bool {
        true
    }

    fn create(&mut self, init: Option<i32>) -> Result<()> {
        let Some(init) = init else {
            bail!(
                "unit {:?}: a systemd unit is started around the init's pid",
                self.unit.unit
            );
        };
        self.start(init)
    }

    fn apply(&self, limits: &Limits, update: bool) -> Result<()> {
        self.fs.apply(limits, update)
    }

    fn update(&self, resources: &LinuxResources, limits: &Limits) -> Result<()> {
        let props = properties::resources(resources)?;
        if !props.is_empty() {
            connect(self.unit.user)?.set_unit_properties(&self.unit.unit, true, &props)?;
        }
        self.fs.apply(limits, true)
    }

    fn apply_devices(&self, rules: &[DeviceRule]) -> Result<()> {
        self.fs.apply_devices(rules)
    }

    fn open_procs(&self) -> Result<Vec<OwnedFd>> {
        self.fs.open_procs()
    }

    fn clone_into_fd(&self) -> Option<OwnedFd> {
        match self.unit.user {
            true => None,
            false => self.fs.clone_into_fd(),
        }
    }

    /// Rootless: hull's own process is outside the user's delegated
    /// subtree, so the kernel lets only systemd move a process into it.
    fn attaches_after_clone(&self) -> bool {
        self.unit.user
    }

    fn attach(&self, pid: i32) -> Result<()> {
        let pid = u32::try_from(pid).map_err(|_| anyhow!("pid {pid}"))?;
        connect(self.unit.user)?.attach_processes_to_unit(&self.unit.unit, "", &[pid])?;
        Ok(())
    }

    fn freeze(&self) -> Result<()> {
        self.fs.freeze()
    }

    fn thaw(&self) -> Result<()> {
        self.fs.thaw()
    }

    fn is_frozen(&self) -> Result<bool> {
        self.fs.is_frozen()
    }

    fn pids(&self) -> Result<Vec<i32>> {
        self.fs.pids()
    }

    fn kill_all(&self) -> Result<()> {
        // systemd stops a scope whose last process ended and removes its
        // cgroup, at any moment: the v2 kill takes a cgroup gone (before or
        // during it) as nothing left to kill.
        self.fs.kill_all()
    }

    fn stats(&self) -> Result<Stats> {
        self.fs.stats()
    }

    fn oom_kills(&self) -> Result<u64> {
        self.fs.oom_kills()
    }

    /// Stop the unit (systemd kills what is left and removes its cgroup)
    /// and forget it if it failed; a unit that is gone already is fine.
    fn destroy(&self) -> Result<()> {
        if !self.fs.state().owned {
            return Ok(());
        }
        let name = &self.unit.unit;
        let mut sd = connect(self.unit.user)?;
        match sd.stop_unit(name, "replace") {
            Ok(_) => {}
            Err(err) if err.is(NO_SUCH_UNIT) => {}
            Err(err) => return Err(err.into()),
        }
        match sd.reset_failed_unit(name) {
            Ok(()) => {}
            Err(err) if err.is(NO_SUCH_UNIT) => {}
            Err(err) => crate::logging::debug(&format!("{err}")),
        }
        // systemd removed the cgroup; a slice hull moved the init into is
        // removed here, once empty.
        crate::cgroups::fs::remove_dir(self.fs.dir())
    }

    fn sub_cgroup(&self, subs: &[SubCgroup]) -> Result<Box<dyn CgroupManager>> {
        self.fs.sub_cgroup(subs)
    }
}
