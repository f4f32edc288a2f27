//! Signal names as runc accepts them: `TERM`, `SIGTERM`, `sigterm`, `15`,
//! `RTMIN+2`.

use anyhow::{bail, Result};
use nix::sys::signal::Signal;

/// The first real-time signal as runc and Docker number it (glibc's
/// SIGRTMIN: the kernel's 32 less the two glibc keeps), whatever C library
/// hull is linked with: `RTMIN+3` is signal 37 for every engine. (musl
/// keeps three and says 35.)
pub const SIGRTMIN: i32 = 34;
/// The last signal: the kernel's _NSIG.
pub const SIGRTMAX: i32 = 64;

/// The signal number named by `spec`.
pub fn parse_signal(spec: &str) -> Result<i32> {
    let s = spec.trim();
    if let Ok(n) = s.parse::<i32>() {
        if (1..=SIGRTMAX).contains(&n) {
            return Ok(n);
        }
        bail!("unknown signal {spec:?}: numbers go from 1 to {}", SIGRTMAX);
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(rt) = parse_realtime(name) {
        return Ok(rt);
    }
    if let Some(sig) = Signal::iterator().find(|sig| &sig.as_str()[3..] == name) {
        return Ok(sig as i32);
    }
    if name == "IOT" {
        return Ok(libc::SIGABRT);
    }
    bail!("unknown signal {spec:?}: use a name like TERM or SIGKILL, or a number")
}

fn parse_realtime(name: &str) -> Option<i32> {
    let (base, rest) = if let Some(rest) = name.strip_prefix("RTMIN") {
        (SIGRTMIN, rest)
    } else if let Some(rest) = name.strip_prefix("RTMAX") {
        (SIGRTMAX, rest)
    } else {
        return None;
    };
    let n = if rest.is_empty() {
        base
    } else if let Some(off) = rest.strip_prefix('+') {
        // Checked: RTMIN+2147483647 overflowed (a panic in debug builds).
        base.checked_add(off.parse::<i32>().ok()?)?
    } else if let Some(off) = rest.strip_prefix('-') {
        base.checked_sub(off.parse::<i32>().ok()?)?
    } else {
        return None;
    };
    (SIGRTMIN..=SIGRTMAX).contains(&n).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse_signal("TERM").unwrap(), libc::SIGTERM);
        assert_eq!(parse_signal("SIGKILL").unwrap(), libc::SIGKILL);
        assert_eq!(parse_signal("sigusr1").unwrap(), libc::SIGUSR1);
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert_eq!(parse_signal("RTMIN+1").unwrap(), 35);
        assert_eq!(parse_signal("SIGRTMIN+3").unwrap(), 37);
        assert_eq!(parse_signal("RTMAX-2").unwrap(), 62);
        assert_eq!(parse_signal("SIGRTMAX").unwrap(), 64);
    }

    #[test]
    fn unknown_signals() {
        assert!(parse_signal("FOO").is_err());
        assert!(parse_signal("0").is_err());
        assert!(parse_signal("65").is_err());
        assert!(parse_signal("RTMIN+99").is_err());
        assert!(parse_signal("").is_err());
        // Offsets at the ends of i32 are unknown signals, not overflows.
        assert!(parse_signal("RTMIN+2147483647").is_err());
        assert!(parse_signal("SIGRTMAX--2147483648").is_err());
        assert!(parse_signal("RTMAX-2147483647").is_err());
    }
}
