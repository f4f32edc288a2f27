//! linux.resources.hugepageLimits → the v2 hugetlb controller.

use oci_spec::runtime::LinuxHugepageLimit;

use crate::cgroups::common::Write;

pub fn writes(limits: &[LinuxHugepageLimit], out: &mut Vec<Write>) {
    for (i, h) in limits.iter().enumerate() {
        // linux.resources.hugepageLimits[].limit → hugetlb.<pageSize>.max
        let file = format!("hugetlb.{}.max", h.page_size());
        let field = format!("linux.resources.hugepageLimits[{i}]");
        out.push(Write::new("hugetlb", file, h.limit(), field));
    }
}
