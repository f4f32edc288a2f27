//! linux.resources.pids → the v2 pids controller.

use oci_spec::runtime::LinuxPids;

use crate::cgroups::common::Write;

pub fn writes(p: &LinuxPids, out: &mut Vec<Write>) {
    if p.limit() == 0 {
        return;
    }
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
