//! linux.resources → the unit properties systemd has for them, as runc's
//! systemd driver sets them; what systemd has no property for is written
//! through the cgroup files by the v2 conversion afterwards. Pure: the
//! values are typed here and marshalled by the D-Bus client.

use anyhow::{anyhow, Result};
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use crate::cgroups::common::parse_cpuset;
use crate::cgroups::v2;

/// systemd's "infinity" for limits and quotas (USEC_INFINITY,
/// CGROUP_LIMIT_MAX).
pub const INFINITY: u64 = u64::MAX;

/// The D-Bus types unit properties take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Bool(bool),
    Str(String),
    Byte(u8),
    I16(i16),
    U16(u16),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    /// `as`
    Strs(Vec<String>),
    /// `au` (PIDs)
    U32s(Vec<u32>),
    /// `ay` (AllowedCPUs, AllowedMemoryNodes: a bitmask, cpu 0 in bit 0
    /// of byte 0)
    Bytes(Vec<u8>),
    /// `a(st)` (IO device weights and limits: device node, value)
    PathValues(Vec<(String, u64)>),
}

/// One unit property, with the config field it comes from (for errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub name: String,
    pub value: Value,
    pub field: String,
}

impl Property {
    pub fn new(name: &str, value: Value, field: &str) -> Property {
        Property {
            name: name.into(),
            value,
            field: field.into(),
        }
    }
}

/// The properties for `r`, in runc's order: memory, cpu, cpuset, pids, io.
pub fn resources(r: &LinuxResources) -> Result<Vec<Property>> {
    let mut out = Vec::new();
    if let Some(m) = r.memory() {
        memory(m, &mut out)?;
    }
    if let Some(c) = r.cpu() {
        cpu(c, &mut out)?;
    }
    if let Some(p) = r.pids() {
        // linux.resources.pids.limit: 0 is a limit (runtime-spec 1.3),
        // -1 (or below) is no limit.
        let max = u64::try_from(p.limit()).unwrap_or(INFINITY);
        out.push(Property::new(
            "TasksMax",
            Value::U64(max),
            "linux.resources.pids.limit",
        ));
    }
    if let Some(b) = r.block_io() {
        io(b, &mut out);
    }
    Ok(out)
}

/// -1 (or any negative) is "no limit".
fn limit(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(INFINITY)
}

fn memory(m: &LinuxMemory, out: &mut Vec<Property>) -> Result<()> {
    if let Some(l) = m.limit().filter(|l| *l != 0) {
        // linux.resources.memory.limit
        out.push(Property::new(
            "MemoryMax",
            Value::U64(limit(l)),
            "linux.resources.memory.limit",
        ));
    }
    if let Some(r) = m.reservation().filter(|r| *r != 0) {
        // linux.resources.memory.reservation
        out.push(Property::new(
            "MemoryLow",
            Value::U64(limit(r)),
            "linux.resources.memory.reservation",
        ));
    }
    if let Some(memsw) = m.swap().filter(|s| *s != 0) {
        // linux.resources.memory.swap is memory+swap; MemorySwapMax is swap.
        let swap = v2::memsw_to_swap(memsw, m.limit().unwrap_or(0))
            .map_err(|why| anyhow!("linux.resources.memory.swap: {why}"))?;
        out.push(Property::new(
            "MemorySwapMax",
            Value::U64(limit(swap)),
            "linux.resources.memory.swap",
        ));
    }
    Ok(())
}

fn cpu(c: &LinuxCpu, out: &mut Vec<Property>) -> Result<()> {
    if let Some(shares) = c.shares().filter(|s| *s != 0) {
        // linux.resources.cpu.shares
        out.push(Property::new(
            "CPUWeight",
            Value::U64(v2::shares_to_weight(shares)),
            "linux.resources.cpu.shares",
        ));
    }
    let quota = c.quota().unwrap_or(0);
    let period = c.period().unwrap_or(0);
    if period != 0 {
        // linux.resources.cpu.period
        out.push(Property::new(
            "CPUQuotaPeriodUSec",
            Value::U64(period),
            "linux.resources.cpu.period",
        ));
    }
    if quota != 0 || period != 0 {
        // linux.resources.cpu.quota: systemd keeps a quota as whole
        // percents of a cpu, so it is rounded up to 10 ms per second (the
        // cgroup then allows at least what was asked).
        let per_sec = match u64::try_from(quota) {
            Ok(q) if q > 0 => {
                let period = if period == 0 { 100_000 } else { period };
                let us = q.saturating_mul(1_000_000) / period;
                us.div_ceil(10_000).saturating_mul(10_000)
            }
            _ => INFINITY,
        };
        out.push(Property::new(
            "CPUQuotaPerSecUSec",
            Value::U64(per_sec),
            "linux.resources.cpu.quota",
        ));
    }
    for (list, name, field) in [
        (c.cpus(), "AllowedCPUs", "linux.resources.cpu.cpus"),
        (c.mems(), "AllowedMemoryNodes", "linux.resources.cpu.mems"),
    ] {
        if let Some(list) = list.as_deref().filter(|l| !l.trim().is_empty()) {
            let bits = cpuset_bits(list).map_err(|why| anyhow!("{field} {list:?}: {why}"))?;
            out.push(Property::new(name, Value::Bytes(bits), field));
        }
    }
    Ok(())
}

/// "0-2,9" → the bitmask systemd takes for AllowedCPUs: cpu N is bit N%8
/// of byte N/8.
pub fn cpuset_bits(list: &str) -> std::result::Result<Vec<u8>, String> {
    let mut bits = Vec::new();
    for n in parse_cpuset(list)? {
        let byte = (n / 8) as usize;
        if bits.len() <= byte {
            bits.resize(byte + 1, 0);
        }
        bits[byte] |= 1 << (n % 8);
    }
    Ok(bits)
}

fn io(b: &LinuxBlockIo, out: &mut Vec<Property>) {
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        // linux.resources.blockIO.weight
        out.push(Property::new(
            "IOWeight",
            Value::U64(v2::blkio_to_io_weight(w)),
            "linux.resources.blockIO.weight",
        ));
    }
    let node = |major: i64, minor: i64| format!("/dev/block/{major}:{minor}");
    let weights: Vec<_> = b
        .weight_device()
        .iter()
        .flatten()
        .filter_map(|d| {
            Some((
                node(d.major(), d.minor()),
                v2::blkio_to_io_weight(d.weight()?),
            ))
        })
        .collect();
    if !weights.is_empty() {
        // linux.resources.blockIO.weightDevice
        out.push(Property::new(
            "IODeviceWeight",
            Value::PathValues(weights),
            "linux.resources.blockIO.weightDevice",
        ));
    }
    for (devices, name, field) in [
        (
            b.throttle_read_bps_device(),
            "IOReadBandwidthMax",
            "linux.resources.blockIO.throttleReadBpsDevice",
        ),
        (
            b.throttle_write_bps_device(),
            "IOWriteBandwidthMax",
            "linux.resources.blockIO.throttleWriteBpsDevice",
        ),
        (
            b.throttle_read_iops_device(),
            "IOReadIOPSMax",
            "linux.resources.blockIO.throttleReadIOPSDevice",
        ),
        (
            b.throttle_write_iops_device(),
            "IOWriteIOPSMax",
            "linux.resources.blockIO.throttleWriteIOPSDevice",
        ),
    ] {
        let values: Vec<_> = devices
            .iter()
            .flatten()
            .map(|d| (node(d.major(), d.minor()), d.rate()))
            .collect();
        if !values.is_empty() {
            out.push(Property::new(name, Value::PathValues(values), field));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(json: &str) -> Vec<(String, Value)> {
        let r: LinuxResources = serde_json::from_str(json).unwrap();
        resources(&r)
            .unwrap()
            .into_iter()
            .map(|p| (p.name, p.value))
            .collect()
    }

    fn p(name: &str, v: Value) -> (String, Value) {
        (name.into(), v)
    }

    #[test]
    fn memory_cpu_pids_as_runc_sets_them() {
        assert_eq!(
            props(
                r#"{"memory": {"limit": 104857600, "reservation": 52428800, "swap": 209715200},
                    "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-2,9", "mems": "0"},
                    "pids": {"limit": 100}}"#
            ),
            vec![
                p("MemoryMax", Value::U64(104_857_600)),
                p("MemoryLow", Value::U64(52_428_800)),
                p("MemorySwapMax", Value::U64(104_857_600)),
                p("CPUWeight", Value::U64(39)),
                p("CPUQuotaPeriodUSec", Value::U64(100_000)),
                p("CPUQuotaPerSecUSec", Value::U64(500_000)),
                p("AllowedCPUs", Value::Bytes(vec![0b0000_0111, 0b0000_0010])),
                p("AllowedMemoryNodes", Value::Bytes(vec![1])),
                p("TasksMax", Value::U64(100)),
            ]
        );
    }

    #[test]
    fn unlimited_and_rounding() {
        assert_eq!(
            props(
                r#"{"memory": {"limit": -1, "swap": -1}, "cpu": {"quota": -1}, "pids": {"limit": -1}}"#
            ),
            vec![
                p("MemoryMax", Value::U64(INFINITY)),
                p("MemorySwapMax", Value::U64(INFINITY)),
                p("CPUQuotaPerSecUSec", Value::U64(INFINITY)),
                p("TasksMax", Value::U64(INFINITY)),
            ]
        );
        // 12345 us per 100 ms is 123450 us per second: rounded up to 130000.
        assert_eq!(
            props(r#"{"cpu": {"quota": 12345}}"#),
            vec![p("CPUQuotaPerSecUSec", Value::U64(130_000))]
        );
        assert_eq!(
            props(r#"{"memory": {"limit": 0}, "pids": {"limit": 0}}"#),
            vec![p("TasksMax", Value::U64(0))]
        );
    }

    #[test]
    fn io_weights_and_limits_by_device_node() {
        assert_eq!(
            props(
                r#"{"blockIO": {"weight": 500, "weightDevice": [{"major": 8, "minor": 0, "weight": 10}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 100}]}}"#
            ),
            vec![
                p("IOWeight", Value::U64(4950)),
                p(
                    "IODeviceWeight",
                    Value::PathValues(vec![("/dev/block/8:0".into(), 1)])
                ),
                p(
                    "IOReadBandwidthMax",
                    Value::PathValues(vec![("/dev/block/8:0".into(), 1_048_576)])
                ),
                p(
                    "IOWriteIOPSMax",
                    Value::PathValues(vec![("/dev/block/8:16".into(), 100)])
                ),
            ]
        );
    }

    #[test]
    fn bad_values_name_the_field() {
        let r: LinuxResources = serde_json::from_str(r#"{"cpu": {"cpus": "0-x"}}"#).unwrap();
        let err = resources(&r).unwrap_err().to_string();
        assert!(err.starts_with("linux.resources.cpu.cpus \"0-x\""), "{err}");
        let r: LinuxResources =
            serde_json::from_str(r#"{"memory": {"limit": 100, "swap": 50}}"#).unwrap();
        let err = resources(&r).unwrap_err().to_string();
        assert!(err.starts_with("linux.resources.memory.swap"), "{err}");
    }
}
