//! `update`: runc's flags, or a LinuxResources JSON (`-r FILE|-`), turned
//! into the resources to write.

use std::io::Read;

use anyhow::{Context, Result};
use oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxResources};

use crate::cli::UpdateArgs;
use crate::container::{self, Container};
use crate::state::StateRoot;

pub fn run(root: &StateRoot, args: &UpdateArgs) -> Result<i32> {
    let rdt_lines: Vec<(&str, String)> = [
        ("--l3-cache-schema", &args.l3_cache_schema),
        ("--mem-bw-schema", &args.mem_bw_schema),
    ]
    .into_iter()
    .filter_map(|(flag, line)| Some((flag, line.clone()?)))
    .collect();
    let resources = resources_from(args)?;
    let c = Container::load(root, &args.id)?;
    if !rdt_lines.is_empty() {
        container::update_rdt(&c, &rdt_lines)?;
        if resources == LinuxResources::default() {
            return Ok(0);
        }
    }
    container::update(&c, &resources)?;
    Ok(0)
}

/// A size like docker's and runc's: bytes, or a number with b/k/m/g/t/p
/// (binary multiples, an optional trailing "b"); -1 for no limit.
pub fn parse_bytes(flag: &str, s: &str) -> Result<i64> {
    let t = s.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let t = t
        .strip_suffix('b')
        .filter(|r| !r.is_empty() && r.ends_with(|c: char| c.is_ascii_alphabetic()))
        .unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        Some('p') => (&t[..t.len() - 1], 1 << 50),
        Some('b') => (&t[..t.len() - 1], 1),
        _ => (t, 1),
    };
    let value: f64 = num
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| *v >= 0.0 && v.is_finite())
        .with_context(|| {
            format!("{flag} {s:?}: not a size (bytes, or a number with k, m, g, t)")
        })?;
    Ok((value * mult as f64) as i64)
}

pub fn resources_from(args: &UpdateArgs) -> Result<LinuxResources> {
    if let Some(src) = &args.resources {
        let mut text = Vec::new();
        if src == "-" {
            std::io::stdin()
                .read_to_end(&mut text)
                .context("--resources -: read stdin")?;
        } else {
            text = std::fs::read(src).with_context(|| format!("--resources {src:?}: read"))?;
        }
        let de = &mut serde_json::Deserializer::from_slice(&text);
        return serde_path_to_error::deserialize(de)
            .map_err(|e| anyhow::anyhow!("--resources {src:?}: {} at {}", e.inner(), e.path()));
    }
    let mut r = LinuxResources::default();
    let bytes = |flag: &str, v: &Option<String>| -> Result<Option<i64>> {
        v.as_deref().map(|s| parse_bytes(flag, s)).transpose()
    };
    let memory = bytes("--memory", &args.memory)?;
    let reservation = bytes("--memory-reservation", &args.memory_reservation)?;
    let swap = bytes("--memory-swap", &args.memory_swap)?;
    let kernel_tcp = bytes("--kernel-memory-tcp", &args.kernel_memory_tcp)?;
    if args.kernel_memory.is_some() {
        crate::logging::warn("--kernel-memory: kernel memory limits are not supported by the kernel any more; ignored");
    }
    if memory.is_some() || reservation.is_some() || swap.is_some() || kernel_tcp.is_some() {
        let mut m = LinuxMemory::default();
        m.set_limit(memory)
            .set_reservation(reservation)
            .set_swap(swap)
            .set_kernel_tcp(kernel_tcp);
        r.set_memory(Some(m));
    }
    let a = args;
    if a.cpu_period.is_some()
        || a.cpu_quota.is_some()
        || a.cpu_burst.is_some()
        || a.cpu_share.is_some()
        || a.cpu_rt_period.is_some()
        || a.cpu_rt_runtime.is_some()
        || a.cpu_idle.is_some()
        || a.cpuset_cpus.is_some()
        || a.cpuset_mems.is_some()
    {
        let mut c = LinuxCpu::default();
        c.set_period(a.cpu_period)
            .set_quota(a.cpu_quota)
            .set_burst(a.cpu_burst)
            .set_shares(a.cpu_share)
            .set_realtime_period(a.cpu_rt_period)
            .set_realtime_runtime(a.cpu_rt_runtime)
            .set_idle(a.cpu_idle)
            .set_cpus(a.cpuset_cpus.clone())
            .set_mems(a.cpuset_mems.clone());
        r.set_cpu(Some(c));
    }
    if let Some(limit) = a.pids_limit {
        let mut p = oci_spec::runtime::LinuxPids::default();
        p.set_limit(limit);
        r.set_pids(Some(p));
    }
    if let Some(w) = a.blkio_weight {
        let mut b = oci_spec::runtime::LinuxBlockIo::default();
        b.set_weight(Some(w));
        r.set_block_io(Some(b));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_runc() {
        assert_eq!(parse_bytes("--memory", "1024").unwrap(), 1024);
        assert_eq!(parse_bytes("--memory", "10m").unwrap(), 10 << 20);
        assert_eq!(parse_bytes("--memory", "1G").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("--memory", "512kb").unwrap(), 512 << 10);
        assert_eq!(parse_bytes("--memory", "-1").unwrap(), -1);
        assert!(parse_bytes("--memory", "ten").is_err());
        assert!(parse_bytes("--memory", "-5").is_err());
    }

    #[test]
    fn flags_become_resources() {
        let args = UpdateArgs {
            memory: Some("64m".into()),
            cpu_quota: Some(20000),
            cpu_period: Some(100000),
            pids_limit: Some(7),
            ..Default::default()
        };
        let r = resources_from(&args).unwrap();
        assert_eq!(r.memory().as_ref().unwrap().limit(), Some(64 << 20));
        assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(20000));
        assert_eq!(r.pids().as_ref().unwrap().limit(), 7);
    }
}
