//! `linux.seccomp`: the profile checked into a `SeccompPlan` before anything
//! exists, built into a libseccomp filter in the container's process, loaded
//! there, and (with `listenerPath`) its notify fd handed to the listener.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext};
use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};

/// The actions a profile may name (all of the runtime spec's).
pub const ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
];

/// The argument operators a profile may name.
pub const OPERATORS: &[&str] = &[
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];

/// The architectures the linked libseccomp (2.5) knows.
pub const ARCHES: &[&str] = &[
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",
];

/// The architectures a filter on this host can hold (the native one's
/// byte order): what `features` reports.
pub fn usable_arches() -> Vec<&'static str> {
    let Ok(mut trial) = ScmpFilterContext::new(ScmpAction::Allow) else {
        return Vec::new();
    };
    ARCHES
        .iter()
        .copied()
        .filter(|name| {
            scmp_arch(name, "features")
                .is_ok_and(|arch| arch == ScmpArch::native() || trial.add_arch(arch).is_ok())
        })
        .collect()
}

/// Every filter flag of the runtime spec; `supported_flags` says which of
/// them this build and kernel apply.
pub const FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

/// The flags a profile may use here. TSYNC is always accepted (the process
/// that loads the filter has one thread, as in runc); LOG and SPEC_ALLOW
/// need the kernel support libseccomp's API level reports; WAIT_KILLABLE_RECV
/// needs libseccomp 2.6.
pub fn supported_flags() -> Vec<&'static str> {
    let api = libseccomp::get_api();
    let mut flags = vec!["SECCOMP_FILTER_FLAG_TSYNC"];
    if api >= 3 {
        flags.push("SECCOMP_FILTER_FLAG_LOG");
    }
    if api >= 4 {
        flags.push("SECCOMP_FILTER_FLAG_SPEC_ALLOW");
    }
    flags
}

/// The linked libseccomp's version, like "2.5.4".
pub fn library_version() -> String {
    match libseccomp::ScmpVersion::current() {
        Ok(v) => format!("{}.{}.{}", v.major, v.minor, v.micro),
        Err(_) => "unknown".to_string(),
    }
}

/// Where the notify fd goes, and what the listener is told with it.
#[derive(Debug, Clone)]
pub struct Listener {
    pub path: PathBuf,
    pub metadata: String,
}

/// One libseccomp rule: a syscall (native number) with its conditions.
#[derive(Debug, Clone, PartialEq)]
struct Rule {
    name: String,
    syscall: i32,
    action: ScmpAction,
    conditions: Vec<ScmpArgCompare>,
}

/// A validated profile, ready to be built into a filter.
#[derive(Debug, Clone)]
pub struct SeccompPlan {
    default_action: ScmpAction,
    arches: Vec<ScmpArch>,
    log: bool,
    spec_allow: bool,
    rules: Vec<Rule>,
    /// Some when a rule notifies: the fd is sent there.
    pub listener: Option<Listener>,
}

impl SeccompPlan {
    /// Whether loading creates a notify fd for a listener.
    pub fn notifies(&self) -> bool {
        self.listener.is_some()
    }
}

const FIELD: &str = "linux.seccomp";

fn action_name(a: LinuxSeccompAction) -> String {
    a.to_string()
}

/// The libseccomp action for `action` with its errnoRet (EPERM by default
/// for ERRNO and TRACE, as runc does).
fn scmp_action(
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    field: &str,
) -> Result<ScmpAction> {
    let errno = match errno_ret {
        None => libc::EPERM,
        Some(n) if n <= u16::MAX as u32 => n as i32,
        Some(n) => bail!("{field} {n}: does not fit the 16 bits of a seccomp return value"),
    };
    Ok(match action {
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(errno),
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(errno as u16),
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
    })
}

fn scmp_arch(name: &str, field: &str) -> Result<ScmpArch> {
    let arch: ScmpArch = name
        .parse()
        .map_err(|_| anyhow::anyhow!("{field} {name:?}: unknown architecture"))?;
    let known = CString::new(name.trim_start_matches("SCMP_ARCH_").to_ascii_lowercase())
        .map(|c| {
            // SAFETY: a NUL-terminated string; the call only reads it.
            unsafe { libseccomp_sys::seccomp_arch_resolve_name(c.as_ptr()) }
        })
        .unwrap_or(0);
    if known == 0 && arch != ScmpArch::Native {
        bail!(
            "{field} {name:?}: not supported by libseccomp {}",
            library_version()
        );
    }
    Ok(arch)
}

/// One argument condition. For MASKED_EQ `value` is the mask and
/// `valueTwo` what the masked argument must equal (the spec's and runc's
/// reading).
fn scmp_compare(
    index: u32,
    op: LinuxSeccompOperator,
    value: u64,
    value_two: Option<u64>,
) -> ScmpArgCompare {
    let (op, datum) = match op {
        LinuxSeccompOperator::ScmpCmpNe => (ScmpCompareOp::NotEqual, value),
        LinuxSeccompOperator::ScmpCmpLt => (ScmpCompareOp::Less, value),
        LinuxSeccompOperator::ScmpCmpLe => (ScmpCompareOp::LessOrEqual, value),
        LinuxSeccompOperator::ScmpCmpEq => (ScmpCompareOp::Equal, value),
        LinuxSeccompOperator::ScmpCmpGe => (ScmpCompareOp::GreaterEqual, value),
        LinuxSeccompOperator::ScmpCmpGt => (ScmpCompareOp::Greater, value),
        LinuxSeccompOperator::ScmpCmpMaskedEq => {
            (ScmpCompareOp::MaskedEqual(value), value_two.unwrap_or(0))
        }
    };
    ScmpArgCompare::new(index, op, datum)
}

/// The syscall's native number, or None when libseccomp does not know the
/// name (it is skipped, as runc skips it: a profile lists newer syscalls).
fn resolve_syscall(name: &str) -> Option<i32> {
    let c = CString::new(name).ok()?;
    // SAFETY: a NUL-terminated string; the call only reads it.
    let nr = unsafe { libseccomp_sys::seccomp_syscall_resolve_name(c.as_ptr()) };
    (nr != libseccomp_sys::__NR_SCMP_ERROR).then_some(nr)
}

/// Check `linux.seccomp` and turn it into a plan. Warnings (ignored
/// fields) go to `warnings`.
pub fn plan(s: &LinuxSeccomp, warnings: &mut Vec<String>) -> Result<SeccompPlan> {
    let default = s.default_action();
    if default == LinuxSeccompAction::ScmpActNotify {
        bail!(
            "{FIELD}.defaultAction \"SCMP_ACT_NOTIFY\": not allowed as the default action (the runtime's own syscalls would wait on the listener)"
        );
    }
    let default_action = scmp_action(
        default,
        s.default_errno_ret(),
        &format!("{FIELD}.defaultErrnoRet"),
    )?;

    let mut arches = Vec::new();
    // A filter holds architectures of one byte order only: tried here on a
    // throwaway filter, so a mix fails before anything exists.
    let mut trial = ScmpFilterContext::new(ScmpAction::Allow)
        .map_err(|e| anyhow::anyhow!("{FIELD}: create a filter: {e}"))?;
    for (i, a) in s.architectures().iter().flatten().enumerate() {
        let field = format!("{FIELD}.architectures[{i}]");
        let arch = scmp_arch(&a.to_string(), &field)?;
        if arch == ScmpArch::Native || arches.contains(&arch) {
            continue;
        }
        if let Err(e) = trial.add_arch(arch) {
            bail!(
                "{field} {:?}: cannot share a filter with the native architecture and the ones before it (one byte order per filter): {e}",
                a.to_string()
            );
        }
        arches.push(arch);
    }
    drop(trial);

    let (mut log, mut spec_allow) = (false, false);
    let supported = supported_flags();
    for (i, f) in s.flags().iter().flatten().enumerate() {
        let name = f.to_string();
        let field = format!("{FIELD}.flags[{i}]");
        match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => {}
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => bail!(
                "{field} {name:?}: not supported (needs libseccomp 2.6, this build has {})",
                library_version()
            ),
            LinuxSeccompFilterFlag::SeccompFilterFlagLog
            | LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                if !supported.contains(&name.as_str()) {
                    bail!("{field} {name:?}: not supported by this kernel");
                }
                if *f == LinuxSeccompFilterFlag::SeccompFilterFlagLog {
                    log = true;
                } else {
                    spec_allow = true;
                }
            }
        }
    }

    let mut rules = Vec::new();
    let mut notify_at = None;
    for (i, call) in s.syscalls().iter().flatten().enumerate() {
        let field = format!("{FIELD}.syscalls[{i}]");
        if call.names().is_empty() {
            bail!("{field}.names: empty (name at least one syscall)");
        }
        let act = call.action();
        if call.errno_ret().is_some()
            && !matches!(
                act,
                LinuxSeccompAction::ScmpActErrno | LinuxSeccompAction::ScmpActTrace
            )
        {
            warnings.push(format!(
                "{field}.errnoRet: ignored, only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return it (action is {})",
                action_name(act)
            ));
        }
        let action = scmp_action(act, call.errno_ret(), &format!("{field}.errnoRet"))?;
        if act == LinuxSeccompAction::ScmpActNotify {
            notify_at.get_or_insert(i);
        }
        let args = call.args().clone().unwrap_or_default();
        for (j, a) in args.iter().enumerate() {
            if a.index() > 5 {
                bail!(
                    "{field}.args[{j}].index {}: a syscall has 6 arguments (0 to 5)",
                    a.index()
                );
            }
        }
        let conditions: Vec<ScmpArgCompare> = args
            .iter()
            .map(|a| scmp_compare(a.index() as u32, a.op(), a.value(), a.value_two()))
            .collect();
        // Two conditions on one argument cannot both hold in one libseccomp
        // rule: then each is a rule of its own (either matches), as in runc.
        let mut indexes: Vec<usize> = args.iter().map(|a| a.index()).collect();
        indexes.sort_unstable();
        indexes.dedup();
        let groups: Vec<Vec<ScmpArgCompare>> = if indexes.len() < args.len() {
            conditions.iter().map(|c| vec![*c]).collect()
        } else {
            vec![conditions]
        };
        for (k, name) in call.names().iter().enumerate() {
            if name.is_empty() {
                bail!("{field}.names[{k}]: empty syscall name");
            }
            if act == LinuxSeccompAction::ScmpActNotify && name == "sendmsg" {
                bail!(
                    "{field}: SCMP_ACT_NOTIFY on \"sendmsg\" is not allowed (the notify fd itself is sent with it)"
                );
            }
            let Some(syscall) = resolve_syscall(name) else {
                crate::logging::debug(&format!(
                    "{field}: syscall {name:?} unknown to libseccomp {}, skipped",
                    library_version()
                ));
                continue;
            };
            // A rule that does what the default does is redundant, and
            // libseccomp refuses it: skipped, as runc does.
            if action == default_action {
                continue;
            }
            for conditions in &groups {
                rules.push(Rule {
                    name: name.clone(),
                    syscall,
                    action,
                    conditions: conditions.clone(),
                });
            }
        }
    }

    let listener = match (s.listener_path(), notify_at) {
        (None, Some(i)) => bail!(
            "{FIELD}.syscalls[{i}].action \"SCMP_ACT_NOTIFY\": needs {FIELD}.listenerPath (the unix socket that receives the notify fd)"
        ),
        (Some(p), _) if !p.is_absolute() => {
            bail!("{FIELD}.listenerPath {p:?}: must be an absolute path")
        }
        (Some(p), Some(_)) => Some(Listener {
            path: p.clone(),
            metadata: s.listener_metadata().clone().unwrap_or_default(),
        }),
        (Some(_), None) => None,
        (None, None) => None,
    };
    Ok(SeccompPlan {
        default_action,
        arches,
        log,
        spec_allow,
        rules,
        listener,
    })
}

/// A filter built from a plan, loaded later by `load`.
pub struct Filter {
    ctx: ScmpFilterContext,
    notifies: bool,
}

/// Build the libseccomp filter of `plan` (in the process that loads it).
pub fn build(plan: &SeccompPlan) -> Result<Filter> {
    let err =
        |what: &str, e: libseccomp::error::SeccompError| anyhow::anyhow!("{FIELD}: {what}: {e}");
    let mut ctx =
        ScmpFilterContext::new(plan.default_action).map_err(|e| err("create the filter", e))?;
    // libseccomp would set no_new_privs when loading; only
    // process.noNewPrivileges decides that.
    ctx.set_ctl_nnp(false)
        .map_err(|e| err("leave no_new_privs alone", e))?;
    for arch in &plan.arches {
        if *arch != ScmpArch::Native {
            ctx.add_arch(*arch)
                .map_err(|e| {
                    err(
                        &format!("add architecture {arch:?} (one filter holds architectures of one byte order)"),
                        e,
                    )
                })?;
        }
    }
    if plan.log {
        ctx.set_ctl_log(true)
            .map_err(|e| err("SECCOMP_FILTER_FLAG_LOG", e))?;
    }
    if plan.spec_allow {
        ctx.set_ctl_ssb(true)
            .map_err(|e| err("SECCOMP_FILTER_FLAG_SPEC_ALLOW", e))?;
    }
    for rule in &plan.rules {
        let syscall = libseccomp::ScmpSyscall::from_raw_syscall(rule.syscall);
        let added = if rule.conditions.is_empty() {
            ctx.add_rule(rule.action, syscall)
        } else {
            ctx.add_rule_conditional(rule.action, syscall, &rule.conditions)
        };
        added.map_err(|e| err(&format!("add the rule for {:?}", rule.name), e))?;
    }
    Ok(Filter {
        ctx,
        notifies: plan.notifies(),
    })
}

impl Filter {
    pub fn notifies(&self) -> bool {
        self.notifies
    }

    /// Load the filter into the calling process; the notify fd when the
    /// filter notifies.
    pub fn load(&self) -> Result<Option<OwnedFd>> {
        self.ctx
            .load()
            .map_err(|e| anyhow::anyhow!("{FIELD}: load the filter: {e}"))?;
        if !self.notifies {
            return Ok(None);
        }
        let fd = self
            .ctx
            .get_notify_fd()
            .map_err(|e| anyhow::anyhow!("{FIELD}: get the notify fd: {e}"))?;
        // SAFETY: libseccomp made this fd for the filter and hands it to us.
        Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
    }
}

/// The profile kept in the container's state dir: `exec` applies the
/// container's filter as it was at create, whatever the bundle says now.
pub const SAVED_FILE: &str = "seccomp.json";

pub fn save(dir: &Path, spec: &LinuxSeccomp) -> Result<()> {
    let bytes = serde_json::to_vec(spec).context("encode linux.seccomp")?;
    crate::files::write_atomic(&dir.join(SAVED_FILE), &bytes)
        .with_context(|| format!("save the seccomp profile in {dir:?}"))
}

/// The saved profile of the container in `dir`, planned again.
pub fn load_saved(dir: &Path) -> Result<Option<SeccompPlan>> {
    let path = dir.join(SAVED_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("read {path:?}")),
    };
    let spec: LinuxSeccomp =
        serde_json::from_slice(&bytes).with_context(|| format!("parse {path:?}"))?;
    plan(&spec, &mut Vec::new()).map(Some)
}

/// hull's side of a `SeccompFd` sync message: the fd that came with it
/// goes to the listener, with `state` (the container's state JSON text).
pub fn forward(listener: &Listener, passed: Option<OwnedFd>, pid: i32, state: &str) -> Result<()> {
    let fd = passed.with_context(|| format!("{FIELD}: the notify fd did not arrive"))?;
    let state: serde_json::Value =
        serde_json::from_str(state).context("encode the container state")?;
    send_to_listener(listener, &fd, pid, &state)
}

/// Send the notify fd to the listener with the container process state
/// (runtime spec "containerProcessState"): `pid` is the process that got the
/// filter, `state` the container's state JSON.
pub fn send_to_listener(
    listener: &Listener,
    notify_fd: &OwnedFd,
    pid: i32,
    state: &serde_json::Value,
) -> Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
    let path: &Path = &listener.path;
    let message = serde_json::json!({
        "ociVersion": crate::OCI_VERSION,
        "fds": ["seccompFd"],
        "pid": pid,
        "metadata": listener.metadata,
        "state": state,
    });
    let bytes = serde_json::to_vec(&message).context("encode the container process state")?;
    let socket = std::os::unix::net::UnixStream::connect(path)
        .with_context(|| format!("{FIELD}.listenerPath {path:?}: connect"))?;
    let fds = [notify_fd.as_raw_fd()];
    sendmsg::<UnixAddr>(
        socket.as_raw_fd(),
        &[std::io::IoSlice::new(&bytes)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .with_context(|| format!("{FIELD}.listenerPath {path:?}: send the notify fd"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(json: serde_json::Value) -> LinuxSeccomp {
        serde_json::from_value(json).expect("a LinuxSeccomp")
    }

    fn plan_of(json: serde_json::Value) -> Result<SeccompPlan> {
        plan(&profile(json), &mut Vec::new())
    }

    fn nr(name: &str) -> i32 {
        resolve_syscall(name).unwrap()
    }

    #[test]
    fn actions_and_errno_defaults() {
        let p = plan_of(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 38,
            "syscalls": [
                {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["getpid"], "action": "SCMP_ACT_KILL"},
                {"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"},
                {"names": ["gettid"], "action": "SCMP_ACT_KILL_THREAD"},
                {"names": ["uname"], "action": "SCMP_ACT_TRAP"},
                {"names": ["umask"], "action": "SCMP_ACT_TRACE", "errnoRet": 3},
                {"names": ["sync"], "action": "SCMP_ACT_LOG"},
                {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
            ]
        }))
        .unwrap();
        assert_eq!(p.default_action, ScmpAction::Errno(38));
        let actions: Vec<(String, ScmpAction)> =
            p.rules.iter().map(|r| (r.name.clone(), r.action)).collect();
        assert_eq!(
            actions,
            vec![
                ("mkdir".into(), ScmpAction::Errno(libc::EPERM)),
                ("getpid".into(), ScmpAction::KillThread),
                ("getppid".into(), ScmpAction::KillProcess),
                ("gettid".into(), ScmpAction::KillThread),
                ("uname".into(), ScmpAction::Trap),
                ("umask".into(), ScmpAction::Trace(3)),
                ("sync".into(), ScmpAction::Log),
                ("read".into(), ScmpAction::Allow),
                ("write".into(), ScmpAction::Allow),
                // rmdir's ERRNO(38) is the default: skipped
            ]
        );
        assert_eq!(p.rules[0].syscall, nr("mkdir"));
        assert!(p.listener.is_none());
    }

    #[test]
    fn every_operator_and_several_args() {
        let ops = [
            ("SCMP_CMP_NE", ScmpCompareOp::NotEqual),
            ("SCMP_CMP_LT", ScmpCompareOp::Less),
            ("SCMP_CMP_LE", ScmpCompareOp::LessOrEqual),
            ("SCMP_CMP_EQ", ScmpCompareOp::Equal),
            ("SCMP_CMP_GE", ScmpCompareOp::GreaterEqual),
            ("SCMP_CMP_GT", ScmpCompareOp::Greater),
        ];
        for (name, op) in ops {
            let p = plan_of(serde_json::json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                              "args": [{"index": 0, "value": 8, "op": name}]}]
            }))
            .unwrap();
            assert_eq!(
                p.rules[0].conditions,
                vec![ScmpArgCompare::new(0, op, 8)],
                "{name}"
            );
        }
        let p = plan_of(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["clone"], "action": "SCMP_ACT_ERRNO",
                          "args": [{"index": 0, "value": 255, "valueTwo": 17, "op": "SCMP_CMP_MASKED_EQ"},
                                   {"index": 2, "value": 0, "op": "SCMP_CMP_NE"}]}]
        }))
        .unwrap();
        // Different arguments: one rule, both must hold.
        assert_eq!(p.rules.len(), 1);
        assert_eq!(
            p.rules[0].conditions,
            vec![
                ScmpArgCompare::new(0, ScmpCompareOp::MaskedEqual(255), 17),
                ScmpArgCompare::new(2, ScmpCompareOp::NotEqual, 0),
            ]
        );
        // One argument twice: a rule each, either matches.
        let p = plan_of(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                          "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                                   {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]
        }))
        .unwrap();
        assert_eq!(p.rules.len(), 2);
        assert_eq!(p.rules[1].conditions.len(), 1);
    }

    #[test]
    fn unknown_syscalls_are_skipped() {
        let p = plan_of(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["no_such_syscall_here", "read"], "action": "SCMP_ACT_ALLOW"}]
        }))
        .unwrap();
        assert_eq!(p.rules.len(), 1);
        assert_eq!(p.rules[0].name, "read");
    }

    #[test]
    fn bad_profiles_name_the_field() {
        let cases = [
            (
                serde_json::json!({"defaultAction": "SCMP_ACT_NOTIFY"}),
                "linux.seccomp.defaultAction",
            ),
            (
                serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
                    "syscalls": [{"names": ["a", "mkdir"], "action": "SCMP_ACT_ALLOW"},
                                 {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
                "linux.seccomp.syscalls[1].action \"SCMP_ACT_NOTIFY\": needs linux.seccomp.listenerPath",
            ),
            (
                serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "rel/sock",
                    "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
                "linux.seccomp.listenerPath \"rel/sock\": must be an absolute path",
            ),
            (
                serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
                    "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                                  "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}),
                "linux.seccomp.syscalls[0].args[0].index 6",
            ),
            (
                serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
                    "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]}),
                "linux.seccomp.syscalls[0].names: empty",
            ),
            (
                serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}),
                "linux.seccomp.defaultErrnoRet 70000",
            ),
            (
                serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
                    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_LOONGARCH64"]}),
                "linux.seccomp.architectures[1] \"SCMP_ARCH_LOONGARCH64\": not supported",
            ),
            (
                serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
                    "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}),
                "linux.seccomp.flags[0] \"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\": not supported",
            ),
        ];
        for (json, want) in cases {
            let err = format!("{:#}", plan_of(json).unwrap_err());
            assert!(err.starts_with(want), "{err:?} should start with {want:?}");
        }
    }

    #[test]
    fn notify_plans_a_listener() {
        let p = plan_of(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": "/run/agent.sock",
            "listenerMetadata": "hello",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]
        }))
        .unwrap();
        let l = p.listener.as_ref().unwrap();
        assert_eq!(l.path, Path::new("/run/agent.sock"));
        assert_eq!(l.metadata, "hello");
    }

    #[test]
    fn every_listed_arch_is_known_and_builds() {
        for arch in ARCHES {
            scmp_arch(arch, "test").unwrap();
        }
        // Big-endian MIPS cannot join the (little-endian) native x86_64.
        let err = plan_of(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_MIPS"],
        }))
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("linux.seccomp.architectures[1] \"SCMP_ARCH_MIPS\": cannot share"),
            "{err}"
        );
        let p = plan_of(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "flags": supported_flags(),
            "syscalls": [{"names": ["read", "socketcall"], "action": "SCMP_ACT_ALLOW"},
                         {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                          "args": [{"index": 0, "value": 4294967295u64, "op": "SCMP_CMP_EQ"}]}]
        }))
        .unwrap();
        build(&p).unwrap();
    }

    #[test]
    fn api_lists() {
        assert_eq!(ACTIONS.len(), 9);
        assert_eq!(OPERATORS.len(), 7);
        assert!(library_version().starts_with("2."));
        for op in OPERATORS {
            let _: LinuxSeccompOperator = op.parse().unwrap();
        }
        for a in ACTIONS {
            let _: LinuxSeccompAction = a.parse().unwrap();
        }
    }
}
