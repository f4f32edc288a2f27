//! linux.resources.blockIO → the v1 blkio controller's files.

use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

use crate::cgroups::common::Write;

pub fn writes(b: &LinuxBlockIo, out: &mut Vec<Write>) {
    if let Some(v) = b.weight().filter(|v| *v != 0) {
        // linux.resources.blockIO.weight; BFQ's file where the kernel has
        // only that one (the manager decides).
        let mut write = Write::new("blkio", "blkio.weight", v, "linux.resources.blockIO.weight");
        write.bfq = Some(("blkio.bfq.weight".into(), v.to_string()));
        out.push(write);
    }
    if let Some(v) = b.leaf_weight().filter(|v| *v != 0) {
        // linux.resources.blockIO.leafWeight
        out.push(Write::new(
            "blkio",
            "blkio.leaf_weight",
            v,
            "linux.resources.blockIO.leafWeight",
        ));
    }
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        let field = format!("linux.resources.blockIO.weightDevice[{i}]");
        if let Some(v) = d.weight() {
            // linux.resources.blockIO.weightDevice[].weight
            let line = format!("{}:{} {v}", d.major(), d.minor());
            out.push(Write::new("blkio", "blkio.weight_device", line, &field));
        }
        if let Some(v) = d.leaf_weight() {
            // linux.resources.blockIO.weightDevice[].leafWeight
            let line = format!("{}:{} {v}", d.major(), d.minor());
            out.push(Write::new("blkio", "blkio.leaf_weight_device", line, field));
        }
    }
    let throttles: [(&Option<Vec<LinuxThrottleDevice>>, &str, &str); 4] = [
        (
            b.throttle_read_bps_device(),
            "blkio.throttle.read_bps_device",
            "linux.resources.blockIO.throttleReadBpsDevice",
        ),
        (
            b.throttle_write_bps_device(),
            "blkio.throttle.write_bps_device",
            "linux.resources.blockIO.throttleWriteBpsDevice",
        ),
        (
            b.throttle_read_iops_device(),
            "blkio.throttle.read_iops_device",
            "linux.resources.blockIO.throttleReadIOPSDevice",
        ),
        (
            b.throttle_write_iops_device(),
            "blkio.throttle.write_iops_device",
            "linux.resources.blockIO.throttleWriteIOPSDevice",
        ),
    ];
    for (list, file, field) in throttles {
        for (i, d) in list.iter().flatten().enumerate() {
            let line = format!("{}:{} {}", d.major(), d.minor(), d.rate());
            out.push(Write::new("blkio", file, line, format!("{field}[{i}]")));
        }
    }
}
