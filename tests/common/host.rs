//! Host-side helpers: processes holding namespaces, /proc lookups, and the
//! search for cgroups a container left behind.

use super::STATUS_TIMEOUT;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A process inside a new namespace (`unshare --net sleep`), for tests
/// that join a namespace by path. Killed on drop.
pub struct NsHolder {
    child: Child,
}

impl NsHolder {
    #[track_caller]
    pub fn new_netns() -> NsHolder {
        NsHolder::new("--net", "net")
    }

    /// A mount namespace whose mounts are all shared, as on a systemd host.
    #[track_caller]
    pub fn new_mount_ns_shared() -> NsHolder {
        let holder = NsHolder::spawn(&["--mount", "--propagation", "shared"], "mnt");
        // unshare makes the mounts shared just after it enters the namespace.
        let root_is_shared = || {
            let mountinfo = std::fs::read_to_string(format!("/proc/{}/mountinfo", holder.pid()))
                .unwrap_or_default();
            mountinfo.lines().any(|l| {
                let fields: Vec<&str> = l.split(' ').collect();
                fields.get(4) == Some(&"/")
                    && fields.get(6).is_some_and(|f| f.starts_with("shared:"))
            })
        };
        let deadline = Instant::now() + STATUS_TIMEOUT;
        while !root_is_shared() {
            assert!(
                Instant::now() < deadline,
                "unshare --propagation shared did not make / shared"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        holder
    }

    /// `unshare FLAG sleep 100`, once /proc/PID/ns/KIND is not ours.
    #[track_caller]
    pub fn new(flag: &str, kind: &str) -> NsHolder {
        NsHolder::spawn(&[flag], kind)
    }

    #[track_caller]
    fn spawn(flags: &[&str], kind: &str) -> NsHolder {
        let flag = flags.join(" ");
        let child = Command::new("unshare")
            .args(flags)
            .args(["sleep", "100"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn unshare {flag} sleep 100: {e}"));
        let holder = NsHolder { child };
        let own = ns_inode(std::process::id() as i32, kind).unwrap();
        let deadline = Instant::now() + STATUS_TIMEOUT;
        while ns_inode(holder.pid(), kind).as_deref() == Some(own.as_str()) {
            assert!(
                Instant::now() < deadline,
                "unshare {flag} did not enter a new {kind} namespace"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        holder
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for NsHolder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// readlink of /proc/PID/ns/KIND, e.g. "net:[4026531840]".
pub fn ns_inode(pid: i32, kind: &str) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Start time (field 22 of /proc/PID/stat) of a live, non-zombie process.
pub fn live_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    if matches!(fields.first(), Some(&"Z") | Some(&"X")) {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Poll until PID is gone or a zombie (bounded by STATUS_TIMEOUT).
#[track_caller]
pub fn wait_process_gone(pid: i32) {
    let deadline = Instant::now() + STATUS_TIMEOUT;
    while process_alive(pid) {
        assert!(
            Instant::now() < deadline,
            "process {pid} still alive after {STATUS_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether PID is alive and not a zombie.
pub fn process_alive(pid: i32) -> bool {
    live_start_time(pid).is_some()
}

/// Directories under /sys/fs/cgroup (a few levels deep) named after one of
/// `ids`, wherever the runtime put them.
pub fn cgroup_dirs_named(ids: &[String]) -> Vec<PathBuf> {
    fn walk(dir: &Path, depth: usize, ids: &[String], found: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in rd.filter_map(|e| e.ok()) {
            let Ok(ft) = entry.file_type() else { continue };
            if !ft.is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            // "ID", "prefix-ID" or a systemd "prefix-ID.scope".
            if ids
                .iter()
                .any(|id| name.trim_end_matches(".scope").ends_with(id.as_str()))
            {
                found.push(entry.path());
            } else if depth > 0 {
                walk(&entry.path(), depth - 1, ids, found);
            }
        }
    }
    let mut found = Vec::new();
    if !ids.is_empty() {
        walk(Path::new("/sys/fs/cgroup"), 4, ids, &mut found);
    }
    found
}

/// Live processes (other than this one) with `needle` in their command line.
pub fn pids_with_arg(needle: &str) -> Vec<i32> {
    let own = std::process::id() as i32;
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != own && live_start_time(*pid).is_some())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            cmdline
                .split(|b| *b == 0)
                .any(|arg| arg == needle.as_bytes())
        })
        .collect()
}

/// The names in `dir`, sorted.
pub fn dir_entries(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {dir:?}: {e}"))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Mount a tmpfs with `options` (may be empty) on `target` for the
/// closure, then detach it, also when the closure panics.
pub fn with_tmpfs_on(target: &Path, options: &str, f: impl FnOnce()) {
    let mut mount = Command::new("mount");
    mount.args(["-t", "tmpfs"]);
    if !options.is_empty() {
        mount.args(["-o", options]);
    }
    let status = mount.arg("hull-test").arg(target).status().unwrap();
    assert!(status.success(), "mount a tmpfs on {target:?}");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    let status = Command::new("umount")
        .arg("-l")
        .arg(target)
        .status()
        .unwrap();
    assert!(status.success(), "umount {target:?}");
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
