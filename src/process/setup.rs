//! The container process's own settings, shared by the init and `exec`:
//! cwd, rlimits, capabilities around the uid/gid switch, the executable's
//! lookup, no_new_privs, then execve.

use std::ffi::CString;

use anyhow::{bail, Context, Result};
use nix::unistd::{Gid, Uid};

use super::exec_path::find_executable;
use crate::config::ProcessPlan;
use crate::security::capabilities;

/// Apply `p` to the calling process; returns the program to exec.
pub fn apply(p: &ProcessPlan) -> Result<CString> {
    nix::unistd::chdir(&p.cwd).with_context(|| format!("process.cwd: chdir to {:?}", p.cwd))?;
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

    if let Some(caps) = &p.capabilities {
        capabilities::before_user_switch(caps)?;
    }
    let gids: Vec<Gid> = p
        .additional_gids
        .iter()
        .map(|g| Gid::from_raw(*g))
        .collect();
    nix::unistd::setgroups(&gids).with_context(|| {
        format!(
            "process.user.additionalGids: setgroups {:?}",
            p.additional_gids
        )
    })?;
    let gid = Gid::from_raw(p.gid);
    nix::unistd::setresgid(gid, gid, gid)
        .with_context(|| format!("process.user.gid: setresgid {}", p.gid))?;
    let uid = Uid::from_raw(p.uid);
    nix::unistd::setresuid(uid, uid, uid)
        .with_context(|| format!("process.user.uid: setresuid {}", p.uid))?;
    if let Some(caps) = &p.capabilities {
        capabilities::after_user_switch(caps)?;
    }

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
    Ok(program)
}

/// execve the process; returns only with the reason it failed.
pub fn exec(p: &ProcessPlan, program: &CString) -> Result<std::convert::Infallible> {
    let argv: Vec<CString> = p
        .args
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<_, _>>()
        .context("process.args: contains a NUL byte")?;
    let envp: Vec<CString> = p
        .env
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<_, _>>()
        .context("process.env: contains a NUL byte")?;
    let err = nix::unistd::execve(program, &argv, &envp).unwrap_err();
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
