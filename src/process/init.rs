//! The container's init, from the clone to execve. It runs in the new
//! namespaces, reports any failure to hull over the sync socket, and blocks
//! on exec.fifo until `start`.

use std::ffi::CString;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};

use anyhow::{bail, Context, Result};
use nix::sched::CloneFlags;
use pathrs::flags::OpenFlags;
use pathrs::procfs::{ProcfsBase, ProcfsHandle, ProcfsHandleBuilder};

use super::channel::{recv_message, send_message, Message};
use super::setup;
use crate::config::Plan;
use crate::rootfs;

pub struct InitArgs<'a> {
    pub plan: &'a Plan,
    pub no_pivot: bool,
    /// The init's end of the sync socket.
    pub sync: OwnedFd,
    /// exec.fifo opened O_PATH by hull before the clone.
    pub fifo: OwnedFd,
    pub parent_pid: i32,
    /// The container id (for the state hooks read).
    pub id: String,
    pub preserve_fds: u32,
    /// The connected --console-socket, when the process has a terminal.
    pub console_socket: Option<OwnedFd>,
    /// Session keyring name (the container id), or None for --no-new-keyring.
    pub keyring: Option<CString>,
    /// The v1 hierarchies' `tasks` files (and, where clone3 is missing, the
    /// cgroup2 `cgroup.procs`), opened by hull: the init writes "0" (itself)
    /// into each before anything else.
    pub cgroup_procs: Vec<OwnedFd>,
    /// Unshare the cgroup namespace after joining the cgroup, so that its
    /// root is the container's cgroup (it was left out of the clone).
    pub unshare_cgroupns: bool,
}

/// Never returns: either execs the container's process or exits.
pub fn init_main(mut args: InitArgs) -> ! {
    let joined = join_cgroup(
        std::mem::take(&mut args.cgroup_procs),
        args.unshare_cgroupns,
    );
    let err = match joined.and_then(|()| prepare(&args)) {
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
    let _ = send_message(&args.sync, &Message::Error(format!("{err:#}")));
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
    /// The init's pid as the host sees it (for hooks), 0 when no hook needs it.
    host_pid: i32,
}

fn prepare(args: &InitArgs) -> Result<Ready> {
    let plan = args.plan;
    crate::syscall::close_fds_except(
        3 + args.preserve_fds as i32,
        &[
            args.sync.as_raw_fd(),
            args.fifo.as_raw_fd(),
            args.console_socket.as_ref().map_or(-1, |s| s.as_raw_fd()),
        ],
    )
    .context("close inherited fds")?;
    // SAFETY: prctl/umask with integer arguments.
    unsafe {
        libc::umask(0);
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        // Not dumpable until exec: the container cannot ptrace or read the
        // memory of its init while it still holds host resources.
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    // In a new pid namespace the parent is outside it and getppid() says 0;
    // a parent that died there shows as a closed sync socket instead.
    let ppid = nix::unistd::getppid().as_raw();
    if ppid != 0 && ppid != args.parent_pid {
        bail!("hull exited while the container was being created");
    }

    join_namespaces(plan)?;
    if let Some(name) = &args.keyring {
        crate::syscall::join_session_keyring(name).context("join a new session keyring")?;
    }

    let procfs = ProcfsHandleBuilder::new()
        .unmasked()
        .build()
        .context("open a private procfs")?;
    if let Some(adj) = plan.process.oom_score_adj {
        write_proc(
            &procfs,
            ProcfsBase::ProcSelf,
            "oom_score_adj",
            &adj.to_string(),
        )
        .context("process.oomScoreAdj: write /proc/self/oom_score_adj")?;
    }
    if plan.namespace(CloneFlags::CLONE_NEWUTS).is_some() {
        if let Some(h) = &plan.hostname {
            nix::unistd::sethostname(h).with_context(|| format!("hostname: set {h:?}"))?;
        }
        if let Some(d) = &plan.domainname {
            set_domainname(d)?;
        }
    }

    let hooks = &plan.hooks;
    // Before pivot_root /proc is still the host's: its "self" is our host pid.
    let host_pid = if hooks.create_container.is_empty() && hooks.start_container.is_empty() {
        0
    } else {
        std::fs::read_link("/proc/self")
            .ok()
            .and_then(|p| p.to_str()?.parse().ok())
            .context("read the init's host pid from /proc/self")?
    };
    let before_pivot = || -> Result<()> {
        if !hooks.prestart.is_empty() || !hooks.create_runtime.is_empty() {
            send_message(&args.sync, &Message::RunHooks)?;
            match recv_message(&args.sync)? {
                Some(Message::HooksDone) => {}
                _ => bail!("hull did not confirm the createRuntime hooks"),
            }
        }
        let state = hook_state(plan, &args.id, "creating", host_pid);
        crate::hooks::run_all("createContainer", &hooks.create_container, &state)?;
        for (key, value) in &plan.sysctl {
            let path = format!("sys/{}", key.replace('.', "/"));
            write_proc(&procfs, ProcfsBase::ProcRoot, &path, value).with_context(|| {
                format!("linux.sysctl {key:?}: write {value:?} to /proc/{path}")
            })?;
        }
        Ok(())
    };
    if plan.has_new_namespace(CloneFlags::CLONE_NEWNS) {
        let pty = rootfs::prepare(plan, args.no_pivot, before_pivot)?;
        if plan.rootfs_readonly {
            rootfs::remount_root_readonly()?;
        }
        if let (Some(pty), Some(socket)) = (pty, &args.console_socket) {
            rootfs::console::attach(pty, socket, plan.process.console_size)?;
        }
    } else {
        before_pivot()?;
    }

    let exec = setup::apply(&plan.process)?;
    Ok(Ready {
        exec,
        procfs,
        host_pid,
    })
}

fn wait_and_exec(args: InitArgs, ready: Ready) -> Result<std::convert::Infallible> {
    let p = &args.plan.process;
    // Nothing of hull's reaches the process but stdio and --preserve-fds.
    crate::syscall::cloexec_from(3 + args.preserve_fds).context("mark fds close-on-exec")?;
    setup::reset_signals();
    // SAFETY: umask/prctl with integer arguments.
    unsafe {
        libc::umask(p.umask.unwrap_or(0o022) as libc::mode_t);
        libc::prctl(libc::PR_SET_PDEATHSIG, 0, 0, 0, 0);
    }
    // A pid namespace's init ignores signals it has no handler for: while
    // it waits for `start`, `kill` must still end it, as it ends runc's.
    exit_on_signals();
    send_message(&args.sync, &Message::Ready)?;
    drop(args.sync);

    // Blocks until `start` opens the fifo for reading.
    let fifo_path = format!("fd/{}", args.fifo.as_raw_fd());
    let mut fifo: File = ready
        .procfs
        .open_follow(
            ProcfsBase::ProcSelf,
            &fifo_path,
            OpenFlags::O_WRONLY | OpenFlags::O_CLOEXEC,
        )
        .context("open exec.fifo")?;
    let state = hook_state(args.plan, &args.id, "created", ready.host_pid);
    let hooks = &args.plan.hooks.start_container;
    if let Err(err) = crate::hooks::run_all("startContainer", hooks, &state) {
        // `start` reads this and reports it; the container does not run.
        let _ = fifo.write_all(format!("E{err:#}").as_bytes());
        // SAFETY: _exit is always safe.
        unsafe { libc::_exit(1) }
    }
    fifo.write_all(b"0").context("write exec.fifo")?;
    drop(fifo);
    drop(args.fifo);
    drop(ready.procfs);
    setup::reset_signals();

    setup::exec(p, &ready.exec)
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
    let order = [
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
fn exit_on_signals() {
    for sig in [
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGHUP,
        libc::SIGQUIT,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGALRM,
        libc::SIGPIPE,
    ] {
        // SAFETY: the handler only calls _exit.
        unsafe { libc::signal(sig, exit_with_signal as *const () as libc::sighandler_t) };
    }
}
