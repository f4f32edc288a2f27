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
use crate::logging;
use crate::process::channel::{self, Message};
use crate::process::init::{init_main, InitArgs};
use crate::state::{self, DirLock, StateRoot, StoredState, EXEC_FIFO};
use crate::syscall::{pidfd_send_signal, proc_stat, CloneResult};

pub struct CreateOptions {
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// A signalfd whose terminating signals abort the create (foreground run).
    pub interrupt: Option<std::os::fd::RawFd>,
}

/// A created container whose init waits for `start`.
pub struct Created {
    pub dir: PathBuf,
    pub state: StoredState,
    pub pid: i32,
    pub pidfd: OwnedFd,
}

/// Undoes a half-made container: kills the init, empties and removes the
/// cgroup hull made, removes the state dir.
struct Cleanup {
    dir: Option<PathBuf>,
    child: Option<(i32, OwnedFd)>,
    cgroup: Option<Box<dyn CgroupManager>>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some((pid, pidfd)) = self.child.take() {
            let _ = pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
            let _ = waitpid(Pid::from_raw(pid), None);
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
    }
}

pub fn create(root: &StateRoot, opts: &CreateOptions) -> Result<Created> {
    state::validate_id(&opts.id)?;
    let plan = plan_from_bundle(&opts.bundle)?;
    match (&opts.console_socket, plan.process.terminal) {
        (Some(_), false) => {
            bail!("--console-socket: the container has no terminal (process.terminal is false)")
        }
        (None, true) => {
            bail!("process.terminal is true: pass --console-socket PATH to receive the pty")
        }
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
    cgroup.check(&plan.cgroup.resources)?;

    root.ensure()?;
    let dir = root.container_dir(&opts.id);
    match std::fs::DirBuilder::new().mode(0o711).create(&dir) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("container {:?} already exists", opts.id)
        }
        Err(err) => return Err(err).with_context(|| format!("create state dir {dir:?}")),
    }
    let mut cleanup = Cleanup {
        dir: Some(dir.clone()),
        child: None,
        cgroup: None,
    };
    let _lock = DirLock::lock(&dir).with_context(|| format!("lock {dir:?}"))?;

    let fifo_path = dir.join(EXEC_FIFO);
    nix::unistd::mkfifo(&fifo_path, Mode::from_bits_truncate(0o622))
        .with_context(|| format!("create {fifo_path:?}"))?;
    std::fs::set_permissions(&fifo_path, std::fs::Permissions::from_mode(0o622))
        .with_context(|| format!("chmod {fifo_path:?}"))?;
    let fifo = nix::fcntl::open(&fifo_path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .with_context(|| format!("open {fifo_path:?}"))?;

    let cgroup = cleanup.cgroup.insert(cgroup);
    let cgroup_state = setup_cgroup(cgroup.as_mut(), &plan)?;
    let (pid, pidfd) = spawn_init(&plan, opts, fifo, cgroup.as_ref())?;
    cleanup.child = Some((pid, pidfd.try_clone().context("dup pidfd")?));

    let (_, start_time) =
        proc_stat(pid).with_context(|| format!("read the start time of init {pid}"))?;
    let state = StoredState {
        oci_version: plan.oci_version.clone(),
        id: opts.id.clone(),
        pid,
        pid_start_time: start_time,
        bundle: plan.bundle.clone(),
        rootfs: plan.rootfs.clone(),
        created: humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string(),
        owner: String::new(),
        annotations: plan.annotations.clone(),
        own_pid_namespace: plan.has_new_namespace(CloneFlags::CLONE_NEWPID),
        hooks: plan.hooks.clone(),
        cgroup: Some(cgroup_state),
    };
    state::save(&dir, &state)?;
    if let Some(pid_file) = &opts.pid_file {
        write_pid_file(pid_file, pid)?;
    }
    logging::debug(&format!("container {:?} created, init pid {pid}", opts.id));
    cleanup.dir = None;
    cleanup.child = None;
    cleanup.cgroup = None;
    Ok(Created {
        dir,
        state,
        pid,
        pidfd,
    })
}

/// Make the cgroup and write its limits and device rules. A cgroup that
/// already existed is joined: only the limits that are set are written,
/// and device rules only when the config has some (the spec's rule for
/// shared cgroups).
fn setup_cgroup(cgroup: &mut dyn CgroupManager, plan: &Plan) -> Result<CgroupState> {
    cgroup.create()?;
    let resources = &plan.cgroup.resources;
    cgroup.apply(resources, false)?;
    if cgroup.state().owned || resources.devices().as_ref().is_some_and(|d| !d.is_empty()) {
        cgroup.apply_devices(&plan.cgroup.devices)?;
    }
    Ok(cgroup.state())
}

/// Clone the init and wait for its word: ready, or an error to report.
fn spawn_init(
    plan: &Plan,
    opts: &CreateOptions,
    fifo: OwnedFd,
    cgroup: &dyn CgroupManager,
) -> Result<(i32, OwnedFd)> {
    let (parent_sock, child_sock) = channel::pair()?;
    // Connected here, in hull's namespaces: after pivot_root the init could
    // not reach the socket's path.
    let console_socket: Option<OwnedFd> = match &opts.console_socket {
        Some(path) => Some(
            std::os::unix::net::UnixStream::connect(path)
                .with_context(|| format!("--console-socket {path:?}: connect"))?
                .into(),
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
    let parent_pid = std::process::id() as i32;
    // A new cgroup namespace is unshared by the init once it is in its
    // cgroup: cloned with the rest, it would be rooted at hull's cgroup.
    let flags = (plan.new_namespace_flags() - CloneFlags::CLONE_NEWCGROUP).bits();
    let mut cgroup_procs = cgroup.open_procs()?;
    let into = cgroup.clone_into_fd();
    logging::debug(&format!(
        "clone the init of {:?} with namespaces {:?}",
        opts.id,
        plan.new_namespace_flags()
    ));
    let cloned = cgroups::clone_into(flags, into.as_ref(), &mut cgroup_procs);
    let (pid, pidfd) = match cloned.context("clone the container's init")? {
        CloneResult::Child => {
            drop(parent_sock);
            init_main(InitArgs {
                plan,
                no_pivot: opts.no_pivot,
                sync: child_sock,
                fifo,
                parent_pid,
                id: opts.id.clone(),
                preserve_fds: opts.preserve_fds,
                console_socket,
                keyring: (!opts.no_new_keyring)
                    .then(|| std::ffi::CString::new(opts.id.as_bytes()).ok())
                    .flatten(),
                cgroup_procs,
                unshare_cgroupns: plan.has_new_namespace(CloneFlags::CLONE_NEWCGROUP),
            })
        }
        CloneResult::Parent { pid, pidfd } => (pid, pidfd),
    };
    drop(child_sock);
    drop(fifo);
    drop(cgroup_procs);
    drop(into);
    let fail = |msg: String| -> Result<(i32, OwnedFd)> {
        let _ = pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
        let _ = waitpid(Pid::from_raw(pid), None);
        bail!(msg)
    };
    use std::os::fd::AsRawFd;
    loop {
        match crate::process::interrupt::wait_readable(parent_sock.as_raw_fd(), opts.interrupt) {
            Ok(Some(sig)) => return fail(format!("interrupted by signal {sig} while creating")),
            Ok(None) => {}
            Err(err) => return fail(format!("wait for the init: {err}")),
        }
        let msg = channel::recv_message(&parent_sock);
        if let Ok(Some(Message::RunHooks)) = msg {
            // prestart (deprecated) and createRuntime run here, in hull's
            // namespaces, while the init waits before pivot_root.
            let hooks = &plan.hooks;
            let state = crate::hooks::state_json(
                &plan.oci_version,
                &opts.id,
                "creating",
                pid,
                &plan.bundle,
                &plan.annotations,
            );
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
            Ok(()) => Ok((pid, pidfd)),
            Err((true, text)) => fail(text),
            Err((false, text)) => bail!(text),
        };
    }
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
    state::write_atomic(&path, pid.to_string().as_bytes())
        .with_context(|| format!("--pid-file {path:?}"))
}
