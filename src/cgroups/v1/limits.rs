//! `linux.resources` → every v1 file write, in the order they are written:
//! memory, cpu and blkio in their files, the small controllers here.

use anyhow::{bail, Result};
use oci_spec::runtime::LinuxResources;

use crate::cgroups::common::{limits_with, Limits, Write};

use super::blkio;
use super::cpu;
use super::memory;

/// Convert `r` for a v1 (legacy or hybrid) host.
pub fn convert(r: &LinuxResources) -> Result<Limits> {
    if r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
        bail!("linux.resources.unified: cgroup v2 keys cannot be applied on this cgroup v1 host");
    }
    Ok(limits_with(writes(r), r))
}

/// The writes alone, in order (memory ordered for an unlimited cgroup;
/// `memory::order` adapts it to the cgroup as it is).
pub fn writes(r: &LinuxResources) -> Vec<Write> {
    let mut out = Vec::new();
    if let Some(m) = r.memory() {
        memory::writes(m, &mut out);
    }
    if let Some(c) = r.cpu() {
        cpu::writes(c, &mut out);
    }
    pids(r, &mut out);
    if let Some(b) = r.block_io() {
        blkio::writes(b, &mut out);
    }
    hugetlb(r, &mut out);
    network(r, &mut out);
    rdma(r, &mut out);
    out
}

fn pids(r: &LinuxResources, out: &mut Vec<Write>) {
    let Some(p) = r.pids().as_ref().filter(|p| p.limit() != 0) else {
        return;
    };
    // linux.resources.pids.limit: -1 (or below) is no limit.
    let value = if p.limit() > 0 {
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

fn hugetlb(r: &LinuxResources, out: &mut Vec<Write>) {
    for (i, h) in r.hugepage_limits().iter().flatten().enumerate() {
        // linux.resources.hugepageLimits[].limit → hugetlb.<pageSize>.limit_in_bytes
        let file = format!("hugetlb.{}.limit_in_bytes", h.page_size());
        let field = format!("linux.resources.hugepageLimits[{i}]");
        out.push(Write::new("hugetlb", file, h.limit(), field));
    }
}

fn network(r: &LinuxResources, out: &mut Vec<Write>) {
    let Some(n) = r.network() else { return };
    if let Some(id) = n.class_id() {
        // linux.resources.network.classID
        out.push(Write::new(
            "net_cls",
            "net_cls.classid",
            id,
            "linux.resources.network.classID",
        ));
    }
    for (i, p) in n.priorities().iter().flatten().enumerate() {
        // linux.resources.network.priorities[].name/.priority
        let line = format!("{} {}", p.name(), p.priority());
        let field = format!("linux.resources.network.priorities[{i}]");
        out.push(Write::new("net_prio", "net_prio.ifpriomap", line, field));
    }
}

fn rdma(r: &LinuxResources, out: &mut Vec<Write>) {
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

#[cfg(test)]
mod tests;
