//! `checkpoint`: a running (or paused) container's processes saved to
//! image files by CRIU, over its RPC. What CRIU cannot see for itself is
//! described to it: the bind mounts from the host (external mounts, keyed
//! by their destination), files masked with /dev/null, device nodes bound
//! from the host in a user namespace, network and pid namespaces joined by
//! path (external namespaces), the cgroup freezer to stop the processes
//! with, and the init's stdio (descriptors.json, for `restore` to connect
//! new pipes in their place). Without `--leave-running` or `--pre-dump` the
//! container is destroyed once dumped, as runc does.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::sched::CloneFlags;

use super::record::{Container, Status};
use crate::config::Plan;
use crate::criu::rpc::{self, ExtMountMap};
use crate::criu::Criu;
use crate::files::DirLock;

/// The init's stdio as /proc links, for restore (runc's file name and form).
pub const DESCRIPTORS_FILE: &str = "descriptors.json";
const DUMP_LOG: &str = "dump.log";

/// What CRIU is asked to do, from the command line.
#[derive(Debug, Clone, Default)]
pub struct CheckpointOptions {
    pub criu: Option<PathBuf>,
    pub common: CriuOptions,
    /// Relative to the image directory.
    pub parent_path: Option<PathBuf>,
    pub leave_running: bool,
    pub pre_dump: bool,
    pub page_server: Option<(String, i32)>,
    pub status_fd: Option<i32>,
}

/// The options checkpoint and restore share.
#[derive(Debug, Clone, Default)]
pub struct CriuOptions {
    pub image_path: PathBuf,
    pub work_path: Option<PathBuf>,
    pub tcp_established: bool,
    pub ext_unix_sk: bool,
    pub shell_job: bool,
    pub file_locks: bool,
    pub cgroups_mode: Option<rpc::CgMode>,
    /// CLONE_NEW* bits CRIU makes empty (network is always among them:
    /// hull, as runc, does not manage network devices).
    pub empty_ns: u32,
    pub auto_dedup: bool,
    pub lazy_pages: bool,
}

impl CriuOptions {
    /// The options both requests carry; `dirs` are the open image and
    /// work directories (hull's fds: CRIU opens them through /proc).
    pub fn opts(&self, dirs: &Dirs, log: &str) -> rpc::Opts {
        rpc::Opts {
            images_dir_fd: dirs.images.as_raw_fd(),
            work_dir_fd: dirs.work.as_ref().map(|w| w.as_raw_fd()),
            log_level: Some(4),
            log_file: Some(log.to_string()),
            manage_cgroups: Some(true),
            manage_cgroups_mode: Some(self.cgroups_mode.unwrap_or(rpc::CgMode::Soft) as i32),
            notify_scripts: Some(true),
            orphan_pts_master: Some(true),
            shell_job: Some(self.shell_job),
            tcp_established: Some(self.tcp_established),
            ext_unix_sk: Some(self.ext_unix_sk),
            file_locks: Some(self.file_locks),
            empty_ns: Some(self.empty_ns | libc::CLONE_NEWNET as u32),
            auto_dedup: Some(self.auto_dedup),
            lazy_pages: Some(self.lazy_pages),
            ..Default::default()
        }
    }
}

/// The image directory and the work directory, open.
pub struct Dirs {
    pub images: OwnedFd,
    pub work: Option<OwnedFd>,
    /// Where CRIU writes its log.
    pub log_dir: PathBuf,
}

impl Dirs {
    /// Open (and with `make`, create with their parents, mode 0700) the
    /// directories.
    pub fn open(common: &CriuOptions, make: bool) -> Result<Dirs> {
        let open = |path: &Path, flag: &str| -> Result<OwnedFd> {
            if make {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(path)
                    .with_context(|| format!("{flag} {}: create", path.display()))?;
            }
            let dir = std::fs::File::open(path)
                .with_context(|| format!("{flag} {}: open", path.display()))?;
            if !dir.metadata()?.is_dir() {
                bail!("{flag} {}: not a directory", path.display());
            }
            Ok(dir.into())
        };
        let images = open(&common.image_path, "--image-path")?;
        let work = common
            .work_path
            .as_deref()
            .map(|w| open(w, "--work-path"))
            .transpose()?;
        Ok(Dirs {
            images,
            work,
            log_dir: common
                .work_path
                .clone()
                .unwrap_or_else(|| common.image_path.clone()),
        })
    }
}

pub fn checkpoint(container: &Container, opts: &CheckpointOptions) -> Result<()> {
    let id = container.id();
    let _lock =
        DirLock::lock(&container.dir).with_context(|| format!("lock {:?}", container.dir))?;
    match container.status() {
        Status::Running | Status::Paused => {}
        status => bail!("cannot checkpoint container {id:?}: it is {status} (only a running or paused container can be)"),
    }
    let plan = crate::config::plan_from_bundle(&container.state.bundle)
        .with_context(|| format!("checkpoint container {id:?}: its bundle"))?;
    let criu = Criu::find(opts.criu.as_deref())?;
    let pid_ns = plan.namespace(CloneFlags::CLONE_NEWPID);
    criu.check_joined_pid_namespace(pid_ns.is_some_and(|ns| ns.path.is_some()))?;
    let dirs = Dirs::open(&opts.common, true)?;
    let pid = container.state.pid;
    let mut o = opts.common.opts(&dirs, DUMP_LOG);
    o.pid = Some(pid);
    o.root = Some(plan.rootfs.to_string_lossy().into_owned());
    o.leave_running = Some(opts.leave_running);
    o.external = external_namespaces(&plan)?;
    o.freeze_cgroup = container.state.cgroup.as_ref().and_then(|c| {
        let dir = c.paths.get("freezer").or_else(|| c.paths.get(""))?;
        Some(dir.to_string_lossy().into_owned())
    });
    if let Some(parent) = &opts.parent_path {
        check_parent(&opts.common.image_path, parent)?;
        o.parent_img = Some(parent.to_string_lossy().into_owned());
        o.track_mem = Some(true);
    }
    if let Some((address, port)) = &opts.page_server {
        o.ps = Some(rpc::PageServerInfo {
            address: Some(address.clone()),
            port: Some(*port),
        });
    }
    o.status_fd = opts.status_fd;
    let kind = if opts.pre_dump {
        rpc::ReqType::PreDump
    } else {
        o.ext_mnt = dump_mounts(&plan, |path| masked_is_file(pid, path));
        write_descriptors(&opts.common.image_path, pid)?;
        rpc::ReqType::Dump
    };
    let req = rpc::Request {
        r#type: kind as i32,
        opts: Some(o),
        ..Default::default()
    };
    let swrk = rpc::Swrk::start(&criu.path, &[])?;
    let resp = swrk.call(&req, |_| Ok(()));
    let _ = swrk.finish();
    let log = dirs.log_dir.join(DUMP_LOG);
    let resp = resp.with_context(|| format!("checkpoint container {id:?}"))?;
    if !resp.success {
        bail!(
            "checkpoint container {id:?}: criu {} failed: {}",
            if opts.pre_dump { "pre-dump" } else { "dump" },
            criu.explain(resp.cr_errmsg.as_deref(), Some(&log))
        );
    }
    if !(opts.leave_running || opts.pre_dump) {
        // CRIU killed the processes once dumped: the rest goes as on delete.
        super::delete::destroy(container)?;
    }
    Ok(())
}

/// `--parent-path`: relative to the image directory, a directory there.
fn check_parent(images: &Path, parent: &Path) -> Result<()> {
    if parent.is_absolute() {
        bail!(
            "--parent-path {}: must be relative to --image-path",
            parent.display()
        );
    }
    let dir = images.join(parent);
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => bail!(
            "--parent-path {}: {} is not a directory",
            parent.display(),
            dir.display()
        ),
        Err(err) => bail!(
            "--parent-path {}: {}: {err}",
            parent.display(),
            dir.display()
        ),
    }
}

/// CRIU's key for a namespace joined by path: `extRootNetNS`, `extRootPidNS`.
pub fn namespace_key(flag: CloneFlags) -> &'static str {
    if flag == CloneFlags::CLONE_NEWNET {
        "extRootNetNS"
    } else {
        "extRootPidNS"
    }
}

/// Network and pid namespaces joined by path are external: CRIU leaves
/// them and `restore` hands it the namespace to use (`TYPE[INODE]:KEY`).
fn external_namespaces(plan: &Plan) -> Result<Vec<String>> {
    use std::os::unix::fs::MetadataExt;
    let mut external = Vec::new();
    for (flag, name) in [
        (CloneFlags::CLONE_NEWNET, "net"),
        (CloneFlags::CLONE_NEWPID, "pid"),
    ] {
        let Some(path) = plan.namespace(flag).and_then(|ns| ns.path.as_ref()) else {
            continue;
        };
        let inode = std::fs::metadata(path)
            .with_context(|| format!("stat the {name} namespace {}", path.display()))?
            .ino();
        external.push(format!("{name}[{inode}]:{}", namespace_key(flag)));
    }
    Ok(external)
}

/// A mount CRIU must take as external: where it is in the container, the
/// key it is saved under in the images, and its source on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalMount {
    pub mountpoint: String,
    pub key: String,
    pub source: String,
}

/// The external mounts at dump: each mount point with its image key.
pub fn dump_mounts(plan: &Plan, masked_file: impl Fn(&Path) -> bool) -> Vec<ExtMountMap> {
    external_mounts(plan, masked_file)
        .into_iter()
        .map(|m| ExtMountMap {
            key: m.mountpoint,
            val: m.key,
        })
        .collect()
}

/// The mounts from the host: bind mounts (keyed by their destination),
/// masked files (`masked_file` says which masked paths are files: /dev/null
/// is bound on those, all under the key "/dev/null"), device nodes bound
/// from the host in a user namespace.
pub fn external_mounts(plan: &Plan, masked_file: impl Fn(&Path) -> bool) -> Vec<ExternalMount> {
    let text = |p: &Path| p.to_string_lossy().into_owned();
    let same = |dest: &Path, source: &Path| ExternalMount {
        mountpoint: text(dest),
        key: text(dest),
        source: text(source),
    };
    let mut out: Vec<ExternalMount> = plan
        .mounts
        .iter()
        .filter(|m| m.is_bind())
        .filter_map(|m| Some(same(&m.destination, m.source.as_ref()?)))
        .collect();
    out.extend(
        (plan.masked_paths.iter())
            .filter(|p| masked_file(p))
            .map(|p| ExternalMount {
                mountpoint: text(p),
                key: "/dev/null".into(),
                source: "/dev/null".into(),
            }),
    );
    if plan.in_user_namespace() {
        out.extend(plan.devices.iter().map(|d| same(&d.path, &d.path)));
    }
    out
}

/// Whether a masked path is a file in the container (so /dev/null is
/// bound on it, not a tmpfs).
fn masked_is_file(pid: i32, path: &Path) -> bool {
    let inside = Path::new("/proc")
        .join(pid.to_string())
        .join("root")
        .join(path.strip_prefix("/").unwrap_or(path));
    std::fs::metadata(inside).is_ok_and(|m| !m.is_dir())
}

/// The init's fds 0–2 as /proc links (`pipe:[123]`, `/dev/null`), as runc
/// writes them: `restore` gives a pipe's key the new stdio in its place.
fn write_descriptors(images: &Path, pid: i32) -> Result<()> {
    let links: Vec<String> = (0..3)
        .map(|fd| {
            std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
                .map(|l| l.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    let path = images.join(DESCRIPTORS_FILE);
    let bytes = serde_json::to_vec(&links).context("serialize the descriptors")?;
    crate::files::replace_file(&path, &bytes, false)
}
