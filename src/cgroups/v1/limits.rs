//! `linux.resources` → every v1 file write, in the order they are written:
//! memory, cpu and blkio in their files, the small controllers here.

use anyhow::{bail, Result};
use oci_spec::runtime::LinuxResources;

use crate::cgroups::both;
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
    if let Some(p) = r.pids() {
        both::pids(p, &mut out);
    }
    if let Some(b) = r.block_io() {
        blkio::writes(b, &mut out);
    }
    hugetlb(r, &mut out);
    network(r, &mut out);
    both::rdma(r, &mut out);
    out
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

#[cfg(test)]
mod tests;
