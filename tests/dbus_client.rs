//! The D-Bus client against a real dbus-daemon: a private session bus on
//! which a second connection plays systemd (it owns
//! org.freedesktop.systemd1 and answers the manager's calls) in a thread
//! of the test, while the client under test runs on the test's thread.
//! What the fake received is decoded and compared with what was sent.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;
use hull::cgroups::systemd::dbus::address::Address;
use hull::cgroups::systemd::dbus::systemd::{Systemd, MANAGER, MANAGER_PATH, SYSTEMD};
use hull::cgroups::systemd::dbus::{Arg, Connection, Error, Kind, Message, Outgoing};
use hull::cgroups::systemd::properties::{Property, Value};

/// A private dbus-daemon, killed and reaped when dropped.
struct Bus {
    daemon: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Bus {
    /// None (after saying why) when dbus-daemon is not installed.
    fn start() -> Option<Bus> {
        Bus::start_as(None)
    }

    /// A bus run by `uid` (root only), or by us.
    fn start_as(uid: Option<u32>) -> Option<Bus> {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new("dbus-daemon");
        if let Some(uid) = uid {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(uid)).unwrap();
            command = Command::new("setpriv");
            let id = uid.to_string();
            command.args([
                "--reuid",
                &id,
                "--regid",
                &id,
                "--clear-groups",
                "dbus-daemon",
            ]);
        }
        let socket = dir.path().join("bus.sock");
        // Its complaints (it cannot raise its fd limit) go to a log read
        // only when it fails to start.
        let log_path = dir.path().join("dbus-daemon.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let spawned = command
            .args(["--session", "--nofork", "--print-address"])
            .arg(format!("--address=unix:path={}", socket.display()))
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn();
        let mut daemon = match spawned {
            Ok(child) => child,
            Err(e) => {
                skip_note!("needs dbus-daemon (make deps): {e}");
                return None;
            }
        };
        // The address is printed once the daemon listens.
        let mut line = String::new();
        let stdout = daemon.stdout.take().unwrap();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let bus = Bus {
            daemon,
            socket,
            _dir: dir,
        };
        assert!(
            line.starts_with("unix:path="),
            "dbus-daemon printed {line:?}"
        );
        Some(bus)
    }

    fn address(&self) -> Address {
        Address {
            path: self.socket.clone(),
            direct: false,
        }
    }

    fn connect(&self) -> Connection {
        Connection::connect(&self.address(), soon()).unwrap()
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

const JOB: &str = "/org/freedesktop/systemd1/job/42";

/// The fake systemd: answers until the test calls "Quit", and returns
/// every call it got.
fn fake_systemd(bus: &Bus) -> JoinHandle<Vec<Message>> {
    let mut conn = bus.connect();
    // DO_NOT_QUEUE: 1 is "primary owner".
    assert_eq!(conn.request_name(SYSTEMD, 4, soon()).unwrap(), 1);
    let (ready, wait_ready) = mpsc::channel();
    let fake = std::thread::spawn(move || {
        ready.send(()).unwrap();
        let mut calls = Vec::new();
        loop {
            let m = conn.next_message(soon()).unwrap().expect("a call");
            if m.kind != Kind::Call {
                continue;
            }
            if m.member.as_deref() == Some("Quit") {
                conn.send(
                    &Outgoing::reply(m.serial, m.sender.as_deref(), vec![]),
                    soon(),
                )
                .unwrap();
                return calls;
            }
            answer(&mut conn, &m);
            calls.push(m);
        }
    });
    wait_ready.recv().unwrap();
    fake
}

/// Unit names choose the fake's behaviour: "refused" gets an error,
/// "early" its JobRemoved before the reply, "failed" a failed job,
/// "silent" no JobRemoved at all.
fn answer(conn: &mut Connection, m: &Message) {
    let to = m.sender.as_deref();
    let reply = |args| Outgoing::reply(m.serial, to, args);
    let member = m.member.as_deref().unwrap_or("");
    let unit = match m.args(&m.signature).map(|mut r| r.string()) {
        Ok(Ok(first)) => first,
        _ => String::new(),
    };
    match member {
        "StartTransientUnit" | "StopUnit" if unit.contains("refused") => {
            let text = format!("Unit {unit} already exists.");
            let error = "org.freedesktop.systemd1.UnitExists";
            conn.send(&Outgoing::error(m.serial, to, error, &text), soon())
                .unwrap();
        }
        "StartTransientUnit" | "StopUnit" => {
            let result = if unit.contains("failed") {
                "failed"
            } else {
                "done"
            };
            let args = vec![
                Arg::U32(42),
                Arg::Path(JOB),
                Arg::Str(&unit),
                Arg::Str(result),
            ];
            let signal = Outgoing::signal(MANAGER_PATH, MANAGER, "JobRemoved", args);
            let early = unit.contains("early");
            let silent = unit.contains("silent");
            if early {
                conn.send(&signal, soon()).unwrap();
            }
            conn.send(&reply(vec![Arg::Path(JOB)]), soon()).unwrap();
            if !early && !silent {
                conn.send(&signal, soon()).unwrap();
            }
        }
        "ResetFailedUnit" => {
            let text = format!("Unit {unit} not loaded.");
            let error = "org.freedesktop.systemd1.NoSuchUnit";
            conn.send(&Outgoing::error(m.serial, to, error, &text), soon())
                .unwrap();
        }
        "Get" => {
            let mut r = m.args("ss").unwrap();
            let (_interface, name) = (r.string().unwrap(), r.string().unwrap());
            let value = match name.as_str() {
                "Version" => Value::Str("252.39-1~deb12u1".into()),
                _ => Value::U64(1 << 30),
            };
            conn.send(&reply(vec![Arg::Variant(&value)]), soon())
                .unwrap();
        }
        _ => {
            conn.send(&reply(vec![]), soon()).unwrap();
        }
    }
}

/// The client under test, subscribed, and the fake's calls when it quits.
fn client(bus: &Bus) -> Systemd {
    Systemd::new(bus.connect()).unwrap()
}

fn quit(client: &mut Systemd, fake: JoinHandle<Vec<Message>>) -> Vec<Message> {
    let quit = Outgoing::call(SYSTEMD, MANAGER_PATH, "test.Fake", "Quit", vec![]);
    client.connection().call(&quit, soon()).unwrap();
    fake.join().unwrap()
}

fn every_value() -> Vec<Property> {
    let p = |name: &str, value| Property::new(name, value, "test");
    vec![
        p("Description", Value::Str("hull container x".into())),
        p("Delegate", Value::Bool(true)),
        p("PIDs", Value::U32s(vec![std::process::id(), 1])),
        p("MemoryMax", Value::U64(u64::MAX)),
        p("AllowedCPUs", Value::Bytes(vec![0b0000_0111, 0b10])),
        p(
            "IOReadBandwidthMax",
            Value::PathValues(vec![
                ("/dev/block/8:0".into(), 1_048_576),
                ("/dev/sdb".into(), 5),
            ]),
        ),
        p(
            "Wants",
            Value::Strs(vec!["a.slice".into(), "b.slice".into()]),
        ),
        p("X-y", Value::Byte(7)),
        p("X-n", Value::I16(-2)),
        p("X-q", Value::U16(65535)),
        p("X-i", Value::I32(-5)),
        p("X-u", Value::U32(7)),
        p("X-x", Value::I64(i64::MIN)),
        p("X-empty", Value::PathValues(vec![])),
    ]
}

#[test]
fn start_transient_unit_sends_every_property_type_and_waits_for_its_job() {
    let Some(bus) = Bus::start() else { return };
    let fake = fake_systemd(&bus);
    let mut client = client(&bus);
    let props = every_value();
    // JobRemoved after the reply, then before it (queued while waiting).
    for unit in ["hull-late.scope", "hull-early.scope"] {
        assert_eq!(
            client
                .start_transient_unit(unit, "replace", &props)
                .unwrap(),
            JOB
        );
    }
    let calls = quit(&mut client, fake);
    let starts: Vec<_> = calls
        .iter()
        .filter(|m| m.member.as_deref() == Some("StartTransientUnit"))
        .collect();
    assert_eq!(starts.len(), 2);
    let mut r = starts[0].args("ssa(sv)a(sa(sv))").unwrap();
    assert_eq!(r.string().unwrap(), "hull-late.scope");
    assert_eq!(r.string().unwrap(), "replace");
    let sent: Vec<_> = props.into_iter().map(|p| (p.name, p.value)).collect();
    assert_eq!(r.props().unwrap(), sent);
    assert_eq!(r.aux_units().unwrap(), vec![]);
    assert_eq!(calls[0].member.as_deref(), Some("Subscribe"));
}

#[test]
fn errors_name_the_unit_and_systemds_error() {
    let Some(bus) = Bus::start() else { return };
    let fake = fake_systemd(&bus);
    let mut client = client(&bus);
    let err = client
        .start_transient_unit("refused.scope", "fail", &[])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "start unit \"refused.scope\": org.freedesktop.systemd1.UnitExists: Unit refused.scope already exists."
    );
    assert!(err.is("org.freedesktop.systemd1.UnitExists"));
    let err = client
        .start_transient_unit("failed.scope", "fail", &[])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("start unit \"failed.scope\": job {JOB} ended with result \"failed\"")
    );
    let err = client.reset_failed_unit("gone.scope").unwrap_err();
    assert_eq!(
        err.to_string(),
        "reset failed unit \"gone.scope\": org.freedesktop.systemd1.NoSuchUnit: Unit gone.scope not loaded."
    );
    // A job whose JobRemoved never comes: bounded.
    client.set_job_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let err = client
        .start_transient_unit("silent.scope", "fail", &[])
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?} {err}",
        started.elapsed()
    );
    assert_eq!(
        err.to_string(),
        format!("start unit \"silent.scope\": timed out waiting for JobRemoved of job {JOB}")
    );
    quit(&mut client, fake);
}

#[test]
fn set_attach_stop_and_properties() {
    let Some(bus) = Bus::start() else { return };
    let fake = fake_systemd(&bus);
    let mut client = client(&bus);
    let props = [Property::new(
        "CPUWeight",
        Value::U64(39),
        "linux.resources.cpu.shares",
    )];
    client.set_unit_properties("a.scope", true, &props).unwrap();
    client
        .attach_processes_to_unit("a.scope", "/sub", &[10, 11])
        .unwrap();
    assert_eq!(client.stop_unit("a.scope", "replace").unwrap(), JOB);
    assert_eq!(client.version().unwrap(), "252.39-1~deb12u1");
    assert_eq!(
        client
            .get_unit_property("a.scope", "org.freedesktop.systemd1.Scope", "MemoryMax")
            .unwrap(),
        Value::U64(1 << 30)
    );
    let calls = quit(&mut client, fake);
    let find = |member: &str| {
        calls
            .iter()
            .find(|m| m.member.as_deref() == Some(member))
            .unwrap_or_else(|| panic!("no {member} call"))
    };
    let mut r = find("SetUnitProperties").args("sba(sv)").unwrap();
    assert_eq!(r.string().unwrap(), "a.scope");
    assert!(r.bool().unwrap());
    assert_eq!(
        r.props().unwrap(),
        vec![("CPUWeight".into(), Value::U64(39))]
    );
    let mut r = find("AttachProcessesToUnit").args("ssau").unwrap();
    assert_eq!(
        (r.string().unwrap(), r.string().unwrap()),
        ("a.scope".into(), "/sub".into())
    );
    assert_eq!(r.value("au").unwrap(), Value::U32s(vec![10, 11]));
    let get = calls
        .iter()
        .filter(|m| m.member.as_deref() == Some("Get"))
        .nth(1)
        .unwrap();
    assert_eq!(
        get.path.as_deref(),
        Some("/org/freedesktop/systemd1/unit/a_2escope")
    );
}

#[test]
fn a_signal_wait_ends_at_its_deadline() {
    let Some(bus) = Bus::start() else { return };
    let mut conn = bus.connect();
    assert!(conn.unique_name().is_some_and(|n| n.starts_with(':')));
    let started = Instant::now();
    let err = conn
        .wait_for_signal(
            MANAGER,
            "JobRemoved",
            |_| true,
            started + Duration::from_millis(200),
        )
        .unwrap_err();
    let waited = started.elapsed();
    assert!(matches!(err, Error::Timeout(_)), "{err}");
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("timed out waiting for the signal {MANAGER}.JobRemoved")
    );
}

#[test]
fn connect_errors_name_the_socket() {
    let missing = Path::new("/nonexistent/bus.sock");
    let addr = Address {
        path: missing.into(),
        direct: false,
    };
    let err = Connection::connect_first(&[addr], soon())
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        err,
        "/nonexistent/bus.sock: connect: ENOENT: No such file or directory"
    );
}

/// The uid that runs the bus and the user namespace in the test below.
const OUTSIDE_UID: u32 = 1000;
const SOCKET_ENV: &str = "HULL_TEST_DBUS_SOCKET";

/// Inside `unshare -U -r` getuid() is 0 but the bus sees the uid outside:
/// a client that said "0" in AUTH EXTERNAL would be refused. Ours lets
/// the bus take the socket's credentials, so it gets in.
#[test]
fn auth_from_inside_a_user_namespace() {
    if !nix::unistd::getuid().is_root() {
        skip!("needs root, to run the bus and the client as uid {OUTSIDE_UID}");
    }
    let Some(bus) = Bus::start_as(Some(OUTSIDE_UID)) else {
        return;
    };
    let id = OUTSIDE_UID.to_string();
    let out = Command::new("setpriv")
        .args(["--reuid", &id, "--regid", &id, "--clear-groups"])
        .args(["unshare", "--user", "--map-root-user"])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "client_in_a_user_namespace", "--include-ignored"])
        .env(SOCKET_ENV, &bus.socket)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{}\n{stdout}\n{stderr}",
        out.status
    );
}

/// Run by the test above in the user namespace.
#[test]
#[ignore = "run in a user namespace by auth_from_inside_a_user_namespace"]
fn client_in_a_user_namespace() {
    let socket = std::env::var_os(SOCKET_ENV).expect("the bus socket in $HULL_TEST_DBUS_SOCKET");
    assert_eq!(nix::unistd::getuid().as_raw(), 0);
    assert_eq!(
        hull::cgroups::systemd::dbus::address::outside_uid(),
        OUTSIDE_UID
    );
    let addr = Address {
        path: socket.into(),
        direct: false,
    };
    let conn = Connection::connect(&addr, soon()).unwrap();
    assert!(conn.unique_name().is_some_and(|n| n.starts_with(':')));
}

/// A one-shot server on a socket in `dir` that reads the auth request and
/// then writes `answer` (for each of `connections` connections).
fn answering_server(
    dir: &Path,
    answer: &'static [u8],
    connections: usize,
) -> (Address, JoinHandle<()>) {
    use std::io::{Read, Write};
    let path = dir.join("server.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let server = std::thread::spawn(move || {
        for _ in 0..connections {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 64];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(answer);
            // Open until the client hangs up, as a bus would be.
            let _ = stream.read_to_end(&mut Vec::new());
        }
    });
    let addr = Address {
        path,
        direct: false,
    };
    (addr, server)
}

#[test]
fn a_refusing_bus_is_an_auth_error_naming_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    // Refused with our socket's credentials, then with the uid said.
    let (addr, server) = answering_server(dir.path(), b"REJECTED EXTERNAL\r\n", 2);
    let err = Connection::connect(&addr, soon()).err().unwrap();
    server.join().unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "authentication refused: {}: \"REJECTED EXTERNAL\"",
            addr.path.display()
        )
    );
}

#[test]
fn a_peer_that_sends_no_d_bus_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, server) = answering_server(dir.path(), b"OK 0123\r\nHTTP/1.1 200 OK\r\n\r\n", 1);
    let err = Connection::connect(&addr, soon()).err().unwrap();
    server.join().unwrap();
    assert!(matches!(err, Error::Protocol(_)), "{err}");
    assert_eq!(err.to_string(), "bad D-Bus message: endianness byte 0x48");
    // Silence after the auth: Hello ends at its deadline.
    let dir = tempfile::tempdir().unwrap();
    let (addr, server) = answering_server(dir.path(), b"OK 0123\r\n", 1);
    let started = Instant::now();
    let err = Connection::connect(&addr, started + Duration::from_millis(200))
        .err()
        .unwrap();
    server.join().unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(
        err.to_string(),
        "timed out waiting for the reply to org.freedesktop.DBus.Hello"
    );
}
