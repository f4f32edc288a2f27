//! A backend on this host, for the shared checks: the runtime that makes
//! containers on it, where a container's limit files are, what it supports.
//! (The VM backend runs the exported table instead: see checks.rs.)

use super::checks::{Backend, Feature, Need};
use crate::common::*;
use std::path::{Path, PathBuf};

/// The cgroup path a test uses: named after the container id, so the
/// runtime guard also reports it when left behind.
pub fn cg_path(id: &str) -> String {
    format!("/hull-test-{id}")
}

/// Whether `controller` has a cgroup v1 hierarchy at /sys/fs/cgroup/NAME.
pub fn has_v1(controller: &str) -> bool {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    mounts.lines().any(|l| {
        let Some((pre, post)) = l.split_once(" - ") else {
            return false;
        };
        pre.split(' ').nth(4) == Some(&format!("/sys/fs/cgroup/{controller}"))
            && post.starts_with("cgroup ")
    })
}

pub fn v1_dir(controller: &str, path: &str) -> PathBuf {
    Path::new("/sys/fs/cgroup")
        .join(controller)
        .join(path.trim_start_matches('/'))
}

/// The host's cgroup2 hierarchy, as seen from here.
pub fn v2_root() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    mounts.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        let mp = pre.split(' ').nth(4)?;
        (post.starts_with("cgroup2 ") && mp.starts_with("/sys/fs/cgroup"))
            .then(|| PathBuf::from(mp))
    })
}

pub fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("read {:?}: {e}", dir.join(file)))
        .trim()
        .to_string()
}

/// Every directory of `path` in any hierarchy (there must be none after delete).
pub fn cgroup_dirs(path: &str) -> Vec<PathBuf> {
    std::fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join(path.trim_start_matches('/')))
        .filter(|p| p.is_dir())
        .collect()
}

/// A backend ready to run checks: its runtime and, for the v2 view, the
/// hierarchy's mount point here.
pub struct On {
    pub backend: Backend,
    pub rt: Runtime,
    /// The cgroup2 hierarchy as this process sees it (v2 view only).
    pub v2_root: Option<PathBuf>,
}

impl On {
    /// The backend's runtime, or why it cannot run here.
    pub fn new(backend: Backend) -> Result<On, String> {
        match backend {
            Backend::HostV1 => {
                if !has_v1("memory") && !has_v1("pids") {
                    return Err("this host has no cgroup v1 hierarchies".into());
                }
                Ok(On {
                    backend,
                    rt: Runtime::new(),
                    v2_root: None,
                })
            }
            Backend::V2View => {
                let root = v2_root().ok_or("no cgroup2 hierarchy under /sys/fs/cgroup")?;
                if !is_hull() {
                    return Err("the v2 view wraps the hull binary".into());
                }
                let mut rt = Runtime::new();
                let wrapper = rt.work.join("hull-v2-view");
                std::fs::write(
                    &wrapper,
                    format!(
                        "#!/bin/sh\nexec unshare -m --propagation private sh -c 'umount -R /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && exec \"$0\" \"$@\"' {} \"$@\"\n",
                        rt.bin.display()
                    ),
                )
                .unwrap();
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
                rt.bin = wrapper;
                Ok(On {
                    backend,
                    rt,
                    v2_root: Some(root),
                })
            }
            Backend::Vm => Err("the VM runs the exported table (tests/vm_cgroup_v2.rs)".into()),
        }
    }

    /// The backend with every one of `needs`, or what it lacks.
    pub fn with(backend: Backend, needs: &[Need]) -> Result<On, String> {
        let on = On::new(backend)?;
        on.supports(needs)?;
        Ok(on)
    }

    fn controllers(&self) -> Vec<String> {
        match &self.v2_root {
            Some(root) => read(root, "cgroup.controllers")
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            None => ["memory", "cpu", "cpuset", "pids"]
                .into_iter()
                .filter(|c| has_v1(c))
                .map(str::to_string)
                .collect(),
        }
    }

    /// Ok when the backend has every one of `needs`, else what it lacks.
    pub fn supports(&self, needs: &[Need]) -> Result<(), String> {
        let controllers = self.controllers();
        let missing: Vec<String> = needs
            .iter()
            .filter(|need| match need {
                Need::Controller(c) => !controllers.iter().any(|have| have == c.name()),
                Need::Feature(Feature::Unified) => self.v2_root.is_none(),
                // Known per file: the check looks for the file itself.
                Need::Feature(Feature::Swap) => false,
            })
            .map(|need| format!("{need:?}"))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let what = match self.backend {
            Backend::HostV1 => "this host's cgroup v1",
            _ => "the cgroup2 hierarchy (needs a cgroup v2 host)",
        };
        Err(format!("{what} lacks {}", missing.join(", ")))
    }

    /// A limit file of the container's cgroup `path`: on v1 in the
    /// hierarchy its name starts with (`memory.max` → memory).
    pub fn limit_file(&self, path: &str, file: &str) -> PathBuf {
        self.dir(file.split('.').next().unwrap(), path).join(file)
    }

    /// The container's cgroup directory (v1: in `controller`'s hierarchy).
    pub fn dir(&self, controller: &str, path: &str) -> PathBuf {
        match &self.v2_root {
            Some(root) => root.join(path.trim_start_matches('/')),
            None => v1_dir(controller, path),
        }
    }

    /// A bundle with `resources` and a cgroupsPath of its own.
    pub fn bundle_with(&self, id: &str, resources: serde_json::Value) -> Bundle {
        let mut b = self.rt.bundle();
        b.set("/linux/cgroupsPath", serde_json::json!(cg_path(id)));
        b.set("/linux/resources", resources);
        b
    }

    /// No directory of `path` is left (removed if a failed test left one).
    #[track_caller]
    pub fn assert_no_cgroup(&self, path: &str) {
        let left = match &self.v2_root {
            Some(root) => {
                let dir = root.join(path.trim_start_matches('/'));
                if dir.exists() {
                    vec![dir]
                } else {
                    vec![]
                }
            }
            None => cgroup_dirs(path),
        };
        for dir in &left {
            // Ours (named after this test's id): removed so nothing outlives it.
            let _ = std::fs::remove_dir(dir);
        }
        assert!(left.is_empty(), "cgroup dirs left behind: {left:?}");
    }
}
