//! User-namespace id maps, written by hull from outside the namespace: the
//! init's (directly as root; without privilege the kernel's one-id rule or
//! newuidmap/newgidmap) and those of the throwaway namespaces that give
//! id-mapped mounts their mapping.

use std::io::Write;
use std::os::fd::OwnedFd;

use anyhow::{bail, Context, Result};
use pathrs::flags::OpenFlags;
use pathrs::procfs::{ProcfsBase, ProcfsHandle};

use super::spawn::Child;
use crate::config::{id_map_text, IdMap, Plan};
use crate::syscall::{clone_fork, CloneResult};

/// Write the uid and gid maps of the init `pid` (waiting for them in its
/// new user namespace).
pub fn write_id_maps(plan: &Plan, pid: i32) -> Result<()> {
    let procfs = ProcfsHandle::new().context("open procfs")?;
    let write = |file: &str, text: &str| write_proc_pid(&procfs, pid, file, text);
    if nix::unistd::geteuid().is_root() {
        write("uid_map", &id_map_text(&plan.uid_mappings)).context("linux.uidMappings")?;
        write("gid_map", &id_map_text(&plan.gid_mappings)).context("linux.gidMappings")?;
        Ok(())
    } else {
        write_maps_unprivileged(plan, pid, &write)
    }
}

fn write_proc_pid(procfs: &ProcfsHandle, pid: i32, file: &str, text: &str) -> Result<()> {
    let mut f = procfs
        .open(ProcfsBase::ProcPid(pid as u32), file, OpenFlags::O_WRONLY)
        .with_context(|| format!("open /proc/{pid}/{file}"))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("write {text:?} to /proc/{pid}/{file}"))
}

/// The id maps, written by a user who is not root. The kernel lets it map
/// its own uid and gid, one id each (with setgroups denied); anything more
/// goes through the setuid helpers newuidmap/newgidmap and /etc/subuid.
fn write_maps_unprivileged(
    plan: &Plan,
    pid: i32,
    write: &dyn Fn(&str, &str) -> Result<()>,
) -> Result<()> {
    let own = |maps: &[IdMap], id: u32| matches!(maps, [m] if m.host == id && m.size == 1);
    let (uid, gid) = (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    );
    if own(&plan.uid_mappings, uid) {
        write("uid_map", &id_map_text(&plan.uid_mappings)).context("linux.uidMappings")?;
    } else {
        map_with_helper("newuidmap", "linux.uidMappings", pid, &plan.uid_mappings)?;
    }
    if own(&plan.gid_mappings, gid) {
        write("setgroups", "deny").context("linux.gidMappings: deny setgroups first")?;
        write("gid_map", &id_map_text(&plan.gid_mappings)).context("linux.gidMappings")?;
    } else {
        map_with_helper("newgidmap", "linux.gidMappings", pid, &plan.gid_mappings)?;
    }
    Ok(())
}

fn map_with_helper(helper: &str, field: &str, pid: i32, maps: &[IdMap]) -> Result<()> {
    let mut cmd = std::process::Command::new(helper);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([
            m.container.to_string(),
            m.host.to_string(),
            m.size.to_string(),
        ]);
    }
    let out = cmd.stdin(std::process::Stdio::null()).output().map_err(|err| {
        if err.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!(
                "{field}: mapping more than your own id needs {helper} (Debian package uidmap) and ranges for you in /etc/sub{}id",
                if helper == "newuidmap" { "u" } else { "g" }
            )
        } else {
            anyhow::anyhow!("{field}: run {helper}: {err}")
        }
    })?;
    if !out.status.success() {
        bail!(
            "{field}: {helper} refused the maps ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// A user namespace with these maps, held by its fd: a child is cloned
/// into a new one, its maps written, its namespace opened, the child ended.
pub fn user_namespace_with(uid: &[IdMap], gid: &[IdMap]) -> Result<OwnedFd> {
    let parent = nix::unistd::getpid();
    let child = match clone_fork(libc::CLONE_NEWUSER).context("clone into a user namespace")? {
        CloneResult::Child => {
            // The parent kills us; if it is killed first, we go with it.
            // SAFETY: prctl with integer arguments.
            let rc = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
            if rc != 0 || nix::unistd::getppid() != parent {
                // Without PDEATHSIG it could outlive a killed parent: it
                // goes now, and the parent's open of its maps fails.
                // SAFETY: _exit is always safe.
                unsafe { libc::_exit(0) }
            }
            loop {
                // SAFETY: pause has no preconditions.
                unsafe { libc::pause() };
            }
        }
        CloneResult::Parent { pid, pidfd } => Child::new(pid, pidfd),
    };
    // Dropping `child` kills and reaps it, whatever happened here.
    let pid = child.pid();
    let procfs = ProcfsHandle::new().context("open procfs")?;
    for (file, maps) in [("uid_map", uid), ("gid_map", gid)] {
        write_proc_pid(&procfs, pid, file, &id_map_text(maps))?;
    }
    let ns = procfs
        .open_follow(
            ProcfsBase::ProcPid(pid as u32),
            "ns/user",
            OpenFlags::O_RDONLY | OpenFlags::O_CLOEXEC,
        )
        .with_context(|| format!("open /proc/{pid}/ns/user"))?;
    Ok(ns.into())
}
