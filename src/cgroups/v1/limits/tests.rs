//! Every v1 (file, value) pair and the memory order, without a kernel.

use super::super::memory;
use super::*;
use crate::cgroups::common::testing::{p, pairs, res};

/// What the order of the writes depends on in the cgroup as it is.
struct Facts {
    memory_limit_now: u64,
}

fn facts() -> Facts {
    Facts {
        memory_limit_now: u64::MAX,
    }
}

/// The writes as the manager makes them for a cgroup with `facts`.
fn v1_writes(r: &LinuxResources, facts: &Facts) -> Vec<Write> {
    let mut out = writes(r);
    memory::order(&mut out, facts.memory_limit_now);
    out
}

#[test]
fn v1_memory_files_and_order() {
    let r = res(
        r#"{"memory":{"limit":1048576,"reservation":524288,"swap":2097152,"swappiness":10,"disableOOMKiller":true,"kernelTCP":4096}}"#,
    );
    let w = pairs(&v1_writes(&r, &facts()));
    assert_eq!(
        w,
        vec![
            // From unlimited: the limit first, then memsw.
            p("memory", "memory.limit_in_bytes", "1048576"),
            p("memory", "memory.memsw.limit_in_bytes", "2097152"),
            p("memory", "memory.soft_limit_in_bytes", "524288"),
            p("memory", "memory.kmem.tcp.limit_in_bytes", "4096"),
            p("memory", "memory.swappiness", "10"),
            p("memory", "memory.oom_control", "1"),
        ]
    );
    // Raising above the current limit: memsw first, so memsw >= limit
    // holds at every step.
    let mut f = facts();
    f.memory_limit_now = 1 << 20;
    let r = res(r#"{"memory":{"limit":2097152,"swap":4194304}}"#);
    let w = pairs(&v1_writes(&r, &f));
    assert_eq!(w[0].1, "memory.memsw.limit_in_bytes");
    assert_eq!(w[1].1, "memory.limit_in_bytes");
    // -1 for memory takes memsw along to -1 (runc).
    let w = pairs(&v1_writes(&res(r#"{"memory":{"limit":-1}}"#), &facts()));
    assert_eq!(
        w,
        vec![
            p("memory", "memory.memsw.limit_in_bytes", "-1"),
            p("memory", "memory.limit_in_bytes", "-1")
        ]
    );
}

#[test]
fn v1_cpu_pids_blkio_hugetlb_net_rdma() {
    let r = res(r#"{
        "cpu":{"shares":512,"quota":50000,"period":100000,"burst":1000,"realtimeRuntime":950,"realtimePeriod":1000,"cpus":"0","mems":"0","idle":1},
        "pids":{"limit":10},
        "blockIO":{"weight":300,"leafWeight":200,"weightDevice":[{"major":8,"minor":0,"weight":400}],
                   "throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1024}],
                   "throttleWriteIOPSDevice":[{"major":8,"minor":16,"rate":50}]},
        "hugepageLimits":[{"pageSize":"2MB","limit":4194304}],
        "network":{"classID":1048577,"priorities":[{"name":"eth0","priority":5}]},
        "rdma":{"mlx5_1":{"hcaHandles":3,"hcaObjects":10000}}
    }"#);
    let w = pairs(&v1_writes(&r, &facts()));
    assert_eq!(
        w,
        vec![
            p("cpu", "cpu.rt_period_us", "1000"),
            p("cpu", "cpu.rt_runtime_us", "950"),
            p("cpu", "cpu.shares", "512"),
            p("cpu", "cpu.cfs_period_us", "100000"),
            p("cpu", "cpu.cfs_quota_us", "50000"),
            p("cpu", "cpu.cfs_burst_us", "1000"),
            p("cpu", "cpu.idle", "1"),
            p("cpuset", "cpuset.cpus", "0"),
            p("cpuset", "cpuset.mems", "0"),
            p("pids", "pids.max", "10"),
            p("blkio", "blkio.weight", "300"),
            p("blkio", "blkio.leaf_weight", "200"),
            p("blkio", "blkio.weight_device", "8:0 400"),
            p("blkio", "blkio.throttle.read_bps_device", "8:0 1024"),
            p("blkio", "blkio.throttle.write_iops_device", "8:16 50"),
            p("hugetlb", "hugetlb.2MB.limit_in_bytes", "4194304"),
            p("net_cls", "net_cls.classid", "1048577"),
            p("net_prio", "net_prio.ifpriomap", "eth0 5"),
            p("rdma", "rdma.max", "mlx5_1 hca_handle=3 hca_object=10000"),
        ]
    );
    let w = pairs(&v1_writes(&res(r#"{"pids":{"limit":-1}}"#), &facts()));
    assert_eq!(w, vec![p("pids", "pids.max", "max")]);
    // runtime-spec 1.3: 0 is a limit (no task may be added), not "unset".
    let w = pairs(&v1_writes(&res(r#"{"pids":{"limit":0}}"#), &facts()));
    assert_eq!(w, vec![p("pids", "pids.max", "0")]);
}
