//! Messages for people and engines: errors and warnings on stderr, and, with
//! `--log`, runc-style lines (text or JSON) that containerd and podman read.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use anyhow::{Context, Result};

use crate::cli::{GlobalOpts, LogFormat};

struct Logger {
    file: Option<Mutex<File>>,
    format: LogFormat,
    debug: bool,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Open the log file named by `--log`; call once, before any command runs.
pub fn init(opts: &GlobalOpts) -> Result<()> {
    let file = match &opts.log {
        Some(path) => Some(Mutex::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("open log file {path:?}"))?,
        )),
        None => None,
    };
    let _ = LOGGER.set(Logger {
        file,
        format: opts.log_format,
        debug: opts.debug,
    });
    Ok(())
}

fn now_rfc3339() -> String {
    rfc3339(std::time::SystemTime::now())
}

/// `t` in RFC 3339 with nanoseconds, UTC. humantime panics on a time
/// before 1970 and fails (a panic in `to_string`) from year 10000 on: a
/// host clock set that wrong is clamped into its range instead.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    use std::time::{Duration, UNIX_EPOCH};
    // 9999-12-31T23:59:59.999999999Z
    let last = UNIX_EPOCH + Duration::new(253_402_300_799, 999_999_999);
    let t = t.clamp(UNIX_EPOCH, last);
    humantime::format_rfc3339_nanos(t).to_string()
}

fn emit(level: &str, msg: &str) {
    emit_with(level, msg, false)
}

/// `emit`; from the panic hook, `in_panic` never waits for the log file's
/// lock (the panicking code may hold it) and skips the line instead.
fn emit_with(level: &str, msg: &str, in_panic: bool) {
    let Some(logger) = LOGGER.get() else {
        // No --debug without a logger (the library used directly, or
        // before the flags are read).
        if level != "debug" {
            eprintln!("hull: {level}: {msg}");
        }
        return;
    };
    if level == "debug" && !logger.debug {
        return;
    }
    if let Some(file) = &logger.file {
        let line = match logger.format {
            LogFormat::Json => {
                let mut line =
                    serde_json::json!({"level": level, "msg": msg, "time": now_rfc3339()})
                        .to_string();
                line.push('\n');
                line
            }
            LogFormat::Text => format!(
                "time=\"{}\" level={} msg={}\n",
                now_rfc3339(),
                level,
                serde_json::Value::String(msg.to_string())
            ),
        };
        let locked = if in_panic {
            file.try_lock().ok()
        } else {
            file.lock().ok()
        };
        if let Some(mut f) = locked {
            let _ = f.write_all(line.as_bytes());
        }
    }
    // Errors and warnings always reach the person at the terminal too; debug
    // lines only when no log file takes them.
    if level != "debug" || logger.file.is_none() {
        match level {
            "error" => eprintln!("hull: {msg}"),
            other => eprintln!("hull: {other}: {msg}"),
        }
    }
}

pub fn error(msg: &str) {
    emit("error", msg);
}

pub fn warn(msg: &str) {
    emit("warning", msg);
}

pub fn debug(msg: &str) {
    emit("debug", msg);
}

/// hull's pid when the hook was installed: a panic in any other process is
/// in a child of hull's clone (init, exec'd process, helper).
static HULL_PID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Where a panic in a child of hull's clone goes first: set by the
/// process module (`channel::report_panics_to`) to its sync-socket sender,
/// which says whether the text was sent.
static CHILD_PANIC_SINK: OnceLock<fn(&str) -> bool> = OnceLock::new();

/// Send the panics of a child of hull's clone to `sink` (stderr if it
/// returns false). Called in the child; a second call keeps the first sink.
pub fn report_child_panics_with(sink: fn(&str) -> bool) {
    let _ = CHILD_PANIC_SINK.set(sink);
}

/// Make a panic end as one error line instead of a backtrace or SIGABRT
/// (the release build aborts on panic).
/// - In hull: the line goes to stderr and `--log` (text or JSON) as any
///   error does. With `panic = "abort"` hull then exits 1 from the hook;
///   with unwinding (debug builds) `main` catches it and exits 1 after the
///   cleanup guards (a half-made container's) have run.
/// - In a child of hull's clone: the text goes to hull as an `Error` on
///   the sync socket (`channel::report_panics_to`), so create or exec
///   fails cleanly and removes what it made; stderr only if that fails.
///   The child always `_exit`s here: unwinding would run hull's own guards
///   (its Cleanup would remove the state dir) in the child.
pub fn install_panic_hook() {
    HULL_PID.store(std::process::id(), std::sync::atomic::Ordering::SeqCst);
    std::panic::set_hook(Box::new(|info| {
        static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        let text = panic_text(info.payload(), info.location());
        let in_child = std::process::id() != HULL_PID.load(std::sync::atomic::Ordering::SeqCst);
        if in_child {
            let sent = CHILD_PANIC_SINK.get().is_some_and(|sink| sink(&text));
            if !sent {
                let line = format!("hull: {text}\n");
                // SAFETY: write(2) of a buffer we own; no lock, no allocation
                // after this point.
                unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
            }
            // SAFETY: _exit is always safe; nothing may unwind in a clone.
            unsafe { libc::_exit(1) }
        }
        // One line per process, even if reporting panics again.
        if !SAID.swap(true, std::sync::atomic::Ordering::SeqCst) {
            emit_with("error", &text, true);
        }
        #[cfg(panic = "abort")]
        // SAFETY: as above; returning would abort (SIGABRT).
        unsafe {
            libc::_exit(1)
        }
    }));
}

/// `internal error: hull panicked at FILE:LINE:COL: MESSAGE` on one line,
/// no longer than the sync socket carries.
fn panic_text(
    payload: &(dyn std::any::Any + Send),
    location: Option<&std::panic::Location<'_>>,
) -> String {
    let msg = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    let place = location
        .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
        .unwrap_or_default();
    let text = format!("internal error: hull panicked{place}: {msg}");
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::error::shorten(&text).into_owned()
}

/// Test hook, compiled into debug builds only: panic here when
/// `HULL_TEST_PANIC` names this point (`main`, `create` once the state dir
/// and cgroup exist, `init` in the container's init, `exec` in an exec'd
/// process before it joins the container), so the tests can
/// show that even a panic ends as one error line with nothing left behind.
/// No input makes hull panic on purpose, so this is the only trigger.
#[cfg(debug_assertions)]
#[track_caller]
pub fn test_panic_point(point: &str) {
    if std::env::var_os("HULL_TEST_PANIC").is_some_and(|p| p == point) {
        panic!("HULL_TEST_PANIC={point}");
    }
}

/// Release builds: no test trigger.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn test_panic_point(_point: &str) {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn any_clock_formats() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
        // A clock before 1970 or past 9999 once made hull panic.
        let before = UNIX_EPOCH - Duration::from_secs(86_400);
        assert_eq!(rfc3339(before), "1970-01-01T00:00:00.000000000Z");
        let after = UNIX_EPOCH + Duration::from_secs(300_000_000_000);
        assert_eq!(rfc3339(after), "9999-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn panic_text_is_one_line() {
        let payload: Box<dyn std::any::Any + Send> = Box::new(String::from("bad\nthing\there"));
        let text = panic_text(payload.as_ref(), None);
        assert_eq!(text, "internal error: hull panicked: bad thing here");
        let long: Box<dyn std::any::Any + Send> = Box::new("x".repeat(100_000));
        let text = panic_text(long.as_ref(), None);
        assert!(text.len() <= crate::error::MAX_ERROR_TEXT);
    }
}
