//! `restore`: a container made from a bundle and the images `checkpoint`
//! wrote. hull makes what `create` makes around the processes (the state
//! dir, the cgroup with its limits) and CRIU makes the processes, their
//! namespaces and mounts from the images: its root is the bundle's rootfs
//! bound below the state dir (CRIU wants a mount point whose parent is not
//! overmounted), the external mounts are given their sources from this
//! config, joined namespaces are handed to it, and the init's old stdio
//! pipes are replaced by hull's own stdio. The restored init is a child of
//! hull (CRIU's sibling); the state says it runs.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::CloneFlags;

use super::checkpoint::{external_mounts, namespace_key, CriuOptions, Dirs, DESCRIPTORS_FILE};
use super::create::{self, Cleanup};
use super::record::write_pid_file;
use crate::config::{plan_from_bundle, Plan};
use crate::criu::rpc::{self, Notification};
use crate::criu::Criu;
use crate::files::DirLock;
use crate::state::{self, CleanupRecord, StateRoot, StoredState};
use crate::syscall::proc_stat;

const RESTORE_LOG: &str = "restore.log";

pub struct RestoreOptions {
    pub id: String,
    pub bundle: PathBuf,
    pub criu: Option<PathBuf>,
    pub common: CriuOptions,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub systemd_cgroup: bool,
    pub lsm_profile: Option<String>,
    pub lsm_mount_context: Option<String>,
}

/// A restored container, running.
pub struct Restored {
    pub dir: PathBuf,
    pub state: StoredState,
    pub pid: i32,
    pub pidfd: OwnedFd,
}

pub fn restore(root: &StateRoot, opts: &RestoreOptions) -> Result<Restored> {
    let id = opts.id.as_str();
    state::validate_id(id)?;
    let plan = plan_from_bundle(&opts.bundle)?;
    check_plan(&plan, opts)?;
    let criu = Criu::find(opts.criu.as_deref())?;
    let pid_ns = plan.namespace(CloneFlags::CLONE_NEWPID);
    criu.check_joined_pid_namespace(pid_ns.is_some_and(|ns| ns.path.is_some()))?;
    let dirs = Dirs::open(&opts.common, false)?;
    let stdio = read_descriptors(&opts.common.image_path)?;
    let cgroup = create::cgroup_manager(&plan, id, opts.systemd_cgroup)?;

    let dir = create::make_state_dir(root, id)?;
    let mut cleanup = Cleanup::new(&dir, None, &plan, id);
    let _lock = DirLock::lock(&dir).with_context(|| format!("lock {dir:?}"))?;
    let mut record = CleanupRecord {
        cgroup: Some(create::predicted_state(cgroup.as_ref())),
        ..Default::default()
    };
    state::save_cleanup(&dir, &record)?;
    let criu_root = RootBind::new(&plan.rootfs, &dir.join(state::CRIU_ROOT))?;

    // Joined network and pid namespaces go to CRIU as fds 4, 5.
    let mut joined = Vec::new();
    for flag in [CloneFlags::CLONE_NEWNET, CloneFlags::CLONE_NEWPID] {
        if let Some(path) = plan.namespace(flag).and_then(|ns| ns.path.as_ref()) {
            let file = std::fs::File::open(path)
                .with_context(|| format!("open the namespace {}", path.display()))?;
            joined.push((namespace_key(flag), OwnedFd::from(file)));
        }
    }
    let extra: Vec<BorrowedFd<'_>> = joined.iter().map(|(_, fd)| fd.as_fd()).collect();
    let swrk = rpc::Swrk::start(&criu.path, &extra)?;
    let criu_pid = swrk.pid();
    // Held by the cleanup before it is made: a failure from here removes it.
    let cgroup = cleanup.cgroup.insert(cgroup);
    record.cgroup = Some(cgroup_around(cgroup.as_mut(), &plan, criu_pid)?);
    state::save_cleanup(&dir, &record)?;

    let keys: Vec<&str> = joined.iter().map(|(key, _)| *key).collect();
    let req = request(opts, &plan, &dirs, &criu_root.path, criu_pid, &stdio, &keys)?;
    let mut restored_pid = 0;
    let resp = swrk.call(&req, |note| notified(note, &plan, opts, &mut restored_pid));
    let criu_exit = swrk.finish();
    drop(criu_root);
    let log = dirs.log_dir.join(RESTORE_LOG);
    let resp = resp.with_context(|| format!("restore container {id:?}"))?;
    if !resp.success {
        bail!(
            "restore container {id:?}: criu restore failed: {}",
            criu.explain(resp.cr_errmsg.as_deref(), Some(&log))
        );
    }
    if let Ok(status) = criu_exit {
        if !status.success() {
            crate::logging::warn(&format!("criu restore exited with {status} after success"));
        }
    }
    let pid = resp.restore.map(|r| r.pid).unwrap_or(restored_pid);
    let (_, start_time) = proc_stat(pid)
        .with_context(|| format!("restore container {id:?}: the restored init {pid} is gone"))?;
    let pidfd = crate::process::pidfd::open_verified(pid, start_time)
        .with_context(|| format!("restore container {id:?}: open the restored init {pid}"))?;
    // hull's child (CRIU's sibling): killed and reaped if what follows fails.
    let init = crate::process::spawn::Child::new(pid, pidfd);
    record.pid = pid;
    record.pid_start_time = start_time;
    state::save_cleanup(&dir, &record)?;
    let state = StoredState {
        pid,
        pid_start_time: start_time,
        cgroup: record.cgroup.clone(),
        ..create::stored_state(&plan, id)
    };
    state::save(&dir, &state)?;
    if let Some(pid_file) = &opts.pid_file {
        write_pid_file(pid_file, pid)?;
    }
    let (pid, pidfd) = init.keep();
    cleanup.disarm();
    Ok(Restored {
        dir,
        state,
        pid,
        pidfd,
    })
}

/// Make the container's cgroup with criu (pid `criu_pid`) in it: the
/// processes it restores are born there, and their cgroup paths are taken
/// relative to it. criu waits for its request, so it is in before it works.
fn cgroup_around(
    cgroup: &mut dyn crate::cgroups::CgroupManager,
    plan: &Plan,
    criu_pid: i32,
) -> Result<crate::cgroups::CgroupState> {
    if cgroup.needs_init() {
        return create::setup_cgroup(cgroup, plan, Some(criu_pid), false);
    }
    let made = create::setup_cgroup(cgroup, plan, None, false)?;
    // Every hierarchy's cgroup.procs (a hybrid host's cgroup2 too).
    for dir in made.paths.values() {
        let procs = dir.join("cgroup.procs");
        std::fs::write(&procs, criu_pid.to_string())
            .with_context(|| format!("put criu (pid {criu_pid}) in {}", procs.display()))?;
    }
    Ok(made)
}

/// The RESTORE request: `keys` are the joined namespaces' keys, in the
/// order their fds were given to criu (from 4).
fn request(
    opts: &RestoreOptions,
    plan: &Plan,
    dirs: &Dirs,
    root: &Path,
    criu_pid: i32,
    stdio: &[String],
    keys: &[&str],
) -> Result<rpc::Request> {
    let mut o = opts.common.opts(dirs, RESTORE_LOG);
    o.evasive_devices = Some(true);
    o.rst_sibling = Some(true);
    o.root = Some(root.to_string_lossy().into_owned());
    o.cg_root = cgroup_roots(criu_pid)?;
    o.ext_mnt = restore_mounts(plan);
    o.join_ns = joined_namespaces(plan);
    o.inherit_fd = stdio_keys(stdio);
    for (i, key) in keys.iter().enumerate() {
        o.inherit_fd.push(rpc::InheritFd {
            key: key.to_string(),
            fd: 4 + i as i32,
        });
    }
    o.lsm_profile = opts.lsm_profile.clone();
    o.lsm_mount_context = opts.lsm_mount_context.clone();
    Ok(rpc::Request {
        r#type: rpc::ReqType::Restore as i32,
        opts: Some(o),
        ..Default::default()
    })
}

/// What restore cannot do for this config, refused before anything is made.
fn check_plan(plan: &Plan, opts: &RestoreOptions) -> Result<()> {
    if plan.namespace(CloneFlags::CLONE_NEWNS).is_none() {
        bail!("restore: the container has no mount namespace of its own (CRIU restores one)");
    }
    if plan
        .namespace(CloneFlags::CLONE_NEWCGROUP)
        .is_some_and(|ns| ns.path.is_some())
    {
        bail!("restore: a cgroup namespace joined by path cannot be handed to CRIU");
    }
    if plan.intel_rdt.is_some() || !plan.net_devices.is_empty() {
        bail!("restore: linux.intelRdt and linux.netDevices are not restored yet");
    }
    match (&opts.console_socket, plan.process.terminal) {
        (None, true) => bail!(
            "restore: process.terminal is true: pass --console-socket PATH to receive the pty"
        ),
        (Some(_), false) => {
            bail!("--console-socket: the container has no terminal (process.terminal is false)")
        }
        _ => Ok(()),
    }
}

/// What CRIU tells while it restores.
fn notified(
    note: Notification,
    plan: &Plan,
    opts: &RestoreOptions,
    restored_pid: &mut i32,
) -> Result<()> {
    match note.script.as_str() {
        // The namespaces exist, the processes do not run yet: as at create.
        "setup-namespaces" => {
            let state = crate::hooks::state_json(
                &plan.oci_version,
                &opts.id,
                "creating",
                note.pid,
                &plan.bundle,
                &plan.annotations,
            );
            crate::hooks::run_all("prestart", &plan.hooks.prestart, &state)?;
            crate::hooks::run_all("createRuntime", &plan.hooks.create_runtime, &state)
        }
        "post-restore" => {
            *restored_pid = note.pid;
            Ok(())
        }
        "orphan-pts-master" => {
            let (Some(master), Some(socket)) = (note.fd, &opts.console_socket) else {
                bail!("criu sent no pty master for the container's terminal");
            };
            crate::process::pidfd::send_fd("--console-socket", socket, master.as_fd(), "/dev/ptmx")
        }
        _ => Ok(()),
    }
}

/// The checkpointed init's stdio links (descriptors.json).
fn read_descriptors(images: &Path) -> Result<Vec<String>> {
    let path = images.join(DESCRIPTORS_FILE);
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "--image-path {}: read {DESCRIPTORS_FILE} (is it a checkpoint of a container?)",
            images.display()
        )
    })?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a list of strings", path.display()))
}

/// The init's old stdio pipes, replaced by hull's stdio (CRIU's own 0–2).
fn stdio_keys(stdio: &[String]) -> Vec<rpc::InheritFd> {
    stdio
        .iter()
        .enumerate()
        .take(3)
        .filter(|(_, link)| link.starts_with("pipe:"))
        .map(|(fd, link)| rpc::InheritFd {
            key: link.clone(),
            fd: fd as i32,
        })
        .collect()
}

/// The image keys of the external mounts and their sources in this config
/// (each key once).
fn restore_mounts(plan: &Plan) -> Vec<rpc::ExtMountMap> {
    let mut out: Vec<rpc::ExtMountMap> = Vec::new();
    for m in external_mounts(plan, |_| true) {
        if !out.iter().any(|e| e.key == m.key) {
            out.push(rpc::ExtMountMap {
                key: m.key,
                val: m.source,
            });
        }
    }
    out
}

/// Namespaces other than network and pid joined by path: CRIU joins them.
fn joined_namespaces(plan: &Plan) -> Vec<rpc::JoinNamespace> {
    let names = [
        (CloneFlags::CLONE_NEWIPC, "ipc"),
        (CloneFlags::CLONE_NEWUTS, "uts"),
        (CloneFlags::CLONE_NEWUSER, "user"),
        (CloneFlags::CLONE_NEWNS, "mnt"),
    ];
    names
        .iter()
        .filter_map(|(flag, name)| {
            let path = plan.namespace(*flag)?.path.as_ref()?;
            Some(rpc::JoinNamespace {
                ns: name.to_string(),
                ns_file: path.to_string_lossy().into_owned(),
            })
        })
        .collect()
}

/// CRIU's cgroup roots: the cgroups criu itself was put in (the
/// container's), one per hierarchy of /proc/PID/cgroup.
fn cgroup_roots(criu_pid: i32) -> Result<Vec<rpc::CgroupRoot>> {
    let text = std::fs::read_to_string(format!("/proc/{criu_pid}/cgroup"))
        .with_context(|| format!("read the cgroups of criu (pid {criu_pid})"))?;
    Ok(parse_cgroup_roots(&text))
}

fn parse_cgroup_roots(text: &str) -> Vec<rpc::CgroupRoot> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
            Some(rpc::CgroupRoot {
                ctrl: Some(ctrls.to_string()),
                path: path.to_string(),
            })
        })
        .collect()
}

/// The rootfs bound at `path` (a mount point for CRIU's root) until
/// dropped: then detached and the directory removed.
struct RootBind {
    path: PathBuf,
}

impl RootBind {
    fn new(rootfs: &Path, path: &Path) -> Result<RootBind> {
        std::fs::create_dir(path).with_context(|| format!("create {}", path.display()))?;
        let bind = RootBind {
            path: path.to_path_buf(),
        };
        mount(
            Some(rootfs),
            path,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .with_context(|| format!("bind the rootfs {} on {}", rootfs.display(), path.display()))?;
        Ok(bind)
    }
}

impl Drop for RootBind {
    fn drop(&mut self) {
        let _ = umount2(&self.path, MntFlags::MNT_DETACH);
        let _ = std::fs::remove_dir(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pipes_are_inherited() {
        let stdio = [
            "/dev/null".to_string(),
            "pipe:[123]".into(),
            "pipe:[456]".into(),
        ];
        let keys = stdio_keys(&stdio);
        assert_eq!(keys.len(), 2);
        assert_eq!((keys[0].key.as_str(), keys[0].fd), ("pipe:[123]", 1));
        assert_eq!((keys[1].key.as_str(), keys[1].fd), ("pipe:[456]", 2));
    }

    #[test]
    fn cgroup_roots_name_each_hierarchy() {
        let roots = parse_cgroup_roots("12:pids:/hull/c1\n3:cpu,cpuacct:/hull/c1\n0::/hull/c1\n");
        let pairs: Vec<(String, String)> = roots
            .into_iter()
            .map(|r| (r.ctrl.unwrap(), r.path))
            .collect();
        assert_eq!(
            pairs,
            [
                ("pids".into(), "/hull/c1".into()),
                ("cpu,cpuacct".into(), "/hull/c1".into()),
                (String::new(), "/hull/c1".into())
            ]
        );
    }
}
