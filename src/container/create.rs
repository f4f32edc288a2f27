//! `create`: validate the bundle, make the state directory and exec.fifo,
//! clone the init into its namespaces and wait until it is ready. A failure
//! at any step removes all of it.

use std::cell::Cell;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;

use super::record::{check_fd_count, write_pid_file};
use crate::cgroups::{self, CgroupManager, CgroupState};
use crate::config::{plan_from_bundle, Plan};
use crate::files::{DirLock, PendingFile};
use crate::logging;
use crate::process::channel::errnos;
use crate::process::pidfd;
use crate::process::spawn::{self, InitLaunch};
use crate::rootfs::host_mounts;
use crate::state::{self, CleanupRecord, StateRoot, StoredState, EXEC_FIFO};
use crate::syscall::proc_stat;
use crate::timing;

pub struct CreateOptions {
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    /// `--pidfd-socket`: receives a pidfd of the init (before create returns).
    pub pidfd_socket: Option<PathBuf>,
    /// Foreground `run`: without --console-socket, a terminal's pty master
    /// comes back to hull (in `Created::terminal`) for it to proxy.
    pub own_terminal: bool,
    pub no_pivot: bool,
    /// `--systemd-cgroup`: the cgroup is a transient systemd unit.
    pub systemd_cgroup: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// Socket-activation fds (3..3+N) handed on ahead of --preserve-fds,
    /// with LISTEN_FDS=N and LISTEN_PID=1 in the process's env.
    pub listen_fds: u32,
    /// A signalfd whose terminating signals abort the create (foreground run).
    pub interrupt: Option<std::os::fd::RawFd>,
    /// `run`, whose start follows at once: unless hull keeps a terminal to
    /// set up first, exec.fifo's read end is opened before the commit
    /// (`Created::release`), so the init goes on to execve without waiting
    /// for `start` to open it.
    pub early_release: bool,
}

/// A created container whose init waits for `start`.
pub struct Created {
    pub dir: PathBuf,
    pub state: StoredState,
    pub pid: i32,
    pub pidfd: OwnedFd,
    /// The pty master, when hull keeps the terminal (`own_terminal`).
    pub terminal: Option<OwnedFd>,
    /// exec.fifo's read end, opened before the commit (`early_release`).
    pub release: Option<OwnedFd>,
}

/// Undoes a half-made container: unmounts what the init mounted below
/// root.path without a mount namespace, empties and removes the cgroup
/// hull made, removes the state dir, then runs the poststop hooks (a failed
/// create "continues the lifecycle" at destroy, as runc does). The init
/// itself is killed and reaped first, by `spawn`'s guard.
pub(super) struct Cleanup {
    dir: Option<PathBuf>,
    /// root.path claimed (and locked) for mounts among hull's own.
    host_mounts: Option<host_mounts::Claim>,
    pub(super) cgroup: Option<Box<dyn CgroupManager>>,
    /// The resctrl groups the container is to have (linux.intelRdt).
    resctrl: Option<crate::resctrl::RdtState>,
    /// The poststop hooks, the state they read and the container id.
    poststop: Option<(Vec<crate::hooks::HookPlan>, String, String)>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
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
        if let Some(rdt) = self.resctrl.take() {
            if let Err(err) = crate::resctrl::remove(&crate::resctrl::Kernel, &rdt) {
                logging::warn(&format!("{err:#}"));
            }
        }
        if let Some(dir) = self.dir.take() {
            if let Err(err) = state::remove_dir(&dir) {
                logging::warn(&format!("{err:#}"));
            }
        }
        if let Some((hooks, state, id)) = self.poststop.take() {
            crate::hooks::run_all_warning("poststop", &hooks, &state, &id);
        }
    }
}

impl Cleanup {
    /// What a failed create of `id` undoes, before anything is made: its
    /// state dir, its claim on root.path, its resctrl groups and poststop
    /// hooks (the cgroup joins once made).
    pub(super) fn new(
        dir: &Path,
        claim: Option<host_mounts::Claim>,
        plan: &Plan,
        id: &str,
    ) -> Cleanup {
        Cleanup {
            dir: Some(dir.to_path_buf()),
            host_mounts: claim,
            cgroup: None,
            resctrl: plan.intel_rdt.as_ref().map(|rdt| rdt.state(id)),
            poststop: poststop_hooks(plan, id),
        }
    }

    /// The container is made: nothing is undone.
    pub(super) fn disarm(&mut self) {
        self.dir = None;
        self.host_mounts = None;
        self.cgroup = None;
        self.resctrl = None;
        self.poststop = None;
    }
}

pub fn create(root: &StateRoot, opts: &CreateOptions) -> Result<Created> {
    let (plan, cgroup, claim) = checked_plan(opts)?;
    let dir = make_state_dir(root, &opts.id)?;
    let mut cleanup = Cleanup::new(&dir, claim, &plan, &opts.id);
    let _lock = DirLock::lock(&dir).with_context(|| format!("lock {dir:?}"))?;
    let fifo = make_exec_fifo(&dir)?;

    // Before the cgroup and the mounts exist, so that `delete --force`
    // finds them even if this process is killed from here on: the init
    // ends by itself (PDEATHSIG) until the container is committed below.
    let host_mounts = cleanup.host_mounts.as_ref().map(|c| c.record.clone());
    let mut record = CleanupRecord {
        cgroup: Some(predicted_state(cgroup.as_ref())),
        host_mounts: host_mounts.clone(),
        resctrl: cleanup.resctrl.clone(),
        ..Default::default()
    };
    state::save_cleanup(&dir, &record)?;
    timing::mark("create.state-dir");
    // A systemd unit is started around the init, after the clone.
    let around_init = cgroup.needs_init();
    // An eBPF device filter is loaded while the init makes its mounts.
    let devices_beside = !around_init && cgroup.devices_swap_at_once();
    let mut cgroup_state = if around_init {
        cleanup.cgroup = Some(cgroup);
        None
    } else {
        make_cgroup(
            &mut cleanup,
            cgroup,
            &plan,
            &dir,
            &mut record,
            devices_beside,
        )?
    };
    timing::mark("create.cgroup");
    logging::test_panic_point("create");
    // The init holds root.path's lock too, until its mounts are made: a
    // create that dies meanwhile leaves it locked until the init is gone.
    let rootfs_lock = (cleanup.host_mounts.as_ref())
        .map(|claim| claim.lock_fd().try_clone_to_owned())
        .transpose()
        .context("dup the root.path lock")?;
    // Without a unit around the init, its record is complete once it has
    // a pid: written while the init sets up, put in place once it is ready.
    let early_state = Cell::new((!around_init).then(|| StoredState {
        cgroup: cgroup_state.clone(),
        host_mounts: host_mounts.clone(),
        ..stored_state(&plan, &opts.id)
    }));
    let mut start_unit = |pid: i32| -> Result<()> {
        if let Some(cgroup) = cleanup.cgroup.as_deref_mut() {
            cgroup_state = Some(setup_cgroup(cgroup, &plan, Some(pid), false)?);
        }
        Ok(())
    };
    let (launch_cgroup, around): (Option<&dyn CgroupManager>, Option<spawn::AroundInit>) =
        if around_init {
            (None, Some(&mut start_unit))
        } else {
            (cleanup.cgroup.as_deref(), None)
        };
    let recorded = Cell::new(None);
    let beside = |pid| {
        let devices_in = launch_cgroup.filter(|_| devices_beside);
        while_init_sets_up(&plan, &opts.id, devices_in, pid)?;
        if let Some(state) = early_state.take() {
            recorded.set(Some(record_init(&dir, &record, state, pid)?));
        }
        Ok(())
    };
    // Declared after `cleanup`, so dropped before it: on an error from
    // here on the init is killed and reaped before its cgroup goes.
    let mut init = spawn::spawn_init(InitLaunch {
        plan: &plan,
        id: &opts.id,
        no_pivot: opts.no_pivot,
        no_new_keyring: opts.no_new_keyring,
        preserve_fds: opts.listen_fds + opts.preserve_fds,
        extra_env: listen_env(opts.listen_fds),
        console_socket: opts.console_socket.as_deref(),
        fifo,
        rootfs_lock,
        cgroup: launch_cgroup,
        cgroup_around_init: around,
        beside_init: Some(&beside),
        interrupt: opts.interrupt,
    })?;
    timing::mark("create.init-ready");
    let (state, pending) = match recorded.into_inner() {
        Some(recorded) => recorded,
        None => {
            let state = StoredState {
                cgroup: cgroup_state,
                host_mounts,
                ..stored_state(&plan, &opts.id)
            };
            record_init(&dir, &record, state, init.pid())?
        }
    };
    pending.commit()?;
    hand_out_pid(&init, opts)?;
    timing::mark("create.state");
    let terminal = init.terminal.take();
    let release = early_release(opts, terminal.is_some(), &dir)?;
    let (pid, pidfd) = init.commit()?;
    timing::mark("create.commit");
    logging::debug(&format!("container {:?} created, init pid {pid}", opts.id));
    cleanup.disarm();
    Ok(Created {
        dir,
        state,
        pid,
        pidfd,
        terminal,
        release,
    })
}

/// The bundle's plan, checked against the options and the host while
/// nothing exists yet, with the container's cgroup manager and, without a
/// mount namespace, the claim on root.path.
type Checked = (Plan, Box<dyn CgroupManager>, Option<host_mounts::Claim>);
fn checked_plan(opts: &CreateOptions) -> Result<Checked> {
    state::validate_id(&opts.id)?;
    check_fd_count(
        &format!(
            "--preserve-fds {} with {} socket-activation fds",
            opts.preserve_fds, opts.listen_fds
        ),
        opts.preserve_fds.checked_add(opts.listen_fds),
    )?;
    let plan = plan_from_bundle(&opts.bundle)?;
    timing::mark("create.config");
    check_plan(&plan, opts)?;
    // Paths resolved and limits checked against the host.
    let cgroup = cgroup_manager(&plan, &opts.id, opts.systemd_cgroup)?;
    timing::mark("create.checks");
    // Without a mount namespace the mounts are made among hull's own:
    // root.path is claimed (locked, checked, recorded) before anything.
    let claim = host_mounts::claim(&plan)?;
    Ok((plan, cgroup, claim))
}

/// What hull does right after the clone while the init sets up: the v2
/// device filter (`devices_in`), moving linux.netDevices into the init's
/// network namespace, and its resctrl group (linux.intelRdt).
fn while_init_sets_up(
    plan: &Plan,
    id: &str,
    devices_in: Option<&dyn CgroupManager>,
    pid: i32,
) -> Result<()> {
    if let Some(cgroup) = devices_in {
        apply_device_rules(cgroup, plan)?;
    }
    if let Some(rdt) = &plan.intel_rdt {
        crate::resctrl::apply(&crate::resctrl::Kernel, rdt, id, pid)?;
    }
    crate::netdev::move_into(&plan.net_devices, pid)
}

/// exec.fifo's read end for `start`, opened before the commit when the
/// options ask for it and hull keeps no terminal it has yet to set up.
fn early_release(opts: &CreateOptions, own_terminal: bool, dir: &Path) -> Result<Option<OwnedFd>> {
    (opts.early_release && !own_terminal)
        .then(|| super::start::open_release(&dir.join(EXEC_FIFO)))
        .transpose()
}

/// The init's pid and start time on record: the cleanup record (for
/// `delete --force`), then `state` with them written beside state.json,
/// for the caller to put in place.
fn record_init(
    dir: &Path,
    record: &CleanupRecord,
    state: StoredState,
    pid: i32,
) -> Result<(StoredState, PendingFile)> {
    let (_, start_time) =
        proc_stat(pid).with_context(|| format!("read the start time of init {pid}"))?;
    let record = CleanupRecord {
        pid,
        pid_start_time: start_time,
        ..record.clone()
    };
    state::save_cleanup(dir, &record)?;
    let state = StoredState {
        pid,
        pid_start_time: start_time,
        ..state
    };
    let pending = state::prepare(dir, &state)?;
    Ok((state, pending))
}

/// The caller's --pid-file and --pidfd-socket get the init's pid and a
/// pidfd (once it is ready and recorded).
fn hand_out_pid(init: &spawn::ReadyInit, opts: &CreateOptions) -> Result<()> {
    if let Some(pid_file) = &opts.pid_file {
        write_pid_file(pid_file, init.pid())?;
    }
    if let Some(path) = &opts.pidfd_socket {
        pidfd::send_to_socket(path, init.pidfd(), "standard")?;
    }
    Ok(())
}

/// The container's cgroup, to be made by the driver asked for, its
/// limits checked against the host.
pub(super) fn cgroup_manager(
    plan: &Plan,
    id: &str,
    systemd_cgroup: bool,
) -> Result<Box<dyn CgroupManager>> {
    let driver = if systemd_cgroup {
        cgroups::Driver::Systemd(&plan.annotations)
    } else {
        cgroups::Driver::Cgroupfs
    };
    let cgroup = cgroups::manager_for(&plan.cgroup, id, driver)?;
    cgroup.check(&plan.cgroup.limits)?;
    Ok(cgroup)
}

/// What the plan asks of this create that it cannot give: a container
/// without a user namespace of its own when hull is not root, a terminal
/// without a way to hand it over. Then the plan's warnings.
fn check_plan(plan: &Plan, opts: &CreateOptions) -> Result<()> {
    let euid = nix::unistd::geteuid();
    if !euid.is_root() && !plan.new_user_namespace() {
        bail!(
            "running as uid {euid}, the container needs a user namespace of its own (`hull spec --rootless` writes such a config)"
        );
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
    Ok(())
}

/// The poststop hooks a failed create runs, with the state they read and
/// the container id.
fn poststop_hooks(plan: &Plan, id: &str) -> Option<(Vec<crate::hooks::HookPlan>, String, String)> {
    (!plan.hooks.poststop.is_empty()).then(|| {
        let state = crate::hooks::state_json(
            &plan.oci_version,
            id,
            "stopped",
            0,
            &plan.bundle,
            &plan.annotations,
        );
        (plan.hooks.poststop.clone(), state, id.to_string())
    })
}

/// The container's record as the plan gives it; the init's pid, its start
/// time, the cgroup and the host mounts are create's to fill in.
pub(super) fn stored_state(plan: &Plan, id: &str) -> StoredState {
    StoredState {
        oci_version: plan.oci_version.clone(),
        id: id.to_string(),
        pid: 0,
        pid_start_time: 0,
        bundle: plan.bundle.clone(),
        rootfs: plan.rootfs.clone(),
        created: logging::rfc3339(std::time::SystemTime::now()),
        owner: String::new(),
        annotations: plan.annotations.clone(),
        own_pid_namespace: plan.has_new_namespace(CloneFlags::CLONE_NEWPID),
        hooks: plan.hooks.clone(),
        cgroup: None,
        host_mounts: None,
        // What `exec` plans its process's filter from.
        seccomp: plan.seccomp_spec.clone(),
        memory_policy: plan.process.memory_policy.clone(),
        resctrl: plan.intel_rdt.as_ref().map(|rdt| rdt.state(id)),
    }
}

/// As runc: socket-activation fds stay at 3.., so pid 1 of the container
/// gets them, and its env says so.
fn listen_env(listen_fds: u32) -> Vec<String> {
    if listen_fds == 0 {
        return Vec::new();
    }
    vec![
        format!("LISTEN_FDS={listen_fds}"),
        "LISTEN_PID=1".to_string(),
    ]
}

/// `--root/ID`, made atomically: of two creates of one id, one wins.
pub(super) fn make_state_dir(root: &StateRoot, id: &str) -> Result<PathBuf> {
    root.ensure()?;
    let dir = root.container_dir(id);
    match std::fs::DirBuilder::new().mode(0o711).create(&dir) {
        Ok(()) => Ok(dir),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("container {id:?} already exists")
        }
        Err(err) => Err(err).with_context(|| format!("create state dir {dir:?}")),
    }
}

/// exec.fifo (mode 0622), opened O_PATH for the init.
fn make_exec_fifo(dir: &Path) -> Result<OwnedFd> {
    let fifo_path = dir.join(EXEC_FIFO);
    nix::unistd::mkfifo(&fifo_path, Mode::from_bits_truncate(0o622))
        .with_context(|| format!("create {fifo_path:?}"))?;
    std::fs::set_permissions(&fifo_path, std::fs::Permissions::from_mode(0o622))
        .with_context(|| format!("chmod {fifo_path:?}"))?;
    nix::fcntl::open(&fifo_path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .with_context(|| format!("open {fifo_path:?}"))
}

/// Make the container's cgroup (held by `cleanup` from now on) and return
/// its state. Rootless without a delegated cgroup, runc goes on without
/// one too, as long as no limit was asked for: then None, and the cleanup
/// record says there is none.
fn make_cgroup(
    cleanup: &mut Cleanup,
    cgroup: Box<dyn CgroupManager>,
    plan: &Plan,
    dir: &Path,
    record: &mut CleanupRecord,
    defer_devices: bool,
) -> Result<Option<CgroupState>> {
    let euid = nix::unistd::geteuid();
    let cgroup = cleanup.cgroup.insert(cgroup);
    match setup_cgroup(cgroup.as_mut(), plan, None, defer_devices) {
        Ok(state) => Ok(Some(state)),
        Err(err) if !euid.is_root() && !asks_for_limits(plan) && is_permission_error(&err) => {
            logging::warn(&format!(
                "{err:#}: uid {euid} may not make cgroups here, so the container has none (no limits, pause, events or ps)"
            ));
            if let Some(c) = cleanup.cgroup.take() {
                let _ = c.destroy();
            }
            record.cgroup = None;
            state::save_cleanup(dir, record)?;
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

/// The cgroup's state as `create` will leave it: owned unless every
/// directory is there already (then it is joined, and never removed).
pub(super) fn predicted_state(cgroup: &dyn CgroupManager) -> CgroupState {
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
    errnos(err).any(|errno| matches!(errno, libc::EACCES | libc::EPERM))
}

/// Make the cgroup and write its limits and device rules. A cgroup that
/// already existed is joined: only the limits that are set are written,
/// and device rules only when the config has some (the spec's rule for
/// shared cgroups). `init`: the init's pid, for a cgroup made around it.
pub(super) fn setup_cgroup(
    cgroup: &mut dyn CgroupManager,
    plan: &Plan,
    init: Option<i32>,
    defer_devices: bool,
) -> Result<CgroupState> {
    cgroup.create(init)?;
    cgroup.apply(&plan.cgroup.limits, false)?;
    if !defer_devices {
        apply_device_rules(cgroup, plan)?;
    }
    Ok(cgroup.state())
}

/// The device rules, in a cgroup hull made or where the config asks for
/// them.
fn apply_device_rules(cgroup: &dyn CgroupManager, plan: &Plan) -> Result<()> {
    let asked = plan
        .cgroup
        .resources
        .devices()
        .as_ref()
        .is_some_and(|d| !d.is_empty());
    // Rootless, the default rules are left out: loading a device filter
    // needs privilege hull has not, and the container's user namespace
    // cannot make device nodes anyway. Rules the config asks for are
    // applied or the create fails.
    let rootless = !nix::unistd::geteuid().is_root();
    if asked || (cgroup.state().owned && !rootless) {
        cgroup.apply_devices(&plan.cgroup.devices)?;
    }
    Ok(())
}
