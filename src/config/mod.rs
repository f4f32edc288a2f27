//! The validated plan of a container: config.json is read, every value is
//! checked and converted here, before anything is created on the host.
//! The host is asked once (`HostFacts`); the checks (`checks/`) are pure.

mod checks;
mod facts;
mod host;
mod load;
pub mod mount_options;
mod plan;
mod strings;

use std::path::Path;

use anyhow::{Context, Result};
use oci_spec::runtime::Spec;

pub use checks::mounts::default_devices;
pub use checks::namespaces::NAMESPACES;
pub use checks::process::{keep_original_groups, KEEP_ORIGINAL_GROUPS};
pub use checks::root::check_oci_version;
use checks::{idmaps, linux, mounts, namespaces, process, root};
pub use facts::{HostFacts, ProcessFacts};
pub use host::{FixedHost, Host, SystemHost};
pub use load::{parse_spec, read_bundle};
pub use plan::{
    host_id, id_map_text, DevicePlan, IdMap, IdmapPlan, MountPlan, NamespacePlan, Plan,
    ProcessPlan, Rlimit, CLONE_NEWTIME,
};

/// Read the bundle and build the validated plan.
pub fn plan_from_bundle(bundle: &Path) -> Result<Plan> {
    let (bundle, bytes) = read_bundle(bundle)?;
    plan_from_bytes(&bundle, &bytes, &SystemHost)
        .with_context(|| format!("{:?}", bundle.join("config.json")))
}

/// config.json's bytes → the validated plan, asking `host` (and nothing
/// else: no file is read, nothing is made) what it must know. With a
/// `FixedHost` this is pure, and must never panic whatever the bytes:
/// `tests/fuzz_config.rs` feeds it mutated configs.
pub fn plan_from_bytes(bundle: &Path, bytes: &[u8], host: &dyn Host) -> Result<Plan> {
    let spec = parse_spec(bytes).map_err(anyhow::Error::msg)?;
    strings::check_json_no_nul(bytes, &["annotations"])?;
    build_plan(bundle, &spec, host)
}

/// The plan of a parsed spec. Private: its strings are checked for NUL
/// bytes on config.json's text, by `plan_from_bytes`.
fn build_plan(bundle: &Path, spec: &Spec, host: &dyn Host) -> Result<Plan> {
    let facts = HostFacts::gather(bundle, spec, host);
    validate(bundle, spec, &facts)
}

/// Every check, in the order their errors are reported (the first wins),
/// then the plan: complete, nothing is added to it later.
fn validate(bundle: &Path, spec: &Spec, facts: &HostFacts) -> Result<Plan> {
    check_oci_version(spec.version())?;
    let rootfs = root::plan_rootfs(spec, facts)?;
    let linux = root::linux_or_empty(spec)?;
    let namespaces = namespaces::plan_namespaces(&linux, facts)?;
    namespaces::check_hostname(spec, &namespaces, facts)?;
    let rootfs_propagation = root::plan_rootfs_propagation(&linux)?;
    let mounts = mounts::plan_mounts(bundle, spec, &namespaces, facts)?;
    let devices = mounts::plan_devices(&linux)?;
    let masked_paths = mounts::plan_paths(linux.masked_paths(), "maskedPaths")?;
    let readonly_paths = mounts::plan_paths(linux.readonly_paths(), "readonlyPaths")?;
    let sysctl = namespaces::plan_sysctl(&linux, &namespaces, facts)?;
    let (mut not_applied, mut warnings) = (Vec::new(), Vec::new());
    let mut process =
        process::plan_container_process(spec, facts, &mut not_applied, &mut warnings)?;
    let mount_settings = mounts::mount_settings(spec, &linux, process.terminal);
    namespaces::check_mount_namespace(&namespaces, &mount_settings, facts)?;
    let (uid_mappings, gid_mappings) = idmaps::plan_id_maps(&linux, &namespaces)?;
    let mount_idmaps = idmaps::plan_mount_idmaps(spec, &mounts, &uid_mappings, &gid_mappings)?;
    let time_offsets = namespaces::plan_time_offsets(&linux, &namespaces)?;
    let cgroup = crate::cgroups::plan(
        linux.cgroups_path().as_deref(),
        linux.resources().as_ref(),
        &mut warnings,
    )?;
    let seccomp = linux::plan_seccomp(&linux, facts, &mut warnings)?;
    linux::check_mount_label(&linux, facts, &mut not_applied)?;
    let personality = linux::plan_personality(&linux)?;
    process.memory_policy = match linux.memory_policy() {
        Some(policy) => Some(crate::security::mempolicy::plan(
            policy,
            facts.online_nodes.as_ref(),
        )?),
        None => None,
    };
    let intel_rdt = match linux.intel_rdt() {
        Some(rdt) => Some(crate::resctrl::plan(rdt, facts.resctrl.as_ref())?),
        None => None,
    };
    let has_netns = namespaces
        .iter()
        .any(|ns| ns.flag == nix::sched::CloneFlags::CLONE_NEWNET);
    let net_devices = match linux.net_devices() {
        Some(devices) => crate::netdev::plan(devices, has_netns)?,
        None => Vec::new(),
    };
    let hooks = linux::plan_hooks(spec)?;
    mounts::note_tmpcopyup(&mounts, &mut not_applied);
    Ok(Plan {
        bundle: bundle.to_path_buf(),
        oci_version: spec.version().clone(),
        rootfs: rootfs.path,
        rootfs_id: rootfs.id,
        rootfs_readonly: rootfs.readonly,
        rootfs_propagation,
        namespaces,
        hostname: spec.hostname().clone().filter(|h| !h.is_empty()),
        domainname: spec.domainname().clone().filter(|h| !h.is_empty()),
        setup_dev: mounts::setup_dev(&mounts),
        mounts: mounts::with_idmaps(mounts, mount_idmaps),
        devices,
        masked_paths,
        readonly_paths,
        mount_settings,
        sysctl,
        uid_mappings,
        gid_mappings,
        time_offsets,
        process,
        annotations: spec.annotations().clone().unwrap_or_default(),
        not_applied,
        warnings,
        hooks,
        seccomp,
        seccomp_spec: linux.seccomp().clone(),
        personality,
        net_devices,
        intel_rdt,
        cgroup,
    })
}

/// Validate one process (config.json's, or an `exec --process` file's),
/// asking `host` what the process's settings depend on.
pub fn plan_process(
    process: &oci_spec::runtime::Process,
    host: &dyn Host,
    not_applied: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<ProcessPlan> {
    let facts = ProcessFacts::gather(host);
    process::plan_process(process, &facts, not_applied, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan of a config.json text, with an empty rootfs beside it.
    fn plan_of(config: &str) -> Result<Plan> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir(dir.path().join("rootfs"))?;
        let spec = parse_spec(config.as_bytes()).map_err(anyhow::Error::msg)?;
        build_plan(dir.path(), &spec, &SystemHost)
    }

    const MINIMAL: &str = r#""ociVersion": "1.0.2", "root": {"path": "rootfs"},
        "process": {"args": ["/bin/true"], "cwd": "/", "user": {"uid": 0, "gid": 0}}"#;

    #[test]
    fn no_linux_object_invents_no_namespace_or_masking() {
        let plan = plan_of(&format!("{{{MINIMAL}}}")).unwrap();
        assert!(plan.namespaces.is_empty(), "{:?}", plan.namespaces);
        assert!(plan.masked_paths.is_empty() && plan.readonly_paths.is_empty());
        assert!(plan.mount_settings.is_empty());
    }

    #[test]
    fn without_a_mount_namespace_mounts_are_planned_on_the_host() {
        let config = format!(
            r#"{{{MINIMAL}, "mounts": [{{"destination": "/proc", "type": "proc"}}],
                "linux": {{"namespaces": [{{"type": "pid"}}],
                           "devices": [{{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}}]}}}}"#
        );
        let plan = plan_of(&config).unwrap();
        assert!(plan.mounts_on_host());
        let config = format!(r#"{{{MINIMAL}, "linux": {{"namespaces": [{{"type": "mount"}}]}}}}"#);
        assert!(!plan_of(&config).unwrap().mounts_on_host());
        assert!(!plan_of(&format!("{{{MINIMAL}}}")).unwrap().mounts_on_host());
    }

    #[test]
    fn without_a_mount_namespace_what_reaches_beyond_the_rootfs_is_refused_by_name() {
        let readonly_root = MINIMAL.replace(
            r#""root": {"path": "rootfs"}"#,
            r#""root": {"path": "rootfs", "readonly": true}"#,
        );
        for (config, field) in [
            (
                format!(r#"{{{MINIMAL}, "linux": {{"maskedPaths": ["/proc/kcore"]}}}}"#),
                "linux.maskedPaths",
            ),
            (
                format!(r#"{{{MINIMAL}, "linux": {{"readonlyPaths": ["/proc/sys"]}}}}"#),
                "linux.readonlyPaths",
            ),
            (
                format!(r#"{{{MINIMAL}, "linux": {{"rootfsPropagation": "rslave"}}}}"#),
                "linux.rootfsPropagation",
            ),
            (format!("{{{readonly_root}}}"), "root.readonly"),
        ] {
            let err = format!("{:#}", plan_of(&config).unwrap_err());
            assert!(
                err.starts_with(&format!("{field}: needs a \"mount\" namespace")),
                "{err}"
            );
        }
    }

    #[test]
    fn joining_hulls_own_mount_namespace_is_refused() {
        let config = format!(
            r#"{{{MINIMAL}, "linux": {{"namespaces": [{{"type": "mount", "path": "/proc/self/ns/mnt"}}]}}}}"#
        );
        let err = format!("{:#}", plan_of(&config).unwrap_err());
        assert!(err.contains("is hull's own mount namespace"), "{err}");
        let config = format!(r#"{{{MINIMAL}, "linux": {{"namespaces": [{{"type": "mount"}}]}}}}"#);
        assert!(plan_of(&config).is_ok());
    }
}
