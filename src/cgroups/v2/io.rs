//! linux.resources.blockIO → the v2 io controller's files.

use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

use crate::cgroups::common::Write;

/// runc's blkio weight (10..1000) → io.weight (1..10000).
pub fn blkio_to_io_weight(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    1 + (u64::from(weight).saturating_sub(10)) * 9999 / 990
}

/// A weight for io.weight, with BFQ's io.bfq.weight (which takes blkio's
/// 10..1000 as it is) for where the kernel has BFQ.
fn weight(value: String, bfq_value: String, field: String) -> Write {
    let mut write = Write::new("io", "io.weight", value, field);
    write.bfq = Some(("io.bfq.weight".into(), bfq_value));
    write
}

pub fn writes(b: &LinuxBlockIo, out: &mut Vec<Write>, warnings: &mut Vec<String>) {
    if let Some(v) = b.weight().filter(|v| *v != 0) {
        // linux.resources.blockIO.weight
        let value = blkio_to_io_weight(v).to_string();
        let field = "linux.resources.blockIO.weight".to_string();
        out.push(weight(value, v.to_string(), field));
    }
    if b.leaf_weight().is_some_and(|v| v != 0) {
        warnings
            .push("linux.resources.blockIO.leafWeight: not available on cgroup v2; ignored".into());
    }
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        if let Some(v) = d.weight() {
            // linux.resources.blockIO.weightDevice[].weight
            let dev = format!("{}:{}", d.major(), d.minor());
            let value = format!("{dev} {}", blkio_to_io_weight(v));
            let field = format!("linux.resources.blockIO.weightDevice[{i}]");
            out.push(weight(value, format!("{dev} {v}"), field));
        }
    }
    let throttles: [(&Option<Vec<LinuxThrottleDevice>>, &str, &str); 4] = [
        (
            b.throttle_read_bps_device(),
            "rbps",
            "linux.resources.blockIO.throttleReadBpsDevice",
        ),
        (
            b.throttle_write_bps_device(),
            "wbps",
            "linux.resources.blockIO.throttleWriteBpsDevice",
        ),
        (
            b.throttle_read_iops_device(),
            "riops",
            "linux.resources.blockIO.throttleReadIOPSDevice",
        ),
        (
            b.throttle_write_iops_device(),
            "wiops",
            "linux.resources.blockIO.throttleWriteIOPSDevice",
        ),
    ];
    for (list, key, field) in throttles {
        for (i, d) in list.iter().flatten().enumerate() {
            // A rate of 0 means no limit ("max") on v2.
            let rate = if d.rate() == 0 {
                "max".to_string()
            } else {
                d.rate().to_string()
            };
            let line = format!("{}:{} {key}={rate}", d.major(), d.minor());
            out.push(Write::new("io", "io.max", line, format!("{field}[{i}]")));
        }
    }
}
