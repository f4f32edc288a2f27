//! Helpers for the attack suite: a private copy of the runtime binary to
//! attack, host-side snapshots to prove nothing changed, and runtime calls
//! with extra fds passed in.

use super::{pass_fds, Running, Runtime, COUNTER};
use std::os::fd::RawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

impl Runtime {
    /// A runtime that runs a copy of the binary under test, so an attack
    /// that overwrites it never damages the build. The copy keeps the
    /// binary's file name (tests of hull-only behaviour look at it).
    pub fn with_binary_copy() -> Runtime {
        let mut rt = Runtime::new();
        let original = rt.bin.clone();
        let dir = rt.work.join("runtime-bin");
        std::fs::create_dir(&dir).unwrap();
        let copy = dir.join(original.file_name().unwrap());
        // Copied by cp, not here: a write fd of this (threaded) process is
        // inherited by whatever another test forks meanwhile, and running the
        // copy then fails with ETXTBSY until that child has exec'd.
        let copied = std::process::Command::new("cp")
            .arg(&original)
            .arg(&copy)
            .status()
            .expect("run cp");
        assert!(copied.success(), "copy the runtime binary: cp {copied}");
        rt.bin = copy;
        rt
    }

    /// The copy run by a `with_binary_copy` runtime still has the bytes of
    /// the binary it was copied from (else it is restored, and the test fails).
    #[track_caller]
    pub fn assert_binary_unchanged(&self) {
        let original = super::runtime();
        assert_ne!(self.bin, original, "not a with_binary_copy runtime");
        let copy = std::fs::read(&self.bin).expect("read the runtime copy");
        let want = std::fs::read(&original).expect("read the runtime binary");
        if copy != want {
            // Put it back so the cleanup can still run the runtime.
            let _ = std::fs::remove_file(&self.bin);
            let _ = std::fs::copy(&original, &self.bin);
        }
        assert!(
            copy == want,
            "the runtime binary {} was modified by the container: first bytes now {:?}",
            self.bin.display(),
            String::from_utf8_lossy(&copy[..copy.len().min(64)])
        );
    }

    /// Whether the copy still starts like an ELF file: cheap enough to
    /// check between the steps of an attack.
    pub fn binary_still_elf(&self) -> bool {
        use std::io::Read;
        let mut head = [0u8; 4];
        std::fs::File::open(&self.bin)
            .and_then(|mut f| f.read_exact(&mut head))
            .is_ok()
            && head == *b"\x7fELF"
    }

    /// Like `spawn`, with `fds` passed to the runtime as its fds 3, 4, ...
    /// (for `--preserve-fds`). The caller keeps owning `fds`.
    pub fn spawn_with_fds(&self, args: &[&str], fds: &[RawFd]) -> Running {
        let fds = fds.to_vec();
        self.spawn_configured(None, args, move |cmd| pass_fds(cmd, fds))
    }
}

/// What a host file or directory looks like: its bytes (or sorted entry
/// names), size and mtime, to prove an attack left it alone.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    content: Vec<u8>,
    entries: Vec<String>,
    mtime: (i64, i64),
    ino: u64,
}

pub fn snapshot(path: &Path) -> Snapshot {
    let md = std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("stat {path:?}: {e}"));
    let (content, entries) = if md.is_dir() {
        (Vec::new(), super::dir_entries(path))
    } else {
        (std::fs::read(path).unwrap_or_default(), Vec::new())
    };
    Snapshot {
        content,
        entries,
        mtime: (md.mtime(), md.mtime_nsec()),
        ino: md.ino(),
    }
}

/// Mount points in the caller's /proc/self/mountinfo at or under `path`.
pub fn host_mounts_under(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let prefix = path.to_string_lossy().into_owned();
    text.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|mp| *mp == prefix || mp.starts_with(&format!("{prefix}/")))
        .map(String::from)
        .collect()
}

/// A unique name for a host path an escape would create (e.g. under /tmp).
pub fn unique_name(what: &str) -> String {
    format!(
        "hull-attack-{what}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A file in the rootfs, with its parent dirs, and a mode.
pub fn write_rootfs_file(rootfs: &Path, path: &str, content: &[u8], mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let full = rootfs.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(&full, content).unwrap();
    std::fs::set_permissions(&full, std::fs::Permissions::from_mode(mode)).unwrap();
    full
}

/// mknod a character device (for fake /dev/null nodes).
pub fn mknod_char(path: &Path, major: u32, minor: u32) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: mknod with a valid NUL-terminated path.
    let rc = unsafe {
        libc::mknod(
            c.as_ptr(),
            libc::S_IFCHR | 0o666,
            libc::makedev(major, minor),
        )
    };
    assert_eq!(rc, 0, "mknod {path:?}: {}", std::io::Error::last_os_error());
}

/// Accept one connection on `listener` (bounded: None when nobody connects
/// in time, e.g. because the runtime refused the bundle first) and receive
/// the fd sent over it, as an engine's console socket does.
pub fn receive_fd_within(
    listener: &std::os::unix::net::UnixListener,
    timeout: std::time::Duration,
) -> Option<std::os::fd::OwnedFd> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};
    use std::os::fd::{AsRawFd, FromRawFd};
    listener.set_nonblocking(true).unwrap();
    let deadline = std::time::Instant::now() + timeout;
    let stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if std::time::Instant::now() > deadline {
                    return None;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => panic!("accept on the console socket: {e}"),
        }
    };
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(timeout)).unwrap();
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<UnixAddr>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .ok()?;
    for c in msg.cmsgs().ok()? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: the kernel just gave us this fd.
            return Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fds[0]) });
        }
    }
    None
}
