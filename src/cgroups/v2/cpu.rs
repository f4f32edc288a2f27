//! linux.resources.cpu → the v2 cpu and cpuset controllers' files.

use anyhow::{bail, Result};
use oci_spec::runtime::LinuxCpu;

use crate::cgroups::common::Write;

/// runc's cpu.shares (2..262144) → cpu.weight (1..10000).
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + ((shares.saturating_sub(2)) * 9999) / 262_142
}

pub fn writes(c: &LinuxCpu, out: &mut Vec<Write>) -> Result<()> {
    // linux.resources.cpu.realtimeRuntime, linux.resources.cpu.realtimePeriod
    if c.realtime_runtime().is_some_and(|v| v != 0) || c.realtime_period().is_some_and(|v| v != 0) {
        bail!("linux.resources.cpu.realtimeRuntime/realtimePeriod: real-time cpu limits do not exist on cgroup v2");
    }
    let weight = shares_to_weight(c.shares().unwrap_or(0));
    if weight != 0 {
        // linux.resources.cpu.shares
        out.push(Write::new(
            "cpu",
            "cpu.weight",
            weight,
            "linux.resources.cpu.shares",
        ));
    }
    if let Some(i) = c.idle() {
        // linux.resources.cpu.idle
        out.push(Write::new("cpu", "cpu.idle", i, "linux.resources.cpu.idle"));
    }
    // linux.resources.cpu.quota and linux.resources.cpu.period share cpu.max.
    let quota = c.quota().unwrap_or(0);
    let period = c.period().unwrap_or(0);
    if quota != 0 || period != 0 {
        let mut v = if quota > 0 {
            quota.to_string()
        } else {
            "max".to_string()
        };
        if period != 0 {
            v.push_str(&format!(" {period}"));
        }
        out.push(Write::new("cpu", "cpu.max", v, "linux.resources.cpu.quota"));
    }
    if let Some(b) = c.burst() {
        // linux.resources.cpu.burst
        out.push(Write::new(
            "cpu",
            "cpu.max.burst",
            b,
            "linux.resources.cpu.burst",
        ));
    }
    crate::cgroups::both::cpuset(c, out);
    Ok(())
}
