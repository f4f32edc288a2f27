//! linux.resources.cpu → the v1 cpu and cpuset controllers' files.

use oci_spec::runtime::LinuxCpu;

use crate::cgroups::common::Write;

pub fn writes(c: &LinuxCpu, out: &mut Vec<Write>) {
    if let Some(p) = c.realtime_period().filter(|p| *p != 0) {
        // linux.resources.cpu.realtimePeriod
        out.push(Write::new(
            "cpu",
            "cpu.rt_period_us",
            p,
            "linux.resources.cpu.realtimePeriod",
        ));
    }
    if let Some(r) = c.realtime_runtime().filter(|r| *r != 0) {
        // linux.resources.cpu.realtimeRuntime
        out.push(Write::new(
            "cpu",
            "cpu.rt_runtime_us",
            r,
            "linux.resources.cpu.realtimeRuntime",
        ));
    }
    if let Some(s) = c.shares().filter(|s| *s != 0) {
        // linux.resources.cpu.shares
        out.push(Write::new(
            "cpu",
            "cpu.shares",
            s,
            "linux.resources.cpu.shares",
        ));
    }
    if let Some(p) = c.period().filter(|p| *p != 0) {
        // linux.resources.cpu.period
        out.push(Write::new(
            "cpu",
            "cpu.cfs_period_us",
            p,
            "linux.resources.cpu.period",
        ));
    }
    if let Some(q) = c.quota().filter(|q| *q != 0) {
        // linux.resources.cpu.quota
        out.push(Write::new(
            "cpu",
            "cpu.cfs_quota_us",
            q,
            "linux.resources.cpu.quota",
        ));
    }
    if let Some(b) = c.burst() {
        // linux.resources.cpu.burst
        out.push(Write::new(
            "cpu",
            "cpu.cfs_burst_us",
            b,
            "linux.resources.cpu.burst",
        ));
    }
    if let Some(i) = c.idle() {
        // linux.resources.cpu.idle
        out.push(Write::new("cpu", "cpu.idle", i, "linux.resources.cpu.idle"));
    }
    crate::cgroups::both::cpuset(c, out);
}
