//! Every conversion and every (file, value) pair, without a kernel.

use super::*;

fn res(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap()
}

fn pairs(writes: &[Write]) -> Vec<(String, String, String)> {
    writes
        .iter()
        .map(|w| (w.controller.clone(), w.file.clone(), w.value.clone()))
        .collect()
}

fn p(c: &str, f: &str, v: &str) -> (String, String, String) {
    (c.into(), f.into(), v.into())
}

fn facts() -> V1Facts {
    V1Facts {
        memory_limit_now: u64::MAX,
        memsw: true,
        blkio_weight_file: "blkio.weight",
    }
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
fn cpuset_lists() {
    assert_eq!(parse_cpuset("0-2,5"), Ok(vec![0, 1, 2, 5]));
    assert_eq!(parse_cpuset(""), Ok(vec![]));
    assert!(parse_cpuset("2-1").is_err());
    assert!(parse_cpuset("a").is_err());
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
    assert!(v1_writes(&res(r#"{"pids":{"limit":0}}"#), &facts()).is_empty());
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

#[test]
fn validation_names_field_and_value() {
    let cases = [
        (
            r#"{"memory":{"limit":-5}}"#,
            "linux.resources.memory.limit: -5",
        ),
        (
            r#"{"memory":{"limit":100,"swap":50}}"#,
            "linux.resources.memory.swap: 50",
        ),
        (
            r#"{"memory":{"swappiness":101}}"#,
            "linux.resources.memory.swappiness: 101",
        ),
        (
            r#"{"cpu":{"quota":500,"period":100000}}"#,
            "linux.resources.cpu.quota: 500",
        ),
        (
            r#"{"cpu":{"quota":-7,"period":100000}}"#,
            "linux.resources.cpu.quota: -7",
        ),
        (r#"{"cpu":{"period":5}}"#, "linux.resources.cpu.period: 5"),
        (r#"{"cpu":{"shares":1}}"#, "linux.resources.cpu.shares: 1"),
        (
            r#"{"cpu":{"cpus":"0-x"}}"#,
            "linux.resources.cpu.cpus: \"0-x\"",
        ),
        (r#"{"cpu":{"idle":3}}"#, "linux.resources.cpu.idle: 3"),
        (
            r#"{"blockIO":{"weight":5}}"#,
            "linux.resources.blockIO.weight: 5",
        ),
        (
            r#"{"hugepageLimits":[{"pageSize":"2M","limit":1}]}"#,
            "hugepageLimits[0].pageSize: \"2M\"",
        ),
        (
            r#"{"unified":{"../memory.max":"1"}}"#,
            "linux.resources.unified \"../memory.max\"",
        ),
        (r#"{"unified":{"memory":"1"}}"#, "CONTROLLER.PARAMETER"),
    ];
    for (json, want) in cases {
        let err = validate(&res(json), "linux.resources", &mut Vec::new())
            .expect_err(json)
            .to_string();
        assert!(err.contains(want), "{json}: {err}");
    }
    // A quota alone takes the kernel's period, as with runc.
    validate(
        &res(r#"{"cpu":{"quota":50000}}"#),
        "linux.resources",
        &mut Vec::new(),
    )
    .expect("a quota without a period");
    let mut warnings = Vec::new();
    validate(
        &res(r#"{"memory":{"kernel":1000,"limit":-1},"cpu":{"quota":-1}}"#),
        "linux.resources",
        &mut warnings,
    )
    .unwrap();
    assert_eq!(warnings.len(), 1);
}
