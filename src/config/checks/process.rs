//! `process` (config.json's, or an `exec --process` file's): the program,
//! its environment and limits, and the security settings of its kernel
//! task, each checked by a small function.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{PosixRlimit, PosixRlimitType, Process, Spec};

use crate::config::facts::{HostFacts, ProcessFacts};
use crate::config::plan::{ProcessPlan, Rlimit};
use crate::config::strings;
use crate::security::attrs;
use crate::security::capabilities::{self, CapsPlan};

/// `process` of config.json: required.
pub fn plan_container_process(
    spec: &Spec,
    facts: &HostFacts,
    not_applied: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<ProcessPlan> {
    let process = spec
        .process()
        .as_ref()
        .context("process: missing (the container needs a process to run)")?;
    let mut plan = plan_process(process, &facts.process, not_applied, warnings)?;
    keep_original_groups(&mut plan, spec.annotations().as_ref(), warnings);
    Ok(plan)
}

/// crun's annotation, present with any value: the process keeps the
/// supplementary groups of whoever ran hull (podman's `--group-add
/// keep-groups`, for a device group such as `video` in a rootless
/// container); process.user.additionalGids are then not set.
pub const KEEP_ORIGINAL_GROUPS: &str = "run.oci.keep_original_groups";

pub fn keep_original_groups(
    plan: &mut ProcessPlan,
    annotations: Option<&std::collections::HashMap<String, String>>,
    warnings: &mut Vec<String>,
) {
    if annotations.is_some_and(|a| a.contains_key(KEEP_ORIGINAL_GROUPS)) {
        plan.keep_original_groups = true;
        if !plan.additional_gids.is_empty() {
            warnings.push(format!(
                "process.user.additionalGids {:?}: not set, the annotation {KEEP_ORIGINAL_GROUPS} keeps the caller's groups",
                plan.additional_gids
            ));
        }
    }
}

/// Validate one process. Settings read but not applied go to
/// `not_applied`, other notes (skipped capabilities) to `warnings`.
pub fn plan_process(
    process: &Process,
    facts: &ProcessFacts,
    not_applied: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<ProcessPlan> {
    strings::check_no_nul(process, "process")?;
    let args = check_args(process)?;
    let cwd = check_cwd(process)?;
    check_args_nul(&args)?;
    let env = check_env(process)?;
    let rlimits = plan_rlimits(process.rlimits().as_deref().unwrap_or(&[]))?;
    check_oom_score_adj(process.oom_score_adj())?;
    let capabilities = plan_capabilities(process, facts, warnings)?;
    check_lsm_labels(process, facts, not_applied)?;
    let user = process.user();
    Ok(ProcessPlan {
        args,
        env,
        cwd,
        uid: user.uid(),
        gid: user.gid(),
        additional_gids: user.additional_gids().clone().unwrap_or_default(),
        keep_original_groups: false,
        umask: user.umask(),
        rlimits,
        no_new_privileges: process.no_new_privileges().unwrap_or(false),
        oom_score_adj: process.oom_score_adj(),
        capabilities,
        io_priority: process
            .io_priority()
            .map(|io| attrs::plan_io_priority(io.class(), io.priority()))
            .transpose()?,
        scheduler: process
            .scheduler()
            .as_ref()
            .map(attrs::plan_scheduler)
            .transpose()?,
        exec_cpu_affinity: process
            .exec_cpu_affinity()
            .as_ref()
            .map(attrs::plan_affinity)
            .transpose()?,
        memory_policy: None,
        terminal: process.terminal().unwrap_or(false),
        console_size: process.console_size().map(|b| {
            (
                b.height().min(u16::MAX as u64) as u16,
                b.width().min(u16::MAX as u64) as u16,
            )
        }),
    })
}

/// `process.args`: a program to run.
pub fn check_args(process: &Process) -> Result<Vec<String>> {
    let args = process.args().clone().unwrap_or_default();
    if args.is_empty() || args[0].is_empty() {
        bail!("process.args: must name the program to run (it is empty)");
    }
    Ok(args)
}

/// `process.args`: no NUL byte in any (execve's strings).
fn check_args_nul(args: &[String]) -> Result<()> {
    for (i, arg) in args.iter().enumerate() {
        if arg.contains('\0') {
            bail!("process.args[{i}] {arg:?}: contains a NUL byte");
        }
    }
    Ok(())
}

/// `process.cwd`: absolute.
pub fn check_cwd(process: &Process) -> Result<PathBuf> {
    let cwd = process.cwd().clone();
    if !cwd.is_absolute() {
        bail!("process.cwd {cwd:?}: must be an absolute path");
    }
    Ok(cwd)
}

/// `process.env`: NAME=VALUE entries.
pub fn check_env(process: &Process) -> Result<Vec<String>> {
    let env = process.env().clone().unwrap_or_default();
    for (i, var) in env.iter().enumerate() {
        if !var.contains('=') || var.starts_with('=') || var.contains('\0') {
            bail!("process.env[{i}] {var:?}: must be NAME=VALUE without NUL bytes");
        }
    }
    Ok(env)
}

/// `process.rlimits`: each type once, soft not above hard.
pub fn plan_rlimits(limits: &[PosixRlimit]) -> Result<Vec<Rlimit>> {
    let mut rlimits: Vec<Rlimit> = Vec::new();
    for (i, r) in limits.iter().enumerate() {
        let name = r.typ().to_string();
        if rlimits.iter().any(|x| x.name == name) {
            bail!("process.rlimits[{i}]: {name} is listed twice");
        }
        if r.soft() > r.hard() {
            bail!(
                "process.rlimits[{i}] ({name}): soft limit {} is above hard limit {}",
                r.soft(),
                r.hard()
            );
        }
        rlimits.push(Rlimit {
            name,
            resource: rlimit_resource(r.typ()) as libc::c_int,
            soft: r.soft(),
            hard: r.hard(),
        });
    }
    Ok(rlimits)
}

/// `process.oomScoreAdj`: the kernel's range.
pub fn check_oom_score_adj(adj: Option<i32>) -> Result<()> {
    if let Some(adj) = adj {
        if !(-1000..=1000).contains(&adj) {
            bail!("process.oomScoreAdj {adj}: must be between -1000 and 1000");
        }
    }
    Ok(())
}

/// `process.capabilities`, limited to what the host can grant.
pub fn plan_capabilities(
    process: &Process,
    facts: &ProcessFacts,
    warnings: &mut Vec<String>,
) -> Result<Option<CapsPlan>> {
    process
        .capabilities()
        .as_ref()
        .map(|c| capabilities::plan(c, &facts.grantable_caps, warnings))
        .transpose()
}

/// `process.apparmorProfile` and `process.selinuxLabel`: refused when the
/// LSM is off, noted as not applied otherwise.
pub fn check_lsm_labels(
    process: &Process,
    facts: &ProcessFacts,
    not_applied: &mut Vec<String>,
) -> Result<()> {
    if let Some(profile) = process
        .apparmor_profile()
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        attrs::check_apparmor(profile, facts.apparmor, not_applied)?;
    }
    if let Some(label) = process.selinux_label().as_deref().filter(|p| !p.is_empty()) {
        attrs::check_selinux("process.selinuxLabel", label, facts.selinux, not_applied)?;
    }
    Ok(())
}

// The cast is needed on musl only.
#[allow(clippy::unnecessary_cast)]
fn rlimit_resource(t: PosixRlimitType) -> u32 {
    use PosixRlimitType::*;
    // c_int on musl, u32 on glibc; all small and positive.
    let resource = match t {
        RlimitCpu => libc::RLIMIT_CPU,
        RlimitFsize => libc::RLIMIT_FSIZE,
        RlimitData => libc::RLIMIT_DATA,
        RlimitStack => libc::RLIMIT_STACK,
        RlimitCore => libc::RLIMIT_CORE,
        RlimitRss => libc::RLIMIT_RSS,
        RlimitNproc => libc::RLIMIT_NPROC,
        RlimitNofile => libc::RLIMIT_NOFILE,
        RlimitMemlock => libc::RLIMIT_MEMLOCK,
        RlimitAs => libc::RLIMIT_AS,
        RlimitLocks => libc::RLIMIT_LOCKS,
        RlimitSigpending => libc::RLIMIT_SIGPENDING,
        RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        RlimitNice => libc::RLIMIT_NICE,
        RlimitRtprio => libc::RLIMIT_RTPRIO,
        RlimitRttime => libc::RLIMIT_RTTIME,
    };
    resource as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(json: serde_json::Value) -> Process {
        let mut base =
            serde_json::json!({"args": ["/bin/true"], "cwd": "/", "user": {"uid": 0, "gid": 0}});
        for (k, v) in json.as_object().unwrap() {
            base[k] = v.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    fn plan(json: serde_json::Value) -> Result<ProcessPlan> {
        plan_process(
            &process(json),
            &ProcessFacts::default(),
            &mut Vec::new(),
            &mut Vec::new(),
        )
    }

    fn refused(json: serde_json::Value) -> String {
        format!("{:#}", plan(json).unwrap_err())
    }

    #[test]
    fn a_minimal_process_plans() {
        let p = plan(
            serde_json::json!({"env": ["A=1"], "consoleSize": {"height": 70000, "width": 80}}),
        )
        .unwrap();
        assert_eq!(p.args, vec!["/bin/true"]);
        assert_eq!(p.console_size, Some((u16::MAX, 80)));
        assert!(p.capabilities.is_none());
    }

    #[test]
    fn the_container_needs_a_process() {
        let spec = crate::config::checks::test_spec(serde_json::json!({}));
        let facts = HostFacts::default();
        assert!(plan_container_process(&spec, &facts, &mut Vec::new(), &mut Vec::new()).is_ok());
        let mut spec = spec;
        spec.set_process(None);
        let err = plan_container_process(&spec, &facts, &mut Vec::new(), &mut Vec::new());
        assert!(err.unwrap_err().to_string().starts_with("process: missing"));
    }

    #[test]
    fn args_name_a_program() {
        assert!(refused(serde_json::json!({"args": []})).starts_with("process.args: must name"));
        assert!(refused(serde_json::json!({"args": [""]})).starts_with("process.args: must name"));
        assert!(check_args_nul(&["a\0b".into()])
            .unwrap_err()
            .to_string()
            .starts_with("process.args[0]"));
    }

    #[test]
    fn cwd_is_absolute() {
        assert_eq!(
            refused(serde_json::json!({"cwd": "rel"})),
            "process.cwd \"rel\": must be an absolute path"
        );
    }

    #[test]
    fn env_entries_are_name_value() {
        assert!(plan(serde_json::json!({"env": ["A=", "B=c=d"]})).is_ok());
        for bad in ["A", "=x"] {
            let err = refused(serde_json::json!({ "env": ["OK=1", bad] }));
            assert!(err.starts_with("process.env[1]"), "{err}");
        }
    }

    #[test]
    fn rlimits_once_each_soft_within_hard() {
        let p = plan(
            serde_json::json!({"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}]}),
        )
        .unwrap();
        assert_eq!(p.rlimits[0].resource, libc::RLIMIT_NOFILE as libc::c_int);
        let err = refused(serde_json::json!({"rlimits": [
            {"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1},
            {"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1}]}));
        assert_eq!(err, "process.rlimits[1]: RLIMIT_NOFILE is listed twice");
        let err = refused(
            serde_json::json!({"rlimits": [{"type": "RLIMIT_CORE", "soft": 2, "hard": 1}]}),
        );
        assert!(
            err.starts_with("process.rlimits[0] (RLIMIT_CORE): soft limit 2"),
            "{err}"
        );
    }

    #[test]
    fn oom_score_adj_in_the_kernels_range() {
        assert!(check_oom_score_adj(Some(-1000)).is_ok());
        assert!(check_oom_score_adj(None).is_ok());
        let err = check_oom_score_adj(Some(1001)).unwrap_err().to_string();
        assert_eq!(
            err,
            "process.oomScoreAdj 1001: must be between -1000 and 1000"
        );
    }

    #[test]
    fn capabilities_the_host_cannot_grant_are_skipped() {
        let p = process(
            serde_json::json!({"capabilities": {"bounding": ["CAP_CHOWN", "CAP_SYS_ADMIN"]}}),
        );
        let facts = ProcessFacts {
            grantable_caps: [caps::Capability::CAP_CHOWN].into_iter().collect(),
            ..ProcessFacts::default()
        };
        let mut warnings = Vec::new();
        let caps = plan_capabilities(&p, &facts, &mut warnings)
            .unwrap()
            .unwrap();
        assert_eq!(caps.bounding.len(), 1);
        assert!(
            warnings[0].starts_with("process.capabilities: CAP_SYS_ADMIN"),
            "{warnings:?}"
        );
    }

    #[test]
    fn unconfined_apparmor_profile_is_no_profile() {
        let p = process(serde_json::json!({"apparmorProfile": "unconfined"}));
        for apparmor in [false, true] {
            let facts = ProcessFacts {
                apparmor,
                ..ProcessFacts::default()
            };
            let mut not_applied = Vec::new();
            check_lsm_labels(&p, &facts, &mut not_applied).unwrap();
            assert!(not_applied.is_empty(), "{not_applied:?}");
        }
    }

    #[test]
    fn lsm_labels_need_their_lsm() {
        let p = process(serde_json::json!({"apparmorProfile": "x", "selinuxLabel": "y"}));
        let err = check_lsm_labels(&p, &ProcessFacts::default(), &mut Vec::new()).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("process.apparmorProfile \"x\": AppArmor"));
        let on = ProcessFacts {
            apparmor: true,
            selinux: true,
            ..ProcessFacts::default()
        };
        let mut not_applied = Vec::new();
        check_lsm_labels(&p, &on, &mut not_applied).unwrap();
        assert_eq!(
            not_applied,
            vec!["process.apparmorProfile", "process.selinuxLabel"]
        );
        let selinux_off = ProcessFacts {
            apparmor: true,
            ..ProcessFacts::default()
        };
        let err = check_lsm_labels(&p, &selinux_off, &mut Vec::new()).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("process.selinuxLabel \"y\": SELinux"));
    }
}
