//! The cgroup limit checks, written once for every backend: each names what
//! it needs, the `linux.resources` its container starts with, then what the
//! limit files must hold (per cgroup version), updates, and what follows.
//! `tests/cgroups.rs` runs them on this host's v1 and on the v2 view;
//! `tests/vm_cgroup_v2.rs` exports them for the VM (`vm_table`). Pure data:
//! no harness here, so both test binaries can include it.
// Each binary uses its half: the host runs the checks, the VM test exports.
#![allow(dead_code)]

/// Where the checks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// This host's cgroup v1 hierarchies, `/sys/fs/cgroup/<controller>`.
    HostV1,
    /// The host's cgroup2 hierarchy, mounted on /sys/fs/cgroup in a private
    /// mount namespace each runtime command enters (on this hybrid host it
    /// has only hugetlb).
    V2View,
    /// The qemu VM's cgroup v2 (every controller, swap accounting): the
    /// checks run there from the exported table (scripts/vm/tests/20-*.sh).
    Vm,
}

impl Backend {
    pub fn version(self) -> Version {
        match self {
            Backend::HostV1 => Version::V1,
            Backend::V2View | Backend::Vm => Version::V2,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Controller {
    Memory,
    Cpu,
    Cpuset,
    Pids,
}

impl Controller {
    pub fn name(self) -> &'static str {
        match self {
            Controller::Memory => "memory",
            Controller::Cpu => "cpu",
            Controller::Cpuset => "cpuset",
            Controller::Pids => "pids",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// Swap accounting: memory.memsw.* on v1, memory.swap.max on v2.
    Swap,
    /// `linux.resources.unified` (cgroup v2 only; refused on v1).
    Unified,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Controller(Controller),
    Feature(Feature),
}

/// What a limit file must hold.
#[derive(Clone, Copy, Debug)]
pub enum Want {
    Is(&'static str),
    /// A number larger than this (v1's "no limit" is a page-rounded huge number).
    Above(u64),
}

/// One limit file of the container's cgroup, for one cgroup version.
#[derive(Clone, Copy, Debug)]
pub struct Expect {
    pub version: Version,
    pub file: &'static str,
    pub want: Want,
    /// Checked only where the backend has it (the file exists).
    pub only_with: Option<Feature>,
}

const fn v1(file: &'static str, value: &'static str) -> Expect {
    Expect {
        version: Version::V1,
        file,
        want: Want::Is(value),
        only_with: None,
    }
}

const fn v2(file: &'static str, value: &'static str) -> Expect {
    Expect {
        version: Version::V2,
        file,
        want: Want::Is(value),
        only_with: None,
    }
}

const fn with(feature: Feature, expect: Expect) -> Expect {
    Expect {
        only_with: Some(feature),
        ..expect
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Step {
    /// The files as they must be now (after create and start, or after
    /// the update before).
    Expect(&'static [Expect]),
    /// `update ARGS… ID` succeeds.
    Update(&'static [&'static str]),
    /// `update -r FILE ID` with this LinuxResources JSON succeeds.
    UpdateResources(&'static str),
    /// `update ARGS… ID` fails; hull's message names this.
    UpdateRefused(&'static [&'static str], Option<&'static str>),
}

#[derive(Debug)]
pub struct LimitCheck {
    pub name: &'static str,
    pub needs: &'static [Need],
    pub resources: &'static str,
    pub steps: &'static [Step],
}

use Controller::*;
use Feature::*;
use Need::Controller as C;
use Need::Feature as F;

pub const LIMIT_CHECKS: &[LimitCheck] = &[
    LimitCheck {
        name: "memory-cpu-pids-cpuset",
        needs: &[C(Memory), C(Cpu), C(Pids), C(Cpuset)],
        resources: r#"{"memory": {"limit": 67108864, "reservation": 33554432},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
            "pids": {"limit": 42}}"#,
        steps: &[Step::Expect(&[
            v1("memory.limit_in_bytes", "67108864"),
            v1("memory.soft_limit_in_bytes", "33554432"),
            v1("cpu.shares", "512"),
            v1("cpu.cfs_quota_us", "50000"),
            v1("cpu.cfs_period_us", "100000"),
            v1("pids.max", "42"),
            v1("cpuset.cpus", "0"),
            v2("memory.max", "67108864"),
            v2("memory.low", "33554432"),
            // runc's conversion: 1 + (512 - 2) * 9999 / 262142.
            v2("cpu.weight", "20"),
            v2("cpu.max", "50000 100000"),
            v2("pids.max", "42"),
            v2("cpuset.cpus", "0"),
        ])],
    },
    LimitCheck {
        name: "update",
        needs: &[C(Memory), C(Cpu), C(Pids)],
        resources: r#"{"memory": {"limit": 67108864}, "pids": {"limit": 50}}"#,
        steps: &[
            Step::Update(&[
                "--memory",
                "32m",
                "--memory-swap",
                "64m",
                "--pids-limit",
                "7",
                "--cpu-share",
                "256",
                "--cpu-quota",
                "30000",
                "--cpu-period",
                "100000",
            ]),
            Step::Expect(&[
                v1("memory.limit_in_bytes", "33554432"),
                with(Swap, v1("memory.memsw.limit_in_bytes", "67108864")),
                v1("pids.max", "7"),
                v1("cpu.shares", "256"),
                v1("cpu.cfs_quota_us", "30000"),
                v2("memory.max", "33554432"),
                // memsw 64 MiB - memory 32 MiB.
                with(Swap, v2("memory.swap.max", "33554432")),
                v2("pids.max", "7"),
                v2("cpu.weight", "10"),
                v2("cpu.max", "30000 100000"),
            ]),
            // LinuxResources JSON, as containerd sends it.
            Step::UpdateResources(r#"{"memory":{"limit":-1,"swap":-1},"pids":{"limit":-1}}"#),
            Step::Expect(&[
                v1("pids.max", "max"),
                Expect {
                    want: Want::Above(1 << 40),
                    ..v1("memory.limit_in_bytes", "")
                },
                v2("pids.max", "max"),
                v2("memory.max", "max"),
            ]),
            // A bad value names the flag's field and changes nothing.
            Step::UpdateRefused(&["--cpu-share", "1"], Some("cpu.shares: 1")),
            Step::Expect(&[v1("cpu.shares", "256"), v2("cpu.weight", "10")]),
            Step::UpdateRefused(&["--l3-cache-schema", "L3:0=f"], None),
        ],
    },
    LimitCheck {
        name: "v2-conversions",
        needs: &[C(Memory), C(Cpu), C(Pids), F(Unified)],
        resources: r#"{"memory": {"limit": 67108864, "reservation": 33554432, "swap": 100663296},
            "cpu": {"shares": 1024, "quota": 50000, "period": 100000},
            "pids": {"limit": 42},
            "unified": {"memory.high": "60000000"}}"#,
        steps: &[
            Step::Expect(&[
                v2("memory.max", "67108864"),
                v2("memory.low", "33554432"),
                // memsw 96 MiB - memory 64 MiB.
                with(Swap, v2("memory.swap.max", "33554432")),
                // The kernel keeps whole pages: 60000000 rounded down to 4 KiB.
                v2("memory.high", "59998208"),
                v2("cpu.weight", "39"),
                v2("cpu.max", "50000 100000"),
                v2("pids.max", "42"),
            ]),
            Step::Update(&[
                "--memory",
                "32m",
                "--pids-limit",
                "7",
                "--cpu-quota",
                "20000",
            ]),
            Step::Expect(&[
                v2("memory.max", "33554432"),
                v2("pids.max", "7"),
                v2("cpu.max", "20000 100000"),
            ]),
        ],
    },
    LimitCheck {
        name: "memory-swap-as-limit",
        needs: &[C(Memory)],
        resources: r#"{"memory": {"limit": 16777216, "swap": 16777216}}"#,
        steps: &[Step::Expect(&[
            v1("memory.limit_in_bytes", "16777216"),
            with(Swap, v1("memory.memsw.limit_in_bytes", "16777216")),
            v2("memory.max", "16777216"),
            with(Swap, v2("memory.swap.max", "0")),
        ])],
    },
    LimitCheck {
        name: "pids",
        needs: &[C(Pids)],
        resources: r#"{"pids": {"limit": 8}}"#,
        steps: &[Step::Expect(&[v1("pids.max", "8"), v2("pids.max", "8")])],
    },
    LimitCheck {
        name: "cpu-quota",
        needs: &[C(Cpu)],
        resources: r#"{"cpu": {"quota": 10000, "period": 100000}}"#,
        steps: &[Step::Expect(&[
            v1("cpu.cfs_quota_us", "10000"),
            v1("cpu.cfs_period_us", "100000"),
            v2("cpu.max", "10000 100000"),
        ])],
    },
];

pub fn check(name: &str) -> &'static LimitCheck {
    LIMIT_CHECKS
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no limit check {name:?}"))
}

/// The name of one result line in the VM (`ok NAME`).
pub fn vm_result(check: &str, what: &str) -> String {
    format!("hull-v2-limit-{check}-{what}")
}

/// The checks as the VM runs them (scripts/vm/tests/20-hull-cgroup-v2.sh,
/// `limit_checks`), one record a line, fields split by tabs:
///   check NAME RESOURCES | expect STEP FILE is|above VALUE |
///   update STEP ARGS | update-resources STEP JSON |
///   update-refused STEP ARGS MESSAGE|- | end
/// and the `ok` names the VM must report for them (hull-only ones apart).
/// The VM has every controller and feature the checks need.
pub fn vm_table() -> (String, Vec<String>, Vec<String>) {
    let mut table = String::new();
    let mut required = Vec::new();
    let mut hull_only = Vec::new();
    for check in LIMIT_CHECKS {
        let resources: String = check
            .resources
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        table += &format!("check\t{}\t{resources}\n", check.name);
        required.push(vm_result(check.name, "create"));
        for (i, step) in check.steps.iter().enumerate() {
            match step {
                Step::Expect(list) => {
                    for e in list.iter().filter(|e| e.version == Version::V2) {
                        let (op, value) = match e.want {
                            Want::Is(v) => ("is", v.to_string()),
                            Want::Above(n) => ("above", n.to_string()),
                        };
                        table += &format!("expect\t{i}\t{}\t{op}\t{value}\n", e.file);
                        required.push(vm_result(check.name, &format!("{i}-{}", e.file)));
                    }
                }
                Step::Update(args) => {
                    table += &format!("update\t{i}\t{}\n", args.join(" "));
                    required.push(vm_result(check.name, &format!("{i}-update")));
                }
                Step::UpdateResources(json) => {
                    table += &format!("update-resources\t{i}\t{json}\n");
                    required.push(vm_result(check.name, &format!("{i}-update")));
                }
                Step::UpdateRefused(args, message) => {
                    table += &format!(
                        "update-refused\t{i}\t{}\t{}\n",
                        args.join(" "),
                        message.unwrap_or("-")
                    );
                    required.push(vm_result(check.name, &format!("{i}-refused")));
                    if message.is_some() {
                        hull_only.push(vm_result(check.name, &format!("{i}-message")));
                    }
                }
            }
        }
        table += "end\n";
        // runc's delete does not wait for the cgroup to empty: the script
        // waits for it and skips this line for runc.
        hull_only.push(vm_result(check.name, "cgroup-removed"));
    }
    (table, required, hull_only)
}
