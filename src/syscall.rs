//! Thin safe wrappers for the syscalls libc and nix do not wrap (or wrap
//! without the flags hull needs). Each `unsafe` is next to its syscall.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

fn check(rc: libc::c_long) -> io::Result<libc::c_long> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// The child's side of a fork-like clone, or the parent's with the child's
/// pid and a pidfd for it.
pub enum CloneResult {
    Child,
    Parent { pid: i32, pidfd: OwnedFd },
}

/// clone(2) without a new stack, like fork(2) but with namespace flags, and
/// CLONE_PIDFD so the parent holds a pidfd from the start (no pid reuse race).
/// Only call this while the process is single-threaded.
pub fn clone_fork(flags: libc::c_int) -> io::Result<CloneResult> {
    let mut pidfd: libc::c_int = -1;
    // SAFETY: with a null stack the child continues on a copy of our stack,
    // exactly like fork(); hull is single-threaded here, so no lock can be
    // held by another thread in the child. The pidfd pointer is valid.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags | libc::CLONE_PIDFD | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            &mut pidfd as *mut libc::c_int,
            0usize,
            0usize,
        )
    };
    clone_result(rc, pidfd)
}

/// struct clone_args up to `cgroup` (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// clone3(2) like `clone_fork`, with the child born in the cgroup v2
/// directory `cgroup` (CLONE_INTO_CGROUP): it never runs outside it.
/// Only call this while the process is single-threaded.
pub fn clone_fork_into(flags: libc::c_int, cgroup: BorrowedFd<'_>) -> io::Result<CloneResult> {
    let mut pidfd: libc::c_int = -1;
    let args = CloneArgs {
        flags: (flags as u32 as u64) | libc::CLONE_PIDFD as u64 | CLONE_INTO_CGROUP,
        pidfd: &mut pidfd as *mut libc::c_int as u64,
        child_tid: 0,
        parent_tid: 0,
        // With CLONE_PARENT the kernel wants none: the child signals the
        // parent it shares as its creator would (SIGCHLD here).
        exit_signal: if flags & libc::CLONE_PARENT != 0 {
            0
        } else {
            libc::SIGCHLD as u64
        },
        stack: 0,
        stack_size: 0,
        tls: 0,
        set_tid: 0,
        set_tid_size: 0,
        cgroup: cgroup.as_raw_fd() as u64,
    };
    // SAFETY: as in clone_fork: no new stack (fork semantics), hull is
    // single-threaded; args and the pidfd slot are valid for the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    clone_result(rc, pidfd)
}

/// What a fork-like clone returned: in the parent the child's pid and the
/// pidfd the kernel wrote.
fn clone_result(rc: libc::c_long, pidfd: libc::c_int) -> io::Result<CloneResult> {
    let pid = check(rc)?;
    if pid == 0 {
        return Ok(CloneResult::Child);
    }
    // SAFETY: the kernel returned a new pidfd that nobody else owns.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    Ok(CloneResult::Parent {
        pid: pid as i32,
        pidfd,
    })
}

pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes plain integers and returns a new fd.
    let fd = check(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: the fd is new and ours.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, signal: i32) -> io::Result<()> {
    // SAFETY: a null siginfo is allowed; the fd is borrowed for the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    })?;
    Ok(())
}

/// poll(2) for readability of `fds` (a negative fd is skipped), retrying
/// on EINTR; returns each fd's revents (all 0 when the timeout passed).
pub fn poll_readable<const N: usize>(
    fds: [RawFd; N],
    timeout_ms: i32,
) -> io::Result<[libc::c_short; N]> {
    let mut pfds = fds.map(|fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    });
    loop {
        // SAFETY: N valid pollfds; poll ignores negative fds.
        let rc = unsafe { libc::poll(pfds.as_mut_ptr(), N as libc::nfds_t, timeout_ms) };
        if rc >= 0 {
            return Ok(pfds.map(|p| p.revents));
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Wait until the process behind `pidfd` has exited, at most `timeout_ms`
/// (-1: no limit). Returns whether it exited.
pub fn pidfd_wait_exit(pidfd: BorrowedFd<'_>, timeout_ms: i32) -> io::Result<bool> {
    let [revents] = poll_readable([pidfd.as_raw_fd()], timeout_ms)?;
    Ok(revents != 0)
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount_setattr(2) on the mount at `path` relative to `dirfd`.
pub fn mount_setattr(
    dirfd: RawFd,
    path: &std::ffi::CStr,
    flags: libc::c_uint,
    set: u64,
    clr: u64,
) -> io::Result<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: path is NUL-terminated, attr is a valid mount_attr of the size passed.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            dirfd,
            path.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })?;
    Ok(())
}

/// A detached copy of the mount tree at `path` (open_tree OPEN_TREE_CLONE),
/// with its submounts when `recursive`.
pub fn open_tree_clone(path: &std::ffi::CStr, recursive: bool) -> io::Result<OwnedFd> {
    open_tree(libc::AT_FDCWD, path, 0, recursive)
}

/// `open_tree_clone` of the mount tree at an fd (AT_EMPTY_PATH).
pub fn open_tree_clone_at(at: BorrowedFd<'_>, recursive: bool) -> io::Result<OwnedFd> {
    open_tree(
        at.as_raw_fd(),
        c"",
        libc::AT_EMPTY_PATH as libc::c_uint,
        recursive,
    )
}

fn open_tree(
    dirfd: RawFd,
    path: &std::ffi::CStr,
    flags: libc::c_uint,
    recursive: bool,
) -> io::Result<OwnedFd> {
    let mut flags = flags | libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: path is NUL-terminated; the result is a new fd.
    let fd = check(unsafe { libc::syscall(libc::SYS_open_tree, dirfd, path.as_ptr(), flags) })?;
    // SAFETY: the fd is new and ours.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Give the detached mount `tree` the id mapping of user namespace `userns`
/// (MOUNT_ATTR_IDMAP), on its submounts too when `recursive`.
pub fn idmap_mount(
    tree: BorrowedFd<'_>,
    userns: BorrowedFd<'_>,
    recursive: bool,
) -> io::Result<()> {
    const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: an empty NUL-terminated path, a valid mount_attr of the size passed.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })?;
    Ok(())
}

/// Attach the detached mount `tree` on the inode `target` was opened on.
pub fn move_mount_onto(tree: BorrowedFd<'_>, target: BorrowedFd<'_>) -> io::Result<()> {
    move_mount(tree, target.as_raw_fd(), c"", libc::MOVE_MOUNT_T_EMPTY_PATH)
}

/// move_mount(2) of the detached mount `tree` to `path` relative to `dirfd`.
fn move_mount(
    tree: BorrowedFd<'_>,
    dirfd: RawFd,
    path: &std::ffi::CStr,
    flags: libc::c_uint,
) -> io::Result<()> {
    // SAFETY: NUL-terminated paths; the fds are borrowed.
    check(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            dirfd,
            path.as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH | flags,
        )
    })?;
    Ok(())
}

/// A new procfs instance (of the caller's pid namespace) as a detached
/// mount, nosuid, nodev and noexec: fsopen, fsconfig, fsmount.
pub fn fsmount_procfs() -> io::Result<OwnedFd> {
    const FSOPEN_CLOEXEC: libc::c_uint = 0x1;
    const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
    const FSMOUNT_CLOEXEC: libc::c_uint = 0x1;
    const MOUNT_ATTR_NOSUID_NODEV_NOEXEC: libc::c_uint = 0x2 | 0x4 | 0x8;
    // SAFETY: a NUL-terminated name and flags; the fd returned is new.
    let fs = check(unsafe { libc::syscall(libc::SYS_fsopen, c"proc".as_ptr(), FSOPEN_CLOEXEC) })?;
    // SAFETY: the kernel returned a new fd that nobody else owns.
    let fs = unsafe { OwnedFd::from_raw_fd(fs as RawFd) };
    // SAFETY: FSCONFIG_CMD_CREATE takes no key or value.
    check(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    })?;
    // SAFETY: integer arguments on our own fd; the fd returned is new.
    let mnt = check(unsafe {
        libc::syscall(
            libc::SYS_fsmount,
            fs.as_raw_fd(),
            FSMOUNT_CLOEXEC,
            MOUNT_ATTR_NOSUID_NODEV_NOEXEC,
        )
    })?;
    // SAFETY: as above.
    Ok(unsafe { OwnedFd::from_raw_fd(mnt as RawFd) })
}

/// Attach the detached mount `tree` at `path` relative to `dir`.
pub fn move_mount_to(
    tree: BorrowedFd<'_>,
    dir: BorrowedFd<'_>,
    path: &std::ffi::CStr,
) -> io::Result<()> {
    move_mount(tree, dir.as_raw_fd(), path, 0)
}

/// Attach the detached mount `tree` beneath the mount on top at `target`
/// (MOVE_MOUNT_BENEATH, Linux 6.5): hidden under it, and unmounted with it.
pub fn move_mount_beneath(tree: BorrowedFd<'_>, target: &std::ffi::CStr) -> io::Result<()> {
    const MOVE_MOUNT_BENEATH: libc::c_uint = 0x200;
    move_mount(tree, libc::AT_FDCWD, target, MOVE_MOUNT_BENEATH)
}

/// renameat2(2) with `flags` (RENAME_NOREPLACE, RENAME_EXCHANGE), both
/// paths relative to the working directory (nix has it for glibc only).
pub fn renameat2(
    from: &std::path::Path,
    to: &std::path::Path,
    flags: libc::c_uint,
) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let from = std::ffi::CString::new(from.as_os_str().as_bytes())?;
    let to = std::ffi::CString::new(to.as_os_str().as_bytes())?;
    // SAFETY: two NUL-terminated paths that outlive the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            flags,
        )
    })?;
    Ok(())
}

/// Mark every fd from `first` up as close-on-exec.
pub fn cloexec_from(first: u32) -> io::Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only changes fd flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    // Fallback for kernels without close_range.
    for fd in open_fds_from(first as RawFd)? {
        // SAFETY: F_SETFD on an fd number; a closed one just fails.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}

/// The open fds from `first` up, listed through a private procfs: the
/// /proc in the mount namespace may be the container's (after pivot_root)
/// and could hide an fd that must not reach it.
fn open_fds_from(first: RawFd) -> io::Result<Vec<RawFd>> {
    use pathrs::flags::OpenFlags;
    use pathrs::procfs::{ProcfsBase, ProcfsHandle};
    let procfs = ProcfsHandle::new().map_err(io::Error::other)?;
    let dir = procfs
        .open(
            ProcfsBase::ProcSelf,
            "fd",
            OpenFlags::O_RDONLY | OpenFlags::O_DIRECTORY | OpenFlags::O_CLOEXEC,
        )
        .map_err(io::Error::other)?;
    let mut dir = nix::dir::Dir::from_fd(OwnedFd::from(dir)).map_err(io::Error::from)?;
    // Neither the listing's own fd nor the procfs handle's (pathrs may
    // cache it for later use) is reported.
    let own = [dir.as_raw_fd(), procfs.as_fd().as_raw_fd()];
    Ok(dir
        .iter()
        .filter_map(|e| e.ok()?.file_name().to_str().ok()?.parse().ok())
        .filter(|fd: &RawFd| *fd >= first && !own.contains(fd))
        .collect())
}

/// Close every fd from `first` up except those in `keep`: the init drops
/// what it inherited from hull (a state-dir lock, log files) at once.
pub fn close_fds_except(first: RawFd, keep: &[RawFd]) -> io::Result<()> {
    let mut keep: Vec<RawFd> = keep.iter().copied().filter(|fd| *fd >= first).collect();
    keep.sort_unstable();
    let mut lo = first as u32;
    let mut ranges = Vec::new();
    for fd in keep {
        if fd as u32 > lo {
            ranges.push((lo, fd as u32 - 1));
        }
        lo = fd as u32 + 1;
    }
    ranges.push((lo, u32::MAX));
    for (from, to) in ranges {
        // SAFETY: close_range only closes fd numbers; the ones we keep are outside.
        let rc = unsafe { libc::syscall(libc::SYS_close_range, from, to, 0) };
        if rc != 0 {
            // Fallback for kernels without close_range.
            let fds = open_fds_from(from as RawFd)?;
            for fd in fds.into_iter().filter(|fd| *fd as u32 <= to) {
                // SAFETY: closing an fd number we do not keep.
                unsafe { libc::close(fd) };
            }
        }
    }
    Ok(())
}

/// Join a new session keyring named `name` (keyctl JOIN_SESSION_KEYRING), so
/// the container does not share the caller's keys. Kernels without keyrings
/// (ENOSYS) are not an error.
pub fn join_session_keyring(name: &std::ffi::CStr) -> io::Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: keyctl with a NUL-terminated name pointer valid for the call.
    let rc = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    if rc < 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ENOSYS) {
            return Err(err);
        }
    }
    Ok(())
}

/// State letter and start time (field 22) from /proc/PID/stat.
pub fn proc_stat(pid: i32) -> io::Result<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_proc_stat(&text)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "malformed /proc/PID/stat"))
}

/// Whether `path` (not followed if a symlink) is the root of a mount
/// (statx's STATX_ATTR_MOUNT_ROOT, kernel 5.8+).
pub fn is_mount_point(path: &std::path::Path) -> io::Result<bool> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: statx fills the zeroed buffer it is given; the path is a
    // NUL-terminated string that outlives the call.
    let (rc, buf) = unsafe {
        let mut buf: libc::statx = std::mem::zeroed();
        let rc = libc::statx(
            libc::AT_FDCWD,
            c.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
            0,
            &mut buf,
        );
        (rc, buf)
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let known = buf.stx_attributes_mask & libc::STATX_ATTR_MOUNT_ROOT as u64 != 0;
    if !known {
        return Err(io::Error::from(io::ErrorKind::Unsupported));
    }
    Ok(buf.stx_attributes & libc::STATX_ATTR_MOUNT_ROOT as u64 != 0)
}

/// A /proc/PID/mountinfo path field with its \ooo escapes (space, tab,
/// newline, backslash) undone; other bytes, non-ASCII ones too, as they are.
pub fn unescape_mountinfo(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field.get(i + 1..i + 4).and_then(|digits| {
            let text = std::str::from_utf8(digits).ok()?;
            u8::from_str_radix(text, 8).ok()
        });
        match (field[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

pub fn parse_proc_stat(text: &str) -> Option<(char, u64)> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_with_odd_comm() {
        let line =
            "123 (a b) c)) S 1 123 123 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 200";
        assert_eq!(parse_proc_stat(line), Some(('S', 98765)));
    }

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape_mountinfo(b"/a\\040b\\134c"), b"/a b\\c");
        assert_eq!(unescape_mountinfo(b"/plain\\"), b"/plain\\");
        assert_eq!(unescape_mountinfo(b"/x\\9"), b"/x\\9");
        assert_eq!(unescape_mountinfo("/é\\040".as_bytes()), "/é ".as_bytes());
    }

    #[test]
    fn own_stat_is_readable() {
        let (state, start) = proc_stat(std::process::id() as i32).unwrap();
        assert!("RSD".contains(state), "{state}");
        assert!(start > 0);
    }
}
