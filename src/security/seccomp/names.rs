//! The names a seccomp profile uses (actions, operators, architectures,
//! flags) and which of them the linked libseccomp and this kernel apply.

use std::ffi::CString;

use anyhow::{bail, Result};
use libseccomp::{ScmpAction, ScmpArch, ScmpFilterContext};

/// The JSON path of a profile in config.json.
pub const FIELD: &str = "linux.seccomp";

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

/// A profile's architecture name as libseccomp knows it, or why not.
pub fn scmp_arch(name: &str, field: &str) -> Result<ScmpArch> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxSeccompAction, LinuxSeccompOperator};

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

    #[test]
    fn every_listed_arch_is_known() {
        for arch in ARCHES {
            scmp_arch(arch, "test").unwrap();
        }
    }
}
