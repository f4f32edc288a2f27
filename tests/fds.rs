//! Fds a container process gets beyond stdio: `--preserve-fds N` and
//! socket activation (LISTEN_FDS/LISTEN_PID passed on as runc does).

mod common;

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::Command;

use common::*;
use serde_json::Value;

/// A host file holding `text`, opened for reading.
fn host_file(rt: &Runtime, name: &str, text: &str) -> (File, String) {
    let path = rt.host_dir("fds").join(name);
    std::fs::write(&path, text).unwrap();
    (File::open(&path).unwrap(), path.display().to_string())
}

/// The (fd, target) pairs of the probe's report.
fn fds(report: &Value) -> Vec<(i64, String)> {
    report["fds"]
        .as_array()
        .expect("fds in the report")
        .iter()
        .map(|f| {
            (
                f["fd"].as_i64().unwrap(),
                f["target"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn preserve_fds_passes_exactly_the_next_n_fds() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&[]);
    let (three, three_path) = host_file(&rt, "three", "3");
    let (four, _) = host_file(&rt, "four", "4");
    let id = rt.new_id();
    rt.track(&id);
    let dir = bundle.dir.to_str().unwrap().to_string();
    let out = rt
        .spawn_configured(
            None,
            &["run", "--bundle", &dir, "--preserve-fds", "1", &id],
            |cmd| pass_fds(cmd, vec![three.as_raw_fd(), four.as_raw_fd()]),
        )
        .wait(COMMAND_TIMEOUT);
    out.assert_ok("run --preserve-fds 1");
    let seen = fds(&out.json());
    let numbers: Vec<i64> = seen.iter().map(|(fd, _)| *fd).collect();
    assert_eq!(numbers, [0, 1, 2, 3], "fd 4 was not asked for: {seen:?}");
    assert_eq!(seen[3].1, three_path, "fd 3 is the caller's fd 3");
}

#[test]
fn socket_activation_fds_come_first_with_listen_env() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&[]);
    let (listen, listen_path) = host_file(&rt, "listen", "L");
    let (extra, extra_path) = host_file(&rt, "extra", "E");
    let id = rt.new_id();
    rt.track(&id);
    let work = rt.host_dir("out");
    let (stdout, stderr) = (work.join("stdout"), work.join("stderr"));
    // LISTEN_PID must be the runtime's own pid: the shell's, kept by exec.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("LISTEN_PID=$$ LISTEN_FDS=1 exec \"$@\"")
        .arg("sh")
        .arg(&rt.bin)
        .arg("--root")
        .arg(&rt.root)
        .args(["run", "--bundle", bundle.dir.to_str().unwrap()])
        .args(["--preserve-fds", "1", &id])
        .stdin(std::process::Stdio::null())
        .stdout(File::create(&stdout).unwrap())
        .stderr(File::create(&stderr).unwrap());
    pass_fds(&mut cmd, vec![listen.as_raw_fd(), extra.as_raw_fd()]);
    let status = cmd.status().expect("run the runtime through sh");
    let err = std::fs::read_to_string(&stderr).unwrap();
    assert!(status.success(), "run failed: {status}: {err}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&stdout).unwrap())
        .unwrap_or_else(|e| panic!("probe output is not JSON: {e}: {err}"));
    let seen = fds(&report);
    let numbers: Vec<i64> = seen.iter().map(|(fd, _)| *fd).collect();
    assert_eq!(numbers, [0, 1, 2, 3, 4], "{seen:?}");
    assert_eq!(seen[3].1, listen_path, "the listen fd comes first");
    assert_eq!(seen[4].1, extra_path, "then the --preserve-fds one");
    assert_eq!(report["env"]["LISTEN_FDS"], "1");
    assert_eq!(report["env"]["LISTEN_PID"], "1");
}

#[test]
fn listen_fds_for_another_pid_are_not_passed() {
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.probe(&[]);
    let (listen, _) = host_file(&rt, "listen", "L");
    let id = rt.new_id();
    rt.track(&id);
    let dir = bundle.dir.to_str().unwrap().to_string();
    // LISTEN_PID names another process: the fds were not meant for us.
    let out = rt
        .spawn_configured(None, &["run", "--bundle", &dir, &id], |cmd| {
            cmd.env("LISTEN_FDS", "1").env("LISTEN_PID", "1");
            pass_fds(cmd, vec![listen.as_raw_fd()]);
        })
        .wait(COMMAND_TIMEOUT);
    out.assert_ok("run");
    let report = out.json();
    let numbers: Vec<i64> = fds(&report).iter().map(|(fd, _)| *fd).collect();
    assert_eq!(numbers, [0, 1, 2]);
    assert!(
        report["env"].get("LISTEN_FDS").is_none(),
        "{}",
        report["env"]
    );
}

#[test]
fn preserve_fds_beyond_what_was_passed_is_refused() {
    // Without the check, hull's own fds (its log, the state dir's lock,
    // exec.fifo) would take the free numbers and reach the container.
    // runc 1.1.5 passes whatever sits there.
    if !is_hull() {
        skip!("runc 1.1.5 passes whatever fds sit past --preserve-fds");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.args(&["/bin/true"]);
    let log = rt.work.join("hull.log");
    let dir = bundle.dir.to_str().unwrap().to_string();
    for cmd in ["create", "run"] {
        let id = rt.new_id();
        let out = rt.cmd(&[
            "--log",
            log.to_str().unwrap(),
            cmd,
            "--preserve-fds",
            "2",
            "--bundle",
            &dir,
            &id,
        ]);
        out.assert_failed(&format!("{cmd} --preserve-fds 2 without fds 3 and 4"));
        out.assert_stderr_contains("--preserve-fds 2: fd 3 is not open");
        assert_eq!(out.stderr.trim().lines().count(), 1, "{out:?}");
    }
    let id = rt.new_id();
    rt.create_running(&id, &{
        let mut b = rt.bundle();
        b.args(&["/bin/sleep", "1000"]);
        b
    });
    let out = rt.exec(&id, &["--preserve-fds", "1"], &["/bin/true"]);
    out.assert_failed("exec --preserve-fds 1 without fd 3");
    out.assert_stderr_contains("fd 3 is not open");
    rt.kill(&id, Some("KILL")).assert_ok("kill");
    rt.wait_status(&id, "stopped");
    rt.delete(&id).assert_ok("delete");
    rt.assert_nothing_left();
}

/// Accepts one connection on `listener` and takes the message and the fd
/// sent with it (SCM_RIGHTS).
fn receive_fd(listener: &std::os::unix::net::UnixListener) -> (String, std::os::fd::OwnedFd) {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};
    use std::os::fd::FromRawFd;
    let (stream, _) = listener.accept().unwrap();
    let mut buf = [0u8; 64];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<UnixAddr>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        // Close-on-exec: the other tests here run runtimes concurrently,
        // and an inherited pidfd would sit at the fd numbers they check.
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .unwrap();
    let fd = msg
        .cmsgs()
        .unwrap()
        .find_map(|c| match c {
            ControlMessageOwned::ScmRights(fds) => fds.first().copied(),
            _ => None,
        })
        .expect("a fd sent with the message");
    let n = msg.bytes;
    // SAFETY: SCM_RIGHTS gave this process the new fd.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    (String::from_utf8_lossy(&buf[..n]).into_owned(), fd)
}

/// The pid a pidfd refers to (its fdinfo's "Pid:" line).
fn pidfd_pid(fd: &std::os::fd::OwnedFd) -> i64 {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .expect("a pidfd's fdinfo has Pid:")
        .trim()
        .parse()
        .unwrap()
}

/// `--pidfd-socket` (runc 1.2): create sends a pidfd of the init, exec one
/// of its process, each with runc's message ("standard", "setns"); the
/// init's pidfd kills the container.
#[test]
fn pidfd_socket_gets_the_init_and_an_exec() {
    if !is_hull() {
        skip!("runc 1.1.5 predates --pidfd-socket (runc 1.2)");
    }
    let rt = Runtime::new();
    let sock = rt.host_dir("pidfd").join("pidfd.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let sock = sock.to_str().unwrap();
    let mut bundle = rt.bundle();
    bundle.probe(&["sleep-forever"]);
    let id = rt.new_id();
    let receiver = std::thread::spawn(move || (receive_fd(&listener), receive_fd(&listener)));
    rt.create_with(&id, &bundle, &["--pidfd-socket", sock])
        .assert_ok("create --pidfd-socket");
    let init = rt.state(&id)["pid"].as_i64().unwrap();
    rt.start(&id).assert_ok("start");
    let pid_file = rt.host_dir("pidfd").join("exec.pid");
    let flags = [
        "-d",
        "--pidfd-socket",
        sock,
        "--pid-file",
        pid_file.to_str().unwrap(),
    ];
    rt.exec(&id, &flags, &["/bin/probe", "sleep-forever"])
        .assert_ok("exec --pidfd-socket");
    let ((init_name, init_fd), (exec_name, exec_fd)) = receiver.join().unwrap();
    assert_eq!(init_name, "standard");
    assert_eq!(pidfd_pid(&init_fd), init);
    assert_eq!(exec_name, "setns");
    let exec_pid: i64 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pidfd_pid(&exec_fd), exec_pid);
    // SAFETY: pidfd_send_signal with a valid pidfd and no siginfo.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            init_fd.as_raw_fd(),
            libc::SIGKILL,
            0,
            0,
        )
    };
    assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
    rt.wait_status(&id, "stopped");
    rt.delete(&id).assert_ok("delete");
}

/// A socket nobody listens on fails the create, naming the flag; nothing
/// is left behind.
#[test]
fn pidfd_socket_that_cannot_be_reached_fails_the_create() {
    if !is_hull() {
        skip!("runc 1.1.5 predates --pidfd-socket (runc 1.2)");
    }
    let rt = Runtime::new();
    let sock = rt.host_dir("pidfd").join("nobody.sock");
    let mut bundle = rt.bundle();
    bundle.probe(&["sleep-forever"]);
    let id = rt.new_id();
    rt.create_with(&id, &bundle, &["--pidfd-socket", sock.to_str().unwrap()])
        .assert_failed("create with an unreachable --pidfd-socket")
        .assert_stderr_contains("--pidfd-socket");
    rt.assert_nothing_left();
}
