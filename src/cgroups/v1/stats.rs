//! Usage numbers from v1 controller files, in runc's `events` shape.

use std::path::Path;

use crate::cgroups::fs;
use crate::cgroups::stats::{self, MemoryEntry, Stats};

fn clock_ticks() -> u64 {
    // SAFETY: sysconf with a constant name.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

fn entry(dir: &Path, prefix: &str) -> MemoryEntry {
    let get = |f: &str| fs::read_u64(dir, &format!("{prefix}.{f}")).unwrap_or(0);
    MemoryEntry {
        limit: get("limit_in_bytes"),
        usage: get("usage_in_bytes"),
        max: get("max_usage_in_bytes"),
        failcnt: get("failcnt"),
    }
}

/// Read what each controller has; a missing controller leaves zeros.
pub fn read<'a>(dir_of: impl Fn(&str) -> Option<&'a Path>) -> Stats {
    let mut s = Stats::default();
    if let Some(d) = dir_of("cpuacct") {
        s.cpu.usage.total = fs::read_u64(d, "cpuacct.usage").unwrap_or(0);
        s.cpu.usage.percpu = fs::read(d, "cpuacct.usage_percpu")
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        let text = fs::read(d, "cpuacct.stat").unwrap_or_default();
        let ns = 1_000_000_000 / clock_ticks();
        // Saturating: the ticks come from the kernel, the product is ours.
        s.cpu.usage.user = fs::keyed(&text, "user").unwrap_or(0).saturating_mul(ns);
        s.cpu.usage.kernel = fs::keyed(&text, "system").unwrap_or(0).saturating_mul(ns);
    }
    if let Some(d) = dir_of("cpu") {
        let text = fs::read(d, "cpu.stat").unwrap_or_default();
        s.cpu.throttling.periods = fs::keyed(&text, "nr_periods").unwrap_or(0);
        s.cpu.throttling.throttled_periods = fs::keyed(&text, "nr_throttled").unwrap_or(0);
        s.cpu.throttling.throttled_time = fs::keyed(&text, "throttled_time").unwrap_or(0);
    }
    if let Some(d) = dir_of("memory") {
        s.memory.usage = entry(d, "memory");
        s.memory.swap = entry(d, "memory.memsw");
        s.memory.kernel = entry(d, "memory.kmem");
        s.memory.kernel_tcp = entry(d, "memory.kmem.tcp");
        let raw = fs::parse_flat_keyed(&fs::read(d, "memory.stat").unwrap_or_default());
        s.memory.cache = raw
            .iter()
            .find(|(k, _)| k == "total_cache")
            .or_else(|| raw.iter().find(|(k, _)| k == "cache"))
            .map_or(0, |(_, v)| *v);
        s.memory.raw = raw.into_iter().collect();
    }
    if let Some(d) = dir_of("pids") {
        s.pids.current = fs::read_u64(d, "pids.current").unwrap_or(0);
        s.pids.limit = fs::read_u64(d, "pids.max")
            .ok()
            .filter(|v| *v != u64::MAX)
            .unwrap_or(0);
    }
    if let Some(d) = dir_of("blkio") {
        let read = |f: &str| stats::parse_blkio_v1(&fs::read(d, f).unwrap_or_default());
        s.blkio.io_service_bytes_recursive = read("blkio.throttle.io_service_bytes_recursive");
        s.blkio.io_serviced_recursive = read("blkio.throttle.io_serviced_recursive");
    }
    if let Some(d) = dir_of("hugetlb") {
        for size in fs::hugetlb_sizes(d, ".limit_in_bytes") {
            let get = |f: &str| fs::read_u64(d, &format!("hugetlb.{size}.{f}")).unwrap_or(0);
            s.hugetlb.insert(
                size.clone(),
                stats::Hugetlb {
                    usage: get("usage_in_bytes"),
                    max: get("max_usage_in_bytes"),
                    failcnt: get("failcnt"),
                },
            );
        }
    }
    s
}
