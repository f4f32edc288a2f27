//! `--debug`'s timing trace: where a command's time goes, one debug line
//! per phase, e.g. `timing: create.config 0.214 ms (at 1.402 ms, peak RSS
//! 3120 KiB)`: how long the phase took, when it ended (counted from the
//! first process's main, once its arguments are parsed: before the exe
//! guard's re-exec, whose cost is in `startup`) and hull's peak resident
//! memory so far.
//!
//! The init is a clone of hull: its marks stay in its own memory and ride
//! to hull on the sync socket just before `Ready`; hull prints them as
//! `init.*` phases between its own. Without --debug a mark is one atomic
//! load.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

static ENABLED: AtomicBool = AtomicBool::new(false);
/// CLOCK_MONOTONIC nanoseconds: the command's start, and its last mark.
static START: AtomicU64 = AtomicU64::new(0);
static LAST: AtomicU64 = AtomicU64::new(0);
/// The init's marks (phase, time), kept until they are sent.
static INIT_MARKS: Mutex<Vec<(&'static str, u64)>> = Mutex::new(Vec::new());

/// Carries the start across the exe guard's re-exec.
pub(crate) const START_ENV: &str = "_HULL_TIMING_START";

/// Start the trace when `enabled` (--debug); call once, right after the
/// arguments are parsed. After the exe guard's re-exec the start is the
/// first process's.
pub fn init(enabled: bool) {
    let carried = std::env::var(START_ENV).ok();
    if carried.is_some() {
        // Not passed on: hull gives its children their own environments.
        std::env::remove_var(START_ENV);
    }
    if !enabled {
        return;
    }
    let now = now_ns();
    let start = carried
        .and_then(|v| v.parse().ok())
        .filter(|&t| t <= now)
        .unwrap_or(now);
    START.store(start, Ordering::Relaxed);
    LAST.store(start, Ordering::Relaxed);
    ENABLED.store(true, Ordering::Relaxed);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The `NAME=VALUE` the exe guard passes to its re-exec, when tracing.
pub fn carried_start() -> Option<String> {
    enabled().then(|| format!("{START_ENV}={}", START.load(Ordering::Relaxed)))
}

/// The `NAME=VALUE` for a re-exec before the arguments are parsed
/// (whether --debug was given is not known yet): the start is now.
pub fn early_start() -> Option<String> {
    Some(format!("{START_ENV}={}", now_ns()))
}

/// The phase that just ended.
pub fn mark(phase: &str) {
    if enabled() {
        print(phase, now_ns());
    }
}

/// In the init: the phase that just ended, kept for `take_init_marks`.
pub fn mark_init(phase: &'static str) {
    if enabled() {
        if let Ok(mut marks) = INIT_MARKS.lock() {
            marks.push((phase, now_ns()));
        }
    }
}

/// In the init: its marks so far, to send to hull.
pub fn take_init_marks() -> Vec<(&'static str, u64)> {
    INIT_MARKS
        .lock()
        .map(|mut m| std::mem::take(&mut *m))
        .unwrap_or_default()
}

/// In hull: the init's marks, printed as `init.PHASE` in their order.
pub fn print_init_marks(marks: &[(String, u64)]) {
    if !enabled() {
        return;
    }
    for (phase, at) in marks {
        print(&format!("init.{phase}"), *at);
    }
}

fn print(phase: &str, now: u64) {
    let last = LAST.swap(now, Ordering::Relaxed);
    let start = START.load(Ordering::Relaxed);
    crate::logging::debug(&format!(
        "timing: {phase} {} ms (at {} ms, peak RSS {} KiB)",
        millis(now.saturating_sub(last)),
        millis(now.saturating_sub(start)),
        peak_rss_kib()
    ));
}

/// This process's peak resident set so far (the init's marks are printed
/// by hull, so theirs is hull's).
fn peak_rss_kib() -> i64 {
    nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)
        .map(|u| u.max_rss())
        .unwrap_or(0)
}

fn millis(ns: u64) -> String {
    format!("{}.{:03}", ns / 1_000_000, ns / 1_000 % 1_000)
}

fn now_ns() -> u64 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .unwrap_or(nix::sys::time::TimeSpec::new(0, 0));
    u64::try_from(t.tv_sec())
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(t.tv_nsec()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_has_microseconds() {
        assert_eq!(millis(1_234_567), "1.234");
        assert_eq!(millis(5_000), "0.005");
        assert_eq!(millis(12_000_000_000), "12000.000");
    }
}
