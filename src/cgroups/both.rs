//! The controllers whose files and values are the same on v1 and v2:
//! linux.resources.pids, linux.resources.rdma and the cpuset half of
//! linux.resources.cpu. Each backend calls these in its own order.

use oci_spec::runtime::{LinuxCpu, LinuxPids, LinuxResources};

use crate::cgroups::common::Write;

pub fn pids(p: &LinuxPids, out: &mut Vec<Write>) {
    // linux.resources.pids.limit: 0 is a limit (no new task), as
    // runtime-spec 1.3 words it; -1 (or below) is no limit.
    let value = if p.limit() >= 0 {
        p.limit().to_string()
    } else {
        "max".into()
    };
    out.push(Write::new(
        "pids",
        "pids.max",
        value,
        "linux.resources.pids.limit",
    ));
}

pub fn rdma(r: &LinuxResources, out: &mut Vec<Write>) {
    let mut devs: Vec<_> = r.rdma().iter().flatten().collect();
    devs.sort_by(|a, b| a.0.cmp(b.0));
    for (dev, l) in devs {
        // linux.resources.rdma.<device>.hcaHandles/.hcaObjects
        let mut v = dev.clone();
        if let Some(h) = l.hca_handles() {
            v.push_str(&format!(" hca_handle={h}"));
        }
        if let Some(o) = l.hca_objects() {
            v.push_str(&format!(" hca_object={o}"));
        }
        if v != *dev {
            let field = format!("linux.resources.rdma.{dev}");
            out.push(Write::new("rdma", "rdma.max", v, field));
        }
    }
}

pub fn cpuset(c: &LinuxCpu, out: &mut Vec<Write>) {
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        // linux.resources.cpu.cpus
        out.push(Write::new(
            "cpuset",
            "cpuset.cpus",
            cpus,
            "linux.resources.cpu.cpus",
        ));
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        // linux.resources.cpu.mems
        out.push(Write::new(
            "cpuset",
            "cpuset.mems",
            mems,
            "linux.resources.cpu.mems",
        ));
    }
}
