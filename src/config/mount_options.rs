//! Turning an OCI mount's `options` into mount(2) flags, propagation flags,
//! recursive mount_setattr(2) attributes and the data string, like runc does.

use nix::mount::MsFlags;

/// What `options` of one mount ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags for mount(2).
    pub flags: MsFlags,
    /// Flags the option list turns off (used for remounts of bind mounts).
    pub cleared: MsFlags,
    /// Propagation changes, applied one by one after the mount.
    pub propagation: Vec<MsFlags>,
    /// mount_setattr attributes to set and clear, recursively.
    pub rec_attr_set: u64,
    pub rec_attr_clr: u64,
    /// Everything else, passed to the filesystem as its data string.
    pub data: Vec<String>,
    /// `idmap`/`ridmap` seen (id-mapped mounts); `ridmap` maps submounts too.
    pub idmap: bool,
    pub idmap_recursive: bool,
    /// `tmpcopyup` seen (runc's extension: copy the image's files into the tmpfs).
    pub tmpcopyup: bool,
}

// Values from linux/mount.h; libc does not export all of them.
pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
pub const MOUNT_ATTR__ATIME: u64 = 0x70;
pub const MOUNT_ATTR_RELATIME: u64 = 0x0;
pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x200000;

/// Every option `parse` applies itself (the rest go to the filesystem as
/// data). `tmpcopyup` is recognised but not applied, so it is not here;
/// `features` reports this list.
pub const APPLIED: &[&str] = &[
    "defaults",
    "ro",
    "rw",
    "suid",
    "nosuid",
    "dev",
    "nodev",
    "exec",
    "noexec",
    "sync",
    "async",
    "dirsync",
    "remount",
    "mand",
    "nomand",
    "atime",
    "noatime",
    "diratime",
    "nodiratime",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
    "lazytime",
    "nolazytime",
    "iversion",
    "noiversion",
    "silent",
    "loud",
    "nosymfollow",
    "symfollow",
    "bind",
    "rbind",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "unbindable",
    "runbindable",
    "rro",
    "rrw",
    "rnosuid",
    "rsuid",
    "rnodev",
    "rdev",
    "rnoexec",
    "rexec",
    "rnodiratime",
    "rdiratime",
    "rrelatime",
    "rnorelatime",
    "rnoatime",
    "ratime",
    "rstrictatime",
    "rnostrictatime",
    "rnosymfollow",
    "rsymfollow",
    "idmap",
    "ridmap",
];

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            cleared: MsFlags::empty(),
            propagation: Vec::new(),
            rec_attr_set: 0,
            rec_attr_clr: 0,
            data: Vec::new(),
            idmap: false,
            idmap_recursive: false,
            tmpcopyup: false,
        }
    }
}

impl MountOptions {
    pub fn parse(options: &[String]) -> MountOptions {
        let mut out = MountOptions::default();
        for opt in options {
            out.apply(opt);
        }
        out
    }

    fn set(&mut self, flag: MsFlags) {
        self.flags.insert(flag);
        self.cleared.remove(flag);
    }

    fn clear(&mut self, flag: MsFlags) {
        self.flags.remove(flag);
        self.cleared.insert(flag);
    }

    fn rec(&mut self, set: u64, clr: u64) {
        self.rec_attr_set = (self.rec_attr_set & !clr) | set;
        self.rec_attr_clr = (self.rec_attr_clr & !set) | clr;
    }

    fn apply(&mut self, opt: &str) {
        match opt {
            "defaults" => {}
            "ro" => self.set(MsFlags::MS_RDONLY),
            "rw" => self.clear(MsFlags::MS_RDONLY),
            "suid" => self.clear(MsFlags::MS_NOSUID),
            "nosuid" => self.set(MsFlags::MS_NOSUID),
            "dev" => self.clear(MsFlags::MS_NODEV),
            "nodev" => self.set(MsFlags::MS_NODEV),
            "exec" => self.clear(MsFlags::MS_NOEXEC),
            "noexec" => self.set(MsFlags::MS_NOEXEC),
            "sync" => self.set(MsFlags::MS_SYNCHRONOUS),
            "async" => self.clear(MsFlags::MS_SYNCHRONOUS),
            "dirsync" => self.set(MsFlags::MS_DIRSYNC),
            "remount" => self.set(MsFlags::MS_REMOUNT),
            "mand" => self.set(MsFlags::MS_MANDLOCK),
            "nomand" => self.clear(MsFlags::MS_MANDLOCK),
            "atime" => self.clear(MsFlags::MS_NOATIME),
            "noatime" => self.set(MsFlags::MS_NOATIME),
            "diratime" => self.clear(MsFlags::MS_NODIRATIME),
            "nodiratime" => self.set(MsFlags::MS_NODIRATIME),
            "relatime" => self.set(MsFlags::MS_RELATIME),
            "norelatime" => self.clear(MsFlags::MS_RELATIME),
            "strictatime" => self.set(MsFlags::MS_STRICTATIME),
            "nostrictatime" => self.clear(MsFlags::MS_STRICTATIME),
            "lazytime" => self.set(MsFlags::MS_LAZYTIME),
            "nolazytime" => self.clear(MsFlags::MS_LAZYTIME),
            "iversion" => self.set(MsFlags::MS_I_VERSION),
            "noiversion" => self.clear(MsFlags::MS_I_VERSION),
            "silent" => self.set(MsFlags::MS_SILENT),
            "loud" => self.clear(MsFlags::MS_SILENT),
            "nosymfollow" => self.set(MsFlags::from_bits_retain(libc::MS_NOSYMFOLLOW)),
            "symfollow" => self.clear(MsFlags::from_bits_retain(libc::MS_NOSYMFOLLOW)),
            "bind" => self.set(MsFlags::MS_BIND),
            "rbind" => self.set(MsFlags::MS_BIND | MsFlags::MS_REC),
            "private" => self.propagation.push(MsFlags::MS_PRIVATE),
            "rprivate" => self.propagation.push(MsFlags::MS_PRIVATE | MsFlags::MS_REC),
            "shared" => self.propagation.push(MsFlags::MS_SHARED),
            "rshared" => self.propagation.push(MsFlags::MS_SHARED | MsFlags::MS_REC),
            "slave" => self.propagation.push(MsFlags::MS_SLAVE),
            "rslave" => self.propagation.push(MsFlags::MS_SLAVE | MsFlags::MS_REC),
            "unbindable" => self.propagation.push(MsFlags::MS_UNBINDABLE),
            "runbindable" => self
                .propagation
                .push(MsFlags::MS_UNBINDABLE | MsFlags::MS_REC),
            "rro" => self.rec(MOUNT_ATTR_RDONLY, 0),
            "rrw" => self.rec(0, MOUNT_ATTR_RDONLY),
            "rnosuid" => self.rec(MOUNT_ATTR_NOSUID, 0),
            "rsuid" => self.rec(0, MOUNT_ATTR_NOSUID),
            "rnodev" => self.rec(MOUNT_ATTR_NODEV, 0),
            "rdev" => self.rec(0, MOUNT_ATTR_NODEV),
            "rnoexec" => self.rec(MOUNT_ATTR_NOEXEC, 0),
            "rexec" => self.rec(0, MOUNT_ATTR_NOEXEC),
            "rnodiratime" => self.rec(MOUNT_ATTR_NODIRATIME, 0),
            "rdiratime" => self.rec(0, MOUNT_ATTR_NODIRATIME),
            "rrelatime" => self.rec(MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME),
            "rnorelatime" => self.rec(0, 0),
            "rnoatime" => self.rec(MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME),
            "ratime" => self.rec(0, MOUNT_ATTR__ATIME),
            "rstrictatime" => self.rec(MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME),
            "rnostrictatime" => self.rec(0, 0),
            "rnosymfollow" => self.rec(MOUNT_ATTR_NOSYMFOLLOW, 0),
            "rsymfollow" => self.rec(0, MOUNT_ATTR_NOSYMFOLLOW),
            "idmap" => self.idmap = true,
            "ridmap" => {
                self.idmap = true;
                self.idmap_recursive = true;
            }
            "tmpcopyup" => self.tmpcopyup = true,
            other => self.data.push(other.to_string()),
        }
    }

    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }

    pub fn is_recursive_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND | MsFlags::MS_REC)
    }

    pub fn data_string(&self) -> String {
        self.data.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(opts: &[&str]) -> MountOptions {
        MountOptions::parse(&opts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn flags_and_data_are_split() {
        let o = parse(&["nosuid", "nodev", "mode=755", "size=64k", "ro"]);
        assert_eq!(
            o.flags,
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_RDONLY
        );
        assert_eq!(o.data_string(), "mode=755,size=64k");
    }

    #[test]
    fn later_options_win() {
        let o = parse(&["ro", "rw", "noexec", "exec"]);
        assert!(o.flags.is_empty());
        assert!(o.cleared.contains(MsFlags::MS_RDONLY | MsFlags::MS_NOEXEC));
    }

    #[test]
    fn bind_and_propagation() {
        let o = parse(&["rbind", "rprivate", "shared"]);
        assert!(o.is_bind() && o.is_recursive_bind());
        assert_eq!(
            o.propagation,
            vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC, MsFlags::MS_SHARED]
        );
    }

    #[test]
    fn every_applied_option_is_parsed_as_an_option() {
        for opt in APPLIED {
            let o = parse(&[opt]);
            assert!(o.data.is_empty(), "{opt} went to the data string");
            assert!(!o.tmpcopyup, "{opt}");
        }
        // Recognised, not applied: never reported.
        assert!(!APPLIED.contains(&"tmpcopyup"));
        assert!(parse(&["tmpcopyup"]).tmpcopyup);
    }

    #[test]
    fn recursive_attributes() {
        let o = parse(&["rro", "rnosuid", "rnoatime"]);
        assert_eq!(
            o.rec_attr_set,
            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME
        );
        assert_eq!(o.rec_attr_clr, MOUNT_ATTR__ATIME);
        let o = parse(&["rro", "rrw"]);
        assert_eq!(o.rec_attr_set, 0);
        assert_eq!(o.rec_attr_clr, MOUNT_ATTR_RDONLY);
    }
}
