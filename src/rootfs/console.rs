//! `process.terminal`: a pty from the container's own devpts instance, its
//! slave bind-mounted on /dev/console (by fd, never by a path the rootfs
//! controls), the master handed to the engine over --console-socket.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use anyhow::{bail, Context, Result};
use nix::mount::MsFlags;
use pathrs::flags::OpenFlags;
use pathrs::Root;

use super::fs::{dir_perms, fd_path, mount_at, resolve};

pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

/// Open a pty through the rootfs's /dev/ptmx (-> pts/ptmx of the
/// container's devpts) and make its slave the container's /dev/console.
pub fn open(root: &Root) -> Result<Pty> {
    let pty = open_pty(root)?;
    bind_console(root, &pty)?;
    Ok(pty)
}

/// A pty of the devpts instance `root`'s /dev/ptmx leads to.
pub fn open_pty(root: &Root) -> Result<Pty> {
    let ptmx = resolve(root, std::path::Path::new("/dev/ptmx"))?;
    let master: OwnedFd = ptmx
        .reopen(OpenFlags::O_RDWR | OpenFlags::O_NOCTTY | OpenFlags::O_CLOEXEC)
        .context("open /dev/ptmx in the rootfs (is /dev/pts mounted with newinstance?)")?
        .into();
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads an int from a valid pointer.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) } != 0 {
        bail!("unlock the pty: {}", std::io::Error::last_os_error());
    }
    // TIOCGPTPEER opens the slave from the master itself: no /dev/pts/N
    // path lookup for a rootfs to redirect.
    // SAFETY: an ioctl returning a new fd, which we own.
    let fd = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        bail!("open the pty's slave: {}", std::io::Error::last_os_error());
    }
    // SAFETY: fd is a new descriptor nobody else owns.
    let slave = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok(Pty { master, slave })
}

fn bind_console(root: &Root, pty: &Pty) -> Result<()> {
    let console = std::path::Path::new("/dev/console");
    if root.resolve_nofollow(console).is_err() {
        super::fs::create(root, console, &pathrs::InodeType::File(dir_perms(0o600)))
            .context("create /dev/console in the rootfs")?;
    }
    // Never followed (CVE-2025-52565): a /dev from the bundle may hold a
    // /dev/console symlink to a procfs file, which the pty would cover.
    let target = root
        .resolve_nofollow(console)
        .context("resolve /dev/console inside the rootfs")?;
    let st = nix::sys::stat::fstat(&target).context("stat /dev/console in the rootfs")?;
    let kind = st.st_mode & libc::S_IFMT;
    if kind != libc::S_IFREG && kind != libc::S_IFCHR {
        bail!(
            "/dev/console in the rootfs is not a file or a character device: refusing to mount the pty on it"
        );
    }
    mount_at(
        Some(&fd_path(pty.slave.as_fd().as_raw_fd())),
        &target,
        None,
        MsFlags::MS_BIND,
        None,
        &|| "bind the pty on /dev/console".to_string(),
    )
}

/// The pty's window size (process.consoleSize).
pub fn set_size(fd: impl AsFd, rows: u16, cols: u16) -> Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize from a valid pointer.
    if unsafe { libc::ioctl(fd.as_fd().as_raw_fd(), libc::TIOCSWINSZ, &ws) } != 0 {
        bail!("process.consoleSize: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

/// Send the pty master to the engine, make the slave the controlling
/// terminal and stdio of the process.
pub fn attach(pty: Pty, socket: &OwnedFd, size: Option<(u16, u16)>) -> Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
    if let Some((rows, cols)) = size {
        set_size(&pty.slave, rows, cols)?;
    }
    let fds = [pty.master.as_raw_fd()];
    let name = b"/dev/ptmx";
    sendmsg::<UnixAddr>(
        socket.as_raw_fd(),
        &[std::io::IoSlice::new(name)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .context("--console-socket: send the pty master")?;
    drop(pty.master);
    nix::unistd::setsid().context("setsid")?;
    // SAFETY: TIOCSCTTY with an integer argument on our own fd.
    if unsafe { libc::ioctl(pty.slave.as_raw_fd(), libc::TIOCSCTTY, 0) } != 0 {
        bail!(
            "make the pty the controlling terminal: {}",
            std::io::Error::last_os_error()
        );
    }
    for target in 0..3 {
        // SAFETY: dup2 onto the stdio numbers; the slave stays open.
        if unsafe { libc::dup2(pty.slave.as_raw_fd(), target) } < 0 {
            bail!(
                "dup the pty onto fd {target}: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    Ok(())
}
