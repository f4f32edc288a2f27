//! Usage numbers from v2 interface files, in runc's `events` shape.

use std::path::Path;

use crate::cgroups::fs;
use crate::cgroups::stats::{self, Stats};

pub fn read(dir: &Path) -> Stats {
    let mut s = Stats::default();
    let get = |f: &str| fs::read_u64(dir, f).unwrap_or(0);
    let cpu = fs::read(dir, "cpu.stat").unwrap_or_default();
    let k = |key: &str| fs::keyed(&cpu, key).unwrap_or(0);
    s.cpu.usage.total = k("usage_usec").saturating_mul(1000);
    s.cpu.usage.user = k("user_usec").saturating_mul(1000);
    s.cpu.usage.kernel = k("system_usec").saturating_mul(1000);
    s.cpu.throttling.periods = k("nr_periods");
    s.cpu.throttling.throttled_periods = k("nr_throttled");
    s.cpu.throttling.throttled_time = k("throttled_usec").saturating_mul(1000);

    let events = fs::read(dir, "memory.events").unwrap_or_default();
    s.memory.usage.usage = get("memory.current");
    s.memory.usage.max = get("memory.peak");
    s.memory.usage.limit = get("memory.max");
    s.memory.usage.failcnt = fs::keyed(&events, "max").unwrap_or(0);
    s.memory.swap.usage = get("memory.swap.current");
    s.memory.swap.limit = get("memory.swap.max");
    let raw = fs::parse_flat_keyed(&fs::read(dir, "memory.stat").unwrap_or_default());
    s.memory.cache = raw.iter().find(|(k, _)| k == "file").map_or(0, |(_, v)| *v);
    s.memory.raw = raw.into_iter().collect();

    s.pids.current = get("pids.current");
    s.pids.limit = fs::read_u64(dir, "pids.max")
        .ok()
        .filter(|v| *v != u64::MAX)
        .unwrap_or(0);
    let (bytes, ios) = stats::parse_io_stat(&fs::read(dir, "io.stat").unwrap_or_default());
    s.blkio.io_service_bytes_recursive = bytes;
    s.blkio.io_serviced_recursive = ios;
    s.hugetlb = stats::hugetlb_v2(dir);
    s
}
