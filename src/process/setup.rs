//! The container process's own settings, shared by the init and `exec`:
//! cwd, rlimits, the seccomp filter, capabilities around the uid/gid switch,
//! the executable's lookup, no_new_privs, then execve.

use std::ffi::CString;

use anyhow::{bail, Context, Result};
use nix::unistd::{Gid, Uid};

use super::channel::ChildEnd;
use super::exec_path::find_executable;
use crate::config::ProcessPlan;
use crate::security::seccomp::{self, SeccompPlan};
use crate::security::{attrs, capabilities};

/// What execve gets, made before any filter is loaded: after the load only
/// the syscalls listed in docs/ARCHITECTURE.md ("After the filter") remain.
pub struct Exec {
    program: CString,
    _argv: Vec<CString>,
    _envp: Vec<CString>,
    /// NULL-terminated pointers into `_argv` and `_envp` (whose heap
    /// buffers never move).
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
    /// The container's filter, built but not loaded yet: `load` does it as
    /// close to execve as the process allows.
    filter: Option<seccomp::Filter>,
    /// Capabilities kept only so that the filter can be loaded without
    /// no_new_privs (that needs CAP_SYS_ADMIN); `load` drops them after.
    held: Held,
}

enum Held {
    Nothing,
    /// Back to the plan's effective and permitted sets.
    Plan(Box<capabilities::CapsPlan>),
    /// No capabilities in the config and a non-root uid: none at all.
    All,
}

/// Apply `p` to the calling process (its filesystem view is the
/// container's already); returns what to exec, with `extra_env` after the
/// plan's env. Everything that opens a file, lists fds or resolves a path
/// happens here, before any filter.
pub fn apply(p: &ProcessPlan, extra_env: &[String], filter: Option<&SeccompPlan>) -> Result<Exec> {
    let env = exec_env(p, extra_env);
    let filter = filter.map(seccomp::build).transpose()?;
    // Without no_new_privs the kernel wants CAP_SYS_ADMIN for the load: it
    // is held through the user switch and dropped right after the load.
    let privileged_load = filter.is_some() && !p.no_new_privileges;
    nix::unistd::chdir(&p.cwd).with_context(|| format!("process.cwd: chdir to {:?}", p.cwd))?;
    if let Some(policy) = &p.memory_policy {
        crate::security::mempolicy::apply(policy)?;
    }
    set_rlimits(p)?;
    // While the process still has every capability (RT classes and
    // priorities need CAP_SYS_ADMIN / CAP_SYS_NICE).
    if let Some(io) = p.io_priority {
        attrs::set_io_priority(io)?;
    }
    if let Some(sched) = &p.scheduler {
        attrs::set_scheduler(sched)?;
    }
    let held = switch_user(p, privileged_load)?;
    // As the container's user: access() checks the real uid, whatever is held.
    let program = find_executable(&p.args[0], &p.env)?;
    if p.no_new_privileges {
        // SAFETY: prctl with integer arguments.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            bail!(
                "process.noNewPrivileges: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    Exec::new(program, &p.args, &env, filter, held)
}

/// The env execve gets: the plan's, `extra`, and as runc does, without
/// HOME in them, the user's home from the container's /etc/passwd, else "/".
fn exec_env(p: &ProcessPlan, extra: &[String]) -> Vec<String> {
    let mut env: Vec<String> = p.env.iter().chain(extra).cloned().collect();
    if !env.iter().any(|v| v.starts_with("HOME=")) {
        env.push(format!("HOME={}", home_of(p.uid)));
    }
    env
}

fn set_rlimits(p: &ProcessPlan) -> Result<()> {
    for r in &p.rlimits {
        let lim = libc::rlimit {
            rlim_cur: r.soft,
            rlim_max: r.hard,
        };
        // SAFETY: a valid rlimit struct for a resource number checked at plan time.
        if unsafe { libc::setrlimit(r.resource as _, &lim) } != 0 {
            let err = std::io::Error::last_os_error();
            let hint = if err.raw_os_error() == Some(libc::EPERM) {
                " (raising a hard limit needs CAP_SYS_RESOURCE)"
            } else {
                ""
            };
            bail!(
                "process.rlimits {}: set soft {} hard {}: {err}{hint}",
                r.name,
                r.soft,
                r.hard
            );
        }
    }
    Ok(())
}

/// Groups, gid and uid of the process, with its capabilities set around
/// the switch; returns what is held for a privileged filter load.
fn switch_user(p: &ProcessPlan, privileged_load: bool) -> Result<Held> {
    let keep_all = privileged_load && p.capabilities.is_none() && p.uid != 0;
    if let Some(caps) = &p.capabilities {
        capabilities::before_user_switch(caps)?;
    } else if keep_all {
        capabilities::keep_across_user_switch()?;
    }
    set_groups(p)?;
    let gid = Gid::from_raw(p.gid);
    nix::unistd::setresgid(gid, gid, gid)
        .with_context(|| format!("process.user.gid: setresgid {}", p.gid))?;
    let uid = Uid::from_raw(p.uid);
    nix::unistd::setresuid(uid, uid, uid)
        .with_context(|| format!("process.user.uid: setresuid {}", p.uid))?;
    Ok(match &p.capabilities {
        Some(plan) => {
            let hold =
                privileged_load && !plan.effective.contains(&caps::Capability::CAP_SYS_ADMIN);
            capabilities::after_user_switch(plan, hold)?;
            if hold {
                Held::Plan(Box::new(plan.clone()))
            } else {
                Held::Nothing
            }
        }
        None if keep_all => {
            capabilities::raise_kept()?;
            Held::All
        }
        None => Held::Nothing,
    })
}

fn set_groups(p: &ProcessPlan) -> Result<()> {
    if p.keep_original_groups {
        return Ok(());
    }
    let gids: Vec<Gid> = p
        .additional_gids
        .iter()
        .map(|g| Gid::from_raw(*g))
        .collect();
    // A user namespace whose gid map was written without privilege has
    // setgroups denied: no supplementary groups can be set (or dropped).
    let setgroups_denied =
        std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny");
    if !setgroups_denied {
        nix::unistd::setgroups(&gids).with_context(|| {
            format!(
                "process.user.additionalGids: setgroups {:?}",
                p.additional_gids
            )
        })?;
    } else if !gids.is_empty() {
        bail!(
            "process.user.additionalGids {:?}: setgroups is denied in this user namespace (its gid map was written without privilege)",
            p.additional_gids
        );
    }
    Ok(())
}

impl Exec {
    fn new(
        program: CString,
        args: &[String],
        env: &[String],
        filter: Option<seccomp::Filter>,
        held: Held,
    ) -> Result<Exec> {
        let cstrings = |list: &[String], what: &str| -> Result<Vec<CString>> {
            list.iter()
                .map(|a| CString::new(a.as_bytes()))
                .collect::<Result<_, _>>()
                .with_context(|| format!("{what}: contains a NUL byte"))
        };
        let argv = cstrings(args, "process.args")?;
        let envp = cstrings(env, "process.env")?;
        let ptrs = |list: &[CString]| -> Vec<*const libc::c_char> {
            list.iter()
                .map(|c| c.as_ptr())
                .chain(std::iter::once(std::ptr::null()))
                .collect()
        };
        Ok(Exec {
            program,
            argv_ptrs: ptrs(&argv),
            envp_ptrs: ptrs(&envp),
            _argv: argv,
            _envp: envp,
            filter,
            held,
        })
    }

    /// A notifying filter: its listener must get the fd during create, so
    /// the init loads it before it says `Ready` (runc does the same).
    pub fn notifies(&self) -> bool {
        self.filter.as_ref().is_some_and(|f| f.notifies())
    }
}

/// Load the container's filter (a no-op when there is none or it is
/// loaded already), send a notify fd to hull over `sync`, then drop the
/// capabilities held for the load. Call it right before the last
/// syscalls: from here on the process makes only those the filter must
/// allow anyway (docs/ARCHITECTURE.md, "After the filter").
pub fn load(what: &mut Exec, sync: Option<&ChildEnd>) -> Result<()> {
    let Some(filter) = what.filter.take() else {
        return Ok(());
    };
    // Nothing given back to the kernel from here: the profile may forbid it.
    crate::security::seccomp::keep_memory();
    if let Some(notify_fd) = filter.load()? {
        let sync = sync.context("linux.seccomp: no channel for the notify fd")?;
        sync.send_seccomp_fd(&notify_fd)
            .context("linux.seccomp: hand the notify fd to hull")?;
    }
    // Kept alive: releasing libseccomp's context now would only free memory.
    std::mem::forget(filter);
    match std::mem::replace(&mut what.held, Held::Nothing) {
        Held::Nothing => Ok(()),
        Held::Plan(caps) => capabilities::release(&caps),
        Held::All => capabilities::release_all(),
    }
}

/// The home directory of `uid` in the container's /etc/passwd, or "/".
fn home_of(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.len() >= 6 && f[2].parse() == Ok(uid)).then(|| f[5].to_string())
        })
        .filter(|home| !home.is_empty())
        .unwrap_or_else(|| "/".to_string())
}

/// execve the process; returns only with the reason it failed.
pub fn exec(p: &ProcessPlan, what: &Exec) -> Result<std::convert::Infallible> {
    // SAFETY: the program and both NULL-terminated arrays point into
    // CStrings that `what` owns and keeps alive across the call.
    unsafe {
        libc::execve(
            what.program.as_ptr(),
            what.argv_ptrs.as_ptr(),
            what.envp_ptrs.as_ptr(),
        )
    };
    let err = nix::errno::Errno::last();
    bail!("exec {:?}: {err}", p.args[0])
}

/// Default dispositions and an empty mask: hull ignores SIGPIPE and may
/// block signals, and execve would pass both on.
pub fn reset_signals() {
    // SAFETY: plain sigaction/sigprocmask calls with valid arguments.
    unsafe {
        for sig in 1..=libc::SIGRTMAX() {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            libc::signal(sig, libc::SIG_DFL);
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// Make the calling process (not) dumpable: a non-dumpable one cannot be
/// ptraced, and its /proc/PID belongs to the host's root.
pub fn set_dumpable(on: bool) -> Result<()> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, libc::c_ulong::from(on), 0, 0, 0) } != 0 {
        bail!(
            "prctl PR_SET_DUMPABLE {}: {}",
            u8::from(on),
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}
