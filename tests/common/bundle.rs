//! OCI bundles for tests: a busybox + probe rootfs and a config.json built
//! from `runc spec` output, rewritten after every change.

use super::probe_path;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const APPLETS: &[&str] = &[
    "sh", "cat", "ls", "echo", "sleep", "true", "false", "hostname", "id", "mount", "stat",
    "touch", "mkdir", "env", "pwd", "test", "kill", "ps", "trap", "grep", "readlink", "rm", "wc",
    "head",
];

/// The config a bundle starts with: `runc spec` output, without
/// `linux.resources.devices`, with `terminal: false` and the probe as process.
pub fn default_config() -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["/bin/probe"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": caps, "effective": caps, "permitted": caps, "ambient": caps
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "runc",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
            ],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

/// An OCI bundle in a temp dir: busybox + probe rootfs and a config.json that
/// is rewritten after every change.
pub struct Bundle {
    pub dir: PathBuf,
    pub config: Value,
}

impl Bundle {
    pub fn create(dir: PathBuf) -> Bundle {
        let rootfs = dir.join("rootfs");
        for sub in ["bin", "proc", "sys", "dev", "tmp", "etc"] {
            std::fs::create_dir_all(rootfs.join(sub)).unwrap();
        }
        std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).expect("copy /bin/busybox");
        std::fs::copy(probe_path(), rootfs.join("bin/probe")).expect("copy probe");
        for applet in APPLETS {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
        }
        std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
        std::fs::write(rootfs.join("etc/group"), "root:x:0:\n").unwrap();
        let bundle = Bundle {
            dir,
            config: default_config(),
        };
        bundle.save();
        bundle
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    pub fn save(&self) {
        std::fs::write(
            self.config_path(),
            serde_json::to_vec_pretty(&self.config).unwrap(),
        )
        .unwrap();
    }

    /// Replace config.json with raw text (for malformed input).
    pub fn write_raw_config(&self, text: &str) {
        std::fs::write(self.config_path(), text).unwrap();
    }

    /// Change the config in place and save it.
    pub fn edit(&mut self, f: impl FnOnce(&mut Value)) -> &mut Self {
        f(&mut self.config);
        self.save();
        self
    }

    /// Set a value at a JSON pointer ("/process/user/uid"), creating objects
    /// on the way.
    pub fn set(&mut self, pointer: &str, value: Value) -> &mut Self {
        let mut cur = &mut self.config;
        for key in pointer.trim_start_matches('/').split('/') {
            if !cur.is_object() {
                *cur = json!({});
            }
            cur = cur
                .as_object_mut()
                .unwrap()
                .entry(key.to_string())
                .or_insert(Value::Null);
        }
        *cur = value;
        self.save();
        self
    }

    /// Remove the value at a JSON pointer, if present.
    pub fn remove(&mut self, pointer: &str) -> &mut Self {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        if let Some(obj) = self
            .config
            .pointer_mut(parent)
            .and_then(Value::as_object_mut)
        {
            obj.remove(key);
        }
        self.save();
        self
    }

    /// A user namespace of its own mapping `size` ids from 0 to `host_base`
    /// on: the rootfs is given to that root, and the path down to the
    /// bundle made searchable by it (it is nobody to root-owned dirs).
    pub fn user_namespace(&mut self, host_base: u32, size: u32) -> &mut Self {
        chown_tree(&self.rootfs(), host_base, host_base);
        open_path_to(&self.dir);
        let map = json!([{"containerID": 0, "hostID": host_base, "size": size}]);
        self.edit(|c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "user"}));
            c["linux"]["uidMappings"] = map.clone();
            c["linux"]["gidMappings"] = map;
        })
    }

    pub fn args(&mut self, args: &[&str]) -> &mut Self {
        self.set("/process/args", json!(args))
    }

    /// The probe with operations separated by "--" (see tests/bin/probe.rs).
    pub fn probe(&mut self, ops: &[&str]) -> &mut Self {
        let mut args = vec!["/bin/probe"];
        args.extend_from_slice(ops);
        self.args(&args)
    }

    pub fn shell(&mut self, script: &str) -> &mut Self {
        self.args(&["/bin/sh", "-c", script])
    }

    pub fn env(&mut self, env: &[&str]) -> &mut Self {
        self.set("/process/env", json!(env))
    }

    pub fn cwd(&mut self, cwd: &str) -> &mut Self {
        self.set("/process/cwd", json!(cwd))
    }

    pub fn hostname(&mut self, name: &str) -> &mut Self {
        self.set("/hostname", json!(name))
    }

    pub fn readonly_root(&mut self, readonly: bool) -> &mut Self {
        self.set("/root/readonly", json!(readonly))
    }

    pub fn add_mount(&mut self, mount: Value) -> &mut Self {
        self.edit(|c| c["mounts"].as_array_mut().unwrap().push(mount))
    }

    /// Replace the namespace list, e.g. `&[json!({"type": "pid"})]`.
    pub fn namespaces(&mut self, namespaces: Vec<Value>) -> &mut Self {
        self.set("/linux/namespaces", Value::Array(namespaces))
    }

    /// Add a namespace or replace the entry of the same type.
    pub fn namespace(&mut self, ns: Value) -> &mut Self {
        self.edit(|c| {
            let list = c["linux"]["namespaces"].as_array_mut().unwrap();
            list.retain(|n| n["type"] != ns["type"]);
            list.push(ns);
        })
    }

    pub fn without_namespace(&mut self, kind: &str) -> &mut Self {
        self.edit(|c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != kind)
        })
    }
}

/// Give `path` and everything under it to `uid:gid` (symlinks themselves).
pub fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).unwrap();
    if std::fs::symlink_metadata(path).unwrap().is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path(), uid, gid);
        }
    }
}

/// Every root-owned directory from `/` down to `path` searchable by others.
pub fn open_path_to(path: &Path) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    for dir in path.ancestors() {
        let meta = std::fs::metadata(dir).unwrap();
        if meta.uid() == 0 && meta.mode() & 0o001 == 0 {
            let mode = meta.mode() & 0o7777 | 0o011;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
}
