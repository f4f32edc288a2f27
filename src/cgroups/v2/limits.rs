//! `linux.resources` → every v2 file write, in order, unified keys last so
//! they win: memory, cpu, io, pids and hugetlb in their files, the rest
//! here. Errors name the field for what v2 cannot express.

use anyhow::{anyhow, Result};
use oci_spec::runtime::LinuxResources;

use crate::cgroups::both;
use crate::cgroups::common::{check_unified_key, limits_with, Limits, Write};

use super::cpu;
use super::hugetlb;
use super::io;
use super::memory;

/// Convert `r` for a unified host; what v2 ignores goes to `warnings`.
pub fn convert(r: &LinuxResources, warnings: &mut Vec<String>) -> Result<Limits> {
    Ok(limits_with(writes(r, warnings)?, r))
}

/// The writes alone, in order.
pub fn writes(r: &LinuxResources, warnings: &mut Vec<String>) -> Result<Vec<Write>> {
    let mut out = Vec::new();
    if let Some(m) = r.memory() {
        memory::writes(m, &mut out, warnings)?;
    }
    if let Some(c) = r.cpu() {
        cpu::writes(c, &mut out)?;
    }
    if let Some(p) = r.pids() {
        both::pids(p, &mut out);
    }
    if let Some(b) = r.block_io() {
        io::writes(b, &mut out, warnings);
    }
    hugetlb::writes(r.hugepage_limits().as_deref().unwrap_or(&[]), &mut out);
    // linux.resources.network.classID, linux.resources.network.priorities:
    // no v2 controller.
    if r.network().as_ref().is_some_and(|n| {
        n.class_id().is_some() || n.priorities().as_ref().is_some_and(|p| !p.is_empty())
    }) {
        warnings.push(
            "linux.resources.network: net_cls and net_prio do not exist on cgroup v2; ignored"
                .into(),
        );
    }
    both::rdma(r, &mut out);
    unified(r, &mut out)?;
    Ok(out)
}

/// linux.resources.unified: each key is its own file, written as it is.
fn unified(r: &LinuxResources, out: &mut Vec<Write>) -> Result<()> {
    let mut keys: Vec<_> = r.unified().iter().flatten().collect();
    keys.sort();
    for (key, value) in keys {
        let ctrl = check_unified_key(key)
            .map_err(|why| anyhow!("linux.resources.unified {key:?}: {why}"))?;
        let field = format!("linux.resources.unified {key:?}");
        out.push(Write::new(ctrl, key.clone(), value, field));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
