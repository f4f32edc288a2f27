//! `process.terminal` with `--console-socket`: the pty master arrives over
//! the socket (SCM_RIGHTS, as runc sends it), the process has the pty as its
//! stdio and controlling terminal, and consoleSize is applied.

mod common;

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// Accept one connection on `listener` and receive the fd it sends.
fn receive_fd(listener: &UnixListener) -> OwnedFd {
    use std::os::fd::AsFd;
    let (stream, _) = listener.accept().expect("accept the runtime's connection");
    hull::process::terminal::recv_pty_master(stream.as_fd()).expect("receive the pty master")
}

/// Read from the pty master until `needle` shows up (bounded).
fn read_until(master: &mut std::fs::File, needle: &str) -> String {
    read_while(master, |seen| !seen.contains(needle), needle)
}

/// Read until a whole line starting with `prefix` came; that line's rest.
fn read_line_of(master: &mut std::fs::File, prefix: &str) -> String {
    let line_end = |seen: &str| {
        seen.find(prefix).and_then(|at| {
            seen[at..]
                .find('\n')
                .map(|end| seen[at + prefix.len()..at + end].trim().to_string())
        })
    };
    let seen = read_while(master, |seen| line_end(seen).is_none(), prefix);
    line_end(&seen).unwrap_or_default()
}

fn read_while(master: &mut std::fs::File, more: impl Fn(&str) -> bool, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = String::new();
    let mut buf = [0u8; 1024];
    while more(&seen) {
        assert!(
            Instant::now() < deadline,
            "no {what:?} on the pty; saw {seen:?}"
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
fn detached_terminal_without_console_socket_is_refused() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&["exit", "0"]);
    bundle.set("/process/terminal", json!(true));
    let out = rt.create(&rt.new_id(), &bundle);
    out.assert_failed("create with a terminal and no console socket");
    let out = rt.run_with(&rt.new_id(), &bundle, &["--detach"]);
    out.assert_failed("run --detach with a terminal and no console socket");
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

/// The runtime with a pty of the test's as its stdio and controlling
/// terminal (its own session), as a person at a terminal runs it.
struct OnPty {
    child: Child,
    master: std::fs::File,
    slave: OwnedFd,
}

impl OnPty {
    fn spawn(rt: &Runtime, args: &[&str]) -> OnPty {
        let pty = nix::pty::openpty(None, None).expect("openpty");
        let slave = pty.slave;
        let mut cmd = Command::new(&rt.bin);
        cmd.arg("--root").arg(&rt.root).args(args);
        for set in [Command::stdin, Command::stdout, Command::stderr] {
            set(&mut cmd, Stdio::from(slave.try_clone().unwrap()));
        }
        // SAFETY: setsid and ioctl are async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn the runtime on a pty");
        OnPty {
            child,
            master: std::fs::File::from(pty.master),
            slave,
        }
    }

    fn send(&mut self, line: &str) {
        self.master.write_all(line.as_bytes()).unwrap();
    }

    fn resize(&self, rows: u16, cols: u16) {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize from a valid pointer.
        let rc = unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        assert_eq!(rc, 0, "resize the test's pty");
    }

    /// Whether the pty is in canonical mode with echo (as the test made it).
    fn cooked(&self) -> bool {
        let t = nix::sys::termios::tcgetattr(&self.slave).unwrap();
        use nix::sys::termios::LocalFlags;
        t.local_flags
            .contains(LocalFlags::ICANON | LocalFlags::ECHO)
    }

    /// The runtime's exit code (bounded wait; killed on timeout).
    fn wait(&mut self) -> i32 {
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the runtime on the pty did not exit in {COMMAND_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for OnPty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A shell on a terminal: `terminal: true`, consoleSize 24x80.
fn shell_bundle(rt: &Runtime) -> Bundle {
    let mut bundle = rt.bundle();
    bundle.args(&["/bin/sh"]);
    bundle.set("/process/terminal", json!(true));
    bundle.set("/process/consoleSize", json!({"height": 24, "width": 80}));
    bundle
}

#[test]
fn run_in_the_foreground_proxies_its_own_terminal() {
    let rt = Runtime::new();
    if !is_hull() {
        skip!("runc 1.1.5 proxies too, but spells its errors differently");
    }
    let bundle = shell_bundle(&rt);
    let id = rt.new_id();
    rt.track(&id);
    let dir = bundle.dir.to_str().unwrap();
    let mut term = OnPty::spawn(&rt, &["run", "--bundle", dir, &id]);
    assert!(term.cooked());
    term.send("echo \"tty=$(tty) sum=$((40+2))\"\n");
    let seen = read_until(&mut term.master, "sum=42");
    assert!(seen.contains("tty=/dev/pts/"), "{seen:?}");
    assert!(!term.cooked(), "the caller's terminal is raw while proxied");
    // A size change of the caller's terminal reaches the container's. The
    // marker is computed by the shell, so the echoed input never matches.
    term.resize(33, 111);
    let deadline = Instant::now() + STATUS_TIMEOUT;
    for attempt in 1000.. {
        term.send(&format!("echo \"R$(({attempt}+1))=$(stty size)\"\n"));
        let size = read_line_of(&mut term.master, &format!("R{}=", attempt + 1));
        if size == "33 111" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "window size never reached the container: {size:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    term.send("exit 7\n");
    assert_eq!(term.wait(), 7, "run exits with the shell's status");
    assert!(term.cooked(), "the caller's terminal is restored");
}

#[test]
fn exec_tty_in_the_foreground_proxies_its_own_terminal() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&["sleep-forever"]);
    let id = rt.new_id();
    rt.create_running(&id, &bundle);
    let mut term = OnPty::spawn(&rt, &["exec", "--tty", &id, "/bin/sh"]);
    term.send("echo \"tty=$(tty) n=$((3*7))\"; exit 3\n");
    let seen = read_until(&mut term.master, "n=21");
    assert!(seen.contains("tty=/dev/pts/"), "{seen:?}");
    assert_eq!(term.wait(), 3, "exec exits with the process's status");
    assert!(term.cooked(), "the caller's terminal is restored");
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
}

#[test]
fn recvtty_joins_a_console_to_its_stdio() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.args(&["/bin/sh", "-c", "read line; echo \"tty=$(tty) got=$line\""]);
    bundle.set("/process/terminal", json!(true));
    let dir = rt.host_dir("recvtty");
    let socket = dir.join("console.sock");
    let pid_file = dir.join("recvtty.pid");
    let out_path = dir.join("recvtty.out");
    let mut recvtty = Command::new(env!("CARGO_BIN_EXE_hull-recvtty"))
        .args(["--mode", "single", "--pid-file"])
        .arg(&pid_file)
        .arg(&socket)
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .spawn()
        .expect("start hull-recvtty");
    let deadline = Instant::now() + STATUS_TIMEOUT;
    while !pid_file.exists() {
        assert!(Instant::now() < deadline, "hull-recvtty never listened");
        std::thread::sleep(Duration::from_millis(10));
    }
    let id = rt.new_id();
    rt.create_with(
        &id,
        &bundle,
        &["--console-socket", socket.to_str().unwrap()],
    )
    .assert_ok("create with recvtty's socket");
    rt.start(&id).assert_ok("start");
    recvtty
        .stdin
        .take()
        .unwrap()
        .write_all(b"via-recvtty\n")
        .unwrap();
    // recvtty exits once the console closes: the process has ended.
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        if let Some(status) = recvtty.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = recvtty.kill();
            panic!("hull-recvtty did not exit after the console closed");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "hull-recvtty: {status}");
    let seen = std::fs::read_to_string(&out_path).unwrap();
    assert!(seen.contains("got=via-recvtty"), "{seen:?}");
    assert!(seen.contains("tty=/dev/pts/"), "{seen:?}");
    assert!(!socket.exists(), "hull-recvtty removes its socket");
    rt.wait_status(&id, "stopped");
    rt.delete(&id).assert_ok("delete");
}
