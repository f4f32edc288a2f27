//! The container's init, from the clone to execve. It runs in the new
//! namespaces, reports any failure to hull over the sync socket, and blocks
//! on exec.fifo until `start`.

use std::ffi::CString;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use anyhow::{bail, Context, Result};
use nix::sched::CloneFlags;
use pathrs::flags::OpenFlags;
use pathrs::procfs::{ProcfsBase, ProcfsHandle, ProcfsHandleBuilder};

use super::channel::ChildEnd;
use super::setup;
use crate::config::Plan;
use crate::rootfs;

pub struct InitArgs<'a> {
    pub plan: &'a Plan,
    pub no_pivot: bool,
    /// The init's end of the sync socket.
    pub sync: ChildEnd,
    /// exec.fifo opened O_PATH by hull before the clone.
    pub fifo: OwnedFd,
    /// Without a mount namespace: root.path's lock, shared with hull and
    /// held until the mounts below root.path are made.
    pub rootfs_lock: Option<OwnedFd>,
    pub parent_pid: i32,
    /// The container id (for the state hooks read).
    pub id: String,
    pub preserve_fds: u32,
    /// Added to the plan's env for the execve (LISTEN_FDS, LISTEN_PID).
    pub extra_env: Vec<String>,
    /// The connected --console-socket, when the process has a terminal.
    pub console_socket: Option<OwnedFd>,
    /// Session keyring name (the container id), or None for --no-new-keyring.
    pub keyring: Option<CString>,
    /// Detached id-mapped trees made by hull, by mount index.
    pub idmapped: Vec<(usize, OwnedFd)>,
    /// The v1 hierarchies' `tasks` files (and, where clone3 is missing, the
    /// cgroup2 `cgroup.procs`), opened by hull: the init writes "0" (itself)
    /// into each before anything else.
    pub cgroup_procs: Vec<OwnedFd>,
    /// hull makes the cgroup around this process (a systemd unit started
    /// with its pid): wait for its word before anything else.
    pub wait_for_cgroup: bool,
    /// Unshare the cgroup namespace after joining the cgroup, so that its
    /// root is the container's cgroup (it was left out of the clone).
    pub unshare_cgroupns: bool,
}

/// Never returns: either execs the container's process or exits.
pub fn init_main(mut args: InitArgs) -> ! {
    let placed = match args.wait_for_cgroup {
        true => args.sync.wait_for_cgroup(),
        false => Ok(()),
    };
    let joined = placed.and_then(|()| {
        join_cgroup(
            std::mem::take(&mut args.cgroup_procs),
            args.unshare_cgroupns,
        )
    });
    crate::timing::mark_init("cgroup");
    let rootfs_lock = args.rootfs_lock.take();
    let err = match joined.and_then(|()| prepare(&args, rootfs_lock)) {
        Ok(ready) => match wait_and_exec(args, ready) {
            Ok(never) => match never {},
            Err(err) => {
                // hull has already returned from create: the container's
                // stderr is the only place left to say why.
                let _ = writeln!(std::io::stderr(), "hull: {err:#}");
                // SAFETY: _exit is always safe; nothing needs unwinding.
                unsafe { libc::_exit(127) }
            }
        },
        Err(err) => err,
    };
    let _ = args.sync.send_error(&err);
    // SAFETY: as above.
    unsafe { libc::_exit(1) }
}

/// Enter the container's cgroup before any container code runs; the fds
/// are closed here, they never reach the container.
fn join_cgroup(procs: Vec<OwnedFd>, unshare_cgroupns: bool) -> Result<()> {
    for fd in procs {
        nix::unistd::write(&fd, b"0").context("join the container's cgroup")?;
    }
    if unshare_cgroupns {
        nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP).context("unshare the cgroup namespace")?;
    }
    Ok(())
}

/// What the init holds between setup and exec.
struct Ready {
    exec: setup::Exec,
    procfs: ProcfsHandle,
    /// The init's pid as the container sees it, for the hooks run in the
    /// container's namespaces (spec: "the pid as seen by the container").
    container_pid: i32,
}

fn prepare(args: &InitArgs, rootfs_lock: Option<OwnedFd>) -> Result<Ready> {
    let plan = args.plan;
    let mut keep = vec![
        args.sync.as_raw_fd(),
        args.fifo.as_raw_fd(),
        args.console_socket.as_ref().map_or(-1, |s| s.as_raw_fd()),
        rootfs_lock.as_ref().map_or(-1, |l| l.as_raw_fd()),
        // Parked by rootfs::enter, close-on-exec.
        crate::security::exe_guard::exe_tree().map_or(-1, |fd| fd.as_raw_fd()),
    ];
    keep.extend(args.idmapped.iter().map(|(_, fd)| fd.as_raw_fd()));
    crate::syscall::close_fds_except(3 + args.preserve_fds as i32, &keep)
        .context("close inherited fds")?;
    // SAFETY: umask with an integer argument.
    unsafe { libc::umask(0) };
    // The init must not outlive a hull that dies before it recorded the
    // container: PDEATHSIG from here on; a parent that died before the
    // prctl shows as another parent or, in a new pid namespace (where
    // getppid() says 0), as a hung-up sync socket (its fds close before
    // the parent is gone).
    set_parent_death_signal(libc::SIGKILL)?;
    let ppid = nix::unistd::getppid().as_raw();
    if (ppid != 0 && ppid != args.parent_pid) || peer_hung_up(&args.sync) {
        // SAFETY: _exit is always safe; nobody is left to tell.
        unsafe { libc::_exit(1) }
    }
    if plan.new_user_namespace() {
        // hull writes the id maps; until then this process has no ids in
        // its namespace. It must stay dumpable meanwhile: /proc/PID of a
        // non-dumpable process is the host root's, and hull may not be.
        args.sync.wait_for_id_maps()?;
    }
    // Not dumpable until exec: the container cannot ptrace or read the
    // memory of its init while it still holds host resources. Nothing of
    // the container runs before this point.
    setup::set_dumpable(false)?;
    join_namespaces(plan)?;
    if plan.in_user_namespace() {
        become_root().context("become root of the user namespace")?;
    }
    crate::timing::mark_init("namespaces");

    if let Some(name) = &args.keyring {
        crate::syscall::join_session_keyring(name).context("join a new session keyring")?;
    }

    let (procfs, detached) = private_procfs()?;
    if plan.has_new_namespace(crate::config::CLONE_NEWTIME) {
        enter_new_time_namespace(&procfs, &plan.time_offsets)?;
    }
    if plan.namespace(CloneFlags::CLONE_NEWUTS).is_some() {
        if let Some(h) = &plan.hostname {
            nix::unistd::sethostname(h).with_context(|| format!("hostname: set {h:?}"))?;
        }
        if let Some(d) = &plan.domainname {
            set_domainname(d)?;
        }
    }

    crate::timing::mark_init("procfs-hostname");
    let hooks = &plan.hooks;
    let container_pid = nix::unistd::getpid().as_raw();
    let before_pivot = || -> Result<()> {
        if !hooks.prestart.is_empty() || !hooks.create_runtime.is_empty() {
            args.sync.run_hooks()?;
        }
        let state = hook_state(plan, &args.id, "creating", container_pid);
        crate::hooks::run_all("createContainer", &hooks.create_container, &state)?;
        for (key, value) in &plan.sysctl {
            let path = format!("sys/{}", key.replace('.', "/"));
            write_proc(&procfs, ProcfsBase::ProcRoot, &path, value).with_context(|| {
                format!("linux.sysctl {key:?}: write {value:?} to /proc/{path}")
            })?;
        }
        Ok(())
    };
    // With a mount namespace of its own, joined, or none: rootfs::enter.
    let park = detached.then(|| procfs.as_fd());
    let pty = rootfs::enter(plan, args.no_pivot, &args.idmapped, park, before_pivot)?;
    drop(rootfs_lock);
    crate::timing::mark_init("rootfs");
    if let (Some(pty), Some(socket)) = (pty, &args.console_socket) {
        rootfs::console::attach(pty, socket, plan.process.console_size)?;
    } else {
        // A session of its own, as runc's init has: the caller's terminal
        // signals reach hull only, and CRIU can dump the container (a
        // session leader outside its pid namespace cannot be).
        nix::unistd::setsid().context("setsid")?;
    }

    if let Some(persona) = plan.personality {
        crate::security::attrs::set_personality(persona)?;
    }
    let exec = setup::apply(&plan.process, &args.extra_env, plan.seccomp.as_ref())?;
    crate::timing::mark_init("process");
    Ok(Ready {
        exec,
        procfs,
        container_pid,
    })
}

fn wait_and_exec(args: InitArgs, mut ready: Ready) -> Result<std::convert::Infallible> {
    let p = &args.plan.process;
    // Nothing of hull's reaches the process but stdio and --preserve-fds.
    crate::syscall::cloexec_from(3 + args.preserve_fds).context("mark fds close-on-exec")?;
    setup::reset_signals();
    // SAFETY: umask with an integer argument.
    unsafe { libc::umask(p.umask.unwrap_or(0o022) as libc::mode_t) };
    // A pid namespace's init ignores signals it has no handler for: while
    // it waits for `start`, `kill` must still end it, as it ends runc's.
    exit_on_signals();
    if ready.exec.notifies() {
        setup::load(&mut ready.exec, Some(&args.sync))?;
    }
    args.sync.send_ready()?;
    // Until hull has recorded the container, its death ends the init
    // (PDEATHSIG, or the socket closing here); then the init stays, and
    // closing its end tells hull it may exit.
    if !args.sync.wait_for_commit() {
        // SAFETY: _exit is always safe; hull is gone or gave up.
        unsafe { libc::_exit(1) }
    }
    // Before the close: hull exits once it sees it, and must not take the
    // init along. On an error the init says why on the container's stderr
    // and exits, and the container shows as stopped.
    set_parent_death_signal(0)?;
    drop(args.sync);

    // Blocks until `start` opens the fifo for reading. Straight through the
    // private procfs fd: after pivot_root the container's /proc can be
    // anything (a bind of a plain dir), and pathrs's own checks look at the
    // global /proc and panic when it has no thread-self.
    let fifo_path = format!("self/fd/{}", args.fifo.as_raw_fd());
    let fifo_fd = nix::fcntl::openat(
        ready.procfs.as_fd(),
        fifo_path.as_str(),
        nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .context("open exec.fifo")?;
    let mut fifo = File::from(fifo_fd);
    let state = hook_state(args.plan, &args.id, "created", ready.container_pid);
    let hooks = &args.plan.hooks.start_container;
    if let Err(err) = crate::hooks::run_all("startContainer", hooks, &state) {
        // `start` reads this and reports it; the container does not run.
        let _ = fifo.write_all(format!("E{err:#}").as_bytes());
        // SAFETY: _exit is always safe.
        unsafe { libc::_exit(1) }
    }
    drop(args.fifo);
    drop(ready.procfs);
    // execve resets handlers; until then these signals end the init as
    // they would the process (the rest were reset above).
    default_exit_signals();
    // The filter waits until now (unless it notifies): after it only the
    // fifo write and execve remain for the profile to allow, and the
    // capset that drops what the load needed. Its failure still reaches
    // `start` through the fifo.
    if let Err(err) = setup::load(&mut ready.exec, None) {
        let _ = fifo.write_all(format!("E{err:#}").as_bytes());
        // SAFETY: _exit is always safe.
        unsafe { libc::_exit(1) }
    }
    // The fifo is close-on-exec: execve closes it, which `start` waits for.
    fifo.write_all(b"0").context("write exec.fifo")?;
    let Err(err) = setup::exec(p, &ready.exec);
    // Still open: tell `start` why the close it waits for is not an exec.
    let _ = fifo.write_all(format!("E{err:#}").as_bytes());
    Err(err)
}

/// The init's own procfs (of its pid namespace, without the container's
/// masks and mounts), and whether it is a detached mount hull made, which
/// `rootfs::enter` may park beneath the old root's /proc: closing a
/// detached mount waits for an expedited RCU grace period (0.1-0.2 ms in
/// a VM), unmounting it with the old root costs nothing more.
fn private_procfs() -> Result<(ProcfsHandle, bool)> {
    if let Ok(fd) = crate::syscall::fsmount_procfs() {
        if let Ok(procfs) = ProcfsHandle::try_from_fd(fd) {
            return Ok((procfs, true));
        }
    }
    let procfs = ProcfsHandleBuilder::new()
        .unmasked()
        .build()
        .context("open a private procfs")?;
    Ok((procfs, false))
}

fn hook_state(plan: &Plan, id: &str, status: &str, pid: i32) -> String {
    crate::hooks::state_json(
        &plan.oci_version,
        id,
        status,
        pid,
        &plan.bundle,
        &plan.annotations,
    )
}

fn join_namespaces(plan: &Plan) -> Result<()> {
    // The pid namespace is joined by hull before the clone; the mount
    // namespace last, as the paths of the others may live in the host's.
    // A user namespace given by path is joined by hull before the clone.
    let order = [
        crate::config::CLONE_NEWTIME,
        CloneFlags::CLONE_NEWIPC,
        CloneFlags::CLONE_NEWUTS,
        CloneFlags::CLONE_NEWNET,
        CloneFlags::CLONE_NEWCGROUP,
        CloneFlags::CLONE_NEWNS,
    ];
    for flag in order {
        let Some(ns) = plan.namespace(flag) else {
            continue;
        };
        let Some(path) = &ns.path else { continue };
        let file =
            File::open(path).with_context(|| format!("open {} namespace {path:?}", ns.kind))?;
        nix::sched::setns(&file, flag)
            .with_context(|| format!("join {} namespace {path:?}", ns.kind))?;
    }
    Ok(())
}

/// Whether the other end of the sync socket is closed (hull died).
fn peer_hung_up(sync: &ChildEnd) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut fds = [PollFd::new(sync.as_fd(), PollFlags::empty())];
    matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
        && fds[0]
            .revents()
            .is_some_and(|r| r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR))
}

/// The signal the init gets when hull dies (0: none).
fn set_parent_death_signal(sig: libc::c_int) -> Result<()> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) } != 0 {
        bail!(
            "prctl PR_SET_PDEATHSIG {sig}: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// uid and gid 0 of the user namespace, so what the init creates in the
/// rootfs belongs to the container's root.
fn become_root() -> Result<()> {
    let root_gid = nix::unistd::Gid::from_raw(0);
    let root_uid = nix::unistd::Uid::from_raw(0);
    nix::unistd::setresgid(root_gid, root_gid, root_gid).context("setresgid 0")?;
    nix::unistd::setresuid(root_uid, root_uid, root_uid).context("setresuid 0")?;
    Ok(())
}

/// A new time namespace with `offsets` (clock, s, ns) for the init: the
/// offsets can only be written while no process is in it, so it is
/// unshared (for children), written, then entered.
fn enter_new_time_namespace(procfs: &ProcfsHandle, offsets: &[(String, i64, u32)]) -> Result<()> {
    nix::sched::unshare(crate::config::CLONE_NEWTIME).context("unshare a time namespace")?;
    if !offsets.is_empty() {
        let text: String = offsets
            .iter()
            .map(|(clock, s, ns)| format!("{clock} {s} {ns}\n"))
            .collect();
        // /proc/self of a non-dumpable process belongs to the host's root,
        // which a user namespace's root is not. Nothing else of the
        // container runs yet, so the init is dumpable for this one write.
        setup::set_dumpable(true)?;
        let written = write_proc(procfs, ProcfsBase::ProcSelf, "timens_offsets", &text);
        setup::set_dumpable(false)?;
        written.with_context(|| format!("linux.timeOffsets: write {text:?}"))?;
    }
    let ns = procfs
        .open_follow(
            ProcfsBase::ProcSelf,
            "ns/time_for_children",
            OpenFlags::O_RDONLY | OpenFlags::O_CLOEXEC,
        )
        .context("open /proc/self/ns/time_for_children")?;
    nix::sched::setns(&ns, crate::config::CLONE_NEWTIME).context("enter the new time namespace")?;
    Ok(())
}

fn write_proc(procfs: &ProcfsHandle, base: ProcfsBase, path: &str, value: &str) -> Result<()> {
    let mut file = procfs
        .open(base, path, OpenFlags::O_WRONLY | OpenFlags::O_CLOEXEC)
        .with_context(|| format!("open /proc/{path}"))?;
    file.write_all(value.as_bytes())
        .with_context(|| format!("write /proc/{path}"))?;
    Ok(())
}

fn set_domainname(name: &str) -> Result<()> {
    // SAFETY: the pointer and length describe `name`'s bytes.
    let rc = unsafe { libc::setdomainname(name.as_ptr() as *const libc::c_char, name.len()) };
    if rc != 0 {
        bail!(
            "domainname: set {name:?}: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

extern "C" fn exit_with_signal(sig: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(128 + sig) }
}

/// Until exec, catchable terminating signals end the waiting init.
/// SIGPIPE stays ignored (as hull runs): a startContainer hook that exits
/// without reading the state on its stdin must not end the init.
const EXIT_SIGNALS: [libc::c_int; 7] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGALRM,
];

fn exit_on_signals() {
    for sig in EXIT_SIGNALS {
        // SAFETY: the handler only calls _exit.
        unsafe { libc::signal(sig, exit_with_signal as *const () as libc::sighandler_t) };
    }
}

/// Undo `exit_on_signals`.
fn default_exit_signals() {
    for sig in EXIT_SIGNALS {
        // SAFETY: setting a default disposition.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
}
