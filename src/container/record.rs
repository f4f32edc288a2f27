//! The container as the state store knows it: `Container` (stored state
//! plus derived status) and the small helpers the lifecycle files share.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::cgroups::{self, CgroupManager};
use crate::state::{self, StateRoot, StoredState, EXEC_FIFO};
use crate::syscall::proc_stat;

/// fds 3..3+n reach the container's process (`--preserve-fds`, plus
/// socket activation's): n must leave every fd number an int. Larger
/// counts overflowed the fd arithmetic of the process setup (a panic in a
/// debug build, stderr closed in a release one).
pub(super) fn check_fd_count(what: &str, n: Option<u32>) -> Result<u32> {
    const MAX: u32 = i32::MAX as u32 - 3;
    match n {
        Some(n) if n <= MAX => Ok(n),
        _ => bail!("{what}: more fds than a process can have (at most {MAX})"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Paused,
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// A container known to the state root.
pub struct Container {
    pub dir: PathBuf,
    pub state: StoredState,
}

impl Container {
    /// Load `id` from the state root; "does not exist" when it is not there.
    pub fn load(root: &StateRoot, id: &str) -> Result<Container> {
        state::validate_id(id)?;
        let dir = root.container_dir(id);
        match state::load(&dir) {
            Ok(state) => Ok(Container { dir, state }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                bail!("container {id:?} does not exist")
            }
            Err(err) => bail!(
                "container {id:?}: read {:?}: {err} (`delete --force {id}` removes it)",
                dir.join(state::STATE_FILE)
            ),
        }
    }

    pub fn id(&self) -> &str {
        &self.state.id
    }

    /// Whether the init is alive (same pid, same start time, not a zombie).
    pub fn init_alive(&self) -> bool {
        matches!(
            proc_stat(self.state.pid),
            Ok((st, start)) if start == self.state.pid_start_time && st != 'Z' && st != 'X'
        )
    }

    pub fn status(&self) -> Status {
        if !self.init_alive() {
            Status::Stopped
        } else if self
            .cgroup()
            .is_some_and(|c| c.is_frozen().unwrap_or(false))
        {
            // A created container can be paused too (as in runc).
            Status::Paused
        } else if self.dir.join(EXEC_FIFO).exists() {
            Status::Created
        } else {
            Status::Running
        }
    }

    /// The manager of the container's cgroup (None for containers created
    /// before hull made cgroups).
    pub fn cgroup(&self) -> Option<Box<dyn CgroupManager>> {
        self.state.cgroup.as_ref().map(cgroups::manager_from_state)
    }

    /// The cgroup, or an error saying the container has none.
    pub fn require_cgroup(&self) -> Result<Box<dyn CgroupManager>> {
        match self.cgroup() {
            Some(c) => Ok(c),
            None => bail!(
                "container {:?} has no cgroup recorded in its state",
                self.id()
            ),
        }
    }

    /// A pidfd for the init, verified against its start time.
    pub fn init_pidfd(&self) -> Option<OwnedFd> {
        crate::process::pidfd::open_verified(self.state.pid, self.state.pid_start_time)
    }

    /// The OCI state document (runtime-spec "state"), with runc's extra
    /// fields (rootfs, created, owner).
    pub fn oci_state(&self) -> serde_json::Value {
        let status = self.status();
        let pid = if status == Status::Stopped {
            0
        } else {
            self.state.pid
        };
        let mut v = serde_json::json!({
            "ociVersion": self.state.oci_version,
            "id": self.state.id,
            "pid": pid,
            "status": status,
            "bundle": self.state.bundle,
            "rootfs": self.state.rootfs,
            "created": self.state.created,
            "owner": self.state.owner,
        });
        if !self.state.annotations.is_empty() {
            v["annotations"] = serde_json::json!(self.state.annotations);
        }
        v
    }
}

/// Write `pid` to --pid-file (atomically, by its absolute path; not
/// fsynced, like state.json: a pid means nothing after a power loss).
pub(super) fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let path = std::path::absolute(path).with_context(|| format!("--pid-file {path:?}"))?;
    crate::files::replace_file(&path, pid.to_string().as_bytes(), false)
        .with_context(|| format!("--pid-file {path:?}"))
}
