//! `exec`: the process comes from `--process FILE` (as engines send it) or
//! from the container's config.json process with the command line's
//! overrides (args, --env, --cwd, --user, --additional-gids, --cap,
//! --no-new-privs), as runc builds it.

use std::os::fd::AsFd;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::cli::ExecArgs;
use crate::container::{self, Container, ExecOptions};
use crate::logging;
use crate::process::foreground::Foreground;
use crate::process::spawn::Child;
use crate::process::terminal;
use crate::state::StateRoot;

pub fn run(root: &StateRoot, args: &ExecArgs) -> Result<i32> {
    let sub_cgroups = args
        .cgroup
        .iter()
        .map(|v| crate::cgroups::SubCgroup::parse(v))
        .collect::<Result<Vec<_>>>()?;
    let c = Container::load(root, &args.id)?;
    let origin = match &args.process {
        Some(path) => format!("--process {path:?}"),
        None => format!("process of {:?}", c.state.bundle.join("config.json")),
    };
    let process = process_value(&c, args).with_context(|| origin.clone())?;
    let process: oci_spec::runtime::Process = serde_path_to_error::deserialize(&process)
        .map_err(|err| anyhow::anyhow!("{origin}: {}: {}", err.path(), err.inner()))?;
    let mut not_applied = Vec::new();
    let mut warnings = Vec::new();
    let mut plan = crate::config::plan_process(
        &process,
        &crate::config::SystemHost,
        &mut not_applied,
        &mut warnings,
    )
    .with_context(|| origin.clone())?;
    let annotations = Some(&c.state.annotations);
    crate::config::keep_original_groups(&mut plan, annotations, &mut warnings);
    // The container's NUMA policy holds for every process in it.
    plan.memory_policy = c.state.memory_policy.clone();
    // Without --console-socket, a foreground exec keeps the pty itself.
    let mut own_terminal = None;
    let console_socket = match (&args.console_socket, plan.terminal) {
        (Some(path), true) => Some(
            std::os::unix::net::UnixStream::connect(path)
                .with_context(|| format!("--console-socket {path:?}: connect"))?
                .into(),
        ),
        (None, true) if args.detach => {
            bail!("exec --detach with a terminal: pass --console-socket PATH to receive the pty")
        }
        (None, true) => {
            let (ours, theirs) = terminal::pair()?;
            own_terminal = Some(ours);
            Some(theirs)
        }
        (Some(_), false) => bail!("--console-socket: the process has no terminal (use --tty)"),
        (None, false) => None,
    };
    for what in &not_applied {
        logging::warn(&format!("{what}: not applied yet"));
    }
    for warning in &warnings {
        logging::warn(warning);
    }
    let opts = ExecOptions {
        process: plan,
        pid_file: args.pid_file.clone(),
        preserve_fds: args.preserve_fds,
        console_socket,
        pidfd_socket: args.pidfd_socket.clone(),
        ignore_paused: args.ignore_paused,
        sub_cgroups,
    };
    if args.detach {
        container::exec(&c, &opts)?;
        return Ok(0);
    }
    let fg = Foreground::start()?;
    let (pid, pidfd) = container::exec(&c, &opts)?;
    drop(opts);
    // Killed and reaped if hull cannot proxy its terminal.
    let process = Child::new(pid, pidfd);
    let proxy = match own_terminal {
        Some(sock) => {
            Some(terminal::recv_pty_master(sock.as_fd()).and_then(terminal::Proxy::start)?)
        }
        None => None,
    };
    let (pid, pidfd) = process.keep();
    fg.wait_forwarding(pid, &pidfd, proxy)
}

/// The process JSON to run: the file's, or config.json's with overrides.
fn process_value(c: &Container, args: &ExecArgs) -> Result<Value> {
    let mut p = match &args.process {
        Some(path) => read_json(path)?,
        None => {
            let config = read_json(&c.state.bundle.join("config.json"))?;
            let base = config.get("process").cloned().unwrap_or_else(|| json!({}));
            if args.command.is_empty() {
                bail!("exec: name the command to run (or pass --process FILE)");
            }
            // As in runc, only --tty gives an exec'd process a terminal.
            let mut base = base;
            *set(&mut base, "process", "terminal")? = json!(args.tty);
            base
        }
    };
    if !p.is_object() {
        bail!("exec: the process must be a JSON object");
    }
    if !args.command.is_empty() {
        *set(&mut p, "process", "args")? = json!(args.command);
    }
    if let Some(cwd) = &args.cwd {
        *set(&mut p, "process", "cwd")? = json!(cwd);
    }
    if !args.env.is_empty() {
        let mut env: Vec<String> = p["env"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        for kv in &args.env {
            let key = kv.split('=').next().unwrap_or("");
            env.retain(|e| e.split('=').next() != Some(key));
            env.push(kv.clone());
        }
        *set(&mut p, "process", "env")? = json!(env);
    }
    if let Some(user) = &args.user {
        let (uid, gid) = parse_user(user)?;
        let p_user = set(&mut p, "process", "user")?;
        *set(p_user, "process.user", "uid")? = json!(uid);
        if let Some(gid) = gid {
            *set(p_user, "process.user", "gid")? = json!(gid);
        }
    }
    if !args.additional_gids.is_empty() {
        let p_user = set(&mut p, "process", "user")?;
        *set(p_user, "process.user", "additionalGids")? = json!(args.additional_gids);
    }
    if !args.cap.is_empty() {
        for name in [
            "bounding",
            "effective",
            "inheritable",
            "permitted",
            "ambient",
        ] {
            let caps = set(&mut p, "process", "capabilities")?;
            let list = set(caps, "process.capabilities", name)?;
            if list.is_null() {
                *list = json!([]);
            }
            let Some(list) = list.as_array_mut() else {
                bail!("--cap: process.capabilities.{name} is not a list");
            };
            for cap in &args.cap {
                let name = cap.to_ascii_uppercase();
                let name = if name.starts_with("CAP_") {
                    name
                } else {
                    format!("CAP_{name}")
                };
                if !list.iter().any(|v| v == name.as_str()) {
                    list.push(json!(name));
                }
            }
        }
    }
    if args.tty {
        *set(&mut p, "process", "terminal")? = json!(true);
    }
    // As runc: the flags set the process's labels, checked like config's.
    if let Some(profile) = &args.apparmor {
        *set(&mut p, "process", "apparmorProfile")? = json!(profile);
    }
    if let Some(label) = &args.process_label {
        *set(&mut p, "process", "selinuxLabel")? = json!(label);
    }
    if args.no_new_privs {
        *set(&mut p, "process", "noNewPrivileges")? = json!(true);
    }
    Ok(p)
}

/// `object[key]`, to be set by a command-line override. `serde_json`'s
/// `object[key] = …` panics when `object` is not a JSON object (a
/// `--process` file with `"user": 5`, or a config.json changed since
/// create): here that is an error naming it. Null becomes an object.
fn set<'a>(object: &'a mut Value, what: &str, key: &str) -> Result<&'a mut Value> {
    if object.is_null() {
        *object = json!({});
    }
    match object.as_object_mut() {
        Some(map) => Ok(map.entry(key).or_insert(Value::Null)),
        None => bail!("{what}: not a JSON object, so {key:?} cannot be set in it"),
    }
}

fn read_json(path: &Path) -> Result<Value> {
    let bytes = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("read {path:?}: {}", crate::error::describe_io(&e)))?;
    serde_json::from_slice(&bytes).map_err(|e| anyhow::anyhow!("{path:?}: invalid JSON: {e}"))
}

/// `--user uid[:gid]`, numeric as runc takes them.
fn parse_user(user: &str) -> Result<(u32, Option<u32>)> {
    let (uid, gid) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let uid = uid
        .parse()
        .with_context(|| format!("--user {user:?}: the uid must be a number"))?;
    let gid = match gid {
        Some(g) => Some(
            g.parse()
                .with_context(|| format!("--user {user:?}: the gid must be a number"))?,
        ),
        None => None,
    };
    Ok((uid, gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users() {
        assert_eq!(parse_user("1000").unwrap(), (1000, None));
        assert_eq!(parse_user("1000:10").unwrap(), (1000, Some(10)));
        assert!(parse_user("bob").is_err());
        assert!(parse_user("1:x").is_err());
    }
}
