//! cgroup v2 (unified): one directory, controllers enabled down to it,
//! cgroup.freeze, cgroup.kill and an eBPF device filter.

mod cpu;
pub mod devices;
mod hugetlb;
mod io;
pub mod limits;
mod memory;
pub mod stats;

pub use cpu::shares_to_weight;
pub use io::blkio_to_io_weight;
pub use limits::convert;
pub use memory::memsw_to_swap;

use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use crate::cgroups::common::{self, Limits, Write};
use crate::cgroups::devices::DeviceRule;
use crate::cgroups::fs;
use crate::cgroups::manager::{CgroupManager, CgroupState, Mode, SubCgroup};
use crate::cgroups::path::{self, CGROUP_ROOT};
use crate::cgroups::stats::Stats;

pub struct Manager {
    dir: PathBuf,
    owned: bool,
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

    /// The cgroup `dir` (under /sys/fs/cgroup), made by hull or not.
    pub fn at(dir: PathBuf, owned: bool) -> Manager {
        Manager { dir, owned }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
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
            systemd: None,
        }
    }

    fn check(&self, limits: &Limits) -> Result<()> {
        limits.check_refused()?;
        let available = self.available();
        for w in &limits.writes {
            if w.controller != "cgroup" && !available.contains(&w.controller) {
                bail!(
                    "{}: the {:?} controller is not available in cgroup {:?}",
                    w.field,
                    w.controller,
                    self.parent()
                );
            }
        }
        common::check_cpuset(
            limits,
            self.parent(),
            ["cpuset.cpus.effective", "cpuset.mems.effective"],
        )
    }

    fn create(&mut self, _init: Option<i32>) -> Result<()> {
        if self.dir.exists() {
            self.owned = false;
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("create cgroup {:?}", self.dir))?;
        self.owned = true;
        Ok(())
    }

    fn apply(&self, limits: &Limits, update: bool) -> Result<()> {
        let writes = &limits.writes;
        fs::enable_controllers(&self.dir, Path::new(CGROUP_ROOT), &Self::needed(writes))?;
        if update {
            common::check_before_update(limits, Some(&self.dir), "memory.current")?;
        }
        for w in writes {
            // BFQ's io.bfq.weight, where the kernel has it, takes blkio's
            // weights as they are.
            let (file, value) = match &w.bfq {
                Some((file, value)) if self.dir.join(file).exists() => (file, value),
                _ => (&w.file, &w.value),
            };
            match fs::write(&self.dir, file, value) {
                Ok(()) => {}
                Err(_) if w.optional && !self.dir.join(file).exists() => {}
                Err(err) if !self.dir.join(file).exists() => {
                    return Err(err.context(format!(
                        "{}: the cgroup has no {:?} file (is the {:?} controller enabled?)",
                        w.field, file, w.controller
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
        devices::attach(rules, dir.as_fd()).context("linux.resources.devices")
    }

    fn devices_swap_at_once(&self) -> bool {
        true
    }

    fn open_procs(&self) -> Result<Vec<OwnedFd>> {
        // The init is cloned straight into the cgroup (CLONE_INTO_CGROUP).
        Ok(Vec::new())
    }

    fn sub_cgroup(&self, subs: &[SubCgroup]) -> Result<Box<dyn CgroupManager>> {
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
        fs::all_pids(&self.dir)
    }

    /// A cgroup is only removed once empty, and systemd removes an ended
    /// scope's at any moment (between any two of the writes here): one gone
    /// has nothing left to kill.
    fn kill_all(&self) -> Result<()> {
        self.kill_present().or_else(|e| match self.dir.exists() {
            false => Ok(()),
            true => Err(e),
        })
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

impl Manager {
    /// cgroup.kill where the kernel has it (5.14), else freeze, SIGKILL each
    /// pid, thaw.
    fn kill_present(&self) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// systemd removed the scope's cgroup (its last process ended): the
    /// kill finds nothing to do instead of failing on the missing files.
    #[test]
    fn kill_all_of_a_removed_cgroup_is_nothing_to_do() {
        let tmp = tempfile::tempdir().unwrap();
        let gone = Manager::at(tmp.path().join("hull-gone.scope"), true);
        gone.kill_all().unwrap();
    }

    /// A directory that is there but cannot be killed (not a cgroup: no
    /// cgroup.freeze) is still an error, naming the file.
    #[test]
    fn kill_all_of_a_present_dir_that_fails_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let err = Manager::at(tmp.path().to_path_buf(), true)
            .kill_all()
            .unwrap_err();
        assert!(format!("{err:#}").contains("cgroup.freeze"), "{err:#}");
    }
}
