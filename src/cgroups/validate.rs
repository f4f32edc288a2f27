//! `linux.resources` values checked field by field, the same for every
//! backend, before anything is converted or made.

use anyhow::{bail, Result};
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use crate::cgroups::common::{check_unified_key, parse_cpuset};

/// The v1 kernel's cpu.shares bounds (runc checks them too).
pub const SHARES_MIN: u64 = 2;
pub const SHARES_MAX: u64 = 262_144;

/// As `validate`, for `update` (its fields are named from `resources`).
pub fn validate_update(r: &LinuxResources, warnings: &mut Vec<String>) -> Result<()> {
    validate(r, "resources", warnings)
}

/// Check every value of `r`; `prefix` names it ("linux.resources").
pub fn validate(r: &LinuxResources, prefix: &str, warnings: &mut Vec<String>) -> Result<()> {
    if let Some(m) = r.memory() {
        memory(m, prefix, warnings)?;
    }
    if let Some(c) = r.cpu() {
        cpu(c, prefix)?;
    }
    if let Some(b) = r.block_io() {
        block_io(b, prefix)?;
    }
    others(r, prefix)
}

fn limit_ok(v: Option<i64>, field: &str) -> Result<()> {
    if let Some(v) = v {
        if v < -1 {
            bail!("{field}: {v} is not a valid limit (use a byte count, or -1 for no limit)");
        }
    }
    Ok(())
}

fn memory(m: &LinuxMemory, prefix: &str, warnings: &mut Vec<String>) -> Result<()> {
    limit_ok(m.limit(), &format!("{prefix}.memory.limit"))?;
    limit_ok(m.reservation(), &format!("{prefix}.memory.reservation"))?;
    limit_ok(m.swap(), &format!("{prefix}.memory.swap"))?;
    limit_ok(m.kernel_tcp(), &format!("{prefix}.memory.kernelTCP"))?;
    if let (Some(swap), Some(limit)) = (m.swap(), m.limit()) {
        if swap > 0 && limit > 0 && swap < limit {
            bail!("{prefix}.memory.swap: {swap} is memory+swap and must not be below memory.limit ({limit})");
        }
    }
    if let Some(s) = m.swappiness() {
        if s > 100 {
            bail!("{prefix}.memory.swappiness: {s} is out of range (0 to 100)");
        }
    }
    if m.kernel().is_some_and(|k| k != 0) {
        warnings.push(format!(
            "{prefix}.memory.kernel: kernel memory limits are not supported by the kernel any more; ignored"
        ));
    }
    Ok(())
}

fn cpu(c: &LinuxCpu, prefix: &str) -> Result<()> {
    if let Some(s) = c.shares() {
        if s != 0 && !(SHARES_MIN..=SHARES_MAX).contains(&s) {
            bail!("{prefix}.cpu.shares: {s} is out of range ({SHARES_MIN} to {SHARES_MAX})");
        }
    }
    if let Some(q) = c.quota() {
        if q < -1 {
            bail!("{prefix}.cpu.quota: {q} is not valid (microseconds per period, or -1 for no limit)");
        }
        // A quota without a period uses the kernel's period (100 ms),
        // as with runc: `docker run --cpu-quota` sends no period.
        if q > 0 && q < 1000 {
            bail!("{prefix}.cpu.quota: {q} is below the kernel's minimum of 1000 microseconds");
        }
    }
    if let Some(p) = c.period() {
        if p != 0 && !(1000..=1_000_000).contains(&p) {
            bail!("{prefix}.cpu.period: {p} is out of range (1000 to 1000000 microseconds)");
        }
    }
    if let Some(rt) = c.realtime_runtime() {
        if rt < -1 {
            bail!("{prefix}.cpu.realtimeRuntime: {rt} is not valid");
        }
    }
    if let Some(idle) = c.idle() {
        if idle != 0 && idle != 1 {
            bail!("{prefix}.cpu.idle: {idle} is not valid (0 or 1)");
        }
    }
    for (name, list) in [("cpus", c.cpus()), ("mems", c.mems())] {
        if let Some(list) = list {
            if let Err(why) = parse_cpuset(list) {
                bail!("{prefix}.cpu.{name}: {list:?}: {why}");
            }
        }
    }
    Ok(())
}

fn block_io(b: &LinuxBlockIo, prefix: &str) -> Result<()> {
    let weight_ok = |v: Option<u16>, field: &str| -> Result<()> {
        match v {
            Some(v) if v != 0 && !(10..=1000).contains(&v) => {
                bail!("{prefix}.blockIO.{field}: {v} is out of range (10 to 1000)")
            }
            _ => Ok(()),
        }
    };
    weight_ok(b.weight(), "weight")?;
    weight_ok(b.leaf_weight(), "leafWeight")?;
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        weight_ok(d.weight(), &format!("weightDevice[{i}].weight"))?;
        weight_ok(d.leaf_weight(), &format!("weightDevice[{i}].leafWeight"))?;
        if d.major() < 0 || d.minor() < 0 {
            bail!("{prefix}.blockIO.weightDevice[{i}]: major and minor must not be negative");
        }
    }
    let list = |v: &Option<Vec<_>>| v.clone().unwrap_or_default();
    for (name, list) in [
        ("throttleReadBpsDevice", list(b.throttle_read_bps_device())),
        (
            "throttleWriteBpsDevice",
            list(b.throttle_write_bps_device()),
        ),
        (
            "throttleReadIOPSDevice",
            list(b.throttle_read_iops_device()),
        ),
        (
            "throttleWriteIOPSDevice",
            list(b.throttle_write_iops_device()),
        ),
    ] {
        for (i, d) in list.iter().enumerate() {
            if d.major() < 0 || d.minor() < 0 {
                bail!("{prefix}.blockIO.{name}[{i}]: major and minor must not be negative");
            }
        }
    }
    Ok(())
}

/// A hugepage size as the kernel names it ("2MB", "1GB", "64KB").
fn valid_page_size(size: &str) -> bool {
    let digits = size.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &size[digits.len()..];
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && matches!(unit, "KB" | "MB" | "GB")
}

/// hugepageLimits, network, rdma and unified.
fn others(r: &LinuxResources, prefix: &str) -> Result<()> {
    for (i, h) in r.hugepage_limits().iter().flatten().enumerate() {
        if !valid_page_size(h.page_size()) {
            bail!(
                "{prefix}.hugepageLimits[{i}].pageSize: {:?} is not a page size like \"2MB\" or \"1GB\"",
                h.page_size()
            );
        }
        if h.limit() < 0 {
            bail!(
                "{prefix}.hugepageLimits[{i}].limit: {} must not be negative",
                h.limit()
            );
        }
    }
    if let Some(n) = r.network() {
        for (i, p) in n.priorities().iter().flatten().enumerate() {
            if p.name().is_empty() || p.name().contains(char::is_whitespace) {
                bail!(
                    "{prefix}.network.priorities[{i}].name: {:?} is not an interface name",
                    p.name()
                );
            }
        }
    }
    for dev in r.rdma().iter().flat_map(|m| m.keys()) {
        if dev.is_empty() || dev.contains(char::is_whitespace) {
            bail!("{prefix}.rdma: {dev:?} is not a device name");
        }
    }
    for (key, value) in r.unified().iter().flatten() {
        check_unified_key(key).map_err(|why| anyhow::anyhow!("{prefix}.unified {key:?}: {why}"))?;
        if value.contains('\n') && !value.ends_with('\n') {
            bail!("{prefix}.unified {key:?}: the value must be one line");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
