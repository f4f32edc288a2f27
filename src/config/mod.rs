//! The validated plan of a container: config.json is read, every value is
//! checked and converted here, before anything is created on the host.

mod host;
mod load;
pub mod mount_options;
mod namespaces;
mod strings;

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxDeviceType, PosixRlimitType, Spec};

use crate::error::describe_io;
use crate::security::attrs;
use crate::security::capabilities::{self, CapsPlan};
use crate::security::seccomp::{self, SeccompPlan};
pub use host::{FixedHost, Host, SystemHost};
pub use load::{parse_spec, read_bundle};
use mount_options::MountOptions;
use namespaces::{
    check_mount_namespace, check_sysctl, plan_id_maps, plan_mount_idmap, plan_namespaces,
    plan_time_offsets,
};
pub use namespaces::{host_id, id_map_text, IdMap, CLONE_NEWTIME, NAMESPACES};

/// One entry of `mounts`, ready to be mounted.
#[derive(Debug, Clone)]
pub struct MountPlan {
    pub destination: PathBuf,
    pub fs_type: String,
    pub source: Option<PathBuf>,
    pub options: MountOptions,
    /// An id-mapped bind mount: the source's ids seen through these maps.
    pub idmap: Option<IdmapPlan>,
}

/// The maps of an id-mapped mount (the user namespace's when the mount
/// names none) and whether submounts are mapped too (`ridmap`).
#[derive(Debug, Clone)]
pub struct IdmapPlan {
    pub uid: Vec<IdMap>,
    pub gid: Vec<IdMap>,
    pub recursive: bool,
}

impl MountPlan {
    pub fn is_bind(&self) -> bool {
        self.options.is_bind() || self.fs_type == "bind"
    }
}

/// A device node to create under the rootfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePlan {
    pub path: PathBuf,
    /// S_IFCHR, S_IFBLK or S_IFIFO.
    pub kind: libc::mode_t,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// A namespace the container gets: created by the clone, or joined by path.
#[derive(Debug, Clone)]
pub struct NamespacePlan {
    pub flag: CloneFlags,
    pub kind: &'static str,
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Rlimit {
    pub name: String,
    pub resource: libc::c_int,
    pub soft: u64,
    pub hard: u64,
}

#[derive(Debug, Clone)]
pub struct ProcessPlan {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub umask: Option<u32>,
    pub rlimits: Vec<Rlimit>,
    pub no_new_privileges: bool,
    pub oom_score_adj: Option<i32>,
    /// None: the config has no `capabilities`, the process keeps its user's.
    pub capabilities: Option<CapsPlan>,
    /// A pty as stdio and controlling terminal, sent to --console-socket.
    pub terminal: bool,
    /// (rows, columns) of the pty.
    pub console_size: Option<(u16, u16)>,
    /// ioprio_set(2)'s value.
    pub io_priority: Option<u32>,
    pub scheduler: Option<attrs::SchedPlan>,
    /// Applied to exec'd processes only (the spec leaves the init alone).
    pub exec_cpu_affinity: Option<attrs::AffinityPlan>,
}

/// Everything create needs, validated.
#[derive(Debug, Clone)]
pub struct Plan {
    pub bundle: PathBuf,
    pub oci_version: String,
    pub rootfs: PathBuf,
    /// (st_dev, st_ino) of root.path as hull sees it: a joined mount
    /// namespace whose root is this directory needs no rootfs set up.
    pub rootfs_id: (u64, u64),
    pub rootfs_readonly: bool,
    /// linux.rootfsPropagation, or rslave when it is not set.
    pub rootfs_propagation: MsFlags,
    pub namespaces: Vec<NamespacePlan>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub mounts: Vec<MountPlan>,
    /// Default devices and /dev symlinks are made unless /dev is a bind mount.
    pub setup_dev: bool,
    pub devices: Vec<DevicePlan>,
    pub masked_paths: Vec<PathBuf>,
    pub readonly_paths: Vec<PathBuf>,
    /// The config.json fields set here that are applied by mounting
    /// (`mounts`, `root.readonly`, …): all refused in a joined mount
    /// namespace whose tree is shared as it is; without a mount namespace,
    /// those that would reach beyond root.path.
    pub mount_settings: Vec<&'static str>,
    pub sysctl: Vec<(String, String)>,
    /// linux.uidMappings/gidMappings of a new user namespace.
    pub uid_mappings: Vec<IdMap>,
    pub gid_mappings: Vec<IdMap>,
    /// linux.timeOffsets of a new time namespace: (clock, seconds, nanoseconds).
    pub time_offsets: Vec<(String, i64, u32)>,
    pub process: ProcessPlan,
    pub annotations: HashMap<String, String>,
    /// Settings that are read but not applied yet: said once, as warnings.
    pub not_applied: Vec<String>,
    /// Other things a person should know (skipped capabilities, …).
    pub warnings: Vec<String>,
    pub hooks: crate::hooks::HooksPlan,
    /// The seccomp filter of the container's processes (init and exec).
    pub seccomp: Option<SeccompPlan>,
    /// linux.seccomp as given, kept in the state dir for `exec`.
    pub seccomp_spec: Option<oci_spec::runtime::LinuxSeccomp>,
    /// personality(2)'s value for the init.
    pub personality: Option<libc::c_ulong>,
    /// The cgroup path, its limits and device rules.
    pub cgroup: crate::cgroups::CgroupPlan,
}

impl Plan {
    /// Flags for the one clone that creates every new namespace. A time
    /// namespace is not among them: its offsets must be written before a
    /// process is in it, so the init unshares it itself.
    pub fn new_namespace_flags(&self) -> CloneFlags {
        self.namespaces
            .iter()
            .filter(|ns| ns.path.is_none() && ns.flag != CLONE_NEWTIME)
            .fold(CloneFlags::empty(), |acc, ns| acc | ns.flag)
    }

    /// Whether the container gets a user namespace of its own (with maps).
    pub fn new_user_namespace(&self) -> bool {
        self.has_new_namespace(CloneFlags::CLONE_NEWUSER)
    }

    /// Whether the container runs in a user namespace, new or joined.
    pub fn in_user_namespace(&self) -> bool {
        self.namespace(CloneFlags::CLONE_NEWUSER).is_some()
    }

    pub fn namespace(&self, flag: CloneFlags) -> Option<&NamespacePlan> {
        self.namespaces.iter().find(|ns| ns.flag == flag)
    }

    pub fn has_new_namespace(&self, flag: CloneFlags) -> bool {
        self.namespace(flag).is_some_and(|ns| ns.path.is_none())
    }

    /// Whether hull mounts in its own mount namespace (below root.path):
    /// the container has no mount namespace, and `mounts` or a console.
    pub fn mounts_on_host(&self) -> bool {
        self.namespace(CloneFlags::CLONE_NEWNS).is_none()
            && (!self.mounts.is_empty() || self.process.terminal)
    }
}

/// The devices every container gets (runc's list).
pub fn default_devices() -> Vec<DevicePlan> {
    let dev = |path: &str, major, minor| DevicePlan {
        path: PathBuf::from(path),
        kind: libc::S_IFCHR,
        major,
        minor,
        mode: 0o666,
        uid: 0,
        gid: 0,
    };
    vec![
        dev("/dev/null", 1, 3),
        dev("/dev/zero", 1, 5),
        dev("/dev/full", 1, 7),
        dev("/dev/random", 1, 8),
        dev("/dev/urandom", 1, 9),
        dev("/dev/tty", 5, 0),
    ]
}

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
    check_oci_version(spec.version())?;
    let mut not_applied = Vec::new();

    let root = spec
        .root()
        .as_ref()
        .context("root: missing (the rootfs directory is required)")?;
    let rootfs = if root.path().is_absolute() {
        root.path().clone()
    } else {
        bundle.join(root.path())
    };
    let rootfs_id = match host.dir_id(&rootfs) {
        Ok(Some(id)) => id,
        Ok(None) => bail!("root.path {rootfs:?}: not a directory"),
        Err(err) => bail!("root.path {rootfs:?}: {}", describe_io(&err)),
    };
    let rootfs = host
        .canonicalize(&rootfs)
        .with_context(|| format!("root.path {rootfs:?}"))?;

    // No `linux` object means no namespaces, masked paths or limits: every
    // namespace is inherited from hull (spec), nothing is invented.
    // oci-spec's Linux::default() would list six new namespaces.
    let linux = match spec.linux() {
        Some(linux) => linux.clone(),
        None => serde_json::from_str("{}").context("linux: an empty linux object")?,
    };
    let namespaces = plan_namespaces(&linux, host)?;
    let has = |flag: CloneFlags| namespaces.iter().any(|ns| ns.flag == flag);

    // The kernel's length limit, and a uts namespace that is not hull's
    // own: one joined by path could be the host's (as for sysctls).
    for (field, name) in [
        ("hostname", spec.hostname()),
        ("domainname", spec.domainname()),
    ] {
        let Some(name) = name.as_deref().filter(|n| !n.is_empty()) else {
            continue;
        };
        strings::check_host_name(field, name)?;
        match namespaces.iter().find(|ns| ns.flag == CloneFlags::CLONE_NEWUTS) {
            None => bail!("{field}: setting it needs a \"uts\" namespace in linux.namespaces"),
            Some(NamespacePlan { path: Some(p), .. }) if host.is_own_namespace(p, "uts") => bail!(
                "{field}: the \"uts\" namespace {p:?} is the one hull runs in: setting it would change the host's {field}"
            ),
            Some(_) => {}
        }
    }

    let rootfs_propagation = match linux.rootfs_propagation().as_deref() {
        None | Some("") => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        Some(p) => {
            let opts = MountOptions::parse(&[p.to_string()]);
            match opts.propagation.as_slice() {
                [flag] => *flag,
                _ => bail!(
                    "linux.rootfsPropagation: {p:?} is not one of private, rprivate, shared, rshared, slave, rslave, unbindable, runbindable"
                ),
            }
        }
    };

    let mut mounts = Vec::new();
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let dest = m.destination();
        let destination = if dest.is_absolute() {
            dest.clone()
        } else {
            Path::new("/").join(dest)
        };
        if destination.components().any(|c| c == Component::ParentDir) {
            bail!("mounts[{i}].destination {dest:?}: must not contain \"..\"");
        }
        let options = MountOptions::parse(m.options().as_deref().unwrap_or(&[]));
        let fs_type = m.typ().clone().unwrap_or_default();
        let mut plan = MountPlan {
            destination,
            fs_type: fs_type.clone(),
            source: m.source().clone(),
            idmap: None,
            options,
        };
        if plan.is_bind() {
            let source = plan
                .source
                .as_ref()
                .with_context(|| format!("mounts[{i}] ({dest:?}): a bind mount needs a source"))?;
            let source = if source.is_absolute() {
                source.clone()
            } else {
                bundle.join(source)
            };
            if let Err(err) = host.exists_nofollow(&source) {
                bail!(
                    "mounts[{i}] ({dest:?}): source {source:?}: {}",
                    describe_io(&err)
                );
            }
            plan.source = Some(source);
            plan.options.flags.insert(MsFlags::MS_BIND);
        } else if fs_type.is_empty() {
            bail!("mounts[{i}] ({dest:?}): type is required for a mount that is not a bind mount");
        }
        mounts.push(plan);
    }
    // sysfs can only be mounted by the owner of the network namespace: in
    // a user namespace without a network namespace of its own, the host's
    // /sys is bound instead (runc does the same).
    let has_new = |flag| {
        namespaces
            .iter()
            .any(|ns| ns.flag == flag && ns.path.is_none())
    };
    if has(CloneFlags::CLONE_NEWUSER) && !has_new(CloneFlags::CLONE_NEWNET) {
        for m in mounts.iter_mut().filter(|m| m.fs_type == "sysfs") {
            m.fs_type = "bind".into();
            m.source = Some(PathBuf::from("/sys"));
            m.options.flags.insert(MsFlags::MS_BIND | MsFlags::MS_REC);
        }
    }
    let setup_dev = !mounts
        .iter()
        .any(|m| m.destination == Path::new("/dev") && m.is_bind());

    let mut devices = default_devices();
    for (i, d) in linux.devices().iter().flatten().enumerate() {
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => libc::S_IFCHR,
            LinuxDeviceType::B => libc::S_IFBLK,
            LinuxDeviceType::P => libc::S_IFIFO,
            LinuxDeviceType::A => {
                bail!("linux.devices[{i}].type: \"a\" is not a device node type (use c, b, u or p)")
            }
        };
        if !d.path().is_absolute() || d.path().components().any(|c| c == Component::ParentDir) {
            bail!(
                "linux.devices[{i}].path {:?}: must be absolute, without \"..\"",
                d.path()
            );
        }
        if d.major() < 0 || d.minor() < 0 {
            bail!(
                "linux.devices[{i}] ({:?}): major and minor must not be negative",
                d.path()
            );
        }
        let plan = DevicePlan {
            path: d.path().clone(),
            kind,
            major: d.major() as u64,
            minor: d.minor() as u64,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        };
        devices.retain(|existing| existing.path != plan.path);
        devices.push(plan);
    }

    let to_paths = |list: &Option<Vec<String>>, field: &str| -> Result<Vec<PathBuf>> {
        list.iter()
            .flatten()
            .map(|p| {
                let path = PathBuf::from(p);
                if !path.is_absolute() {
                    bail!("linux.{field}: {p:?} is not an absolute path");
                }
                Ok(path)
            })
            .collect()
    };
    let masked_paths = to_paths(linux.masked_paths(), "maskedPaths")?;
    let readonly_paths = to_paths(linux.readonly_paths(), "readonlyPaths")?;

    let mut sysctl: Vec<(String, String)> = linux
        .sysctl()
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    sysctl.sort();
    for (key, _) in &sysctl {
        check_sysctl(key, &namespaces, host)?;
    }

    let mut warnings = Vec::new();
    let process = plan_process(
        spec.process()
            .as_ref()
            .context("process: missing (the container needs a process to run)")?,
        host,
        &mut not_applied,
        &mut warnings,
    )?;

    // What only mounts in the container's own mount namespace can apply.
    let asked = [
        ("mounts", !mounts.is_empty()),
        ("linux.maskedPaths", !masked_paths.is_empty()),
        ("linux.readonlyPaths", !readonly_paths.is_empty()),
        (
            "linux.devices",
            linux.devices().as_ref().is_some_and(|d| !d.is_empty()),
        ),
        ("root.readonly", root.readonly().unwrap_or(false)),
        (
            "linux.rootfsPropagation",
            linux
                .rootfs_propagation()
                .as_deref()
                .is_some_and(|p| !p.is_empty()),
        ),
        ("process.terminal", process.terminal),
    ];
    let mount_settings: Vec<&'static str> = asked
        .into_iter()
        .filter_map(|(field, set)| set.then_some(field))
        .collect();
    check_mount_namespace(&namespaces, &mount_settings)?;

    let (uid_mappings, gid_mappings) = plan_id_maps(&linux, &namespaces)?;
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        mounts[i].idmap = plan_mount_idmap(i, m, &mounts[i], &uid_mappings, &gid_mappings)?;
    }
    let time_offsets = plan_time_offsets(&linux, &namespaces)?;
    let cgroup = crate::cgroups::plan(
        linux.cgroups_path().as_deref(),
        linux.resources().as_ref(),
        &mut warnings,
    )?;
    let seccomp = match linux.seccomp() {
        Some(s) => Some(seccomp::plan(s, &mut warnings)?),
        None => None,
    };
    if let Some(label) = linux.mount_label().as_deref().filter(|l| !l.is_empty()) {
        let enabled = host.selinux_enabled();
        attrs::check_selinux("linux.mountLabel", label, enabled, &mut not_applied)?;
    }
    let personality = match linux.personality() {
        Some(p) => Some(attrs::plan_personality(p)?),
        None => None,
    };
    if linux.intel_rdt().is_some() {
        not_applied.push("linux.intelRdt".into());
    }
    let hooks = match spec.hooks() {
        Some(h) => crate::hooks::plan(h)?,
        None => crate::hooks::HooksPlan::default(),
    };
    for m in &mounts {
        if m.options.tmpcopyup {
            not_applied.push(format!(
                "the \"tmpcopyup\" option of the mount on {:?} (the tmpfs starts empty)",
                m.destination
            ));
        }
    }

    Ok(Plan {
        bundle: bundle.to_path_buf(),
        oci_version: spec.version().clone(),
        rootfs,
        rootfs_id,
        rootfs_readonly: root.readonly().unwrap_or(false),
        rootfs_propagation,
        namespaces,
        hostname: spec.hostname().clone().filter(|h| !h.is_empty()),
        domainname: spec.domainname().clone().filter(|h| !h.is_empty()),
        mounts,
        setup_dev,
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
        cgroup,
    })
}

/// The spec is compatible within a major version: accept 1.x, refuse others.
pub fn check_oci_version(version: &str) -> Result<()> {
    if version.is_empty() {
        bail!(
            "ociVersion: missing (this runtime implements {})",
            crate::OCI_VERSION
        );
    }
    let core = version.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !numeric {
        bail!("ociVersion {version:?}: not a version like \"1.0.2\"");
    }
    if parts[0] != "1" {
        bail!(
            "ociVersion {version:?}: unsupported (this runtime implements {}, and accepts 1.x)",
            crate::OCI_VERSION
        );
    }
    Ok(())
}

/// Validate one process (config.json's, or an `exec --process` file's).
pub fn plan_process(
    process: &oci_spec::runtime::Process,
    host: &dyn Host,
    not_applied: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<ProcessPlan> {
    strings::check_no_nul(process, "process")?;
    let args = process.args().clone().unwrap_or_default();
    if args.is_empty() || args[0].is_empty() {
        bail!("process.args: must name the program to run (it is empty)");
    }
    let cwd = process.cwd().clone();
    if !cwd.is_absolute() {
        bail!("process.cwd {cwd:?}: must be an absolute path");
    }
    for (i, arg) in args.iter().enumerate() {
        if arg.contains('\0') {
            bail!("process.args[{i}] {arg:?}: contains a NUL byte");
        }
    }
    let env = process.env().clone().unwrap_or_default();
    for (i, var) in env.iter().enumerate() {
        if !var.contains('=') || var.starts_with('=') || var.contains('\0') {
            bail!("process.env[{i}] {var:?}: must be NAME=VALUE without NUL bytes");
        }
    }
    let user = process.user();
    let mut rlimits: Vec<Rlimit> = Vec::new();
    for (i, r) in process.rlimits().iter().flatten().enumerate() {
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
    if let Some(adj) = process.oom_score_adj() {
        if !(-1000..=1000).contains(&adj) {
            bail!("process.oomScoreAdj {adj}: must be between -1000 and 1000");
        }
    }
    let caps = match process.capabilities() {
        Some(c) => Some(capabilities::plan(c, &host.grantable_caps(), warnings)?),
        None => None,
    };
    if let Some(profile) = process
        .apparmor_profile()
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        attrs::check_apparmor(profile, host.apparmor_enabled(), not_applied)?;
    }
    if let Some(label) = process.selinux_label().as_deref().filter(|p| !p.is_empty()) {
        let enabled = host.selinux_enabled();
        attrs::check_selinux("process.selinuxLabel", label, enabled, not_applied)?;
    }
    let io_priority = match process.io_priority() {
        Some(io) => Some(attrs::plan_io_priority(io.class(), io.priority())?),
        None => None,
    };
    let scheduler = match process.scheduler() {
        Some(s) => Some(attrs::plan_scheduler(s)?),
        None => None,
    };
    let exec_cpu_affinity = match process.exec_cpu_affinity() {
        Some(a) => Some(attrs::plan_affinity(a)?),
        None => None,
    };
    Ok(ProcessPlan {
        args,
        env,
        cwd,
        uid: user.uid(),
        gid: user.gid(),
        additional_gids: user.additional_gids().clone().unwrap_or_default(),
        umask: user.umask(),
        rlimits,
        no_new_privileges: process.no_new_privileges().unwrap_or(false),
        oom_score_adj: process.oom_score_adj(),
        capabilities: caps,
        io_priority,
        scheduler,
        exec_cpu_affinity,
        terminal: process.terminal().unwrap_or(false),
        console_size: process.console_size().map(|b| {
            (
                b.height().min(u16::MAX as u64) as u16,
                b.width().min(u16::MAX as u64) as u16,
            )
        }),
    })
}

fn rlimit_resource(t: PosixRlimitType) -> u32 {
    use PosixRlimitType::*;
    match t {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_versions() {
        assert!(check_oci_version("1.0.2").is_ok());
        assert!(check_oci_version("1.0.2-dev").is_ok());
        assert!(check_oci_version("1.2.0").is_ok());
        assert!(check_oci_version("2.0.0").is_err());
        assert!(check_oci_version("").is_err());
        assert!(check_oci_version("banana").is_err());
    }

    fn ns(flag: CloneFlags) -> NamespacePlan {
        NamespacePlan {
            flag,
            kind: "x",
            path: None,
        }
    }

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

    #[test]
    fn sysctl_in_the_hosts_own_namespace_is_refused() {
        let joined_host = [NamespacePlan {
            flag: CloneFlags::CLONE_NEWNET,
            kind: "network",
            path: Some(PathBuf::from("/proc/self/ns/net")),
        }];
        assert!(check_sysctl("net.ipv4.ip_forward", &joined_host, &SystemHost).is_err());
    }

    #[test]
    fn sysctl_needs_its_namespace() {
        let net = [ns(CloneFlags::CLONE_NEWNET)];
        assert!(check_sysctl("net.ipv4.ip_forward", &net, &FixedHost::default()).is_ok());
        assert!(check_sysctl("net.ipv4.ip_forward", &[], &FixedHost::default()).is_err());
        assert!(check_sysctl(
            "kernel.shmmax",
            &[ns(CloneFlags::CLONE_NEWIPC)],
            &FixedHost::default()
        )
        .is_ok());
        assert!(check_sysctl("kernel.shmmax", &net, &FixedHost::default()).is_err());
        assert!(check_sysctl("kernel.panic", &net, &FixedHost::default()).is_err());
        assert!(check_sysctl("vm.swappiness", &net, &FixedHost::default()).is_err());
    }
}
