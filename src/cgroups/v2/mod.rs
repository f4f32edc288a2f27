//! cgroup v2 (unified): one directory, controllers enabled down to it,
//! cgroup.freeze, cgroup.kill and an eBPF device filter.

pub mod stats;

use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use oci_spec::runtime::LinuxResources;

use super::devices::{bpf, DeviceRule};
use super::resources::{self, V2Facts, Write};
use super::{fs, path, CgroupManager, CgroupState, Mode, Stats, CGROUP_ROOT};

pub struct Manager {
    dir: PathBuf,
    owned: bool,
}

/// Pids in `dir` and every cgroup below it.
pub fn all_pids(dir: &Path) -> Result<Vec<i32>> {
    let mut pids = fs::read_procs(dir)?;
    for entry in std::fs::read_dir(dir).with_context(|| format!("read {dir:?}"))? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            pids.extend(all_pids(&entry.path())?);
        }
    }
    Ok(pids)
}

impl Manager {
    pub fn resolve(cgroups_path: Option<&str>, id: &str) -> Result<Manager> {
        let own = path::own_cgroups()?;
        let own = own.get("").cloned().unwrap_or_else(|| PathBuf::from("/"));
        // Like runc: relative paths go below the *parent* of the caller's
        // cgroup, as the caller's own one holds processes and could not
        // enable controllers for a child.
        let parent = own.parent().unwrap_or(Path::new("/"));
        let inner = path::inner(cgroups_path, id, parent);
        Ok(Manager {
            dir: Path::new(CGROUP_ROOT).join(inner),
            owned: true,
        })
    }

    pub fn from_state(state: &CgroupState) -> Manager {
        Manager {
            dir: state.paths.values().next().cloned().unwrap_or_default(),
            owned: state.owned,
        }
    }

    /// The nearest existing ancestor of the container's cgroup (its parent
    /// once it exists): its cgroup.controllers is what the cgroup can have.
    fn parent(&self) -> &Path {
        let mut d = self.dir.parent().unwrap_or(Path::new(CGROUP_ROOT));
        while !d.exists() {
            d = d.parent().unwrap_or(Path::new("/"));
        }
        d
    }

    fn available(&self) -> Vec<String> {
        fs::read(self.parent(), "cgroup.controllers")
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect()
    }

    fn facts(&self) -> V2Facts {
        V2Facts {
            bfq: self.dir.join("io.bfq.weight").exists(),
        }
    }

    fn writes(&self, r: &LinuxResources) -> Result<Vec<Write>> {
        let mut warnings = Vec::new();
        let writes = resources::v2_writes(r, &self.facts(), &mut warnings)?;
        for w in warnings {
            crate::logging::warn(&w);
        }
        Ok(writes)
    }

    /// Controllers the writes need, as subtree_control wants them enabled.
    fn needed(writes: &[Write]) -> Vec<&str> {
        let mut c: Vec<&str> = writes
            .iter()
            .map(|w| w.controller.as_str())
            .filter(|c| *c != "cgroup")
            .collect();
        c.sort_unstable();
        c.dedup();
        c
    }
}

impl CgroupManager for Manager {
    fn state(&self) -> CgroupState {
        CgroupState {
            mode: Mode::Unified,
            paths: BTreeMap::from([(String::new(), self.dir.clone())]),
            owned: self.owned,
        }
    }

    fn check(&self, r: &LinuxResources) -> Result<()> {
        let writes = self.writes(r)?;
        let available = self.available();
        for w in &writes {
            if w.controller != "cgroup" && !available.contains(&w.controller) {
                bail!(
                    "{}: the {:?} controller is not available in cgroup {:?}",
                    w.field,
                    w.controller,
                    self.parent()
                );
            }
        }
        if let Some(cpu) = r.cpu() {
            for (name, list, file) in [
                ("cpus", cpu.cpus(), "cpuset.cpus.effective"),
                ("mems", cpu.mems(), "cpuset.mems.effective"),
            ] {
                if let Some(list) = list.as_deref().filter(|l| !l.is_empty()) {
                    let have = fs::read(self.parent(), file)?;
                    super::v1::check_subset(
                        &format!("linux.resources.cpu.{name}"),
                        list,
                        have.trim(),
                        self.parent(),
                    )?;
                }
            }
        }
        Ok(())
    }

    fn create(&mut self) -> Result<()> {
        if self.dir.exists() {
            self.owned = false;
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("create cgroup {:?}", self.dir))?;
        self.owned = true;
        Ok(())
    }

    fn apply(&self, r: &LinuxResources, update: bool) -> Result<()> {
        let writes = self.writes(r)?;
        enable_controllers(&self.dir, Path::new(CGROUP_ROOT), &Self::needed(&writes))?;
        if update {
            super::v1::check_before_update(r, Some(&self.dir), "memory.current")?;
        }
        for w in writes {
            match fs::write(&self.dir, &w.file, &w.value) {
                Ok(()) => {}
                Err(_) if w.optional && !self.dir.join(&w.file).exists() => {}
                Err(err) if !self.dir.join(&w.file).exists() => {
                    return Err(err.context(format!(
                        "{}: the cgroup has no {:?} file (is the {:?} controller enabled?)",
                        w.field, w.file, w.controller
                    )))
                }
                Err(err) => return Err(err.context(w.field.clone())),
            }
        }
        Ok(())
    }

    fn apply_devices(&self, rules: &[DeviceRule]) -> Result<()> {
        let dir = std::fs::File::open(&self.dir).map_err(|e| {
            anyhow!(
                "open cgroup {:?}: {}",
                self.dir,
                crate::error::describe_io(&e)
            )
        })?;
        bpf::attach(rules, dir.as_fd()).context("linux.resources.devices")
    }

    fn open_procs(&self) -> Result<Vec<OwnedFd>> {
        // The init is cloned straight into the cgroup (CLONE_INTO_CGROUP).
        Ok(Vec::new())
    }

    fn sub_cgroup(&self, subs: &[super::SubCgroup]) -> Result<Box<dyn CgroupManager>> {
        // One hierarchy: one path, whatever controller it names.
        let [sub] = subs else {
            bail!("--cgroup: a cgroup v2 host takes one sub-cgroup path");
        };
        Ok(Box::new(Manager {
            dir: sub.dir_below(&self.dir)?,
            owned: false,
        }))
    }

    fn clone_into_fd(&self) -> Option<OwnedFd> {
        std::fs::File::open(&self.dir).ok().map(OwnedFd::from)
    }

    fn freeze(&self) -> Result<()> {
        fs::write(&self.dir, "cgroup.freeze", "1")?;
        wait_events(&self.dir, "frozen", 1)
    }

    fn thaw(&self) -> Result<()> {
        fs::write(&self.dir, "cgroup.freeze", "0")?;
        wait_events(&self.dir, "frozen", 0)
    }

    fn is_frozen(&self) -> Result<bool> {
        Ok(fs::read(&self.dir, "cgroup.freeze")?.trim() == "1")
    }

    fn pids(&self) -> Result<Vec<i32>> {
        all_pids(&self.dir)
    }

    fn kill_all(&self) -> Result<()> {
        if self.dir.join("cgroup.kill").exists() {
            return fs::write(&self.dir, "cgroup.kill", "1");
        }
        self.freeze()?;
        let result = self.pids().map(|pids| {
            for pid in pids {
                // SAFETY: kill(2) with plain integers; the frozen pids
                // cannot exit and be reused before this.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        });
        self.thaw()?;
        result
    }

    fn stats(&self) -> Result<Stats> {
        Ok(stats::read(&self.dir))
    }

    fn oom_kills(&self) -> Result<u64> {
        let text = fs::read(&self.dir, "memory.events")
            .map_err(|e| e.context("the memory controller is not enabled for the container"))?;
        Ok(fs::keyed(&text, "oom_kill").unwrap_or(0))
    }

    fn destroy(&self) -> Result<()> {
        if !self.owned {
            return Ok(());
        }
        fs::remove_dir(&self.dir)
    }
}

/// Enable `needed` in cgroup.subtree_control on every level from `root`
/// down to `dir`'s parent, from the top (a controller must be on in the
/// parent first). Levels that have them already are not written.
pub fn enable_controllers(dir: &Path, root: &Path, needed: &[&str]) -> Result<()> {
    if needed.is_empty() {
        return Ok(());
    }
    let mut levels: Vec<&Path> = dir.ancestors().skip(1).collect();
    levels.retain(|p| p.starts_with(root));
    for level in levels.iter().rev() {
        let on = fs::read(level, "cgroup.subtree_control")?;
        let missing: Vec<String> = needed
            .iter()
            .filter(|c| !on.split_whitespace().any(|o| o == **c))
            .map(|c| format!("+{c}"))
            .collect();
        if !missing.is_empty() {
            fs::write(level, "cgroup.subtree_control", &missing.join(" "))
                .context("enable controllers for the container's cgroup")?;
        }
    }
    Ok(())
}

/// Wait until cgroup.events says `key value`: the kernel signals each change
/// of the file with POLLPRI, so no sleeping in between.
fn wait_events(dir: &Path, key: &str, value: u64) -> Result<()> {
    use std::io::{Read, Seek};
    let path = dir.join("cgroup.events");
    let mut file = std::fs::File::open(&path).with_context(|| format!("open {path:?}"))?;
    for _ in 0..100 {
        let mut text = String::new();
        file.rewind()?;
        file.read_to_string(&mut text)
            .with_context(|| format!("read {path:?}"))?;
        if fs::keyed(&text, key) == Some(value) {
            return Ok(());
        }
        let mut pfd = libc::pollfd {
            fd: file.as_raw_fd(),
            events: libc::POLLPRI,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the call.
        unsafe { libc::poll(&mut pfd, 1, 100) };
    }
    bail!("{path:?}: {key} did not become {value} within 10 s")
}
