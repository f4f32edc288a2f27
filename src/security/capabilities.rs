//! `process.capabilities`: the five sets, planned from the config and applied
//! around the uid/gid switch in runc's order (bounding dropped, caps kept
//! across setuid, then permitted/effective/inheritable set, then ambient).

use std::collections::HashSet;
use std::str::FromStr;

use anyhow::{Context, Result};
use caps::{CapSet, Capability, CapsHashSet};

/// The five sets, as the kernel will get them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapsPlan {
    pub bounding: CapsHashSet,
    pub effective: CapsHashSet,
    pub inheritable: CapsHashSet,
    pub permitted: CapsHashSet,
    pub ambient: CapsHashSet,
}

/// Build the plan. `known` are the capabilities hull can grant (its own
/// bounding set); others are skipped with a warning, as runc does for names
/// the kernel does not know.
pub fn plan(
    config: &oci_spec::runtime::LinuxCapabilities,
    known: &CapsHashSet,
    warnings: &mut Vec<String>,
) -> Result<CapsPlan> {
    let mut skipped: HashSet<String> = HashSet::new();
    let mut convert =
        |set: &Option<oci_spec::runtime::Capabilities>, field: &str| -> Result<CapsHashSet> {
            let mut out = CapsHashSet::new();
            for cap in set.iter().flatten() {
                let name = serde_json::to_value(cap)?
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let parsed = Capability::from_str(&name).with_context(|| {
                    format!("process.capabilities.{field}: {name:?} is not a capability")
                })?;
                if known.contains(&parsed) {
                    out.insert(parsed);
                } else {
                    skipped.insert(name);
                }
            }
            Ok(out)
        };
    let plan = CapsPlan {
        bounding: convert(config.bounding(), "bounding")?,
        effective: convert(config.effective(), "effective")?,
        inheritable: convert(config.inheritable(), "inheritable")?,
        permitted: convert(config.permitted(), "permitted")?,
        ambient: convert(config.ambient(), "ambient")?,
    };
    let mut skipped: Vec<String> = skipped.into_iter().collect();
    skipped.sort();
    for name in skipped {
        warnings.push(format!(
            "process.capabilities: {name} is not in this host's bounding set, skipped"
        ));
    }
    Ok(plan)
}

/// The capabilities hull itself can hand out.
pub fn grantable() -> CapsHashSet {
    caps::read(None, CapSet::Bounding).unwrap_or_else(|_| caps::all())
}

/// Step 1, before the uid switch: shrink the bounding set and ask the
/// kernel to keep permitted caps across setuid.
pub fn before_user_switch(plan: &CapsPlan) -> Result<()> {
    for cap in caps::read(None, CapSet::Bounding).context("read the bounding set")? {
        if !plan.bounding.contains(&cap) {
            caps::drop(None, CapSet::Bounding, cap)
                .with_context(|| format!("process.capabilities.bounding: drop {cap}"))?;
        }
    }
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error()).context("prctl(PR_SET_KEEPCAPS)");
    }
    Ok(())
}

/// Step 2, after the uid switch: set the sets the process will have. With
/// `hold_sys_admin`, CAP_SYS_ADMIN stays effective and permitted even where
/// the plan drops it: a seccomp filter without no_new_privs needs it to be
/// loaded, which happens later; `release` then takes it away.
pub fn after_user_switch(plan: &CapsPlan, hold_sys_admin: bool) -> Result<()> {
    clear_keepcaps()?;
    // Raise every permitted cap into effective first: with CAP_SETPCAP held
    // the inheritable set may then go beyond permitted, as runc's single
    // capset allows. Permitted is narrowed last (effective must stay in it).
    let current = caps::read(None, CapSet::Permitted).context("read permitted caps")?;
    caps::set(None, CapSet::Effective, &current).context("raise effective caps")?;
    caps::set(None, CapSet::Inheritable, &plan.inheritable).with_context(|| {
        format!(
            "process.capabilities.inheritable: capset {}",
            names(&plan.inheritable)
        )
    })?;
    let held = |set: &CapsHashSet| {
        let mut set = set.clone();
        if hold_sys_admin {
            set.insert(Capability::CAP_SYS_ADMIN);
        }
        set
    };
    caps::set(None, CapSet::Effective, &held(&plan.effective)).with_context(|| {
        format!(
            "process.capabilities.effective: capset {}",
            names(&plan.effective)
        )
    })?;
    caps::set(None, CapSet::Permitted, &held(&plan.permitted)).with_context(|| {
        format!(
            "process.capabilities.permitted: capset {} (effective must be within permitted)",
            names(&plan.permitted)
        )
    })?;
    caps::clear(None, CapSet::Ambient).context("clear ambient caps")?;
    for cap in &plan.ambient {
        // The kernel only raises an ambient cap that is permitted and
        // inheritable; runc ignores the others, and so does hull.
        if plan.permitted.contains(cap) && plan.inheritable.contains(cap) {
            caps::raise(None, CapSet::Ambient, *cap)
                .with_context(|| format!("process.capabilities.ambient: raise {cap}"))?;
        }
    }
    Ok(())
}

/// The user switch is done: the keep-caps flag is not for the container's
/// own setuid calls.
fn clear_keepcaps() -> Result<()> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error()).context("prctl(PR_SET_KEEPCAPS, 0)");
    }
    Ok(())
}

/// Keep the permitted caps across the coming setuid (PR_SET_KEEPCAPS) when
/// the config names no capabilities but a filter must still be loaded
/// with CAP_SYS_ADMIN after the user switch; `release_all` then does what
/// the setuid would have done.
pub fn keep_across_user_switch() -> Result<()> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error()).context("prctl(PR_SET_KEEPCAPS)");
    }
    Ok(())
}

/// After `keep_across_user_switch` and the setuid: the kept caps effective
/// again, until `release_all`.
pub fn raise_kept() -> Result<()> {
    clear_keepcaps()?;
    let current = caps::read(None, CapSet::Permitted).context("read permitted caps")?;
    caps::set(None, CapSet::Effective, &current).context("raise effective caps")
}

/// Drop what was held for the filter's load: the plan's effective and
/// permitted sets exactly. Only capget and capset: this runs under the
/// container's filter.
pub fn release(plan: &CapsPlan) -> Result<()> {
    caps::set(None, CapSet::Effective, &plan.effective)
        .context("process.capabilities.effective: drop CAP_SYS_ADMIN held for seccomp")?;
    caps::set(None, CapSet::Permitted, &plan.permitted)
        .context("process.capabilities.permitted: drop CAP_SYS_ADMIN held for seccomp")
}

/// `release` for a process whose config names no capabilities and whose
/// uid is not 0: none left, as after a plain setuid.
pub fn release_all() -> Result<()> {
    caps::clear(None, CapSet::Effective).context("drop the caps held for seccomp")?;
    caps::clear(None, CapSet::Permitted).context("drop the caps held for seccomp")
}

fn names(set: &CapsHashSet) -> String {
    let mut v: Vec<String> = set.iter().map(|c| c.to_string()).collect();
    v.sort();
    format!("[{}]", v.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_skips_what_the_host_cannot_grant() {
        let config: oci_spec::runtime::LinuxCapabilities = serde_json::from_str(
            r#"{"bounding":["CAP_KILL","CAP_SYS_RESOURCE"],"effective":["CAP_KILL"]}"#,
        )
        .unwrap();
        let known: CapsHashSet = [Capability::CAP_KILL].into_iter().collect();
        let mut warnings = Vec::new();
        let p = plan(&config, &known, &mut warnings).unwrap();
        assert_eq!(p.bounding, known);
        assert_eq!(p.effective, known);
        assert!(p.permitted.is_empty());
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("CAP_SYS_RESOURCE"), "{warnings:?}");
    }
}
