//! Id-mapped bind mounts. hull makes them before the clone, as the host's
//! root: a detached copy of the source (open_tree) gets the mapping of a
//! throwaway user namespace (mount_setattr MOUNT_ATTR_IDMAP); the init,
//! which inherits the fd, attaches it in the rootfs (move_mount).

use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use anyhow::{Context, Result};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use pathrs::flags::OpenFlags;
use pathrs::procfs::{ProcfsBase, ProcfsHandle};

use crate::config::{id_map_text, IdMap, Plan};
use crate::syscall::{clone_fork, idmap_mount, open_tree_clone, pidfd_send_signal, CloneResult};

/// The detached, id-mapped trees of the plan's mounts, by mount index.
pub fn prepare(plan: &Plan) -> Result<Vec<(usize, OwnedFd)>> {
    let mut out = Vec::new();
    for (i, m) in plan.mounts.iter().enumerate() {
        let Some(idmap) = &m.idmap else { continue };
        let source = m.source.as_deref().unwrap_or(std::path::Path::new(""));
        let what = || {
            format!(
                "mounts[{i}] ({:?}): id-mapped mount of {source:?}",
                m.destination
            )
        };
        let path = CString::new(source.as_os_str().as_bytes()).with_context(what)?;
        let tree = open_tree_clone(&path, m.options.is_recursive_bind())
            .with_context(|| format!("{}: open_tree", what()))?;
        let userns = user_namespace_with(&idmap.uid, &idmap.gid).with_context(what)?;
        idmap_mount(tree.as_fd(), userns.as_fd(), idmap.recursive)
            .with_context(|| format!("{}: mount_setattr MOUNT_ATTR_IDMAP", what()))?;
        out.push((i, tree));
    }
    Ok(out)
}

/// A user namespace with these maps, held by its fd: a child is cloned
/// into a new one, its maps written, its namespace opened, the child ended.
fn user_namespace_with(uid: &[IdMap], gid: &[IdMap]) -> Result<OwnedFd> {
    let parent = nix::unistd::getpid();
    let (pid, pidfd) =
        match clone_fork(libc::CLONE_NEWUSER).context("clone into a user namespace")? {
            CloneResult::Child => {
                // The parent kills us; if it is killed first, we go with it.
                // SAFETY: prctl with integer arguments.
                unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
                if nix::unistd::getppid() != parent {
                    // SAFETY: _exit is always safe.
                    unsafe { libc::_exit(0) }
                }
                loop {
                    // SAFETY: pause has no preconditions.
                    unsafe { libc::pause() };
                }
            }
            CloneResult::Parent { pid, pidfd } => (pid, pidfd),
        };
    let result = (|| -> Result<OwnedFd> {
        let procfs = ProcfsHandle::new().context("open procfs")?;
        let base = ProcfsBase::ProcPid(pid as u32);
        for (file, maps) in [("uid_map", uid), ("gid_map", gid)] {
            let text = id_map_text(maps);
            let mut f = procfs
                .open(base, file, OpenFlags::O_WRONLY)
                .with_context(|| format!("open /proc/{pid}/{file}"))?;
            f.write_all(text.as_bytes())
                .with_context(|| format!("write {text:?} to /proc/{pid}/{file}"))?;
        }
        let ns = procfs
            .open_follow(base, "ns/user", OpenFlags::O_RDONLY | OpenFlags::O_CLOEXEC)
            .with_context(|| format!("open /proc/{pid}/ns/user"))?;
        Ok(ns.into())
    })();
    let _ = pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
    let _ = waitpid(Pid::from_raw(pid), None);
    result
}
