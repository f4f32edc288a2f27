//! `process.terminal` with `--console-socket`: the pty master arrives over
//! the socket (SCM_RIGHTS, as runc sends it), the process has the pty as its
//! stdio and controlling terminal, and consoleSize is applied.

mod common;

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// Accept one connection on `listener` and receive the fd it sends.
fn receive_fd(listener: &UnixListener) -> OwnedFd {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};
    use std::os::fd::AsRawFd;
    let (stream, _) = listener.accept().expect("accept the runtime's connection");
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<UnixAddr>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .expect("recvmsg on the console socket");
    for c in msg.cmsgs().expect("control messages") {
        if let ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: the kernel just gave us this fd.
            return unsafe { OwnedFd::from_raw_fd(fds[0]) };
        }
    }
    panic!("no fd received on the console socket");
}

/// Read from the pty master until `needle` shows up (bounded).
fn read_until(master: &mut std::fs::File, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = String::new();
    let mut buf = [0u8; 1024];
    while !seen.contains(needle) {
        assert!(
            Instant::now() < deadline,
            "no {needle:?} on the pty; saw {seen:?}"
        );
        match master.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(e) if e.raw_os_error() == Some(libc::EIO) => break,
            Err(e) => panic!("read the pty: {e}"),
        }
    }
    seen
}

#[test]
fn terminal_over_console_socket() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    // Reads one line from the terminal and answers with the terminal's
    // size, its name, and the line.
    bundle.args(&[
        "/bin/sh",
        "-c",
        "read line; echo \"size=$(/bin/busybox stty size) tty=$(/bin/busybox tty) got=$line\"",
    ]);
    bundle.set("/process/terminal", json!(true));
    bundle.set("/process/consoleSize", json!({"height": 40, "width": 100}));
    let dir = rt.host_dir("console");
    let socket = dir.join("console.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let id = rt.new_id();
    let receiver = std::thread::spawn(move || receive_fd(&listener));
    rt.create_with(
        &id,
        &bundle,
        &["--console-socket", socket.to_str().unwrap()],
    )
    .assert_ok("create with a terminal");
    let master = receiver.join().unwrap();
    let mut master = std::fs::File::from(master);
    rt.start(&id).assert_ok("start");
    master.write_all(b"hello-pty\n").unwrap();
    let seen = read_until(&mut master, "got=hello-pty");
    assert!(seen.contains("size=40 100"), "{seen:?}");
    assert!(
        seen.contains("tty=/dev/"),
        "the process has no tty: {seen:?}"
    );
    rt.wait_status(&id, "stopped");
    rt.delete(&id).assert_ok("delete");
}

#[test]
fn terminal_without_console_socket_is_refused() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&["exit", "0"]);
    bundle.set("/process/terminal", json!(true));
    let out = rt.create(&rt.new_id(), &bundle);
    out.assert_failed("create with a terminal and no console socket");
    if is_hull() {
        out.assert_stderr_contains("--console-socket");
    }
}

#[test]
fn exec_with_tty_over_console_socket() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&["sleep-forever"]);
    let id = rt.new_id();
    rt.create_running(&id, &bundle);
    let dir = rt.host_dir("console");
    let socket = dir.join("exec.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let receiver = std::thread::spawn(move || receive_fd(&listener));
    // Detached, as engines call it: the runtime returns once the process
    // runs, and its failure can never leave the receiver waiting.
    rt.cmd(&[
        "exec",
        "--tty",
        "--detach",
        "--console-socket",
        socket.to_str().unwrap(),
        &id,
        "/bin/sh",
        "-c",
        "read line; echo \"tty=$(/bin/busybox tty) got=$line\"",
    ])
    .assert_ok("exec --tty --detach");
    let mut master = std::fs::File::from(receiver.join().unwrap());
    master.write_all(b"from-exec\n").unwrap();
    let seen = read_until(&mut master, "got=from-exec");
    assert!(seen.contains("tty=/dev/pts/"), "{seen:?}");
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}
