//! The OCI features document (runtime-spec features.md): what this build
//! applies, taken from the tables the code itself uses, so it cannot drift.

use serde_json::{json, Value};

use crate::security::seccomp;

/// The oldest spec version config.json may name (any 1.x is accepted).
pub const OCI_VERSION_MIN: &str = "1.0.0";

pub fn document() -> Value {
    let mut caps: Vec<String> = caps::all().iter().map(|c| c.to_string()).collect();
    caps.sort();
    json!({
        "ociVersionMin": OCI_VERSION_MIN,
        "ociVersionMax": crate::OCI_VERSION,
        "hooks": crate::hooks::POINTS,
        "mountOptions": crate::config::mount_options::APPLIED,
        "linux": {
            "namespaces": crate::config::NAMESPACES,
            "capabilities": caps,
            "cgroup": {
                "v1": true,
                "v2": true,
                "systemd": true,
                "systemdUser": true,
                "rdma": true,
            },
            "seccomp": {
                "enabled": true,
                "actions": seccomp::ACTIONS,
                "operators": seccomp::OPERATORS,
                "archs": seccomp::usable_arches(),
                "knownFlags": seccomp::FLAGS,
                "supportedFlags": seccomp::supported_flags(),
            },
            "apparmor": { "enabled": false },
            "selinux": { "enabled": false },
            "intelRdt": { "enabled": true, "schemata": true, "monitoring": true },
            "mountExtensions": { "idmap": { "enabled": true } },
            "netDevices": { "enabled": true },
            "memoryPolicy": {
                "modes": crate::security::mempolicy::modes(),
                "flags": crate::security::mempolicy::flags(),
            },
        },
        "annotations": {
            "org.hull.version": env!("CARGO_PKG_VERSION"),
            "io.github.seccomp.libseccomp.version": seccomp::library_version(),
        },
        // Annotations that change what the container gets (prefixes end
        // with a dot), as runc 1.2+ lists its own.
        "potentiallyUnsafeConfigAnnotations": [
            crate::cgroups::systemd::annotations::PREFIX,
            crate::config::KEEP_ORIGINAL_GROUPS,
        ],
    })
}
