//! `create`: validate the bundle, make the state directory and exec.fifo,
//! clone the init into its namespaces and wait until it is ready. A failure
//! at any step removes all of it.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;

use crate::cgroups::{self, CgroupManager, CgroupState};
use crate::config::{plan_from_bundle, Plan};
use crate::files::DirLock;
use crate::logging;
use crate::process::channel::{self, Message};
use crate::process::init::{init_main, InitArgs};
use crate::rootfs::host_mounts;
use crate::state::{self, StateRoot, StoredState, EXEC_FIFO};
use crate::syscall::{pidfd_send_signal, proc_stat, CloneResult};

pub struct CreateOptions {
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    /// Foreground `run`: without --console-socket, a terminal's pty master
    /// comes back to hull (in `Created::terminal`) for it to proxy.
    pub own_terminal: bool,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// Socket-activation fds (3..3+N) handed on ahead of --preserve-fds,
    /// with LISTEN_FDS=N and LISTEN_PID=1 in the process's env.
    pub listen_fds: u32,
    /// A signalfd whose terminating signals abort the create (foreground run).
    pub interrupt: Option<std::os::fd::RawFd>,
}

/// A created container whose init waits for `start`.
pub struct Created {
    pub dir: PathBuf,
    pub state: StoredState,
    pub pid: i32,
    pub pidfd: OwnedFd,
    /// The pty master, when hull keeps the terminal (`own_terminal`).
    pub terminal: Option<OwnedFd>,
}

/// Undoes a half-made container: kills the init, unmounts what it mounted
/// below root.path without a mount namespace, empties and removes the
/// cgroup hull made, removes the state dir, then runs the poststop hooks
/// (a failed create "continues the lifecycle" at destroy, as runc does).
struct Cleanup {
    dir: Option<PathBuf>,
    child: Option<(i32, OwnedFd)>,
    /// root.path claimed (and locked) for mounts among hull's own.
    host_mounts: Option<host_mounts::Claim>,
    cgroup: Option<Box<dyn CgroupManager>>,
    /// The poststop hooks, the state they read and the container id.
    poststop: Option<(Vec<crate::hooks::HookPlan>, String, String)>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some((pid, pidfd)) = self.child.take() {
            let _ = pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
            let _ = waitpid(Pid::from_raw(pid), None);
        }
        if let Some(claim) = self.host_mounts.take() {
            if let Err(err) = host_mounts::remove(&claim.record, &claim.lock) {
                // The record stays in the state dir for `delete --force`.
                logging::warn(&format!("{err:#} (`delete --force` tries again)"));
                self.dir = None;
            }
        }
        if let Some(cgroup) = self.cgroup.take() {
            if cgroup.state().owned {
                let _ = cgroup.kill_all();
            }
            if let Err(err) = cgroup.destroy() {
                logging::warn(&format!("{err:#}"));
            }
        }
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((hooks, state, id)) = self.poststop.take() {
            crate::hooks::run_all_warning("poststop", &hooks, &state, &id);
        }
    }
}

pub fn create(root: &StateRoot, opts: &CreateOptions) -> Result<Created> {
    state::validate_id(&opts.id)?;
    super::check_fd_count(
        &format!(
            "--preserve-fds {} with {} socket-activation fds",
            opts.preserve_fds, opts.listen_fds
        ),
        opts.preserve_fds.checked_add(opts.listen_fds),
    )?;
    let mut plan = plan_from_bundle(&opts.bundle)?;
    let euid = nix::unistd::geteuid();
    if !euid.is_root() && !plan.new_user_namespace() {
        bail!(
            "running as uid {euid}, the container needs a user namespace of its own (`hull spec --rootless` writes such a config)"
        );
    }
    if opts.listen_fds > 0 {
        // As runc: the fds stay at 3.., so pid 1 of the container gets them.
        let env = &mut plan.process.env;
        env.push(format!("LISTEN_FDS={}", opts.listen_fds));
        env.push("LISTEN_PID=1".to_string());
    }
    match (&opts.console_socket, plan.process.terminal) {
        (Some(_), false) => {
            bail!("--console-socket: the container has no terminal (process.terminal is false)")
        }
        (None, true) if !opts.own_terminal => bail!(
            "process.terminal is true: pass --console-socket PATH to receive the pty (a detached container cannot use hull's terminal)"
        ),
        _ => {}
    }
    for what in &plan.not_applied {
        logging::warn(&format!("{what}: not applied yet"));
    }
    for warning in &plan.warnings {
        logging::warn(warning);
    }
    // Paths resolved and limits checked against the host while nothing
    // exists yet.
    let cgroup = cgroups::manager_for(&plan.cgroup, &opts.id)?;
    cgroup.check(&plan.cgroup.limits)?;
    // Without a mount namespace the mounts are made among hull's own:
    // root.path is claimed (locked, checked, recorded) before anything.
    let claim = host_mounts::claim(&plan)?;

    root.ensure()?;
    let dir = root.container_dir(&opts.id);
    match std::fs::DirBuilder::new().mode(0o711).create(&dir) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("container {:?} already exists", opts.id)
        }
        Err(err) => return Err(err).with_context(|| format!("create state dir {dir:?}")),
    }
    let poststop = (!plan.hooks.poststop.is_empty()).then(|| {
        let state = crate::hooks::state_json(
            &plan.oci_version,
            &opts.id,
            "stopped",
            0,
            &plan.bundle,
            &plan.annotations,
        );
        (plan.hooks.poststop.clone(), state, opts.id.clone())
    });
    let mut cleanup = Cleanup {
        dir: Some(dir.clone()),
        child: None,
        host_mounts: claim,
        cgroup: None,
        poststop,
    };
    let _lock = DirLock::lock(&dir).with_context(|| format!("lock {dir:?}"))?;

    let fifo_path = dir.join(EXEC_FIFO);
    nix::unistd::mkfifo(&fifo_path, Mode::from_bits_truncate(0o622))
        .with_context(|| format!("create {fifo_path:?}"))?;
    std::fs::set_permissions(&fifo_path, std::fs::Permissions::from_mode(0o622))
        .with_context(|| format!("chmod {fifo_path:?}"))?;
    let fifo = nix::fcntl::open(&fifo_path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .with_context(|| format!("open {fifo_path:?}"))?;

    // Before the cgroup and the mounts exist, so that `delete --force`
    // finds them even if this process is killed from here on: the init
    // ends by itself (PDEATHSIG) until the container is committed below.
    let host_mounts = cleanup.host_mounts.as_ref().map(|c| c.record.clone());
    let mut record = state::CleanupRecord {
        cgroup: Some(predicted_state(cgroup.as_ref())),
        host_mounts: host_mounts.clone(),
        ..Default::default()
    };
    state::save_cleanup(&dir, &record)?;
    let cgroup = cleanup.cgroup.insert(cgroup);
    let cgroup_state = match setup_cgroup(cgroup.as_mut(), &plan) {
        Ok(state) => Some(state),
        Err(err) if !euid.is_root() && !asks_for_limits(&plan) && is_permission_error(&err) => {
            // Rootless without a delegated cgroup: runc goes on without one
            // too, as long as no limit was asked for.
            logging::warn(&format!(
                "{err:#}: uid {euid} may not make cgroups here, so the container has none (no limits, pause, events or ps)"
            ));
            if let Some(c) = cleanup.cgroup.take() {
                let _ = c.destroy();
            }
            record.cgroup = None;
            state::save_cleanup(&dir, &record)?;
            None
        }
        Err(err) => return Err(err),
    };
    let cgroup = cleanup.cgroup.as_deref();
    logging::test_panic_point("create");
    // The init holds root.path's lock too, until its mounts are made: a
    // create that dies meanwhile leaves it locked until the init is gone.
    let rootfs_lock = match &cleanup.host_mounts {
        Some(claim) => Some(
            claim
                .lock_fd()
                .try_clone_to_owned()
                .context("dup the root.path lock")?,
        ),
        None => None,
    };
    let (pid, pidfd, terminal, sync) = spawn_init(&plan, opts, fifo, rootfs_lock, cgroup)?;
    cleanup.child = Some((pid, pidfd.try_clone().context("dup pidfd")?));

    let (_, start_time) =
        proc_stat(pid).with_context(|| format!("read the start time of init {pid}"))?;
    record.pid = pid;
    record.pid_start_time = start_time;
    state::save_cleanup(&dir, &record)?;
    let state = StoredState {
        oci_version: plan.oci_version.clone(),
        id: opts.id.clone(),
        pid,
        pid_start_time: start_time,
        bundle: plan.bundle.clone(),
        rootfs: plan.rootfs.clone(),
        created: logging::rfc3339(std::time::SystemTime::now()),
        owner: String::new(),
        annotations: plan.annotations.clone(),
        own_pid_namespace: plan.has_new_namespace(CloneFlags::CLONE_NEWPID),
        hooks: plan.hooks.clone(),
        cgroup: cgroup_state,
        host_mounts,
    };
    state::save(&dir, &state)?;
    if let Some(profile) = &plan.seccomp_spec {
        crate::security::seccomp::save(&dir, profile)?;
    }
    if let Some(pid_file) = &opts.pid_file {
        write_pid_file(pid_file, pid)?;
    }
    // The container is on record: the init may outlive hull now. It
    // closes its end once it stopped watching for hull's death.
    channel::send_message(&sync, &Message::Committed).context("commit the container")?;
    match channel::recv_message(&sync) {
        Ok(None) => {}
        other => bail!("the init did not confirm the commit (got {other:?})"),
    }
    logging::debug(&format!("container {:?} created, init pid {pid}", opts.id));
    cleanup.dir = None;
    cleanup.child = None;
    cleanup.host_mounts = None;
    cleanup.cgroup = None;
    cleanup.poststop = None;
    Ok(Created {
        dir,
        state,
        pid,
        pidfd,
        terminal,
    })
}

/// The cgroup's state as `create` will leave it: owned unless every
/// directory is there already (then it is joined, and never removed).
fn predicted_state(cgroup: &dyn CgroupManager) -> CgroupState {
    let mut state = cgroup.state();
    state.owned = state.paths.values().any(|dir| !dir.exists());
    state
}

/// Whether config.json sets any resource limit (device rules included).
fn asks_for_limits(plan: &Plan) -> bool {
    plan.cgroup.resources != oci_spec::runtime::LinuxResources::default()
}

/// Whether an error comes down to EACCES or EPERM.
fn is_permission_error(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let errno = cause
            .downcast_ref::<std::io::Error>()
            .and_then(|e| e.raw_os_error())
            .or_else(|| cause.downcast_ref::<nix::errno::Errno>().map(|e| *e as i32));
        matches!(errno, Some(libc::EACCES) | Some(libc::EPERM))
    })
}

/// Make the cgroup and write its limits and device rules. A cgroup that
/// already existed is joined: only the limits that are set are written,
/// and device rules only when the config has some (the spec's rule for
/// shared cgroups).
fn setup_cgroup(cgroup: &mut dyn CgroupManager, plan: &Plan) -> Result<CgroupState> {
    cgroup.create()?;
    cgroup.apply(&plan.cgroup.limits, false)?;
    let resources = &plan.cgroup.resources;
    if cgroup.state().owned || resources.devices().as_ref().is_some_and(|d| !d.is_empty()) {
        cgroup.apply_devices(&plan.cgroup.devices)?;
    }
    Ok(cgroup.state())
}

/// Clone the init and wait for its word: ready, or an error to report.
/// Returns its pid, a pidfd, and the pty master when hull keeps the terminal.
fn spawn_init(
    plan: &Plan,
    opts: &CreateOptions,
    fifo: OwnedFd,
    rootfs_lock: Option<OwnedFd>,
    cgroup: Option<&dyn CgroupManager>,
) -> Result<(i32, OwnedFd, Option<OwnedFd>, OwnedFd)> {
    let (parent_sock, child_sock) = channel::pair()?;
    // Connected here, in hull's namespaces: after pivot_root the init could
    // not reach the socket's path.
    let mut own_terminal = None;
    let console_socket: Option<OwnedFd> = match &opts.console_socket {
        Some(path) => Some(
            std::os::unix::net::UnixStream::connect(path)
                .with_context(|| format!("--console-socket {path:?}: connect"))?
                .into(),
        ),
        None if plan.process.terminal => {
            let (ours, theirs) = crate::process::terminal::pair()?;
            own_terminal = Some(ours);
            Some(theirs)
        }
        None => None,
    };
    // oom_score_adj is inherited by the clone: set on hull itself, while
    // it still has the host's CAP_SYS_RESOURCE to lower it.
    if let Some(adj) = plan.process.oom_score_adj {
        write_own_oom_score_adj(adj)?;
    }
    let joined_userns = match plan
        .namespace(CloneFlags::CLONE_NEWUSER)
        .and_then(|ns| ns.path.as_ref())
    {
        Some(path) => Some(
            std::fs::File::open(path).with_context(|| format!("open user namespace {path:?}"))?,
        ),
        None => None,
    };
    if let Some(path) = plan
        .namespace(CloneFlags::CLONE_NEWPID)
        .and_then(|ns| ns.path.as_ref())
    {
        // Joining a pid namespace only moves the children: hull stays where it is.
        let file =
            std::fs::File::open(path).with_context(|| format!("open pid namespace {path:?}"))?;
        nix::sched::setns(&file, CloneFlags::CLONE_NEWPID)
            .with_context(|| format!("join pid namespace {path:?}"))?;
    }
    let idmapped = crate::rootfs::idmap::prepare(plan)?;
    let parent_pid = std::process::id() as i32;
    // A new cgroup namespace is unshared by the init once it is in its
    // cgroup: cloned with the rest, it would be rooted at hull's cgroup.
    let flags = (plan.new_namespace_flags() - CloneFlags::CLONE_NEWCGROUP).bits();
    let mut cgroup_procs = match cgroup {
        Some(c) => c.open_procs()?,
        None => Vec::new(),
    };
    let into = cgroup.and_then(|c| c.clone_into_fd());
    logging::debug(&format!(
        "clone the init of {:?} with namespaces {:?}",
        opts.id,
        plan.new_namespace_flags()
    ));
    let cloned = match &joined_userns {
        Some(userns) => clone_in_user_namespace(userns, flags, into.as_ref(), &mut cgroup_procs),
        None => cgroups::clone_into(flags, into.as_ref(), &mut cgroup_procs)
            .context("clone the container's init"),
    };
    let (pid, pidfd) = match cloned? {
        CloneResult::Child => {
            drop(parent_sock);
            channel::report_panics_to(child_sock.as_fd());
            logging::test_panic_point("init");
            init_main(InitArgs {
                plan,
                no_pivot: opts.no_pivot,
                sync: child_sock,
                fifo,
                rootfs_lock,
                parent_pid,
                id: opts.id.clone(),
                preserve_fds: opts.listen_fds + opts.preserve_fds,
                console_socket,
                keyring: (!opts.no_new_keyring)
                    .then(|| std::ffi::CString::new(opts.id.as_bytes()).ok())
                    .flatten(),
                idmapped,
                cgroup_procs,
                unshare_cgroupns: plan.has_new_namespace(CloneFlags::CLONE_NEWCGROUP),
            })
        }
        CloneResult::Parent { pid, pidfd } => (pid, pidfd),
    };
    drop(child_sock);
    drop(fifo);
    drop(rootfs_lock);
    drop(cgroup_procs);
    drop(into);
    if let Err(err) = setup_from_outside(plan, pid, &parent_sock) {
        let _ = pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
        let _ = waitpid(Pid::from_raw(pid), None);
        return Err(err);
    }
    drop(console_socket);
    let fail = |msg: String| -> Result<(i32, OwnedFd, Option<OwnedFd>, OwnedFd)> {
        let _ = pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
        let _ = waitpid(Pid::from_raw(pid), None);
        bail!(msg)
    };
    // The state the listener and the create hooks get.
    let creating = || {
        crate::hooks::state_json(
            &plan.oci_version,
            &opts.id,
            "creating",
            pid,
            &plan.bundle,
            &plan.annotations,
        )
    };
    use std::os::fd::AsRawFd;
    loop {
        match crate::process::interrupt::wait_readable(parent_sock.as_raw_fd(), opts.interrupt) {
            Ok(Some(sig)) => return fail(format!("interrupted by signal {sig} while creating")),
            Ok(None) => {}
            Err(err) => return fail(format!("wait for the init: {err}")),
        }
        let (msg, passed) = match channel::recv_message_fd(&parent_sock) {
            Ok((msg, passed)) => (Ok(msg), passed),
            Err(err) => (Err(err), None),
        };
        if let (Ok(Some(Message::SeccompFd)), Some(listener)) = (
            &msg,
            plan.seccomp.as_ref().and_then(|s| s.listener.as_ref()),
        ) {
            // The init loaded a notifying filter: its listener gets the fd
            // now, during create, as the runtime spec asks.
            let sent = crate::security::seccomp::forward(listener, passed, pid, &creating());
            if let Err(err) = sent {
                return fail(format!("{err:#}"));
            }
            continue;
        }
        if let Ok(Some(Message::RunHooks)) = msg {
            // prestart (deprecated) and createRuntime run here, in hull's
            // namespaces, while the init waits before pivot_root.
            let hooks = &plan.hooks;
            let state = creating();
            let ran = crate::hooks::run_all("prestart", &hooks.prestart, &state)
                .and_then(|()| {
                    crate::hooks::run_all("createRuntime", &hooks.create_runtime, &state)
                })
                .and_then(|()| channel::send_message(&parent_sock, &Message::HooksDone));
            if let Err(err) = ran {
                return fail(format!("{err:#}"));
            }
            continue;
        }
        return match finish_create(msg, pid) {
            Ok(()) => match own_terminal
                .as_ref()
                .map(|sock| crate::process::terminal::recv_pty_master(sock.as_fd()))
                .transpose()
            {
                Ok(master) => Ok((pid, pidfd, master, parent_sock)),
                Err(err) => fail(format!("{err:#}")),
            },
            Err((true, text)) => fail(text),
            Err((false, text)) => bail!(text),
        };
    }
}

/// What hull sets on the init from outside, while the init waits for it:
/// its id maps (only a process outside a user namespace can write them).
fn setup_from_outside(plan: &Plan, pid: i32, sync: &OwnedFd) -> Result<()> {
    use pathrs::flags::OpenFlags;
    use pathrs::procfs::{ProcfsBase, ProcfsHandle};
    use std::io::Write;
    if !plan.new_user_namespace() {
        return Ok(());
    }
    let procfs = ProcfsHandle::new().context("open procfs")?;
    let write = |file: &str, text: &str| -> Result<()> {
        let mut f = procfs
            .open(ProcfsBase::ProcPid(pid as u32), file, OpenFlags::O_WRONLY)
            .with_context(|| format!("open /proc/{pid}/{file}"))?;
        f.write_all(text.as_bytes())
            .with_context(|| format!("write {text:?} to /proc/{pid}/{file}"))
    };
    if nix::unistd::geteuid().is_root() {
        let uid_map = crate::config::id_map_text(&plan.uid_mappings);
        write("uid_map", &uid_map).context("linux.uidMappings")?;
        let gid_map = crate::config::id_map_text(&plan.gid_mappings);
        write("gid_map", &gid_map).context("linux.gidMappings")?;
    } else {
        write_maps_unprivileged(plan, pid, &write)?;
    }
    channel::send_message(sync, &Message::IdMapsDone)
}

/// Clone the init inside the user namespace `userns` (given by path), so
/// the new namespaces the clone makes belong to it: a helper joins it and
/// clones the init with CLONE_PARENT (so it is hull's child), sends its pid
/// and pidfd back, and exits. hull itself stays where it is: in that user
/// namespace it would lose its host privileges (cgroups, state, signals).
fn clone_in_user_namespace(
    userns: &std::fs::File,
    flags: libc::c_int,
    into: Option<&OwnedFd>,
    procs: &mut Vec<OwnedFd>,
) -> Result<CloneResult> {
    let (ours, theirs) = channel::pair()?;
    match crate::syscall::clone_fork(0).context("clone a helper to join the user namespace")? {
        CloneResult::Child => {
            drop(ours);
            channel::report_panics_to(theirs.as_fd());
            let cloned = nix::sched::setns(userns, CloneFlags::CLONE_NEWUSER)
                .context("join the user namespace")
                .and_then(|()| {
                    cgroups::clone_into(flags | libc::CLONE_PARENT, into, procs)
                        .context("clone the container's init")
                });
            let sent = match cloned {
                Ok(CloneResult::Child) => return Ok(CloneResult::Child),
                Ok(CloneResult::Parent { pid, pidfd }) => {
                    channel::send_message_fd(&theirs, &Message::Cloned(pid), &pidfd)
                }
                Err(err) => channel::send_message(&theirs, &Message::Error(format!("{err:#}"))),
            };
            // SAFETY: _exit in the helper, which has nothing to unwind.
            unsafe { libc::_exit(i32::from(sent.is_err())) }
        }
        CloneResult::Parent { pid: helper, .. } => {
            drop(theirs);
            let answer = channel::recv_message_fd(&ours);
            let _ = waitpid(Pid::from_raw(helper), None);
            match answer? {
                (Some(Message::Cloned(pid)), Some(pidfd)) => Ok(CloneResult::Parent { pid, pidfd }),
                (Some(Message::Error(text)), _) => bail!("{text}"),
                other => bail!("the helper cloning the init in the user namespace said {other:?}"),
            }
        }
    }
}

fn write_own_oom_score_adj(adj: i32) -> Result<()> {
    use pathrs::flags::OpenFlags;
    use pathrs::procfs::{ProcfsBase, ProcfsHandle};
    use std::io::Write;
    let procfs = ProcfsHandle::new().context("open procfs")?;
    let mut f = procfs
        .open(ProcfsBase::ProcSelf, "oom_score_adj", OpenFlags::O_WRONLY)
        .context("process.oomScoreAdj: open /proc/self/oom_score_adj")?;
    f.write_all(adj.to_string().as_bytes())
        .with_context(|| format!("process.oomScoreAdj: write {adj}"))
}

/// The id maps, written by a user who is not root. The kernel lets it map
/// its own uid and gid, one id each (with setgroups denied); anything more
/// goes through the setuid helpers newuidmap/newgidmap and /etc/subuid.
fn write_maps_unprivileged(
    plan: &Plan,
    pid: i32,
    write: &dyn Fn(&str, &str) -> Result<()>,
) -> Result<()> {
    use crate::config::IdMap;
    let own = |maps: &[IdMap], id: u32| matches!(maps, [m] if m.host == id && m.size == 1);
    let (uid, gid) = (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    );
    if own(&plan.uid_mappings, uid) {
        write("uid_map", &crate::config::id_map_text(&plan.uid_mappings))
            .context("linux.uidMappings")?;
    } else {
        map_with_helper("newuidmap", "linux.uidMappings", pid, &plan.uid_mappings)?;
    }
    if own(&plan.gid_mappings, gid) {
        write("setgroups", "deny").context("linux.gidMappings: deny setgroups first")?;
        write("gid_map", &crate::config::id_map_text(&plan.gid_mappings))
            .context("linux.gidMappings")?;
    } else {
        map_with_helper("newgidmap", "linux.gidMappings", pid, &plan.gid_mappings)?;
    }
    Ok(())
}

fn map_with_helper(
    helper: &str,
    field: &str,
    pid: i32,
    maps: &[crate::config::IdMap],
) -> Result<()> {
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

/// What the init's last word means: Ok when it is ready; else the error
/// text, and whether the init is still there to be killed.
fn finish_create(
    msg: Result<Option<Message>>,
    pid: i32,
) -> std::result::Result<(), (bool, String)> {
    match msg {
        Ok(Some(Message::Ready)) => Ok(()),
        Ok(Some(Message::Error(text))) => Err((true, text)),
        Ok(None) => {
            let status = waitpid(Pid::from_raw(pid), None);
            let how = match status {
                Ok(WaitStatus::Exited(_, code)) => format!("exit status {code}"),
                Ok(WaitStatus::Signaled(_, sig, _)) => format!("killed by {sig}"),
                _ => "unknown status".to_string(),
            };
            Err((
                false,
                format!("the container's init ended during create without a word ({how})"),
            ))
        }
        Ok(Some(other)) => Err((true, format!("unexpected message from the init: {other:?}"))),
        Err(err) => Err((true, format!("{err:#}"))),
    }
}

pub(super) fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let path = std::path::absolute(path).with_context(|| format!("--pid-file {path:?}"))?;
    crate::files::write_atomic(&path, pid.to_string().as_bytes())
        .with_context(|| format!("--pid-file {path:?}"))
}
