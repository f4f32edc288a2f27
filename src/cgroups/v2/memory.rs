//! linux.resources.memory → the v2 memory controller's files.

use anyhow::{anyhow, Result};
use oci_spec::runtime::LinuxMemory;

use crate::cgroups::common::Write;

/// runc's memory+swap (v1 memsw) → v2 memory.swap.max: swap alone.
/// 0 is "unset", -1 "max".
pub fn memsw_to_swap(memsw: i64, memory: i64) -> std::result::Result<i64, String> {
    if memory == -1 && memsw == 0 {
        return Ok(-1);
    }
    if memsw == -1 || memsw == 0 {
        return Ok(memsw);
    }
    if memory == 0 || memory == -1 {
        return Err("a swap limit needs a memory limit".into());
    }
    if memsw < memory {
        return Err(format!(
            "swap ({memsw}) is memory+swap and must not be below the memory limit ({memory})"
        ));
    }
    Ok(memsw - memory)
}

/// 0 → unset, -1 → "max", else the number (runc's numToStr).
fn num(v: i64) -> Option<String> {
    match v {
        0 => None,
        -1 => Some("max".into()),
        v => Some(v.to_string()),
    }
}

pub fn writes(m: &LinuxMemory, out: &mut Vec<Write>, warnings: &mut Vec<String>) -> Result<()> {
    let limit = m.limit().unwrap_or(0);
    let memsw = m.swap().unwrap_or(0);
    // linux.resources.memory.swap is memory+swap; memory.swap.max is swap.
    let swap =
        memsw_to_swap(memsw, limit).map_err(|why| anyhow!("linux.resources.memory.swap: {why}"))?;
    let swap_str = match num(swap) {
        None if memsw > 0 => Some("0".to_string()),
        s => s,
    };
    if let Some(s) = swap_str {
        let mut write = Write::new(
            "memory",
            "memory.swap.max",
            &s,
            "linux.resources.memory.swap",
        );
        // No swap on the host: "max" or "0" asks for nothing (runc).
        write.optional = s == "max" || s == "0";
        out.push(write);
    }
    if let Some(v) = num(limit) {
        // linux.resources.memory.limit
        out.push(Write::new(
            "memory",
            "memory.max",
            v,
            "linux.resources.memory.limit",
        ));
    }
    if let Some(v) = num(m.reservation().unwrap_or(0)) {
        // linux.resources.memory.reservation
        out.push(Write::new(
            "memory",
            "memory.low",
            v,
            "linux.resources.memory.reservation",
        ));
    }
    if m.swappiness().is_some() {
        warnings
            .push("linux.resources.memory.swappiness: not available on cgroup v2; ignored".into());
    }
    if m.disable_oom_killer() == Some(true) {
        warnings.push(
            "linux.resources.memory.disableOOMKiller: not available on cgroup v2; ignored".into(),
        );
    }
    if m.kernel_tcp().is_some_and(|v| v != 0) {
        warnings
            .push("linux.resources.memory.kernelTCP: not available on cgroup v2; ignored".into());
    }
    // linux.resources.memory.useHierarchy: always hierarchical on v2.
    // linux.resources.memory.kernel: warned about in validation, no file.
    // linux.resources.memory.checkBeforeUpdate: common::limits_with.
    Ok(())
}
