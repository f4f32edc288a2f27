//! `delete`: kill what is left of a container, unmount what it mounted
//! on the host (without a mount namespace), remove its cgroup and its
//! state.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::record::{Container, Status};
use crate::cgroups::CgroupManager;
use crate::files::DirLock;
use crate::rootfs::host_mounts::HostMounts;
use crate::state::StateRoot;
use crate::syscall::pidfd_wait_exit;

/// How long delete waits for a killed init to go (it cannot ignore SIGKILL;
/// this only bounds a process stuck in the kernel).
const KILL_WAIT_MS: i32 = 10_000;

pub fn delete(root: &StateRoot, id: &str, force: bool) -> Result<()> {
    let container = match Container::load(root, id) {
        Ok(c) => c,
        Err(err) if force => match delete_without_state(root, id)? {
            Some(c) => c,
            None => {
                let _ = err;
                return Ok(());
            }
        },
        Err(err) => return Err(err),
    };
    let _lock =
        DirLock::lock(&container.dir).with_context(|| format!("lock {:?}", container.dir))?;
    match container.status() {
        Status::Stopped => {}
        Status::Created => kill_and_wait(&container)?,
        Status::Running | Status::Paused if force => kill_and_wait(&container)?,
        status @ (Status::Running | Status::Paused) => bail!(
            "cannot delete container {id:?} that is not stopped: {status} (stop it first, or use --force)"
        ),
    }
    destroy(&container)
}

/// Remove what hull made for a stopped container: what is left in its
/// cgroup is killed, its mounts below root.path on the host unmounted,
/// the cgroup removed, then the state. A failure leaves the state for
/// another try. poststop hooks run last, every one of them; a failure is
/// a warning.
pub fn destroy(container: &Container) -> Result<()> {
    let remains = Remains::of(container);
    remains.kill_cgroup()?;
    remains.remove()?;
    let s = &container.state;
    if !s.hooks.poststop.is_empty() {
        // No pid: the init is gone, its pid may already be another's.
        let state = crate::hooks::state_json(
            &s.oci_version,
            &s.id,
            "stopped",
            0,
            &s.bundle,
            &s.annotations,
        );
        crate::hooks::run_all_warning("poststop", &s.hooks.poststop, &state, &s.id);
    }
    Ok(())
}

/// What a container has on the host besides its init, as its state or its
/// cleanup record names it.
struct Remains<'a> {
    id: &'a str,
    dir: &'a Path,
    cgroup: Option<Box<dyn CgroupManager>>,
    host_mounts: Option<&'a HostMounts>,
    resctrl: Option<&'a crate::resctrl::RdtState>,
}

impl Remains<'_> {
    fn of(container: &Container) -> Remains<'_> {
        Remains {
            id: container.id(),
            dir: &container.dir,
            cgroup: container.cgroup(),
            host_mounts: container.state.host_mounts.as_ref(),
            resctrl: container.state.resctrl.as_ref(),
        }
    }

    /// SIGKILL the init `init` (pid `pid`) and, in the cgroup hull made,
    /// everything else; thaw a frozen cgroup so they can die; wait for the
    /// init to exit.
    fn kill(&self, init: &OwnedFd, pid: i32) -> Result<()> {
        if let Some(cgroup) = self.cgroup.as_ref().filter(|c| c.state().owned) {
            // Everything in the cgroup, frozen or not (cgroup.kill on v2).
            cgroup.kill_all()?;
            // Already dead from the above, most likely.
            let _ = crate::process::pidfd::send_signal(init, libc::SIGKILL);
        } else {
            // SIGKILL to a pid namespace's init takes every process in it
            // along. Without one, in a joined (shared) cgroup, the
            // container's other processes cannot be told from its
            // neighbours': only the init.
            crate::process::pidfd::send_signal(init, libc::SIGKILL)?;
        }
        if let Some(cgroup) = &self.cgroup {
            // A paused container's processes die once thawed (v1).
            if cgroup.is_frozen().unwrap_or(false) {
                cgroup.thaw()?;
            }
        }
        if !pidfd_wait_exit(init.as_fd(), KILL_WAIT_MS).context("wait for the init to exit")? {
            bail!(
                "container {:?}: init {pid} did not exit within {} s of SIGKILL",
                self.id,
                KILL_WAIT_MS / 1000
            );
        }
        Ok(())
    }

    /// Kill what is left in the cgroup hull made (processes a container
    /// without its own pid namespace left), and thaw it if it is frozen
    /// (a paused container's processes die once thawed, on v1).
    fn kill_cgroup(&self) -> Result<()> {
        let id = self.id;
        let Some(cgroup) = self.cgroup.as_ref().filter(|c| c.state().owned) else {
            return Ok(());
        };
        let killed = cgroup
            .kill_all()
            .with_context(|| format!("container {id:?}: kill the processes of its cgroup"));
        if cgroup.is_frozen().unwrap_or(false) {
            cgroup
                .thaw()
                .with_context(|| format!("container {id:?}: thaw its cgroup"))?;
        }
        killed
    }

    /// Unmount its mounts below root.path, remove its cgroup, its resctrl
    /// groups and its state directory.
    fn remove(self) -> Result<()> {
        let id = self.id;
        if let Some(record) = self.host_mounts {
            remove_host_mounts(id, record)?;
        }
        if let Some(cgroup) = self.cgroup {
            cgroup
                .destroy()
                .with_context(|| format!("container {id:?}: remove its cgroup"))?;
        }
        if let Some(rdt) = self.resctrl {
            crate::resctrl::remove(&crate::resctrl::Kernel, rdt)
                .with_context(|| format!("container {id:?}"))?;
        }
        crate::state::remove_dir(self.dir)
    }
}

/// SIGKILL the init (and, with an owned cgroup, everything in it) and wait
/// for the init to exit; an init already gone is fine.
pub(super) fn kill_and_wait(container: &Container) -> Result<()> {
    let Some(pidfd) = container.init_pidfd() else {
        return Ok(());
    };
    Remains::of(container).kill(&pidfd, container.state.pid)
}

/// `delete --force` of a container whose state.json is missing or cannot
/// be parsed: a create that was killed, a truncated or garbage file.
/// Engines expect success for a container that is already gone. What the
/// cleanup record names (written before create made anything) is removed:
/// the init (pid and start time checked), whatever its cgroup holds, its
/// mounts below root.path on the host, the cgroup, its resctrl groups,
/// the state dir. Returns the container instead when, once the
/// lock is taken, its state reads fine (a create that was still running).
fn delete_without_state(root: &StateRoot, id: &str) -> Result<Option<Container>> {
    if crate::state::validate_id(id).is_err() {
        return Ok(None);
    }
    let dir = root.container_dir(id);
    // Gone is success; a dir this user may not even look at is not.
    match dir.try_exists() {
        Ok(false) => return Ok(None),
        Ok(true) => {}
        Err(err) => bail!("container {id:?}: {dir:?}: {err}"),
    }
    // Waits for a create of this id that is still running.
    let _lock = DirLock::lock(&dir).with_context(|| format!("lock {dir:?}"))?;
    let state_file = dir.join(crate::state::STATE_FILE);
    match crate::state::load(&dir) {
        Ok(_) => return Container::load(root, id).map(Some),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        // Not ours to judge (rootless: another user's): its init may live.
        Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied => {
            bail!("container {id:?}: read {state_file:?}: {err}")
        }
        Err(err) => {
            crate::logging::warn(&format!(
                "container {id:?}: {state_file:?} is unreadable ({err}): removing what its cleanup record names"
            ));
        }
    }
    let record = crate::state::load_cleanup(&dir);
    if record.is_none() && state_file.exists() {
        bail!(
            "container {id:?}: {state_file:?} is unreadable and no cleanup record is there: its init cannot be found (remove {dir:?} by hand once it is gone)"
        );
    }
    let record = record.unwrap_or_default();
    let init = (record.pid > 0)
        .then(|| crate::process::pidfd::open_verified(record.pid, record.pid_start_time))
        .flatten();
    let remains = Remains {
        id,
        dir: &dir,
        cgroup: record
            .cgroup
            .as_ref()
            .map(crate::cgroups::manager_from_state),
        host_mounts: record.host_mounts.as_ref(),
        resctrl: record.resctrl.as_ref(),
    };
    // A create killed early: the init may be gone already, and a cgroup
    // it never made has nothing to kill.
    if let Some(init) = &init {
        let _ = crate::process::pidfd::send_signal(init, libc::SIGKILL);
        let _ = remains.kill(init, record.pid);
    }
    let _ = remains.kill_cgroup();
    remains.remove()?;
    Ok(None)
}

/// Unmount what a container without a mount namespace had below root.path
/// in hull's mount namespace.
fn remove_host_mounts(id: &str, record: &HostMounts) -> Result<()> {
    crate::rootfs::host_mounts::remove_locked(record).with_context(|| {
        format!(
            "container {id:?}: remove its mounts below root.path {:?}",
            record.rootfs
        )
    })
}
