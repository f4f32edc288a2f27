//! `linux.netDevices` (runtime-spec 1.3): host network devices moved into
//! the container's network namespace, renamed when asked (a `%d` in the
//! name lets the kernel number it), set up, with their permanent global
//! addresses kept (the kernel drops a device's addresses when it changes
//! namespace: they are read before and added again after). Nothing is
//! moved back on delete: the kernel returns a physical device to the host
//! when the namespace dies (a virtual one, a dummy or a veth end, dies
//! with it).

mod rtnl;

use std::collections::HashMap;
use std::os::fd::AsFd;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::LinuxNetDevice;

/// One device: its name on the host, and in the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetDevicePlan {
    pub host: String,
    pub name: String,
}

/// Check `linux.netDevices`: valid interface names, one device per target
/// name; `has_netns` says whether the container has a network namespace
/// (a new one or one joined by path), which moving devices needs.
pub fn plan(
    devices: &HashMap<String, LinuxNetDevice>,
    has_netns: bool,
) -> Result<Vec<NetDevicePlan>> {
    if devices.is_empty() {
        return Ok(Vec::new());
    }
    if !has_netns {
        bail!("linux.netDevices: the container has no network namespace of its own to move devices into (add a \"network\" namespace)");
    }
    let mut plans: Vec<NetDevicePlan> = devices
        .iter()
        .map(|(host, dev)| NetDevicePlan {
            host: host.clone(),
            name: dev.name().clone().unwrap_or_else(|| host.clone()),
        })
        .collect();
    plans.sort_by(|a, b| a.host.cmp(&b.host));
    for p in &plans {
        check_name(&p.host, false)
            .with_context(|| format!("linux.netDevices: host device {:?}", p.host))?;
        check_name(&p.name, true)
            .with_context(|| format!("linux.netDevices[{:?}].name {:?}", p.host, p.name))?;
    }
    for (i, p) in plans.iter().enumerate() {
        if let Some(other) = plans[..i]
            .iter()
            .find(|o| o.name == p.name && !p.name.contains('%'))
        {
            bail!(
                "linux.netDevices: {:?} and {:?} would both be named {:?} in the container",
                other.host,
                p.host,
                p.name
            );
        }
    }
    Ok(plans)
}

/// A Linux interface name: 1 to 15 bytes, no '/', ':' or white space, not
/// "." or ".."; a target name may hold one "%d".
fn check_name(name: &str, template: bool) -> Result<()> {
    const IFNAMSIZ: usize = 16;
    if name.is_empty() || name.len() >= IFNAMSIZ {
        bail!("an interface name has 1 to {} bytes", IFNAMSIZ - 1);
    }
    if name == "." || name == ".." {
        bail!("not a valid interface name");
    }
    if let Some(c) = name
        .chars()
        .find(|c| *c == '/' || *c == ':' || c.is_whitespace())
    {
        bail!("{c:?} is not allowed in an interface name");
    }
    match (name.matches('%').count(), template) {
        (0, _) => Ok(()),
        (1, true) if name.contains("%d") => Ok(()),
        _ => bail!("'%' is allowed only as one \"%d\" (the kernel numbers the device)"),
    }
}

/// Move each device into the network namespace of process `pid`, then, in
/// that namespace, set it up and give it back its addresses.
pub fn move_into(devices: &[NetDevicePlan], pid: i32) -> Result<()> {
    if devices.is_empty() {
        return Ok(());
    }
    let netns_path = format!("/proc/{pid}/ns/net");
    let netns = std::fs::File::open(&netns_path)
        .with_context(|| format!("linux.netDevices: open {netns_path}"))?;
    let mut host = rtnl::Rtnl::open().context("linux.netDevices")?;
    let mut moved = Vec::new();
    for dev in devices {
        let field = format!("linux.netDevices[{:?}]", dev.host);
        let index = host
            .link_index(&dev.host)
            .with_context(|| format!("{field}: find the device on the host"))?;
        let addresses = host
            .permanent_addresses(index)
            .with_context(|| format!("{field}: read its addresses"))?;
        host.move_link(index, netns.as_fd(), &dev.name)
            .with_context(|| {
                format!(
                    "{field}: move it into the container's network namespace as {:?}",
                    dev.name
                )
            })?;
        moved.push((field, index, addresses));
    }
    // setns affects only the calling thread: a thread of its own enters
    // the container's namespace and ends there.
    std::thread::scope(|s| {
        s.spawn(|| -> Result<()> {
            nix::sched::setns(&netns, nix::sched::CloneFlags::CLONE_NEWNET)
                .context("linux.netDevices: enter the container's network namespace")?;
            let mut inside = rtnl::Rtnl::open().context("linux.netDevices")?;
            for (dev, (field, index, addresses)) in devices.iter().zip(moved) {
                // The index stays unless the namespace had it taken: a
                // name without "%d" is looked up again.
                let index = match dev.name.contains('%') {
                    true => index,
                    false => inside
                        .link_index(&dev.name)
                        .with_context(|| format!("{field}: find it in the container"))?,
                };
                inside
                    .set_up(index)
                    .with_context(|| format!("{field}: set it up in the container"))?;
                for address in addresses {
                    inside
                        .add_address(index, address)
                        .with_context(|| format!("{field}: add its address in the container"))?;
                }
            }
            Ok(())
        })
        .join()
        .unwrap_or_else(|_| bail!("linux.netDevices: the setup thread panicked"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn devices(json: serde_json::Value) -> HashMap<String, LinuxNetDevice> {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn names_default_to_the_host_name_and_templates_are_allowed() {
        let p = plan(
            &devices(serde_json::json!({"eth1": {}, "dummy0": {"name": "net%d"}})),
            true,
        );
        assert_eq!(
            p.unwrap(),
            vec![
                NetDevicePlan {
                    host: "dummy0".into(),
                    name: "net%d".into()
                },
                NetDevicePlan {
                    host: "eth1".into(),
                    name: "eth1".into()
                },
            ]
        );
    }

    #[test]
    fn bad_device_lists_name_the_field() {
        let err = |json, netns| format!("{:#}", plan(&devices(json), netns).unwrap_err());
        let e = err(serde_json::json!({"eth1": {}}), false);
        assert!(e.contains("no network namespace"), "{e}");
        let e = err(
            serde_json::json!({"eth1": {"name": "a-very-long-name0"}}),
            true,
        );
        assert!(
            e.contains("linux.netDevices[\"eth1\"].name") && e.contains("15"),
            "{e}"
        );
        let e = err(serde_json::json!({"eth/1": {}}), true);
        assert!(e.contains("'/'"), "{e}");
        let e = err(
            serde_json::json!({"a": {"name": "x"}, "b": {"name": "x"}}),
            true,
        );
        assert!(e.contains("both be named \"x\""), "{e}");
        let e = err(serde_json::json!({"a": {"name": "x%s"}}), true);
        assert!(e.contains("%d"), "{e}");
        assert!(plan(&HashMap::new(), false).unwrap().is_empty());
    }
}
