//! `linux.seccomp` checked and turned into a `SeccompPlan`, before anything
//! exists: each part of the profile by a step of its own, naming the field.

use std::ffi::CString;
use std::path::PathBuf;

use anyhow::{bail, Result};
use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext};
use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall,
};

use super::names::{library_version, scmp_arch, supported_flags, FIELD};

/// Where the notify fd goes, and what the listener is told with it.
#[derive(Debug, Clone)]
pub struct Listener {
    pub path: PathBuf,
    pub metadata: String,
}

/// One libseccomp rule: a syscall (native number) with its conditions.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Rule {
    pub(super) name: String,
    pub(super) syscall: i32,
    pub(super) action: ScmpAction,
    pub(super) conditions: Vec<ScmpArgCompare>,
}

/// A validated profile, ready to be built into a filter.
#[derive(Debug, Clone)]
pub struct SeccompPlan {
    pub(super) default_action: ScmpAction,
    pub(super) arches: Vec<ScmpArch>,
    pub(super) log: bool,
    pub(super) spec_allow: bool,
    pub(super) rules: Vec<Rule>,
    /// Some when a rule notifies: the fd is sent there.
    pub listener: Option<Listener>,
}

impl SeccompPlan {
    /// Whether loading creates a notify fd for a listener.
    pub fn notifies(&self) -> bool {
        self.listener.is_some()
    }
}

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

/// Check `linux.seccomp` and turn it into a plan, with the flags this
/// libseccomp and kernel apply. Warnings (ignored fields) go to `warnings`.
pub fn plan(s: &LinuxSeccomp, warnings: &mut Vec<String>) -> Result<SeccompPlan> {
    plan_with_flags(s, &supported_flags(), warnings)
}

/// `plan` with `supported`, the filter flags the host applies (config's
/// host facts).
pub fn plan_with_flags(
    s: &LinuxSeccomp,
    supported: &[&str],
    warnings: &mut Vec<String>,
) -> Result<SeccompPlan> {
    let default_action = plan_default_action(s)?;
    let arches = plan_arches(s)?;
    let (log, spec_allow) = plan_flags(s, supported)?;
    let mut rules = Vec::new();
    let mut notify_at = None;
    for (i, call) in s.syscalls().iter().flatten().enumerate() {
        if plan_syscall(i, call, default_action, &mut rules, warnings)? {
            notify_at.get_or_insert(i);
        }
    }
    let listener = plan_listener(s, notify_at)?;
    Ok(SeccompPlan {
        default_action,
        arches,
        log,
        spec_allow,
        rules,
        listener,
    })
}

/// `defaultAction` and `defaultErrnoRet`: anything but NOTIFY.
fn plan_default_action(s: &LinuxSeccomp) -> Result<ScmpAction> {
    let default = s.default_action();
    if default == LinuxSeccompAction::ScmpActNotify {
        bail!(
            "{FIELD}.defaultAction \"SCMP_ACT_NOTIFY\": not allowed as the default action (the runtime's own syscalls would wait on the listener)"
        );
    }
    scmp_action(
        default,
        s.default_errno_ret(),
        &format!("{FIELD}.defaultErrnoRet"),
    )
}

/// `architectures`: known ones, of the native byte order. A filter holds
/// architectures of one byte order only: tried here on a throwaway
/// filter, so a mix fails before anything exists.
fn plan_arches(s: &LinuxSeccomp) -> Result<Vec<ScmpArch>> {
    let mut arches = Vec::new();
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
    Ok(arches)
}

/// `flags`: (LOG, SPEC_ALLOW), each only where `supported` has it.
fn plan_flags(s: &LinuxSeccomp, supported: &[&str]) -> Result<(bool, bool)> {
    let (mut log, mut spec_allow) = (false, false);
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
    Ok((log, spec_allow))
}

/// `syscalls[i]`: its rules added to `rules`; true when its action notifies.
fn plan_syscall(
    i: usize,
    call: &LinuxSyscall,
    default_action: ScmpAction,
    rules: &mut Vec<Rule>,
    warnings: &mut Vec<String>,
) -> Result<bool> {
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
    let groups = condition_groups(&field, call)?;
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
    Ok(act == LinuxSeccompAction::ScmpActNotify)
}

/// `syscalls[i].args` (`field` is the syscall's path): the condition sets,
/// one rule each. Conditions on different arguments are one set (all must
/// hold); two conditions on one argument cannot both hold in one libseccomp
/// rule: then each is a set of its own (either matches), as in runc.
fn condition_groups(field: &str, call: &LinuxSyscall) -> Result<Vec<Vec<ScmpArgCompare>>> {
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
    let mut indexes: Vec<usize> = args.iter().map(|a| a.index()).collect();
    indexes.sort_unstable();
    indexes.dedup();
    Ok(if indexes.len() < args.len() {
        conditions.iter().map(|c| vec![*c]).collect()
    } else {
        vec![conditions]
    })
}

/// `listenerPath` and `listenerMetadata`: an absolute socket path, required
/// when a rule notifies (`notify_at`, the first such syscall entry).
fn plan_listener(s: &LinuxSeccomp, notify_at: Option<usize>) -> Result<Option<Listener>> {
    Ok(match (s.listener_path(), notify_at) {
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

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
    fn arches_of_another_byte_order_are_refused() {
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
    }
}
