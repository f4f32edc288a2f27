//! linux.resources.memory → the v1 memory controller's files.

use oci_spec::runtime::LinuxMemory;

use crate::cgroups::common::Write;

pub fn writes(m: &LinuxMemory, out: &mut Vec<Write>) {
    let limit = m.limit().unwrap_or(0);
    let swap = m.swap().unwrap_or(0);
    if limit != 0 {
        // linux.resources.memory.limit
        out.push(Write::new(
            "memory",
            "memory.limit_in_bytes",
            limit,
            "linux.resources.memory.limit",
        ));
    }
    if swap != 0 {
        // linux.resources.memory.swap (v1's memsw is memory+swap too)
        out.push(Write::new(
            "memory",
            "memory.memsw.limit_in_bytes",
            swap,
            "linux.resources.memory.swap",
        ));
    } else if limit == -1 {
        // -1 for memory takes memsw along to -1 (runc), where the kernel
        // has swap accounting.
        let mut write = Write::new(
            "memory",
            "memory.memsw.limit_in_bytes",
            -1,
            "linux.resources.memory.swap",
        );
        write.optional = true;
        out.push(write);
    }
    if let Some(r) = m.reservation().filter(|r| *r != 0) {
        // linux.resources.memory.reservation
        out.push(Write::new(
            "memory",
            "memory.soft_limit_in_bytes",
            r,
            "linux.resources.memory.reservation",
        ));
    }
    if let Some(t) = m.kernel_tcp().filter(|t| *t != 0) {
        // linux.resources.memory.kernelTCP
        out.push(Write::new(
            "memory",
            "memory.kmem.tcp.limit_in_bytes",
            t,
            "linux.resources.memory.kernelTCP",
        ));
    }
    if let Some(s) = m.swappiness() {
        // linux.resources.memory.swappiness
        out.push(Write::new(
            "memory",
            "memory.swappiness",
            s,
            "linux.resources.memory.swappiness",
        ));
    }
    if m.disable_oom_killer() == Some(true) {
        // linux.resources.memory.disableOOMKiller
        out.push(Write::new(
            "memory",
            "memory.oom_control",
            1,
            "linux.resources.memory.disableOOMKiller",
        ));
    }
    if let Some(h) = m.use_hierarchy() {
        // linux.resources.memory.useHierarchy
        out.push(Write::new(
            "memory",
            "memory.use_hierarchy",
            u8::from(h),
            "linux.resources.memory.useHierarchy",
        ));
    }
    // linux.resources.memory.kernel: warned about in validation, no file.
    // linux.resources.memory.checkBeforeUpdate: common::limits_with.
}

/// The kernel wants memsw >= limit at every step: raise memsw first,
/// lower the limit first (runc's order). `limit_now` is
/// memory.limit_in_bytes as it is in the cgroup.
pub fn order(writes: &mut [Write], limit_now: u64) {
    let find = |file: &str, writes: &[Write]| writes.iter().position(|w| w.file == file);
    let (Some(limit), Some(memsw)) = (
        find("memory.limit_in_bytes", writes),
        find("memory.memsw.limit_in_bytes", writes),
    ) else {
        return;
    };
    let swap: i64 = writes[memsw].value.parse().unwrap_or(0);
    let raising = swap == -1 || (swap > 0 && limit_now < swap as u64);
    if raising && memsw > limit {
        writes[limit..=memsw].rotate_right(1);
    }
}
