//! The rest of `linux` and the spec's other sections, each checked by the
//! module that applies it: seccomp, the mount label, personality,
//! hooks.

use anyhow::Result;
use oci_spec::runtime::{Linux, Spec};

use crate::config::facts::HostFacts;
use crate::hooks::HooksPlan;
use crate::security::attrs;
use crate::security::seccomp::{self, SeccompPlan};

/// `linux.seccomp`, with the filter flags this host applies.
pub fn plan_seccomp(
    linux: &Linux,
    facts: &HostFacts,
    warnings: &mut Vec<String>,
) -> Result<Option<SeccompPlan>> {
    linux
        .seccomp()
        .as_ref()
        .map(|s| seccomp::plan_with_flags(s, &facts.seccomp_flags, warnings))
        .transpose()
}

/// `linux.mountLabel`: refused when SELinux is off, noted otherwise.
pub fn check_mount_label(
    linux: &Linux,
    facts: &HostFacts,
    not_applied: &mut Vec<String>,
) -> Result<()> {
    if let Some(label) = linux.mount_label().as_deref().filter(|l| !l.is_empty()) {
        let enabled = facts.process.selinux;
        attrs::check_selinux("linux.mountLabel", label, enabled, not_applied)?;
    }
    Ok(())
}

/// `linux.personality`: personality(2)'s value.
pub fn plan_personality(linux: &Linux) -> Result<Option<libc::c_ulong>> {
    linux
        .personality()
        .as_ref()
        .map(attrs::plan_personality)
        .transpose()
}

/// `hooks`: absolute paths, positive timeouts.
pub fn plan_hooks(spec: &Spec) -> Result<HooksPlan> {
    match spec.hooks() {
        Some(h) => crate::hooks::plan(h),
        None => Ok(HooksPlan::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::checks::test_spec;

    fn linux(json: serde_json::Value) -> Linux {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn seccomp_is_planned_with_the_hosts_flags() {
        let l = linux(
            serde_json::json!({"seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_LOG"]}}),
        );
        let only_tsync = HostFacts {
            seccomp_flags: vec!["SECCOMP_FILTER_FLAG_TSYNC"],
            ..HostFacts::default()
        };
        let err = plan_seccomp(&l, &only_tsync, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "linux.seccomp.flags[0] \"SECCOMP_FILTER_FLAG_LOG\": not supported by this kernel"
        );
        let log = HostFacts {
            seccomp_flags: vec!["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"],
            ..HostFacts::default()
        };
        assert!(plan_seccomp(&l, &log, &mut Vec::new()).unwrap().is_some());
        let none = linux(serde_json::json!({}));
        assert!(plan_seccomp(&none, &log, &mut Vec::new())
            .unwrap()
            .is_none());
    }

    #[test]
    fn mount_label_needs_selinux() {
        let l = linux(serde_json::json!({"mountLabel": "system_u:object_r:x"}));
        let err = check_mount_label(&l, &HostFacts::default(), &mut Vec::new()).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("linux.mountLabel \"system_u:object_r:x\": SELinux"));
        let mut facts = HostFacts::default();
        facts.process.selinux = true;
        let mut not_applied = Vec::new();
        check_mount_label(&l, &facts, &mut not_applied).unwrap();
        assert_eq!(not_applied, vec!["linux.mountLabel"]);
    }

    #[test]
    fn personality_is_a_domain() {
        let l = linux(serde_json::json!({"personality": {"domain": "LINUX32"}}));
        assert!(plan_personality(&l).unwrap().is_some());
        let l = linux(serde_json::json!({"personality": {"domain": "LINUX", "flags": ["x"]}}));
        let err = plan_personality(&l).unwrap_err();
        assert!(
            err.to_string().starts_with("linux.personality.flags"),
            "{err}"
        );
        assert_eq!(
            plan_personality(&linux(serde_json::json!({}))).unwrap(),
            None
        );
    }

    #[test]
    fn hooks_need_absolute_paths() {
        let spec = test_spec(serde_json::json!({"hooks": {"prestart": [{"path": "/bin/true"}]}}));
        assert_eq!(plan_hooks(&spec).unwrap().prestart.len(), 1);
        let spec = test_spec(serde_json::json!({"hooks": {"prestart": [{"path": "true"}]}}));
        let err = plan_hooks(&spec).unwrap_err();
        assert!(err.to_string().contains("hooks.prestart[0]"), "{err}");
    }
}
