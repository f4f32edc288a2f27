//! Every v2 conversion and (file, value) pair, without a kernel.

use super::super::cpu::shares_to_weight;
use super::super::io::blkio_to_io_weight;
use super::super::memory::memsw_to_swap;
use super::*;
use crate::cgroups::common::testing::{p, pairs, res};

/// What the writes depend on in the cgroup as it is.
#[derive(Default)]
struct V2Facts {
    /// io.bfq.weight exists.
    bfq: bool,
}

/// The writes as the manager makes them for a cgroup with `facts`.
fn v2_writes(
    r: &LinuxResources,
    facts: &V2Facts,
    warnings: &mut Vec<String>,
) -> Result<Vec<Write>> {
    let mut out = writes(r, warnings)?;
    for w in out.iter_mut() {
        if let Some((file, value)) = w.bfq.take().filter(|_| facts.bfq) {
            (w.file, w.value) = (file, value);
        }
    }
    Ok(out)
}

#[test]
fn conversions_match_runc() {
    assert_eq!(shares_to_weight(0), 0);
    assert_eq!(shares_to_weight(2), 1);
    assert_eq!(shares_to_weight(1024), 39);
    assert_eq!(shares_to_weight(262_144), 10_000);
    assert_eq!(blkio_to_io_weight(0), 0);
    assert_eq!(blkio_to_io_weight(10), 1);
    assert_eq!(blkio_to_io_weight(500), 4950);
    assert_eq!(blkio_to_io_weight(1000), 10_000);
    assert_eq!(memsw_to_swap(0, 0), Ok(0));
    assert_eq!(memsw_to_swap(0, -1), Ok(-1));
    assert_eq!(memsw_to_swap(-1, 100), Ok(-1));
    assert_eq!(memsw_to_swap(300, 100), Ok(200));
    assert_eq!(memsw_to_swap(100, 100), Ok(0));
    assert!(memsw_to_swap(50, 100).is_err());
    assert!(memsw_to_swap(100, 0).is_err());
    assert!(memsw_to_swap(100, -1).is_err());
}

#[test]
fn v2_files() {
    let r = res(r#"{
        "memory":{"limit":1048576,"reservation":524288,"swap":3145728},
        "cpu":{"shares":1024,"quota":50000,"period":100000,"burst":1000,"cpus":"0-1","idle":0},
        "pids":{"limit":20},
        "blockIO":{"weight":500,"weightDevice":[{"major":8,"minor":0,"weight":10}],
                   "throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1024}],
                   "throttleWriteBpsDevice":[{"major":8,"minor":0,"rate":0}]},
        "hugepageLimits":[{"pageSize":"1GB","limit":0}],
        "unified":{"memory.high":"900000","cgroup.max.depth":"3"}
    }"#);
    let mut warnings = Vec::new();
    let w = pairs(&v2_writes(&r, &V2Facts::default(), &mut warnings).unwrap());
    assert_eq!(
        w,
        vec![
            p("memory", "memory.swap.max", "2097152"),
            p("memory", "memory.max", "1048576"),
            p("memory", "memory.low", "524288"),
            p("cpu", "cpu.weight", "39"),
            p("cpu", "cpu.idle", "0"),
            p("cpu", "cpu.max", "50000 100000"),
            p("cpu", "cpu.max.burst", "1000"),
            p("cpuset", "cpuset.cpus", "0-1"),
            p("pids", "pids.max", "20"),
            p("io", "io.weight", "4950"),
            p("io", "io.weight", "8:0 1"),
            p("io", "io.max", "8:0 rbps=1024"),
            p("io", "io.max", "8:0 wbps=max"),
            p("hugetlb", "hugetlb.1GB.max", "0"),
            p("cgroup", "cgroup.max.depth", "3"),
            p("memory", "memory.high", "900000"),
        ]
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    // BFQ takes blkio weights as they are.
    let w = pairs(
        &v2_writes(
            &res(r#"{"blockIO":{"weight":500}}"#),
            &V2Facts { bfq: true },
            &mut warnings,
        )
        .unwrap(),
    );
    assert_eq!(w, vec![p("io", "io.bfq.weight", "500")]);
    // Quota alone: "max" with -1; swap equal to memory disables swap.
    let w = pairs(
        &v2_writes(
            &res(r#"{"cpu":{"quota":-1,"period":100000},"memory":{"limit":100,"swap":100}}"#),
            &V2Facts::default(),
            &mut warnings,
        )
        .unwrap(),
    );
    assert!(w.contains(&p("cpu", "cpu.max", "max 100000")), "{w:?}");
    assert!(w.contains(&p("memory", "memory.swap.max", "0")), "{w:?}");
}

#[test]
fn v2_refuses_what_it_cannot_say() {
    let mut warnings = Vec::new();
    let err = v2_writes(
        &res(r#"{"cpu":{"realtimeRuntime":100}}"#),
        &V2Facts::default(),
        &mut warnings,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("linux.resources.cpu.realtime"),
        "{err}"
    );
    let err = v2_writes(
        &res(r#"{"memory":{"swap":100}}"#),
        &V2Facts::default(),
        &mut warnings,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("linux.resources.memory.swap"),
        "{err}"
    );
    v2_writes(
        &res(r#"{"memory":{"swappiness":5},"network":{"classID":1}}"#),
        &V2Facts::default(),
        &mut warnings,
    )
    .unwrap();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
}
