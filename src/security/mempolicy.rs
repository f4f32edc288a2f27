//! `linux.memoryPolicy` (runtime-spec 1.3): the container process's NUMA
//! memory policy, set by the init with set_mempolicy(2) just before its
//! execve (a task's policy survives execve and is inherited by its
//! children). Checked at create against the host's nodes, so a bad node
//! is named before anything exists.

use anyhow::{bail, Result};
use oci_spec::runtime::{LinuxMemoryPolicy, MemoryPolicyFlagType, MemoryPolicyModeType};

/// What a mode takes for nodes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Nodes {
    None,
    Optional,
    AtLeastOne,
}

/// Each mode as config.json and features name it, with set_mempolicy(2)'s
/// number for it and the nodes it takes.
const MODE_TABLE: [(MemoryPolicyModeType, &str, libc::c_int, Nodes); 7] = {
    use MemoryPolicyModeType::*;
    [
        (MpolDefault, "MPOL_DEFAULT", libc::MPOL_DEFAULT, Nodes::None),
        (
            MpolPreferred,
            "MPOL_PREFERRED",
            libc::MPOL_PREFERRED,
            Nodes::Optional,
        ),
        (MpolBind, "MPOL_BIND", libc::MPOL_BIND, Nodes::AtLeastOne),
        (
            MpolInterleave,
            "MPOL_INTERLEAVE",
            libc::MPOL_INTERLEAVE,
            Nodes::AtLeastOne,
        ),
        (MpolLocal, "MPOL_LOCAL", libc::MPOL_LOCAL, Nodes::None),
        // Linux 5.15 and 6.9; the libc crate does not name them.
        (
            MpolPreferredMany,
            "MPOL_PREFERRED_MANY",
            5,
            Nodes::AtLeastOne,
        ),
        (
            MpolWeightedInterleave,
            "MPOL_WEIGHTED_INTERLEAVE",
            6,
            Nodes::AtLeastOne,
        ),
    ]
};

/// Each flag as config.json and features name it, with its bit.
const FLAG_TABLE: [(MemoryPolicyFlagType, &str, libc::c_int); 3] = [
    // Linux 5.12; the libc crate does not name it.
    (
        MemoryPolicyFlagType::MpolFNumaBalancing,
        "MPOL_F_NUMA_BALANCING",
        1 << 13,
    ),
    (
        MemoryPolicyFlagType::MpolFRelativeNodes,
        "MPOL_F_RELATIVE_NODES",
        libc::MPOL_F_RELATIVE_NODES,
    ),
    (
        MemoryPolicyFlagType::MpolFStaticNodes,
        "MPOL_F_STATIC_NODES",
        libc::MPOL_F_STATIC_NODES,
    ),
];

/// The modes features.md lists.
pub fn modes() -> Vec<&'static str> {
    MODE_TABLE.iter().map(|m| m.1).collect()
}

/// The flags features.md lists.
pub fn flags() -> Vec<&'static str> {
    FLAG_TABLE.iter().map(|f| f.1).collect()
}

/// Where the kernel lists the nodes that are online ("0-1,3").
pub const ONLINE_NODES: &str = "/sys/devices/system/node/online";

/// set_mempolicy(2)'s arguments.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemoryPolicyPlan {
    /// The mode with its flags or'ed in.
    pub mode: libc::c_int,
    /// One bit per node, 64 nodes a word.
    pub nodemask: Vec<u64>,
}

/// Check `linux.memoryPolicy` against the host's online nodes (the
/// contents of ONLINE_NODES, or why it could not be read; None: the host
/// was not asked, which fails closed).
pub fn plan(
    policy: &LinuxMemoryPolicy,
    online: Option<&std::io::Result<String>>,
) -> Result<MemoryPolicyPlan> {
    let Some(online) = online else {
        bail!("linux.memoryPolicy: the host's NUMA nodes were not asked ({ONLINE_NODES})");
    };
    let online = online.as_ref().map_err(|e| {
        anyhow::anyhow!(
            "linux.memoryPolicy: this kernel has no NUMA support to apply it ({ONLINE_NODES}: {})",
            crate::error::describe_io(e)
        )
    })?;
    let online = parse_nodes(online.trim()).map_err(|e| anyhow::anyhow!("{ONLINE_NODES}: {e}"))?;
    plan_with_online(policy, &online)
}

fn plan_with_online(policy: &LinuxMemoryPolicy, online: &[u32]) -> Result<MemoryPolicyPlan> {
    let field = "linux.memoryPolicy";
    let nodes_text = policy.nodes().as_deref().unwrap_or("").trim();
    let nodes = parse_nodes(nodes_text).map_err(|e| anyhow::anyhow!("{field}.nodes: {e}"))?;
    let flags = policy.flags().clone().unwrap_or_default();
    let mode = policy.mode();
    let Some(&(_, name, number, takes)) = MODE_TABLE.iter().find(|m| m.0 == mode) else {
        bail!("{field}.mode {mode:?}: not supported");
    };
    match takes {
        Nodes::None if !nodes.is_empty() => {
            bail!("{field}.nodes {nodes_text:?}: mode {name} takes no nodes")
        }
        Nodes::None if !flags.is_empty() => bail!("{field}.flags: mode {name} takes no flags"),
        Nodes::AtLeastOne if nodes.is_empty() => {
            bail!("{field}.nodes: mode {name} needs at least one node")
        }
        _ => {}
    }
    let mut mode_flags = 0;
    for flag in &flags {
        let Some(&(_, flag_name, bit)) = FLAG_TABLE.iter().find(|f| f.0 == *flag) else {
            bail!("{field}.flags {flag:?}: not supported");
        };
        if flag == &MemoryPolicyFlagType::MpolFNumaBalancing
            && mode != MemoryPolicyModeType::MpolBind
        {
            bail!("{field}.flags: {flag_name} goes with MPOL_BIND only, not {name}");
        }
        mode_flags |= bit;
    }
    let relative = mode_flags & libc::MPOL_F_RELATIVE_NODES != 0;
    if relative && mode_flags & libc::MPOL_F_STATIC_NODES != 0 {
        bail!("{field}.flags: MPOL_F_RELATIVE_NODES and MPOL_F_STATIC_NODES exclude each other");
    }
    // Relative and static node numbers may name nodes that are not online
    // (yet): the kernel maps or keeps them.
    if mode_flags & (libc::MPOL_F_RELATIVE_NODES | libc::MPOL_F_STATIC_NODES) == 0 {
        if let Some(n) = nodes.iter().find(|n| !online.contains(n)) {
            bail!(
                "{field}.nodes {nodes_text:?}: node {n} is not online on this host (online: {})",
                format_nodes(online)
            );
        }
    }
    let mut nodemask = vec![0u64; nodes.iter().max().map_or(1, |m| *m as usize / 64 + 1)];
    for n in &nodes {
        nodemask[*n as usize / 64] |= 1 << (n % 64);
    }
    Ok(MemoryPolicyPlan {
        mode: number | mode_flags,
        nodemask,
    })
}

/// "0-3,7" as a sorted list of node numbers ("" is none).
fn parse_nodes(text: &str) -> std::result::Result<Vec<u32>, String> {
    const MAX_NODE: u32 = 1 << 16;
    let mut nodes = Vec::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let number = |s: &str| {
            s.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n < MAX_NODE)
                .ok_or_else(|| format!("{part:?} is not a node number or range (like \"0-3,7\")"))
        };
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (number(a)?, number(b)?),
            None => (number(part)?, number(part)?),
        };
        if lo > hi {
            return Err(format!("{part:?}: a range runs from low to high"));
        }
        nodes.extend(lo..=hi);
    }
    nodes.sort_unstable();
    nodes.dedup();
    Ok(nodes)
}

fn format_nodes(nodes: &[u32]) -> String {
    let list: Vec<String> = nodes.iter().map(u32::to_string).collect();
    list.join(",")
}

/// set_mempolicy(2) for the calling task.
pub fn apply(plan: &MemoryPolicyPlan) -> Result<()> {
    // maxnode counts bits, plus one: the kernel reads one bit fewer.
    let maxnode = plan.nodemask.len() as libc::c_ulong * 64 + 1;
    // SAFETY: the mask holds nodemask.len() words, as many as maxnode says.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_set_mempolicy,
            plan.mode,
            plan.nodemask.as_ptr(),
            maxnode,
        )
    };
    if rc != 0 {
        bail!(
            "linux.memoryPolicy: set_mempolicy(mode {:#x}, node mask {:x?}): {}",
            plan.mode,
            plan.nodemask,
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: serde_json::Value) -> LinuxMemoryPolicy {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn node_lists_parse() {
        assert_eq!(parse_nodes("").unwrap(), Vec::<u32>::new());
        assert_eq!(parse_nodes("0-2,7,1").unwrap(), vec![0, 1, 2, 7]);
        assert!(parse_nodes("3-1").is_err());
        assert!(parse_nodes("x").is_err());
        assert!(parse_nodes("99999999").is_err());
    }

    #[test]
    fn modes_and_flags_become_set_mempolicy_arguments() {
        let p = plan_with_online(
            &policy(serde_json::json!({"mode": "MPOL_BIND", "nodes": "0,65",
                "flags": ["MPOL_F_STATIC_NODES"]})),
            &[0],
        )
        .unwrap();
        assert_eq!(p.mode, libc::MPOL_BIND | libc::MPOL_F_STATIC_NODES);
        assert_eq!(p.nodemask, vec![1, 2]);
        let local = plan_with_online(&policy(serde_json::json!({"mode": "MPOL_LOCAL"})), &[0]);
        assert_eq!(local.unwrap().mode, libc::MPOL_LOCAL);
    }

    #[test]
    fn bad_policies_name_the_field() {
        let online = [0, 1];
        let err = |json| {
            format!(
                "{:#}",
                plan_with_online(&policy(json), &online).unwrap_err()
            )
        };
        let e = err(serde_json::json!({"mode": "MPOL_BIND", "nodes": "3"}));
        assert!(
            e.contains("node 3 is not online") && e.contains("online: 0,1"),
            "{e}"
        );
        let e = err(serde_json::json!({"mode": "MPOL_INTERLEAVE"}));
        assert!(
            e.contains("linux.memoryPolicy.nodes: mode MPOL_INTERLEAVE needs"),
            "{e}"
        );
        let e = err(serde_json::json!({"mode": "MPOL_DEFAULT", "nodes": "0"}));
        assert!(e.contains("takes no nodes"), "{e}");
        let e = err(serde_json::json!({"mode": "MPOL_INTERLEAVE", "nodes": "0",
            "flags": ["MPOL_F_NUMA_BALANCING"]}));
        assert!(e.contains("MPOL_BIND only"), "{e}");
        let e = err(serde_json::json!({"mode": "MPOL_BIND", "nodes": "0",
            "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]}));
        assert!(e.contains("exclude each other"), "{e}");
    }
}
