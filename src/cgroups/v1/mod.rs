//! cgroup v1 (legacy and hybrid hosts): one directory per mounted hierarchy,
//! named ones (name=systemd) and a hybrid host's cgroup2 included.

mod blkio;
mod cpu;
pub mod devices;
pub mod limits;
mod memory;
mod stats;

pub use limits::convert;

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use crate::cgroups::common::{self, Limits, Write};
use crate::cgroups::devices::DeviceRule;
use crate::cgroups::fs;
use crate::cgroups::manager::{CgroupManager, CgroupState, Mode, SubCgroup};
use crate::cgroups::path::{self, CGROUP_ROOT};
use crate::cgroups::stats::{self as usage, Stats};

/// The key of a hybrid host's cgroup2 hierarchy in the paths.
pub const UNIFIED: &str = "unified";

pub struct Manager {
    /// Hierarchy → the container's directory in it.
    paths: BTreeMap<String, PathBuf>,
    owned: bool,
}

/// Whether hierarchy `h` ("cpu,cpuacct") holds `controller`.
fn holds(h: &str, controller: &str) -> bool {
    h.split(',').any(|c| c == controller)
}

impl Manager {
    pub fn resolve(cgroups_path: Option<&str>, id: &str) -> Result<Manager> {
        let own = path::own_cgroups()?;
        let mut paths = BTreeMap::new();
        for m in path::cgroup_mounts()? {
            let key = if m.fs_type == "cgroup2" {
                UNIFIED.to_string()
            } else if m.hierarchy.is_empty() {
                continue;
            } else {
                m.hierarchy.clone()
            };
            if paths.contains_key(&key) {
                continue;
            }
            let own_path = own
                .iter()
                .find(|(h, _)| {
                    if key == UNIFIED {
                        h.is_empty()
                    } else {
                        path::same_hierarchy(h, &key)
                    }
                })
                .map(|(_, p)| p.clone())
                .unwrap_or_else(|| PathBuf::from("/"));
            // The caller's cgroup as seen under this mount's root.
            let below_root = own_path.strip_prefix(&m.root).unwrap_or(Path::new(""));
            let inner = path::inner(cgroups_path, id, &Path::new("/").join(below_root));
            paths.insert(key, m.mount_point.join(inner));
        }
        if paths.is_empty() {
            bail!("no cgroup hierarchy is mounted under {}", CGROUP_ROOT);
        }
        Ok(Manager { paths, owned: true })
    }

    pub fn from_state(state: &CgroupState) -> Manager {
        Manager {
            paths: state.paths.clone(),
            owned: state.owned,
        }
    }

    /// The container's directory in the hierarchy that holds `controller`.
    fn dir(&self, controller: &str) -> Option<&Path> {
        self.paths
            .iter()
            .find(|(h, _)| h.as_str() != UNIFIED && holds(h, controller))
            .map(|(_, p)| p.as_path())
    }

    /// The hierarchy whose process list stands for the container's.
    fn main_dir(&self) -> Result<&Path> {
        ["freezer", "pids", "memory", "devices", "cpu"]
            .iter()
            .find_map(|c| self.dir(c))
            .or_else(|| self.paths.values().next().map(|p| p.as_path()))
            .ok_or_else(|| anyhow!("the container has no cgroup"))
    }

    /// The directory, or its nearest existing ancestor (before create).
    fn existing(dir: &Path) -> &Path {
        let mut d = dir;
        while !d.exists() {
            match d.parent() {
                Some(p) => d = p,
                None => break,
            }
        }
        d
    }

    /// memory.limit_in_bytes now (decides the order of memory and memsw).
    fn memory_limit_now(&self) -> u64 {
        self.dir("memory")
            .map(Self::existing)
            .and_then(|d| fs::read_u64(d, "memory.limit_in_bytes").ok())
            .unwrap_or(u64::MAX)
    }

    /// memory.memsw.limit_in_bytes exists (swap accounting).
    fn memsw(&self) -> bool {
        self.dir("memory")
            .map(Self::existing)
            .is_some_and(|d| d.join("memory.memsw.limit_in_bytes").exists())
    }

    /// Where a write goes: its hierarchy, or on a hybrid host the cgroup2
    /// for hugetlb when only cgroup2 has it (its files are named the v2 way).
    /// BFQ's weight file is written where only it exists (the disks' io
    /// scheduler is BFQ), with the file and value the write names.
    fn target(&self, w: &Write) -> Result<(PathBuf, String, String)> {
        if let Some(d) = self.dir(&w.controller) {
            let here = Self::existing(d);
            if let Some((file, value)) = &w.bfq {
                if !here.join(&w.file).exists() && here.join(file).exists() {
                    return Ok((d.to_path_buf(), file.clone(), value.clone()));
                }
            }
            return Ok((d.to_path_buf(), w.file.clone(), w.value.clone()));
        }
        if w.controller == "hugetlb" {
            if let Some(u) = self.paths.get(UNIFIED) {
                let avail = fs::read(Self::existing(u), "cgroup.controllers").unwrap_or_default();
                if avail.split_whitespace().any(|c| c == "hugetlb") {
                    let file = w.file.replace(".limit_in_bytes", ".max");
                    return Ok((u.clone(), file, w.value.clone()));
                }
            }
        }
        bail!(
            "{}: the \"{}\" controller is not available on this host (no cgroup v1 hierarchy has it)",
            w.field,
            w.controller
        )
    }

    fn check_cpuset(&self, limits: &Limits) -> Result<()> {
        let Some(dir) = self.dir("cpuset") else {
            return Ok(());
        };
        let parent = Self::existing(dir.parent().unwrap_or(dir));
        common::check_cpuset(
            limits,
            parent,
            ["cpuset.effective_cpus", "cpuset.effective_mems"],
        )
    }
}

/// Copy cpuset.cpus/mems from the parent into a new v1 cpuset directory
/// (an empty cpuset cannot hold processes).
fn init_cpuset(dir: &Path) -> Result<()> {
    let parent = dir.parent().context("cpuset cgroup has no parent")?;
    for file in ["cpuset.cpus", "cpuset.mems"] {
        if fs::read(dir, file)?.trim().is_empty() {
            let value = fs::read(parent, file)?;
            fs::write(dir, file, value.trim())?;
        }
    }
    Ok(())
}

impl CgroupManager for Manager {
    fn state(&self) -> CgroupState {
        CgroupState {
            mode: Mode::Legacy,
            paths: self.paths.clone(),
            owned: self.owned,
            systemd: None,
        }
    }

    fn check(&self, limits: &Limits) -> Result<()> {
        limits.check_refused()?;
        let memsw = self.memsw();
        for w in &limits.writes {
            let (dir, file, value) = self.target(w)?;
            if w.file == "memory.memsw.limit_in_bytes" && !w.optional && !memsw {
                bail!("{}: this kernel has no swap accounting (memory.memsw.limit_in_bytes is missing)", w.field);
            }
            if w.controller == "blkio"
                && w.bfq.is_some()
                && !Self::existing(&dir).join(&file).exists()
            {
                bail!("{}: {}: the blkio controller here has no weight file (blkio.weight or blkio.bfq.weight; the disks' io scheduler has no weights)", w.field, value);
            }
        }
        self.check_cpuset(limits)
    }

    fn create(&mut self, _init: Option<i32>) -> Result<()> {
        let mut made_any = false;
        for (h, dir) in &self.paths {
            if dir.exists() {
                continue;
            }
            // Levels made here, outermost first (cpuset needs each filled).
            let mut new_levels = Vec::new();
            let mut d = dir.as_path();
            while !d.exists() {
                new_levels.push(d.to_path_buf());
                d = d.parent().context("cgroup path has no parent")?;
            }
            std::fs::create_dir_all(dir).with_context(|| format!("create cgroup {dir:?}"))?;
            made_any = true;
            if holds(h, "cpuset") {
                for level in new_levels.iter().rev() {
                    init_cpuset(level)?;
                }
            }
        }
        // A cgroup that was all there already is joined, shared: delete
        // must neither empty nor remove it.
        self.owned = made_any;
        Ok(())
    }

    fn apply(&self, limits: &Limits, update: bool) -> Result<()> {
        if update {
            common::check_before_update(limits, self.dir("memory"), "memory.usage_in_bytes")?;
        }
        let mut writes = limits.writes.clone();
        memory::order(&mut writes, self.memory_limit_now());
        if let Some(unified) = self.paths.get(UNIFIED) {
            // hugetlb from the cgroup2 beside: on in every level above.
            let on_unified: Vec<&str> = writes
                .iter()
                .filter(|w| self.dir(&w.controller).is_none())
                .map(|w| w.controller.as_str())
                .collect();
            if !on_unified.is_empty() {
                let root = path::cgroup_mounts()?
                    .into_iter()
                    .find(|m| m.fs_type == "cgroup2")
                    .map(|m| m.mount_point)
                    .context("the cgroup2 mount is gone")?;
                fs::enable_controllers(unified, &root, &on_unified)?;
            }
        }
        for w in writes {
            let (dir, file, value) = self.target(&w)?;
            match fs::write(&dir, &file, &value) {
                Ok(()) => {}
                Err(_) if w.optional && !dir.join(&file).exists() => {}
                Err(err) => return Err(err.context(w.field.clone())),
            }
        }
        Ok(())
    }

    fn apply_devices(&self, rules: &[DeviceRule]) -> Result<()> {
        let Some(dir) = self.dir("devices") else {
            crate::logging::warn("linux.resources.devices: no devices cgroup hierarchy on this host; device rules not applied");
            return Ok(());
        };
        for (file, line) in devices::writes(rules) {
            fs::write(dir, file, &line).context("linux.resources.devices")?;
        }
        Ok(())
    }

    fn open_procs(&self) -> Result<Vec<OwnedFd>> {
        // v1 hierarchies get the init's thread through `tasks`: writing "0"
        // there moves only the writer and skips the global threadgroup lock
        // whose RCU sync makes every cgroup.procs write cost milliseconds.
        // The init is single-threaded, so its thread is all of it. A hybrid
        // host's cgroup2 is entered by the clone itself (clone_into_fd).
        self.paths
            .iter()
            .filter(|(h, _)| h.as_str() != UNIFIED)
            .map(|(_, d)| {
                let p = d.join("tasks");
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&p)
                    .map(OwnedFd::from)
                    .map_err(|e| anyhow!("open {p:?}: {}", crate::error::describe_io(&e)))
            })
            .collect()
    }

    fn sub_cgroup(&self, subs: &[SubCgroup]) -> Result<Box<dyn CgroupManager>> {
        let mut paths = self.paths.clone();
        for sub in subs {
            let mut matched = false;
            for (h, dir) in paths.iter_mut() {
                let wanted = match &sub.controller {
                    None => true,
                    Some(c) if h.as_str() == UNIFIED => c == "unified",
                    Some(c) => holds(h, c) || h.strip_prefix("name=") == Some(c.as_str()),
                };
                if wanted {
                    *dir = sub.dir_below(&self.paths[h])?;
                    matched = true;
                }
            }
            if !matched {
                bail!(
                    "--cgroup {:?}: no cgroup hierarchy on this host has the {:?} controller",
                    sub.path,
                    sub.controller.as_deref().unwrap_or("")
                );
            }
        }
        Ok(Box::new(Manager {
            paths,
            owned: false,
        }))
    }

    fn clone_into_fd(&self) -> Option<OwnedFd> {
        let dir = self.paths.get(UNIFIED)?;
        std::fs::File::open(dir).ok().map(OwnedFd::from)
    }

    fn freeze(&self) -> Result<()> {
        let dir = self
            .dir("freezer")
            .context("no freezer cgroup hierarchy on this host")?;
        // FREEZING turns into FROZEN once every task stopped; writing
        // FROZEN again nudges tasks that were forking.
        for _ in 0..2000 {
            fs::write(dir, "freezer.state", "FROZEN")?;
            if fs::read(dir, "freezer.state")?.trim() == "FROZEN" {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let _ = fs::write(dir, "freezer.state", "THAWED");
        bail!("freeze {dir:?}: the cgroup did not reach FROZEN")
    }

    fn thaw(&self) -> Result<()> {
        let dir = self
            .dir("freezer")
            .context("no freezer cgroup hierarchy on this host")?;
        fs::write(dir, "freezer.state", "THAWED")
    }

    fn is_frozen(&self) -> Result<bool> {
        match self.dir("freezer") {
            Some(dir) => Ok(fs::read(dir, "freezer.state")?.trim() == "FROZEN"),
            None => Ok(false),
        }
    }

    fn pids(&self) -> Result<Vec<i32>> {
        fs::all_pids(self.main_dir()?)
    }

    fn kill_all(&self) -> Result<()> {
        if self.pids()?.is_empty() {
            // Nobody left who could fork: nothing to freeze or kill.
            return Ok(());
        }
        // Frozen, nobody can fork a new process between the read and the
        // kill, and no pid read can be reused before it is signalled.
        let freezer = self.dir("freezer").is_some();
        if freezer {
            self.freeze()?;
        }
        let result = self.pids().map(|pids| {
            for pid in pids {
                // SAFETY: kill(2) with plain integers.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        });
        if freezer {
            self.thaw()?;
        }
        result
    }

    fn stats(&self) -> Result<Stats> {
        let mut s = stats::read(|c| self.dir(c));
        if self.dir("hugetlb").is_none() {
            if let Some(unified) = self.paths.get(UNIFIED) {
                s.hugetlb = usage::hugetlb_v2(unified);
            }
        }
        Ok(s)
    }

    fn oom_kills(&self) -> Result<u64> {
        let dir = self
            .dir("memory")
            .context("no memory cgroup hierarchy on this host")?;
        let text = fs::read(dir, "memory.oom_control")?;
        Ok(fs::keyed(&text, "oom_kill").unwrap_or(0))
    }

    fn destroy(&self) -> Result<()> {
        if !self.owned {
            return Ok(());
        }
        let mut first_err = None;
        for dir in self.paths.values() {
            if let Err(e) = fs::remove_dir(dir) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}
