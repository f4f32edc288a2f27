//! The container process's own settings, shared by the init and `exec`:
//! cwd, rlimits, capabilities around the uid/gid switch, the executable's
//! lookup, no_new_privs, then execve.

use std::ffi::CString;

use anyhow::{bail, Context, Result};
use nix::unistd::{Gid, Uid};

use super::exec_path::find_executable;
use crate::config::ProcessPlan;
use crate::security::capabilities;

/// What execve gets: the resolved program and the final environment.
pub struct Exec {
    pub program: CString,
    pub env: Vec<String>,
}

/// Apply `p` to the calling process (its filesystem view is the
/// container's already); returns what to exec.
pub fn apply(p: &ProcessPlan) -> Result<Exec> {
    // As runc does: without HOME in the env, the user's home from the
    // container's /etc/passwd, else "/".
    let mut env = p.env.clone();
    if !env.iter().any(|v| v.starts_with("HOME=")) {
        env.push(format!("HOME={}", home_of(p.uid)));
    }
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
    Ok(Exec { program, env })
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
    let argv: Vec<CString> = p
        .args
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<_, _>>()
        .context("process.args: contains a NUL byte")?;
    let envp: Vec<CString> = what
        .env
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<_, _>>()
        .context("process.env: contains a NUL byte")?;
    let err = nix::unistd::execve(&what.program, &argv, &envp).unwrap_err();
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
