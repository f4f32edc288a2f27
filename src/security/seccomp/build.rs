//! A `SeccompPlan` built into a libseccomp filter, in the process that
//! loads it, and loaded there (the notify fd when a rule notifies).

use std::os::fd::{FromRawFd, OwnedFd};

use anyhow::Result;
use libseccomp::{ScmpArch, ScmpFilterContext};

use super::names::FIELD;
use super::plan::SeccompPlan;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::seccomp::names::supported_flags;
    use crate::security::seccomp::plan::plan;

    #[test]
    fn a_profile_of_every_native_byte_order_arch_builds() {
        let profile = serde_json::from_value(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "flags": supported_flags(),
            "syscalls": [{"names": ["read", "socketcall"], "action": "SCMP_ACT_ALLOW"},
                         {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                          "args": [{"index": 0, "value": 4294967295u64, "op": "SCMP_CMP_EQ"}]}]
        }))
        .unwrap();
        let p = plan(&profile, &mut Vec::new()).unwrap();
        build(&p).unwrap();
    }
}
