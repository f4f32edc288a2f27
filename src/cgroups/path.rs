//! `linux.cgroupsPath` → a path inside a hierarchy, as runc's cgroupfs
//! driver does it, and the caller's own cgroups from /proc/self/cgroup.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Where the cgroup filesystems are mounted.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The v1 controllers the kernel knows.
pub const V1_CONTROLLERS: &[&str] = &[
    "cpuset",
    "cpu",
    "cpuacct",
    "blkio",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "perf_event",
    "net_prio",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

/// Reject what can never name a cgroup (NUL, newlines).
pub fn check(path: &str) -> Result<()> {
    if path.contains(['\0', '\n']) {
        bail!("linux.cgroupsPath {path:?}: must not contain NUL or newline characters");
    }
    Ok(())
}

/// Lexically clean `path` like runc's CleanPath: `..` never climbs above
/// the start, so a relative path stays below where it is joined.
pub fn clean(path: &str) -> (bool, PathBuf) {
    let absolute = path.starts_with('/');
    let mut out: Vec<&std::ffi::OsStr> = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    (absolute, out.iter().collect())
}

/// The cgroup path inside a hierarchy: absolute ones from its root, relative
/// ones (and the default, the container id) below `own`, the caller's cgroup.
/// runc's cgroupfs driver does the same.
pub fn inner(path: Option<&str>, id: &str, own: &Path) -> PathBuf {
    let (absolute, rel) = clean(path.unwrap_or(id));
    if absolute {
        rel
    } else {
        let own = own.strip_prefix("/").unwrap_or(own);
        own.join(rel)
    }
}

/// /proc/self/cgroup: hierarchy controllers ("memory", "cpu,cpuacct",
/// "name=systemd", "" for cgroup2) → the caller's path in it.
pub fn parse_proc_cgroup(text: &str) -> BTreeMap<String, PathBuf> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let _id = parts.next()?;
            let controllers = parts.next()?;
            let path = parts.next()?;
            Some((controllers.to_string(), PathBuf::from(path)))
        })
        .collect()
}

pub fn own_cgroups() -> Result<BTreeMap<String, PathBuf>> {
    let text = std::fs::read_to_string("/proc/self/cgroup").context("read /proc/self/cgroup")?;
    Ok(parse_proc_cgroup(&text))
}

/// A cgroup mount from /proc/self/mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMount {
    pub mount_point: PathBuf,
    /// The path of the hierarchy that is mounted there (usually "/").
    pub root: PathBuf,
    /// "cgroup" or "cgroup2".
    pub fs_type: String,
    /// v1: the controllers and name=… from the super options, comma joined
    /// in /proc/self/cgroup's order; "" for cgroup2.
    pub hierarchy: String,
}

fn unescape(s: &str) -> String {
    String::from_utf8_lossy(&crate::syscall::unescape_mountinfo(s.as_bytes())).into_owned()
}

/// Cgroup mounts under /sys/fs/cgroup in mountinfo order.
pub fn parse_mountinfo(text: &str) -> Vec<CgroupMount> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        if pre.len() < 5 || post.len() < 3 {
            continue;
        }
        let fs_type = post[0];
        if fs_type != "cgroup" && fs_type != "cgroup2" {
            continue;
        }
        let mount_point = PathBuf::from(unescape(pre[4]));
        if !mount_point.starts_with(CGROUP_ROOT) {
            continue;
        }
        let hierarchy = if fs_type == "cgroup2" {
            String::new()
        } else {
            let known: Vec<&str> = post[2]
                .split(',')
                .filter(|o| o.starts_with("name=") || V1_CONTROLLERS.contains(o))
                .collect();
            known.join(",")
        };
        out.push(CgroupMount {
            mount_point,
            root: PathBuf::from(unescape(pre[3])),
            fs_type: fs_type.to_string(),
            hierarchy,
        });
    }
    out
}

pub fn cgroup_mounts() -> Result<Vec<CgroupMount>> {
    let text =
        std::fs::read_to_string("/proc/self/mountinfo").context("read /proc/self/mountinfo")?;
    Ok(parse_mountinfo(&text))
}

/// Same set of names, whatever their order ("cpuacct,cpu" = "cpu,cpuacct").
pub fn same_hierarchy(a: &str, b: &str) -> bool {
    let mut x: Vec<&str> = a.split(',').collect();
    let mut y: Vec<&str> = b.split(',').collect();
    x.sort_unstable();
    y.sort_unstable();
    x == y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_stay_below_own_cgroup() {
        let own = Path::new("/user.slice/me");
        assert_eq!(inner(None, "c1", own), PathBuf::from("user.slice/me/c1"));
        assert_eq!(
            inner(Some("a/../../../b"), "c1", own),
            PathBuf::from("user.slice/me/b")
        );
        assert_eq!(inner(Some("/x/../../y"), "c1", own), PathBuf::from("y"));
        assert_eq!(inner(Some("/hull/c1"), "c1", own), PathBuf::from("hull/c1"));
    }

    #[test]
    fn proc_cgroup_lines() {
        let m = parse_proc_cgroup("4:memory:/a/b\n1:cpu,cpuacct:/\n0::/x\n9:name=systemd:/s\n");
        assert_eq!(m["memory"], PathBuf::from("/a/b"));
        assert_eq!(m["cpu,cpuacct"], PathBuf::from("/"));
        assert_eq!(m[""], PathBuf::from("/x"));
        assert_eq!(m["name=systemd"], PathBuf::from("/s"));
    }

    #[test]
    fn mountinfo_hierarchies() {
        let text = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
            32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n\
            40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n\
            41 31 0:38 /sub /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n\
            50 23 0:40 / /mnt/other rw - cgroup cgroup rw,memory\n";
        let m = parse_mountinfo(text);
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].hierarchy, "cpu,cpuacct");
        assert_eq!(m[1].hierarchy, "name=systemd");
        assert_eq!(m[2].fs_type, "cgroup2");
        assert_eq!(m[2].root, PathBuf::from("/sub"));
        assert!(same_hierarchy("cpuacct,cpu", "cpu,cpuacct"));
    }
}
