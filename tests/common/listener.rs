//! The example seccomp listener (cargo example `seccomp-listener`),
//! started for a test and stopped with it.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::{probe_path, Runtime};

pub fn listener_path() -> PathBuf {
    let path = std::env::var_os("HULL_SECCOMP_LISTENER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            probe_path()
                .parent()
                .expect("examples dir")
                .join("seccomp-listener")
        });
    assert!(
        path.is_file(),
        "{} missing: build it with `cargo build --examples`",
        path.display()
    );
    path
}

/// The example listener, started and ready.
pub struct Listener {
    child: std::process::Child,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    pub socket: PathBuf,
    dir: PathBuf,
}

impl Listener {
    pub fn start(rt: &Runtime, errno: i32, connections: usize) -> Listener {
        let dir = rt.host_dir("listener");
        let socket = dir.join("agent.sock");
        let mut child = Command::new(listener_path())
            .arg(&socket)
            .arg(dir.join("state"))
            .arg(errno.to_string())
            .arg(connections.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the listener");
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready");
        Listener {
            child,
            stdout,
            socket,
            dir,
        }
    }

    /// The container process state of connection `n`. The listener writes
    /// it once it has received it, which may be just after the create that
    /// sent it returned: waited for, up to 10 s.
    pub fn state(&self, n: usize) -> Value {
        let path = self.dir.join(format!("state-{n}.json"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !path.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
    }

    /// Once the filters' processes are gone: what it answered, by syscall.
    pub fn finish(mut self) -> Value {
        let mut summary = String::new();
        self.stdout.read_line(&mut summary).unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "listener: {status}");
        serde_json::from_str::<Value>(summary.trim()).unwrap()["notified"].clone()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // A test that failed early leaves no listener waiting behind it.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
