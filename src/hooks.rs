//! OCI hooks: planned from `hooks` in config.json, stored with the state
//! (start and delete need them later), and run with the container's state
//! on stdin, their own argv and env, and their timeout enforced.

use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookPlan {
    pub path: PathBuf,
    /// argv, argv[0] included; empty means `[path]`.
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: Vec<String>,
    /// Seconds; None waits as long as the hook runs.
    #[serde(default)]
    pub timeout: Option<u32>,
}

/// The hook points hull runs, in the order they are reached.
pub const POINTS: &[&str] = &[
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// Every hook point of the spec, in the order it is reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HooksPlan {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prestart: Vec<HookPlan>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub create_runtime: Vec<HookPlan>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub create_container: Vec<HookPlan>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub start_container: Vec<HookPlan>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststart: Vec<HookPlan>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststop: Vec<HookPlan>,
}

impl HooksPlan {
    pub fn is_empty(&self) -> bool {
        self == &HooksPlan::default()
    }
}

/// Validate `hooks` of config.json.
pub fn plan(hooks: &oci_spec::runtime::Hooks) -> Result<HooksPlan> {
    let convert =
        |list: &Option<Vec<oci_spec::runtime::Hook>>, field: &str| -> Result<Vec<HookPlan>> {
            let mut out = Vec::new();
            for (i, h) in list.iter().flatten().enumerate() {
                if !h.path().is_absolute() {
                    bail!("hooks.{field}[{i}].path {:?}: must be absolute", h.path());
                }
                let timeout = match h.timeout() {
                    None => None,
                    Some(t) if t > 0 && t <= u32::MAX as i64 => Some(t as u32),
                    Some(t) => bail!(
                        "hooks.{field}[{i}].timeout {t}: must be a positive number of seconds"
                    ),
                };
                out.push(HookPlan {
                    path: h.path().clone(),
                    args: h.args().clone().unwrap_or_default(),
                    env: h.env().clone().unwrap_or_default(),
                    timeout,
                });
            }
            Ok(out)
        };
    Ok(HooksPlan {
        prestart: convert(hooks.prestart(), "prestart")?,
        create_runtime: convert(hooks.create_runtime(), "createRuntime")?,
        create_container: convert(hooks.create_container(), "createContainer")?,
        start_container: convert(hooks.start_container(), "startContainer")?,
        poststart: convert(hooks.poststart(), "poststart")?,
        poststop: convert(hooks.poststop(), "poststop")?,
    })
}

/// The state document a hook reads on stdin. A `pid` of 0 or less is left
/// out: the spec wants one only while the container is created or running,
/// and the pid of an init that has exited may already name another process.
pub fn state_json(
    oci_version: &str,
    id: &str,
    status: &str,
    pid: i32,
    bundle: &std::path::Path,
    annotations: &std::collections::HashMap<String, String>,
) -> String {
    let mut v = serde_json::json!({
        "ociVersion": oci_version,
        "id": id,
        "status": status,
        "bundle": bundle,
    });
    if pid > 0 {
        v["pid"] = serde_json::json!(pid);
    }
    if !annotations.is_empty() {
        v["annotations"] = serde_json::json!(annotations);
    }
    v.to_string()
}

/// Run the hooks of one point in order; the first failure stops them.
pub fn run_all(point: &str, hooks: &[HookPlan], state: &str) -> Result<()> {
    for (i, hook) in hooks.iter().enumerate() {
        run_one(hook, state).with_context(|| format!("hooks.{point}[{i}] {:?}", hook.path))?;
    }
    Ok(())
}

/// Run every hook of one point; each failure is a warning about `id` and
/// the others still run (poststop: "the remaining hooks and lifecycle
/// continue as if the hook had succeeded").
pub fn run_all_warning(point: &str, hooks: &[HookPlan], state: &str, id: &str) {
    for (i, hook) in hooks.iter().enumerate() {
        if let Err(err) = run_one(hook, state) {
            crate::logging::warn(&format!(
                "container {id:?}: hooks.{point}[{i}] {:?}: {err:#}",
                hook.path
            ));
        }
    }
}

fn run_one(hook: &HookPlan, state: &str) -> Result<()> {
    let mut cmd = Command::new(&hook.path);
    if let Some((argv0, rest)) = hook.args.split_first() {
        cmd.arg0(argv0).args(rest);
    }
    cmd.env_clear()
        .envs(hook.env.iter().filter_map(|kv| kv.split_once('=')))
        .stdin(Stdio::piped());
    let mut child = cmd.spawn().context("start")?;
    let pidfd = crate::syscall::pidfd_open(child.id() as i32).context("pidfd_open")?;
    // The timeout covers the state's delivery too: a hook that neither
    // reads nor exits must not hold hull once the pipe is full.
    let deadline = hook
        .timeout
        .map(|s| std::time::Instant::now() + std::time::Duration::from_secs(u64::from(s)));
    let remaining_ms = || -> i32 {
        deadline.map_or(-1, |d| {
            let left = d.saturating_duration_since(std::time::Instant::now());
            i32::try_from(left.as_millis()).unwrap_or(i32::MAX)
        })
    };
    let delivered = match child.stdin.take() {
        Some(stdin) => feed_stdin(stdin.into(), state.as_bytes(), &pidfd, remaining_ms),
        None => Ok(()),
    };
    let timeout_ms = remaining_ms();
    if delivered.is_err()
        || !crate::syscall::pidfd_wait_exit(pidfd.as_fd(), timeout_ms).context("wait")?
    {
        let _ = child.kill();
        let _ = child.wait();
        bail!(
            "timed out after {} s and was killed",
            hook.timeout.unwrap_or(0)
        );
    }
    let status = child.wait().context("wait")?;
    if !status.success() {
        bail!("failed: {status}");
    }
    Ok(())
}

/// Write `state` to the hook's stdin without blocking past the deadline.
/// A hook that exits or closes its stdin early is not an error (it need
/// not read the state); Err only when the deadline passed first.
fn feed_stdin(
    stdin: std::os::fd::OwnedFd,
    mut state: &[u8],
    pidfd: &std::os::fd::OwnedFd,
    remaining_ms: impl Fn() -> i32,
) -> Result<(), ()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    if fcntl(&stdin, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).is_err() {
        return Ok(());
    }
    while !state.is_empty() {
        match nix::unistd::write(&stdin, state) {
            Ok(n) => state = &state[n..],
            Err(nix::errno::Errno::EAGAIN) => {
                let mut fds = [
                    PollFd::new(stdin.as_fd(), PollFlags::POLLOUT),
                    PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
                ];
                let timeout = PollTimeout::try_from(remaining_ms()).unwrap_or(PollTimeout::MAX);
                match poll(&mut fds, timeout) {
                    Ok(0) => return Err(()),
                    Ok(_) if fds[1].any().unwrap_or(false) => return Ok(()),
                    Ok(_) => {}
                    Err(nix::errno::Errno::EINTR) => {}
                    Err(_) => return Ok(()),
                }
            }
            Err(nix::errno::Errno::EINTR) => {}
            // EPIPE: the hook closed its stdin.
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(script: &str, timeout: Option<u32>) -> HookPlan {
        HookPlan {
            path: "/bin/sh".into(),
            args: vec!["sh".into(), "-c".into(), script.into()],
            env: vec!["A=1".into()],
            timeout,
        }
    }

    #[test]
    fn stdin_env_and_failure() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let ok = hook(
            &format!("cat > {0}; echo \" $A\" >> {0}", out.display()),
            None,
        );
        run_all("poststop", &[ok], "{\"id\":\"x\"}").unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "{\"id\":\"x\"} 1\n");
        let err = run_all("poststop", &[hook("exit 3", None)], "{}").unwrap_err();
        assert!(format!("{err:#}").contains("hooks.poststop[0]"), "{err:#}");
    }

    #[test]
    fn a_failing_hook_does_not_stop_the_others_when_warning() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let second = hook(&format!("echo ran >> {}", out.display()), None);
        run_all_warning("poststop", &[hook("exit 1", None), second], "{}", "x");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "ran\n");
    }

    #[test]
    fn state_leaves_out_a_pid_that_is_not_known() {
        let annotations = std::collections::HashMap::new();
        let bundle = std::path::Path::new("/b");
        let with: serde_json::Value = serde_json::from_str(&state_json(
            "1.2.0",
            "x",
            "created",
            7,
            bundle,
            &annotations,
        ))
        .unwrap();
        assert_eq!(with["pid"], 7);
        let without: serde_json::Value = serde_json::from_str(&state_json(
            "1.2.0",
            "x",
            "stopped",
            0,
            bundle,
            &annotations,
        ))
        .unwrap();
        assert!(without.get("pid").is_none(), "{without}");
        assert_eq!(without["bundle"], "/b");
    }

    #[test]
    fn timeout_kills_the_hook() {
        let err = run_all("createRuntime", &[hook("sleep 30", Some(1))], "{}").unwrap_err();
        assert!(
            format!("{err:#}").contains("timed out after 1 s"),
            "{err:#}"
        );
    }

    #[test]
    fn timeout_covers_a_state_the_hook_never_reads() {
        // Over a pipe's 64 KiB: the write alone would block forever.
        let state = format!("{{\"annotations\":\"{}\"}}", "x".repeat(1 << 20));
        let err = run_all("createRuntime", &[hook("sleep 30", Some(1))], &state).unwrap_err();
        assert!(
            format!("{err:#}").contains("timed out after 1 s"),
            "{err:#}"
        );
        // A hook that exits without reading it is fine.
        run_all("createRuntime", &[hook("exit 0", Some(5))], &state).unwrap();
    }
}
