//! `linux.resources` checked field by field, and turned into the interface
//! files to write, per controller, for v1 and v2: pure functions, no kernel.

use anyhow::{bail, Result};
use oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxResources};

/// One value to write into one interface file of the container's cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// The controller whose hierarchy (v1) or interface (v2) holds the file.
    pub controller: String,
    pub file: String,
    pub value: String,
    /// The config field it comes from, for error messages.
    pub field: String,
    /// A missing file is not an error (runc ignores these too).
    pub optional: bool,
}

fn w(controller: &str, file: impl Into<String>, value: impl ToString, field: &str) -> Write {
    Write {
        controller: controller.to_string(),
        file: file.into(),
        value: value.to_string(),
        field: field.to_string(),
        optional: false,
    }
}

/// The v1 kernel's cpu.shares bounds (runc checks them too).
pub const SHARES_MIN: u64 = 2;
pub const SHARES_MAX: u64 = 262_144;

/// runc's cpu.shares (2..262144) → cpu.weight (1..10000).
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + ((shares.saturating_sub(2)) * 9999) / 262_142
}

/// runc's blkio weight (10..1000) → io.weight (1..10000).
pub fn blkio_to_io_weight(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    1 + (u64::from(weight).saturating_sub(10)) * 9999 / 990
}

/// runc's memory+swap (v1 memsw) → v2 memory.swap.max: swap alone.
/// 0 is "unset", -1 "max".
pub fn memsw_to_swap(memsw: i64, memory: i64) -> std::result::Result<i64, String> {
    if memory == -1 && memsw == 0 {
        return Ok(-1);
    }
    if memsw == -1 || memsw == 0 {
        return Ok(memsw);
    }
    if memory == 0 || memory == -1 {
        return Err("a swap limit needs a memory limit".into());
    }
    if memsw < memory {
        return Err(format!(
            "swap ({memsw}) is memory+swap and must not be below the memory limit ({memory})"
        ));
    }
    Ok(memsw - memory)
}

/// 0 → unset, -1 → "max", else the number (runc's numToStr).
fn num(v: i64) -> Option<String> {
    match v {
        0 => None,
        -1 => Some("max".into()),
        v => Some(v.to_string()),
    }
}

/// A cpuset list such as "0-3,7"; returns the numbers it names.
pub fn parse_cpuset(list: &str) -> std::result::Result<Vec<u32>, String> {
    let mut out = Vec::new();
    if list.trim().is_empty() {
        return Ok(out);
    }
    for part in list.trim().split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let lo: u32 = lo
            .trim()
            .parse()
            .map_err(|_| format!("{part:?} is not a number or a range"))?;
        let hi: u32 = hi
            .trim()
            .parse()
            .map_err(|_| format!("{part:?} is not a number or a range"))?;
        if hi < lo || hi - lo > 65_536 {
            return Err(format!("{part:?} is not a valid range"));
        }
        out.extend(lo..=hi);
    }
    Ok(out)
}

/// A hugepage size as the kernel names it ("2MB", "1GB", "64KB").
fn valid_page_size(size: &str) -> bool {
    let digits = size.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &size[digits.len()..];
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && matches!(unit, "KB" | "MB" | "GB")
}

fn limit_ok(v: Option<i64>, field: &str) -> Result<()> {
    if let Some(v) = v {
        if v < -1 {
            bail!("{field}: {v} is not a valid limit (use a byte count, or -1 for no limit)");
        }
    }
    Ok(())
}

/// As `validate`, for `update` (its fields are named from `resources`).
pub fn validate_update(r: &LinuxResources, warnings: &mut Vec<String>) -> Result<()> {
    validate(r, "resources", warnings)
}

/// Check every value of `r`; `prefix` names it ("linux.resources").
pub fn validate(r: &LinuxResources, prefix: &str, warnings: &mut Vec<String>) -> Result<()> {
    if let Some(m) = r.memory() {
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
    }
    if let Some(c) = r.cpu() {
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
    }
    if let Some(b) = r.block_io() {
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
        for (name, list) in throttles(b) {
            for (i, d) in list.iter().enumerate() {
                if d.major() < 0 || d.minor() < 0 {
                    bail!("{prefix}.blockIO.{name}[{i}]: major and minor must not be negative");
                }
            }
        }
    }
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

/// A unified key names one interface file: "CONTROLLER.PARAMETER", no path.
pub fn check_unified_key(key: &str) -> std::result::Result<&str, String> {
    if key.contains('/') || key == "." || key == ".." || key.contains('\0') {
        return Err("must be a file name, without \"/\" or \"..\"".into());
    }
    match key.split_once('.') {
        Some((ctrl, param)) if !ctrl.is_empty() && !param.is_empty() => Ok(ctrl),
        _ => Err("must be CONTROLLER.PARAMETER (like \"memory.high\")".into()),
    }
}

fn list<T>(v: &Option<Vec<T>>) -> &[T] {
    v.as_deref().unwrap_or(&[])
}

fn throttles(
    b: &oci_spec::runtime::LinuxBlockIo,
) -> [(&'static str, &[oci_spec::runtime::LinuxThrottleDevice]); 4] {
    [
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
    ]
}

/// What the v1 writes depend on in the cgroup as it is now.
#[derive(Debug, Clone, Default)]
pub struct V1Facts {
    /// memory.limit_in_bytes now (decides the order of memory and memsw).
    pub memory_limit_now: u64,
    /// memory.memsw.limit_in_bytes exists (swap accounting).
    pub memsw: bool,
    /// "blkio.weight", or "blkio.bfq.weight" when only BFQ's exists.
    pub blkio_weight_file: &'static str,
}

fn v1_memory(m: &LinuxMemory, facts: &V1Facts, out: &mut Vec<Write>) {
    let f = "linux.resources.memory";
    let limit = m.limit().unwrap_or(0);
    let mut swap = m.swap().unwrap_or(0);
    if limit == -1 && swap == 0 && facts.memsw {
        swap = -1;
    }
    let lim = |v: i64| w("memory", "memory.limit_in_bytes", v, &format!("{f}.limit"));
    let sw = |v: i64| {
        w(
            "memory",
            "memory.memsw.limit_in_bytes",
            v,
            &format!("{f}.swap"),
        )
    };
    // The kernel wants memsw >= limit at every step: raise memsw first,
    // lower the limit first (runc's order).
    if limit != 0 && swap != 0 && (swap == -1 || facts.memory_limit_now < swap as u64) {
        out.push(sw(swap));
        out.push(lim(limit));
    } else {
        if limit != 0 {
            out.push(lim(limit));
        }
        if swap != 0 {
            out.push(sw(swap));
        }
    }
    if let Some(r) = m.reservation().filter(|r| *r != 0) {
        out.push(w(
            "memory",
            "memory.soft_limit_in_bytes",
            r,
            &format!("{f}.reservation"),
        ));
    }
    if let Some(t) = m.kernel_tcp().filter(|t| *t != 0) {
        out.push(w(
            "memory",
            "memory.kmem.tcp.limit_in_bytes",
            t,
            &format!("{f}.kernelTCP"),
        ));
    }
    if let Some(s) = m.swappiness() {
        out.push(w(
            "memory",
            "memory.swappiness",
            s,
            &format!("{f}.swappiness"),
        ));
    }
    if m.disable_oom_killer() == Some(true) {
        out.push(w(
            "memory",
            "memory.oom_control",
            1,
            &format!("{f}.disableOOMKiller"),
        ));
    }
    if let Some(h) = m.use_hierarchy() {
        out.push(w(
            "memory",
            "memory.use_hierarchy",
            u8::from(h),
            &format!("{f}.useHierarchy"),
        ));
    }
}

fn v1_cpu(c: &LinuxCpu, out: &mut Vec<Write>) {
    let f = "linux.resources.cpu";
    if let Some(p) = c.realtime_period().filter(|p| *p != 0) {
        out.push(w(
            "cpu",
            "cpu.rt_period_us",
            p,
            &format!("{f}.realtimePeriod"),
        ));
    }
    if let Some(r) = c.realtime_runtime().filter(|r| *r != 0) {
        out.push(w(
            "cpu",
            "cpu.rt_runtime_us",
            r,
            &format!("{f}.realtimeRuntime"),
        ));
    }
    if let Some(s) = c.shares().filter(|s| *s != 0) {
        out.push(w("cpu", "cpu.shares", s, &format!("{f}.shares")));
    }
    if let Some(p) = c.period().filter(|p| *p != 0) {
        out.push(w("cpu", "cpu.cfs_period_us", p, &format!("{f}.period")));
    }
    if let Some(q) = c.quota().filter(|q| *q != 0) {
        out.push(w("cpu", "cpu.cfs_quota_us", q, &format!("{f}.quota")));
    }
    if let Some(b) = c.burst() {
        out.push(w("cpu", "cpu.cfs_burst_us", b, &format!("{f}.burst")));
    }
    if let Some(i) = c.idle() {
        out.push(w("cpu", "cpu.idle", i, &format!("{f}.idle")));
    }
    cpuset(c, out);
}

fn cpuset(c: &LinuxCpu, out: &mut Vec<Write>) {
    let f = "linux.resources.cpu";
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        out.push(w("cpuset", "cpuset.cpus", cpus, &format!("{f}.cpus")));
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        out.push(w("cpuset", "cpuset.mems", mems, &format!("{f}.mems")));
    }
}

fn pids(r: &LinuxResources, out: &mut Vec<Write>) {
    if let Some(p) = r.pids() {
        if p.limit() != 0 {
            let v = if p.limit() > 0 {
                p.limit().to_string()
            } else {
                "max".into()
            };
            out.push(w("pids", "pids.max", v, "linux.resources.pids.limit"));
        }
    }
}

fn rdma(r: &LinuxResources, out: &mut Vec<Write>) {
    let mut devs: Vec<_> = r.rdma().iter().flatten().collect();
    devs.sort_by(|a, b| a.0.cmp(b.0));
    for (dev, l) in devs {
        let mut v = dev.clone();
        if let Some(h) = l.hca_handles() {
            v.push_str(&format!(" hca_handle={h}"));
        }
        if let Some(o) = l.hca_objects() {
            v.push_str(&format!(" hca_object={o}"));
        }
        if v != *dev {
            out.push(w(
                "rdma",
                "rdma.max",
                v,
                &format!("linux.resources.rdma.{dev}"),
            ));
        }
    }
}

/// Every v1 file write for `r`, in the order they are written.
pub fn v1_writes(r: &LinuxResources, facts: &V1Facts) -> Vec<Write> {
    let mut out = Vec::new();
    if let Some(m) = r.memory() {
        v1_memory(m, facts, &mut out);
    }
    if let Some(c) = r.cpu() {
        v1_cpu(c, &mut out);
    }
    pids(r, &mut out);
    if let Some(b) = r.block_io() {
        let f = "linux.resources.blockIO";
        if let Some(v) = b.weight().filter(|v| *v != 0) {
            out.push(w(
                "blkio",
                facts.blkio_weight_file,
                v,
                &format!("{f}.weight"),
            ));
        }
        if let Some(v) = b.leaf_weight().filter(|v| *v != 0) {
            out.push(w(
                "blkio",
                "blkio.leaf_weight",
                v,
                &format!("{f}.leafWeight"),
            ));
        }
        for (i, d) in b.weight_device().iter().flatten().enumerate() {
            if let Some(v) = d.weight() {
                let line = format!("{}:{} {v}", d.major(), d.minor());
                out.push(w(
                    "blkio",
                    "blkio.weight_device",
                    line,
                    &format!("{f}.weightDevice[{i}]"),
                ));
            }
            if let Some(v) = d.leaf_weight() {
                let line = format!("{}:{} {v}", d.major(), d.minor());
                out.push(w(
                    "blkio",
                    "blkio.leaf_weight_device",
                    line,
                    &format!("{f}.weightDevice[{i}]"),
                ));
            }
        }
        for (name, list) in throttles(b) {
            let file = match name {
                "throttleReadBpsDevice" => "blkio.throttle.read_bps_device",
                "throttleWriteBpsDevice" => "blkio.throttle.write_bps_device",
                "throttleReadIOPSDevice" => "blkio.throttle.read_iops_device",
                _ => "blkio.throttle.write_iops_device",
            };
            for (i, d) in list.iter().enumerate() {
                let line = format!("{}:{} {}", d.major(), d.minor(), d.rate());
                out.push(w("blkio", file, line, &format!("{f}.{name}[{i}]")));
            }
        }
    }
    for (i, h) in r.hugepage_limits().iter().flatten().enumerate() {
        let file = format!("hugetlb.{}.limit_in_bytes", h.page_size());
        out.push(w(
            "hugetlb",
            file,
            h.limit(),
            &format!("linux.resources.hugepageLimits[{i}]"),
        ));
    }
    if let Some(n) = r.network() {
        if let Some(id) = n.class_id() {
            out.push(w(
                "net_cls",
                "net_cls.classid",
                id,
                "linux.resources.network.classID",
            ));
        }
        for (i, p) in n.priorities().iter().flatten().enumerate() {
            let line = format!("{} {}", p.name(), p.priority());
            out.push(w(
                "net_prio",
                "net_prio.ifpriomap",
                line,
                &format!("linux.resources.network.priorities[{i}]"),
            ));
        }
    }
    rdma(r, &mut out);
    out
}

/// What the v2 writes depend on.
#[derive(Debug, Clone, Default)]
pub struct V2Facts {
    /// io.bfq.weight exists (BFQ takes blkio's 10..1000 weights as they are).
    pub bfq: bool,
}

/// Every v2 file write for `r`, in order; unified keys last, so they win.
/// Errors name the field for what v2 cannot express.
pub fn v2_writes(
    r: &LinuxResources,
    facts: &V2Facts,
    warnings: &mut Vec<String>,
) -> Result<Vec<Write>> {
    let mut out = Vec::new();
    if let Some(m) = r.memory() {
        let f = "linux.resources.memory";
        let limit = m.limit().unwrap_or(0);
        let memsw = m.swap().unwrap_or(0);
        let swap = memsw_to_swap(memsw, limit).map_err(|why| anyhow::anyhow!("{f}.swap: {why}"))?;
        let swap_str = match num(swap) {
            None if memsw > 0 => Some("0".to_string()),
            s => s,
        };
        if let Some(s) = swap_str {
            let mut write = w("memory", "memory.swap.max", &s, &format!("{f}.swap"));
            // No swap on the host: "max" or "0" asks for nothing (runc).
            write.optional = s == "max" || s == "0";
            out.push(write);
        }
        if let Some(v) = num(limit) {
            out.push(w("memory", "memory.max", v, &format!("{f}.limit")));
        }
        if let Some(v) = num(m.reservation().unwrap_or(0)) {
            out.push(w("memory", "memory.low", v, &format!("{f}.reservation")));
        }
        if m.swappiness().is_some() {
            warnings.push(format!(
                "{f}.swappiness: not available on cgroup v2; ignored"
            ));
        }
        if m.disable_oom_killer() == Some(true) {
            warnings.push(format!(
                "{f}.disableOOMKiller: not available on cgroup v2; ignored"
            ));
        }
        if m.kernel_tcp().is_some_and(|v| v != 0) {
            warnings.push(format!(
                "{f}.kernelTCP: not available on cgroup v2; ignored"
            ));
        }
    }
    if let Some(c) = r.cpu() {
        let f = "linux.resources.cpu";
        if c.realtime_runtime().is_some_and(|v| v != 0)
            || c.realtime_period().is_some_and(|v| v != 0)
        {
            bail!("{f}.realtimeRuntime/realtimePeriod: real-time cpu limits do not exist on cgroup v2");
        }
        let weight = shares_to_weight(c.shares().unwrap_or(0));
        if weight != 0 {
            out.push(w("cpu", "cpu.weight", weight, &format!("{f}.shares")));
        }
        if let Some(i) = c.idle() {
            out.push(w("cpu", "cpu.idle", i, &format!("{f}.idle")));
        }
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
            out.push(w("cpu", "cpu.max", v, &format!("{f}.quota")));
        }
        if let Some(b) = c.burst() {
            out.push(w("cpu", "cpu.max.burst", b, &format!("{f}.burst")));
        }
        cpuset(c, &mut out);
    }
    pids(r, &mut out);
    if let Some(b) = r.block_io() {
        let f = "linux.resources.blockIO";
        let (file, conv): (&str, fn(u16) -> u64) = if facts.bfq {
            ("io.bfq.weight", u64::from)
        } else {
            ("io.weight", blkio_to_io_weight)
        };
        if let Some(v) = b.weight().filter(|v| *v != 0) {
            out.push(w("io", file, conv(v), &format!("{f}.weight")));
        }
        if b.leaf_weight().is_some_and(|v| v != 0) {
            warnings.push(format!(
                "{f}.leafWeight: not available on cgroup v2; ignored"
            ));
        }
        for (i, d) in b.weight_device().iter().flatten().enumerate() {
            if let Some(v) = d.weight() {
                let line = format!("{}:{} {}", d.major(), d.minor(), conv(v));
                out.push(w("io", file, line, &format!("{f}.weightDevice[{i}]")));
            }
        }
        for (name, list) in throttles(b) {
            let key = match name {
                "throttleReadBpsDevice" => "rbps",
                "throttleWriteBpsDevice" => "wbps",
                "throttleReadIOPSDevice" => "riops",
                _ => "wiops",
            };
            for (i, d) in list.iter().enumerate() {
                // A rate of 0 means no limit ("max") on v2.
                let rate = if d.rate() == 0 {
                    "max".to_string()
                } else {
                    d.rate().to_string()
                };
                let line = format!("{}:{} {key}={rate}", d.major(), d.minor());
                out.push(w("io", "io.max", line, &format!("{f}.{name}[{i}]")));
            }
        }
    }
    for (i, h) in r.hugepage_limits().iter().flatten().enumerate() {
        let file = format!("hugetlb.{}.max", h.page_size());
        out.push(w(
            "hugetlb",
            file,
            h.limit(),
            &format!("linux.resources.hugepageLimits[{i}]"),
        ));
    }
    if r.network().as_ref().is_some_and(|n| {
        n.class_id().is_some() || n.priorities().as_ref().is_some_and(|p| !p.is_empty())
    }) {
        warnings.push(
            "linux.resources.network: net_cls and net_prio do not exist on cgroup v2; ignored"
                .into(),
        );
    }
    rdma(r, &mut out);
    let mut keys: Vec<_> = r.unified().iter().flatten().collect();
    keys.sort();
    for (key, value) in keys {
        let ctrl = check_unified_key(key)
            .map_err(|why| anyhow::anyhow!("linux.resources.unified {key:?}: {why}"))?;
        out.push(w(
            ctrl,
            key.clone(),
            value,
            &format!("linux.resources.unified {key:?}"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
