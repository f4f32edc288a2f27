//! A small seccomp notify listener (runtime spec `listenerPath`): it takes
//! containers' notify fds and answers their notifications.
//!
//! Usage: `seccomp-listener SOCKET STATE_PREFIX ERRNO [CONNECTIONS]`
//! Listens on the unix socket SOCKET and prints `ready` once it does. Each
//! of the CONNECTIONS (default 1) connections brings a container process
//! state (JSON, written to STATE_PREFIX-N.json, N from 0) with a notify fd
//! (SCM_RIGHTS). Then `mkdir`/`mkdirat` fail with ERRNO and every other
//! notified syscall continues (SECCOMP_USER_NOTIF_FLAG_CONTINUE). When no
//! process uses any of the filters any more it prints
//! `{"notified":{NAME:COUNT,...}}` and exits.

use std::collections::BTreeMap;
use std::io::{IoSliceMut, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;

// Linked for what libseccomp.a needs from the C library on musl
// (src/security/seccomp/libc_compat.rs).
extern crate hull as _;

use libseccomp::{ScmpNotifReq, ScmpNotifResp, ScmpNotifRespFlags};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !(3..=4).contains(&args.len()) {
        eprintln!("usage: seccomp-listener SOCKET STATE_PREFIX ERRNO [CONNECTIONS]");
        std::process::exit(2);
    }
    let errno: i32 = args[2].parse().expect("ERRNO must be a number");
    let connections: usize = args.get(3).map_or(1, |n| n.parse().expect("CONNECTIONS"));
    let _ = std::fs::remove_file(&args[0]);
    let listener = UnixListener::bind(&args[0]).expect("bind the socket");
    println!("ready");
    let _ = std::io::stdout().flush();

    // One thread per filter: each answers until its processes are gone.
    let mut threads = Vec::new();
    for n in 0..connections {
        let (notify_fd, state) = receive(&listener);
        // Whole or not at all: the test reads it while this runs.
        let path = format!("{}-{n}.json", args[1]);
        std::fs::write(format!("{path}.tmp"), state).expect("write the state file");
        std::fs::rename(format!("{path}.tmp"), &path).expect("rename the state file");
        threads.push(std::thread::spawn(move || answer(notify_fd, errno)));
    }
    let mut notified: BTreeMap<String, u32> = BTreeMap::new();
    for t in threads {
        for (name, count) in t.join().expect("listener thread") {
            *notified.entry(name).or_default() += count;
        }
    }
    println!("{}", serde_json::json!({ "notified": notified }));
}

/// The next connection's notify fd and state JSON.
fn receive(listener: &UnixListener) -> (OwnedFd, Vec<u8>) {
    let (conn, _) = listener.accept().expect("accept");
    let mut buf = vec![0u8; 1 << 16];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<UnixAddr>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .expect("recvmsg");
    let mut notify_fd = None;
    for cmsg in msg.cmsgs().expect("control messages") {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            for fd in fds {
                // SAFETY: the kernel just installed this fd for us.
                notify_fd.get_or_insert(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    let len = msg.bytes;
    (
        notify_fd.expect("no fd came with the state"),
        buf[..len].to_vec(),
    )
}

/// Answer one filter's notifications until it has no process left.
fn answer(notify_fd: OwnedFd, errno: i32) -> BTreeMap<String, u32> {
    let mut notified: BTreeMap<String, u32> = BTreeMap::new();
    loop {
        let mut pfd = libc::pollfd {
            fd: notify_fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, -1) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            panic!("poll: {}", std::io::Error::last_os_error());
        }
        if pfd.revents & libc::POLLIN == 0 {
            // POLLHUP: the filter has no process left.
            break;
        }
        let req = match ScmpNotifReq::receive(notify_fd.as_raw_fd()) {
            Ok(req) => req,
            // The process went away between poll and receive.
            Err(_) => continue,
        };
        let name = req
            .data
            .syscall
            .get_name_by_arch(req.data.arch)
            .unwrap_or_else(|_| "?".into());
        *notified.entry(name.clone()).or_default() += 1;
        let resp = if name == "mkdir" || name == "mkdirat" {
            ScmpNotifResp::new_error(req.id, -errno, ScmpNotifRespFlags::empty())
        } else {
            ScmpNotifResp::new_continue(req.id, ScmpNotifRespFlags::empty())
        };
        // A process killed while waiting makes the answer fail: not ours to mind.
        let _ = resp.respond(notify_fd.as_raw_fd());
    }
    notified
}
