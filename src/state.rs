//! The state store: one directory per container under `--root`, holding
//! `state.json` (written atomically: everything later commands need from
//! create time) and `exec.fifo`, locked while changed.

use std::collections::HashMap;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

pub const DEFAULT_ROOT: &str = "/run/hull";
pub const STATE_FILE: &str = "state.json";
pub const EXEC_FIFO: &str = "exec.fifo";
/// What `delete --force` needs when state.json is missing (a create that
/// was killed) or unreadable: written before create makes anything else.
pub const CLEANUP_FILE: &str = "cleanup.json";
const MAX_ID_LEN: usize = 1024;

/// What hull keeps about a container between commands.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredState {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub id: String,
    /// Host pid of the container's init.
    pub pid: i32,
    /// Start time of the init (field 22 of /proc/PID/stat), so that a reused
    /// pid is never taken for the container.
    pub pid_start_time: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    /// Whether the container has a pid namespace of its own (kill --all).
    #[serde(default)]
    pub own_pid_namespace: bool,
    /// The hooks still to run at start (poststart) and delete (poststop).
    #[serde(default, skip_serializing_if = "crate::hooks::HooksPlan::is_empty")]
    pub hooks: crate::hooks::HooksPlan,
    /// The container's cgroup (absent in state files from before cgroups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<crate::cgroups::CgroupState>,
    /// Without a mount namespace: its mounts below root.path on the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_mounts: Option<crate::rootfs::host_mounts::HostMounts>,
    /// linux.seccomp as config.json gave it: `exec` plans the filter of
    /// its process from it (absent in state files from before, which kept
    /// it in a file of its own, and for a container without a filter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<oci_spec::runtime::LinuxSeccomp>,
    /// linux.memoryPolicy as planned: `exec` sets it for its process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_policy: Option<crate::security::mempolicy::MemoryPolicyPlan>,
    /// linux.intelRdt: the container's resctrl groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resctrl: Option<crate::resctrl::RdtState>,
}

/// Enough to find and remove everything a container has on the host
/// without its state.json: its cgroup (with whether hull makes it), the
/// mounts below root.path of a container without a mount namespace, its
/// resctrl groups and, once cloned, its init.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CleanupRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<crate::cgroups::CgroupState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_mounts: Option<crate::rootfs::host_mounts::HostMounts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resctrl: Option<crate::resctrl::RdtState>,
    #[serde(default)]
    pub pid: i32,
    #[serde(default)]
    pub pid_start_time: u64,
}

/// Replace the container's cleanup record. Not fsynced: it guards against
/// a killed hull, not a lost machine (the state root is a tmpfs).
pub fn save_cleanup(dir: &Path, record: &CleanupRecord) -> Result<()> {
    let bytes = serde_json::to_vec(record).context("serialize the cleanup record")?;
    crate::files::replace_file(&dir.join(CLEANUP_FILE), &bytes, false)
}

/// The cleanup record, if one is there and readable.
pub fn load_cleanup(dir: &Path) -> Option<CleanupRecord> {
    let bytes = std::fs::read(dir.join(CLEANUP_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Where `restore` binds the rootfs for CRIU, in the state dir.
pub const CRIU_ROOT: &str = "criu-root";

/// Remove a container's state dir. It holds only files hull wrote, but a
/// restore killed midway leaves the rootfs bound at CRIU_ROOT: that is
/// detached first, and if a mount is still there nothing is removed (a
/// recursive removal would go on into the rootfs).
pub fn remove_dir(dir: &Path) -> Result<()> {
    let bind = dir.join(CRIU_ROOT);
    if bind.exists() {
        let _ = nix::mount::umount2(&bind, nix::mount::MntFlags::MNT_DETACH);
        if crate::syscall::is_mount_point(&bind).unwrap_or(true) {
            bail!("remove state dir {dir:?}: {bind:?} is still a mount point");
        }
    }
    std::fs::remove_dir_all(dir).with_context(|| format!("remove state dir {dir:?}"))
}

/// Reject ids that could name a path outside the state root.
pub fn validate_id(id: &str) -> Result<()> {
    if id.is_empty() {
        bail!("invalid container id \"\": it must not be empty");
    }
    if id.len() > MAX_ID_LEN {
        bail!(
            "invalid container id {:?}...: it is {} bytes long, at most {MAX_ID_LEN} are allowed",
            &id[..id
                .char_indices()
                .nth(16)
                .map(|(i, _)| i)
                .unwrap_or(id.len())],
            id.len()
        );
    }
    if id == "." || id == ".." {
        bail!("invalid container id {id:?}: it must not be \".\" or \"..\"");
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.')))
    {
        bail!("invalid container id {id:?}: {c:?} is not allowed (use letters, digits, _ + - .)");
    }
    Ok(())
}

/// The state root (`--root`), created on first use with mode 0700.
pub struct StateRoot {
    pub path: PathBuf,
}

impl StateRoot {
    /// `--root`, else /run/hull for root and $XDG_RUNTIME_DIR/hull (or
    /// /run/user/UID/hull) for anyone else: each user's containers apart.
    pub fn new(root: Option<&Path>) -> StateRoot {
        let path = match root {
            Some(p) => p.to_path_buf(),
            None if nix::unistd::geteuid().is_root() => PathBuf::from(DEFAULT_ROOT),
            None => match std::env::var_os("XDG_RUNTIME_DIR") {
                Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("hull"),
                _ => PathBuf::from(format!("/run/user/{}/hull", nix::unistd::geteuid())),
            },
        };
        StateRoot { path }
    }

    pub fn ensure(&self) -> Result<()> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.path)
            .with_context(|| format!("create state root {:?}", self.path))
    }

    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.path.join(id)
    }

    /// Ids of every container directory that has a state file.
    pub fn ids(&self) -> Result<Vec<String>> {
        let entries = match std::fs::read_dir(&self.path) {
            Ok(e) => e,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(err).with_context(|| format!("read {:?}", self.path)),
        };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join(STATE_FILE).exists())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        Ok(ids)
    }
}

/// Replace state.json: readers see the old file or the new one (rename),
/// never a part. Not fsynced, as runc and crun do not: it describes
/// processes, which a lost machine loses too (and the state root is
/// usually a tmpfs); an fsync cost a third of create on ext4.
pub fn save(dir: &Path, state: &StoredState) -> Result<()> {
    prepare(dir, state)?.commit()
}

/// state.json written beside its place, for `commit` to put there.
pub fn prepare(dir: &Path, state: &StoredState) -> Result<crate::files::PendingFile> {
    let bytes = serde_json::to_vec(state).context("serialize state")?;
    crate::files::write_pending(&dir.join(STATE_FILE), &bytes, false)
}

pub fn load(dir: &Path) -> std::io::Result<StoredState> {
    let bytes = std::fs::read(dir.join(STATE_FILE))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(validate_id("abc-1.2_x+y").is_ok());
        assert!(validate_id("").is_err());
        assert!(validate_id("..").is_err());
        assert!(validate_id("../x").is_err());
        assert!(validate_id("a/b").is_err());
        assert!(validate_id(&"a".repeat(1024)).is_ok());
        assert!(validate_id(&"a".repeat(1025)).is_err());
        assert!(validate_id("a b").is_err());
    }

    #[test]
    fn state_without_cgroup_still_loads() {
        // A state.json written before hull made cgroups.
        let dir = tempfile::tempdir().unwrap();
        let old = r#"{"ociVersion":"1.2.0","id":"x","pid":42,"pid_start_time":7,
            "bundle":"/b","rootfs":"/b/rootfs","created":"2026-01-01T00:00:00Z",
            "own_pid_namespace":true}"#;
        std::fs::write(dir.path().join(STATE_FILE), old).unwrap();
        let state = load(dir.path()).unwrap();
        assert_eq!(state.cgroup, None);
        assert!(state.own_pid_namespace);
    }

    #[test]
    fn seccomp_profile_rides_in_the_state() {
        // Old state files (the profile was in seccomp.json then) load
        // without one; a profile written with the state reads back as given.
        let dir = tempfile::tempdir().unwrap();
        let old = r#"{"ociVersion":"1.2.0","id":"x","pid":42,"pid_start_time":7,
            "bundle":"/b","rootfs":"/b/rootfs","created":"2026-01-01T00:00:00Z"}"#;
        std::fs::write(dir.path().join(STATE_FILE), old).unwrap();
        let mut state = load(dir.path()).unwrap();
        assert_eq!(state.seccomp, None);
        let profile: oci_spec::runtime::LinuxSeccomp = serde_json::from_str(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}"#,
        )
        .unwrap();
        state.seccomp = Some(profile);
        save(dir.path(), &state).unwrap();
        assert_eq!(load(dir.path()).unwrap(), state);
    }

    #[test]
    fn atomic_write_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let state = StoredState {
            oci_version: "1.2.0".into(),
            id: "x".into(),
            pid: 42,
            pid_start_time: 7,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: "2026-01-01T00:00:00Z".into(),
            owner: String::new(),
            annotations: HashMap::new(),
            own_pid_namespace: true,
            hooks: Default::default(),
            cgroup: None,
            host_mounts: None,
            seccomp: None,
            memory_policy: None,
            resctrl: None,
        };
        save(dir.path(), &state).unwrap();
        save(dir.path(), &state).unwrap();
        assert_eq!(load(dir.path()).unwrap(), state);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(STATE_FILE)]);
    }

    /// A rootfs still bound in the state dir (a restore killed midway) is
    /// detached before the dir goes, never emptied through the bind.
    #[test]
    fn remove_dir_detaches_the_criu_root_and_keeps_the_rootfs() {
        let rootfs = tempfile::tempdir().unwrap();
        std::fs::write(rootfs.path().join("keep"), "x").unwrap();
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("c1");
        let bind = dir.join(CRIU_ROOT);
        std::fs::create_dir_all(&bind).unwrap();
        let flags = nix::mount::MsFlags::MS_BIND;
        if nix::mount::mount(
            Some(rootfs.path()),
            &bind,
            None::<&str>,
            flags,
            None::<&str>,
        )
        .is_err()
        {
            eprintln!("SKIP: no privilege to bind-mount here");
            return;
        }
        assert!(crate::syscall::is_mount_point(&bind).unwrap());
        remove_dir(&dir).unwrap();
        assert!(!dir.exists());
        assert!(
            rootfs.path().join("keep").exists(),
            "the rootfs was emptied"
        );
    }
}
