//! The systemd manager's methods the driver calls, typed, each error one
//! line naming the unit (and the property when there is one) and
//! systemd's error name and message.

use std::time::{Duration, Instant};

use super::address;
use super::conn::Connection;
use super::error::{Error, Result};
use super::marshal::{Arg, Outgoing};
use super::unmarshal::Message;
use crate::cgroups::systemd::properties::{Property, Value};

pub const SYSTEMD: &str = "org.freedesktop.systemd1";
pub const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
pub const MANAGER: &str = "org.freedesktop.systemd1.Manager";
pub const UNIT: &str = "org.freedesktop.systemd1.Unit";
const PROPERTIES: &str = "org.freedesktop.DBus.Properties";

/// How long a call waits for its reply (systemd's own method timeout).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(25);
/// How long a start or stop job may take.
pub const JOB_TIMEOUT: Duration = Duration::from_secs(30);

/// A systemd call that failed: what was asked, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {cause}")]
pub struct CallError {
    /// `start unit "x.scope"`, `get property MemoryMax of unit "x.scope"`…
    pub what: String,
    pub cause: Error,
}

impl CallError {
    /// Whether systemd answered with the error `name`.
    pub fn is(&self, name: &str) -> bool {
        self.cause.is_method_error(name)
    }
}

/// A connection to systemd's manager that receives its JobRemoved signals.
pub struct Systemd {
    conn: Connection,
    job_timeout: Duration,
}

impl Systemd {
    /// The system instance: the system bus, else systemd's private socket.
    pub fn system() -> std::result::Result<Systemd, CallError> {
        Systemd::connect(&address::system_bus())
    }

    /// The calling user's instance, over the user's bus.
    pub fn user() -> std::result::Result<Systemd, CallError> {
        Systemd::connect(&address::user_bus())
    }

    fn connect(candidates: &[address::Address]) -> std::result::Result<Systemd, CallError> {
        let deadline = Instant::now() + CALL_TIMEOUT;
        let conn = Connection::connect_first(candidates, deadline).map_err(|cause| CallError {
            what: "connect to systemd".into(),
            cause,
        })?;
        Systemd::new(conn)
    }

    /// Subscribe `conn` to the manager's signals (and, on a bus, route
    /// JobRemoved to it).
    pub fn new(mut conn: Connection) -> std::result::Result<Systemd, CallError> {
        let deadline = Instant::now() + CALL_TIMEOUT;
        let rule = format!(
            "type='signal',sender='{SYSTEMD}',interface='{MANAGER}',member='JobRemoved',path='{MANAGER_PATH}'"
        );
        let subscribe = Outgoing::call(SYSTEMD, MANAGER_PATH, MANAGER, "Subscribe", vec![]);
        let result =
            conn.add_match(&rule, deadline)
                .and_then(|()| match conn.call(&subscribe, deadline) {
                    Err(e) if e.is_method_error("org.freedesktop.systemd1.AlreadySubscribed") => {
                        Ok(())
                    }
                    other => other.map(drop),
                });
        result.map_err(|cause| CallError {
            what: "subscribe to systemd's signals".into(),
            cause,
        })?;
        Ok(Systemd {
            conn,
            job_timeout: JOB_TIMEOUT,
        })
    }

    /// Wait at most `timeout` for a job (JOB_TIMEOUT unless set).
    pub fn set_job_timeout(&mut self, timeout: Duration) {
        self.job_timeout = timeout;
    }

    /// The connection, for calls not typed here.
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    fn manager_call(&mut self, member: &str, args: Vec<Arg>) -> Result<Message> {
        let msg = Outgoing::call(SYSTEMD, MANAGER_PATH, MANAGER, member, args);
        self.conn.call(&msg, Instant::now() + CALL_TIMEOUT)
    }

    /// Start the transient unit `name` with `props` (`mode`: "replace",
    /// "fail"…) and wait until its job is done; the job's path.
    pub fn start_transient_unit(
        &mut self,
        name: &str,
        mode: &str,
        props: &[Property],
    ) -> std::result::Result<String, CallError> {
        let what = format!("start unit {name:?}");
        let args = vec![
            Arg::Str(name),
            Arg::Str(mode),
            Arg::Props(props),
            Arg::NoAuxUnits,
        ];
        self.job("StartTransientUnit", args, &what, props)
    }

    /// Stop the unit `name` and wait until its job is done.
    pub fn stop_unit(&mut self, name: &str, mode: &str) -> std::result::Result<String, CallError> {
        let what = format!("stop unit {name:?}");
        self.job("StopUnit", vec![Arg::Str(name), Arg::Str(mode)], &what, &[])
    }

    /// Call `member`, which answers a job path, and wait for the job's
    /// JobRemoved with result "done".
    fn job(
        &mut self,
        member: &str,
        args: Vec<Arg>,
        what: &str,
        props: &[Property],
    ) -> std::result::Result<String, CallError> {
        let fail = |cause| CallError {
            what: blame(what, props, &cause),
            cause,
        };
        let job = self
            .manager_call(member, args)
            .and_then(|reply| reply.args("o")?.object_path())
            .map_err(fail)?;
        let result = self
            .wait_job(&job, Instant::now() + self.job_timeout)
            .map_err(fail)?;
        if result != "done" {
            return Err(fail(Error::Job { job, result }));
        }
        Ok(job)
    }

    /// The result ("done", "failed", "canceled"…) of `job`'s JobRemoved.
    fn wait_job(&mut self, job: &str, deadline: Instant) -> Result<String> {
        let removed = |m: &Message| {
            m.args("uoss")
                .and_then(|mut r| Ok((r.u32()?, r.object_path()?)))
                .is_ok_and(|(_, path)| path == job)
        };
        let signal = self
            .conn
            .wait_for_signal(MANAGER, "JobRemoved", removed, deadline)
            .map_err(|e| match e {
                Error::Timeout(_) => Error::Timeout(format!("JobRemoved of job {job}")),
                other => other,
            })?;
        let mut r = signal.args("uoss")?;
        let (_id, _job, _unit) = (r.u32()?, r.object_path()?, r.string()?);
        r.string()
    }

    /// Forget that `name` failed (so its name can be used again).
    pub fn reset_failed_unit(&mut self, name: &str) -> std::result::Result<(), CallError> {
        self.manager_call("ResetFailedUnit", vec![Arg::Str(name)])
            .map(drop)
            .map_err(|cause| CallError {
                what: format!("reset failed unit {name:?}"),
                cause,
            })
    }

    /// Set `props` on the unit `name` (`runtime`: until reboot only).
    pub fn set_unit_properties(
        &mut self,
        name: &str,
        runtime: bool,
        props: &[Property],
    ) -> std::result::Result<(), CallError> {
        let args = vec![Arg::Str(name), Arg::Bool(runtime), Arg::Props(props)];
        self.manager_call("SetUnitProperties", args)
            .map(drop)
            .map_err(|cause| CallError {
                what: blame(&format!("set properties of unit {name:?}"), props, &cause),
                cause,
            })
    }

    /// Move `pids` into `subcgroup` ("" for the unit's own) of `unit`.
    pub fn attach_processes_to_unit(
        &mut self,
        unit: &str,
        subcgroup: &str,
        pids: &[u32],
    ) -> std::result::Result<(), CallError> {
        let args = vec![Arg::Str(unit), Arg::Str(subcgroup), Arg::U32s(pids)];
        self.manager_call("AttachProcessesToUnit", args)
            .map(drop)
            .map_err(|cause| CallError {
                what: format!("attach processes {pids:?} to unit {unit:?} ({subcgroup:?})"),
                cause,
            })
    }

    /// The property `name` of `interface` (e.g. UNIT, or
    /// "org.freedesktop.systemd1.Scope") of the unit `unit`.
    pub fn get_unit_property(
        &mut self,
        unit: &str,
        interface: &str,
        name: &str,
    ) -> std::result::Result<Value, CallError> {
        self.get_property(&unit_object_path(unit), interface, name)
            .map_err(|cause| CallError {
                what: format!("get property {name} of unit {unit:?}"),
                cause,
            })
    }

    /// The manager's own property `name` (e.g. ControlGroup).
    pub fn manager_property(&mut self, name: &str) -> std::result::Result<Value, CallError> {
        self.get_property(MANAGER_PATH, MANAGER, name)
            .map_err(|cause| CallError {
                what: format!("get systemd's {name}"),
                cause,
            })
    }

    /// The manager's Version ("252.39-1~deb12u1").
    pub fn version(&mut self) -> std::result::Result<String, CallError> {
        let what = || "get systemd's Version".to_string();
        match self.get_property(MANAGER_PATH, MANAGER, "Version") {
            Ok(Value::Str(version)) => Ok(version),
            Ok(other) => Err(CallError {
                what: what(),
                cause: Error::Protocol(format!("a Version that is not a string: {other:?}")),
            }),
            Err(cause) => Err(CallError {
                what: what(),
                cause,
            }),
        }
    }

    fn get_property(&mut self, path: &str, interface: &str, name: &str) -> Result<Value> {
        let args = vec![Arg::Str(interface), Arg::Str(name)];
        let msg = Outgoing::call(SYSTEMD, path, PROPERTIES, "Get", args);
        let reply = self.conn.call(&msg, Instant::now() + CALL_TIMEOUT)?;
        reply.args("v")?.variant()
    }
}

/// `what`, and the property of `props` that systemd's error text names
/// with the config field it came from, so the error points at the config:
/// `start unit "x.scope": property MemoryMax (linux.resources.memory.limit)`.
fn blame(what: &str, props: &[Property], cause: &Error) -> String {
    let Error::Method { message, .. } = cause else {
        return what.to_string();
    };
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let named = props.iter().find(|p| {
        message.match_indices(p.name.as_str()).any(|(at, _)| {
            !word(message[..at].chars().next_back())
                && !word(message[at + p.name.len()..].chars().next())
        })
    });
    match named {
        Some(p) => format!("{what}: property {} ({})", p.name, p.field),
        None => what.to_string(),
    }
}

/// The object path of the unit `name`, escaped as systemd does: every
/// byte but [A-Za-z0-9] as _XX.
pub fn unit_object_path(name: &str) -> String {
    let mut path = String::from("/org/freedesktop/systemd1/unit/");
    if name.is_empty() {
        path.push('_');
    }
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() {
            path.push(char::from(b));
        } else {
            path.push_str(&format!("_{b:02x}"));
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_paths_escaped_as_systemd_does() {
        assert_eq!(
            unit_object_path("hull-a1.scope"),
            "/org/freedesktop/systemd1/unit/hull_2da1_2escope"
        );
        assert_eq!(
            unit_object_path("-.slice"),
            "/org/freedesktop/systemd1/unit/_2d_2eslice"
        );
    }

    #[test]
    fn errors_name_the_property_systemd_names() {
        let props = [
            Property::new("MemoryMax", Value::U64(1), "linux.resources.memory.limit"),
            Property::new("Memory", Value::U64(1), "annotations[\"x\"]"),
        ];
        let cause = |message: &str| Error::Method {
            name: "org.freedesktop.DBus.Error.InvalidArgs".into(),
            message: message.into(),
        };
        assert_eq!(
            blame(
                "start unit \"x\"",
                &props,
                &cause("Cannot set property MemoryMax, or unknown property.")
            ),
            "start unit \"x\": property MemoryMax (linux.resources.memory.limit)"
        );
        assert_eq!(
            blame("w", &props, &cause("Unknown assignment: Memory")),
            "w: property Memory (annotations[\"x\"])"
        );
        assert_eq!(blame("w", &props, &cause("MemoryMaxes")), "w");
        assert_eq!(blame("w", &props, &Error::Io("MemoryMax".into())), "w");
    }

    #[test]
    fn call_errors_are_one_line_naming_the_unit() {
        let err = CallError {
            what: "start unit \"x.scope\"".into(),
            cause: Error::Method {
                name: "org.freedesktop.systemd1.UnitExists".into(),
                message: "Unit x.scope already exists.".into(),
            },
        };
        assert_eq!(
            err.to_string(),
            "start unit \"x.scope\": org.freedesktop.systemd1.UnitExists: Unit x.scope already exists."
        );
        assert!(err.is("org.freedesktop.systemd1.UnitExists"));
    }
}
