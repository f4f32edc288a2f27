//! The hull binary as the container can reach it (CVE-2019-5736): commands
//! that put processes into containers run from a read-only mount of it.
//!
//! Every process hull clones into a container has hull as /proc/self/exe
//! until its execve. A container whose program is a `#!/proc/self/exe`
//! script makes that execve run the hull binary itself as a container
//! process; another container process can then open /proc/PID/exe and,
//! once no hull runs, write to the host's binary. Not being re-executed
//! does not help. What does: the exe being a read-only mount of the binary.
//! Before anything else, `create`, `run` and `exec` re-exec themselves
//! from a private, detached, read-only bind mount of their own binary
//! (open_tree + mount_setattr + execveat). Once the fd is closed by the
//! exec, the mount is in no namespace: nobody can remount it read-write,
//! so an open for writing through /proc/PID/exe fails with EROFS. Kernels
//! without those syscalls (before 5.12) get a sealed memfd copy instead, as
//! runc does. A binary that already lives on a read-only mount, or is a
//! sealed memfd, is used as it is: installing hull on a read-only mount
//! saves the one extra execve (0.05–0.15 ms here).
//!
//! On x86_64 that re-exec happens at the binary's entry point, before the
//! C library's start-up (exe_guard_entry.c: the first process then skips
//! relocating itself and starting Rust, 0.3 ms of a `run` here);
//! `reexec_early` and `reexec_from_readonly_binary` do it wherever that
//! one stood aside (and say why when it cannot be done).
//!
//! The bind's fd is kept open across the re-exec (its number in the
//! marker), close-on-exec again after it: closing the last fd of a
//! detached mount unmounts it, which waits for an expedited RCU grace
//! period (0.05–0.2 ms here). A create's init attaches it beneath its old
//! root before the pivot (`rootfs::enter`), and it leaves with the old
//! root, read-only all along.

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStringExt;

use anyhow::{bail, Context, Result};
use nix::sys::statvfs::{statvfs, FsFlags};

use crate::syscall::mount_setattr;

const SELF_EXE: &str = "/proc/self/exe";
/// Set across the re-exec, so a binary that is still not protected is an
/// error rather than a loop; its value is the read-only bind's fd, or 0.
const REEXECUTED: &str = "_HULL_EXE_PROTECTED";

/// What the entry point's re-exec (exe_guard_entry.c) puts after the fd.
const ENTRY_SUFFIX: &str = ":entry";

/// The detached read-only bind this process was executed from, kept open.
static EXE_TREE: std::sync::OnceLock<OwnedFd> = std::sync::OnceLock::new();
const MOUNT_ATTR_RDONLY: u64 = 0x1;
/// The subcommands that put processes into containers.
const GUARDED: [&str; 3] = ["create", "run", "exec"];
/// hull's global options that take the next word as their value (unless
/// given as `--flag=value`); checked against the CLI's definition in a test.
const GLOBALS_WITH_VALUE: [&str; 5] = ["root", "log", "log-format", "rootless", "criu"];

/// Before the arguments are parsed: re-exec at once when the command line
/// names `create`, `run` or `exec`, so the first process does no more
/// than that (parsing them costs as much again). Only a fast path: it
/// returns on any failure, and `reexec_from_readonly_binary` after the
/// parse is what guarantees the protection (and says why it failed).
pub fn reexec_early() {
    let args: Vec<OsString> = std::env::args_os().collect();
    if std::env::var_os(REEXECUTED).is_some() || !names_guarded_command(&args) {
        return;
    }
    if matches!(exe_is_protected(), Ok(true) | Err(_)) {
        return;
    }
    let _ = reexec(crate::timing::early_start());
}

/// Whether the subcommand word of `args` (argv with the program name) is
/// one of GUARDED.
fn names_guarded_command(args: &[OsString]) -> bool {
    let words = args.iter().skip(1).map(|a| a.as_encoded_bytes());
    let takes_value = |flag: &[u8]| GLOBALS_WITH_VALUE.iter().any(|g| g.as_bytes() == flag);
    crate::cli::subcommand_word(words, takes_value)
        .is_some_and(|word| GUARDED.iter().any(|g| g.as_bytes() == word))
}

/// Re-exec from a read-only mount of our own binary unless /proc/self/exe
/// already is one. Returns only when nothing needed doing; an error means
/// the binary could not be protected and the command must not go on.
pub fn reexec_from_readonly_binary() -> Result<()> {
    let marker = std::env::var_os(REEXECUTED);
    let reexecuted = marker.is_some();
    if reexecuted {
        // Not passed on: hull gives its children their own environments,
        // and a later hull it runs must check for itself.
        std::env::remove_var(REEXECUTED);
    }
    if exe_is_protected()? {
        if let Some(marker) = marker {
            let by = if marker.as_encoded_bytes().ends_with(ENTRY_SUFFIX.as_bytes()) {
                "at the entry point"
            } else {
                "after the start-up"
            };
            crate::logging::debug(&format!(
                "exe guard: re-executed {by} from a read-only bind of the binary"
            ));
        }
        return Ok(());
    }
    if reexecuted {
        bail!("protect the hull binary: still writable after the re-exec (/proc/self/exe)");
    }
    reexec(crate::timing::carried_start())
}

/// Once a command that did not need it is parsed: the re-exec's marker,
/// when `reexec_early` took the command line for one that did, is not
/// kept in the environment.
pub fn forget_reexec() {
    std::env::remove_var(REEXECUTED);
}

/// First thing after the re-exec, before any fd is looked at or opened:
/// take over the read-only bind's fd the marker names. It is not one of
/// the caller's (`check_passed_fds` counts it as closed: it may sit in a
/// gap the caller left below its --preserve-fds).
pub fn adopt_exe_tree() {
    if let Some(marker) = std::env::var_os(REEXECUTED) {
        keep_exe_tree(&marker);
    }
}

/// The read-only bind this process was executed from, while it is still
/// detached: `rootfs::enter` attaches it where it leaves with the old root.
pub fn exe_tree() -> Option<BorrowedFd<'static>> {
    EXE_TREE.get().map(|fd| fd.as_fd())
}

/// Take over the fd the marker names, if it is a bind of this very binary
/// (else it is not ours and stays as it is), close-on-exec from now on.
fn keep_exe_tree(marker: &std::ffi::OsStr) {
    if EXE_TREE.get().is_some() {
        return;
    }
    let number = marker.to_str().map(|m| m.trim_end_matches(ENTRY_SUFFIX));
    let Some(fd) = number.and_then(|m| m.parse::<RawFd>().ok()) else {
        return;
    };
    if fd < 3 {
        return;
    }
    // SAFETY: fstat of an fd number into a zeroed struct; a closed or
    // foreign fd only fails or mismatches.
    let same = unsafe {
        let mut ours: libc::stat = std::mem::zeroed();
        let mut exe: libc::stat = std::mem::zeroed();
        libc::fstat(fd, &mut ours) == 0
            && libc::stat(c"/proc/self/exe".as_ptr(), &mut exe) == 0
            && (ours.st_dev, ours.st_ino) == (exe.st_dev, exe.st_ino)
    };
    if !same {
        return;
    }
    // SAFETY: fcntl with integer arguments on the fd checked above.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
        return;
    }
    // SAFETY: the fd was handed to this process for it to own (the
    // marker), and it is the binary's bind.
    let _ = EXE_TREE.set(unsafe { OwnedFd::from_raw_fd(fd) });
}

/// Exec our own binary again from a read-only bind of it (or a sealed
/// copy), with the same arguments and environment plus the marker and
/// `timing`'s carried start. Returns only on failure.
fn reexec(timing: Option<String>) -> Result<()> {
    let (exe, kept) = match readonly_bind(SELF_EXE) {
        Ok(fd) => {
            // Open across the execve (see the module's doc).
            // SAFETY: fcntl with integer arguments on our own fd.
            let kept = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, 0) } == 0;
            (fd, kept)
        }
        Err(bind_err) => (
            sealed_copy(SELF_EXE).with_context(|| {
                format!(
                    "protect the hull binary: no read-only bind mount ({bind_err:#}) and no sealed copy"
                )
            })?,
            false,
        ),
    };
    let marker = if kept { exe.as_raw_fd() } else { 0 };
    let argv = to_cstrings(std::env::args_os().collect())?;
    let mut vars: Vec<OsString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            kv
        })
        .collect();
    vars.push(format!("{REEXECUTED}={marker}").into());
    vars.extend(timing.map(OsString::from));
    let envp = to_cstrings(vars)?;
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut envp_ptrs: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    envp_ptrs.push(std::ptr::null());
    // SAFETY: the path is an empty C string, argv and envp are
    // NULL-terminated arrays of C strings that outlive the call; the fd is
    // the binary opened above. execveat only returns on failure.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            exe.as_raw_fd(),
            c"".as_ptr(),
            argv_ptrs.as_ptr(),
            envp_ptrs.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    bail!(
        "protect the hull binary: re-exec from its protected copy (execveat): {}",
        io::Error::last_os_error()
    )
}

/// A detached, read-only bind mount of `path` (a file), as an O_PATH fd.
fn readonly_bind(path: &str) -> Result<OwnedFd> {
    let c_path = CString::new(path).context("a path with a NUL byte")?;
    let tree = crate::syscall::open_tree_clone(&c_path, false)
        .context("bind-mount /proc/self/exe (open_tree)")?;
    mount_setattr(
        tree.as_raw_fd(),
        c"",
        libc::AT_EMPTY_PATH as libc::c_uint,
        MOUNT_ATTR_RDONLY,
        0,
    )
    .context("make the bind mount read-only (mount_setattr)")?;
    Ok(tree)
}

/// A memfd holding a copy of `path`, sealed against every change.
fn sealed_copy(path: &str) -> Result<OwnedFd> {
    // SAFETY: a valid C name; the returned fd is new and owned below.
    let fd = unsafe {
        libc::memfd_create(
            c"hull".as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error()).context("memfd_create");
    }
    // SAFETY: the kernel returned a new fd that nobody else owns.
    let mut memfd = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let mut binary = std::fs::File::open(path).with_context(|| format!("open {path}"))?;
    io::copy(&mut binary, &mut memfd).with_context(|| format!("copy {path} into a memfd"))?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl with integer arguments on our own fd.
    if unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
        return Err(io::Error::last_os_error()).context("seal the memfd copy");
    }
    Ok(OwnedFd::from(memfd))
}

/// Whether /proc/self/exe is on a read-only mount or a write-sealed memfd,
/// or is not writable by us at all (hull run by a user who does not own
/// it: what the container runs as can write it no more than we can).
fn exe_is_protected() -> Result<bool> {
    if exe_is_readonly()? {
        return Ok(true);
    }
    if !nix::unistd::geteuid().is_root()
        && nix::unistd::access(SELF_EXE, nix::unistd::AccessFlags::W_OK).is_err()
    {
        return Ok(true);
    }
    let exe = std::fs::File::open(SELF_EXE).with_context(|| format!("open {SELF_EXE}"))?;
    // SAFETY: fcntl with integer arguments; EINVAL for files without seals.
    let seals = unsafe { libc::fcntl(exe.as_raw_fd(), libc::F_GET_SEALS) };
    Ok(seals > 0 && seals & libc::F_SEAL_WRITE != 0)
}

/// Whether the mount /proc/self/exe lives on is read-only.
fn exe_is_readonly() -> Result<bool> {
    let st = statvfs(SELF_EXE).with_context(|| format!("statvfs {SELF_EXE}"))?;
    Ok(st.flags().contains(FsFlags::ST_RDONLY))
}

fn to_cstrings(items: Vec<OsString>) -> Result<Vec<CString>> {
    items
        .into_iter()
        .map(|s| CString::new(s.into_vec()).context("an argument or variable holds a NUL byte"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn guarded(line: &str) -> bool {
        let args: Vec<OsString> = line.split(' ').map(OsString::from).collect();
        names_guarded_command(&args)
    }

    #[test]
    fn the_subcommand_word_is_found_past_global_options() {
        assert!(guarded("hull create --bundle b id"));
        assert!(guarded(
            "hull --root /run/x --log /l --log-format json exec id ls"
        ));
        assert!(guarded("hull -root /r --debug --systemd-cgroup run id"));
        assert!(guarded("hull --root=/r run id"));
        // A global option's value is not the subcommand.
        assert!(!guarded("hull --root run state id"));
        assert!(!guarded("hull --log create delete id"));
        assert!(!guarded("hull state create"));
        assert!(!guarded("hull --debug"));
        assert!(!guarded("hull"));
    }

    #[test]
    fn a_marker_naming_anything_but_this_binary_is_not_taken() {
        let other = std::fs::File::open("/proc/self/stat").unwrap();
        for marker in [other.as_raw_fd().to_string().as_str(), "0", "1", "x", ""] {
            keep_exe_tree(std::ffi::OsStr::new(marker));
        }
        assert!(exe_tree().is_none());
        // Not taken over (an OwnedFd would close it): still open.
        // SAFETY: fcntl with integer arguments on an fd this test owns.
        assert!(unsafe { libc::fcntl(other.as_raw_fd(), libc::F_GETFD) } >= 0);
    }

    #[test]
    fn globals_with_value_are_the_clis() {
        let cli = crate::cli::Cli::command();
        let mut from_cli: Vec<&str> = cli
            .get_arguments()
            .filter(|a| a.get_action().takes_values())
            .filter_map(|a| a.get_long())
            .collect();
        from_cli.sort_unstable();
        let mut ours = GLOBALS_WITH_VALUE.to_vec();
        ours.sort_unstable();
        assert_eq!(from_cli, ours);
    }

    /// The entry point's C (which can read no Rust constant) spells the
    /// same global options, subcommands and variables as this module.
    #[test]
    fn the_entry_point_agrees_with_this_module() {
        let c = include_str!("exe_guard_entry.c");
        let mut c_globals: Vec<&str> = c
            .split("equal(flag, \"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        c_globals.sort_unstable();
        let mut ours = GLOBALS_WITH_VALUE.to_vec();
        ours.sort_unstable();
        assert_eq!(c_globals, ours);
        for word in GUARDED {
            assert!(c.contains(&format!("equal(w, \"{word}\")")), "{word}");
        }
        for needle in [
            format!("\"{REEXECUTED}=\""),
            format!("\"{ENTRY_SUFFIX}\""),
            format!("\"{}=\"", crate::timing::START_ENV),
        ] {
            assert!(c.contains(&needle), "{needle} not in exe_guard_entry.c");
        }
    }
}
