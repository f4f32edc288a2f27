//! OCI bundles for tests: a busybox + probe rootfs and a config.json built
//! from `hull spec`'s default, rewritten after every change.

use super::probe_path;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const APPLETS: &[&str] = &[
    "sh", "cat", "ls", "echo", "sleep", "true", "false", "hostname", "id", "mount", "stat",
    "touch", "mkdir", "env", "pwd", "test", "kill", "ps", "trap", "grep", "readlink", "rm", "wc",
    "head",
];

/// `hull spec`'s default config (src/commands/spec.rs, `default_spec`),
/// as the hull binary cargo built prints it, also when the tests run
/// against another runtime.
pub fn hull_spec() -> Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "hull-spec-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hull"))
            .args(["spec", "--bundle"])
            .arg(&dir)
            .output()
            .expect("run hull spec");
        let text = std::fs::read(dir.join("config.json"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(out.status.success(), "hull spec: {out:?}");
        serde_json::from_slice(&text.unwrap()).expect("hull spec writes JSON")
    })
    .clone()
}

/// The config a bundle starts with: `hull spec`'s default with the
/// harness's changes, each one something tests rely on.
pub fn default_config() -> Value {
    let mut config = hull_spec();
    // runc spec's version: hooks.rs checks that the state carries it through.
    config["ociVersion"] = json!("1.0.2-dev");
    // Output is captured, never a terminal; the probe reports by default.
    config["process"]["terminal"] = json!(false);
    config["process"]["args"] = json!(["/bin/probe"]);
    // runc spec's hostname, which container.rs and seccomp.rs expect.
    config["hostname"] = json!("runc");
    let linux = config["linux"].as_object_mut().expect("linux is an object");
    // No device cgroup rules: tests add the resources they test.
    linux.remove("resources");
    // No cgroup namespace: tests read their cgroup's host path in
    // /proc/self/cgroup (cgroups.rs, mounts.rs add one where they test it).
    linux["namespaces"]
        .as_array_mut()
        .expect("namespaces is an array")
        .retain(|ns| ns["type"] != "cgroup");
    config
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
