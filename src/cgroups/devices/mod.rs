//! Device access rules of a container's cgroup: `linux.resources.devices`
//! checked, plus runc's default allowed devices (v1/devices.rs turns them
//! into devices.allow/deny lines, v2/devices.rs into an eBPF program).

use anyhow::{bail, Result};
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

/// Access bits, as the kernel's BPF device context has them.
pub const MKNOD: u8 = 1;
pub const READ: u8 = 2;
pub const WRITE: u8 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    All,
    Char,
    Block,
}

/// One rule; None for major/minor is the wildcard `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceRule {
    pub allow: bool,
    pub kind: Kind,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u8,
}

fn parse_access(s: &str) -> Option<u8> {
    let mut bits = 0;
    for c in s.chars() {
        bits |= match c {
            'r' => READ,
            'w' => WRITE,
            'm' => MKNOD,
            _ => return None,
        };
    }
    Some(bits)
}

/// runc 1.1's default allowed devices, appended after the config's rules:
/// mknod of any node, the standard character devices, the ptys, tun.
pub fn defaults() -> Vec<DeviceRule> {
    let rwm = READ | WRITE | MKNOD;
    let c = |major, minor: Option<u32>, access| DeviceRule {
        allow: true,
        kind: Kind::Char,
        major,
        minor,
        access,
    };
    vec![
        c(None, None, MKNOD),
        DeviceRule {
            kind: Kind::Block,
            ..c(None, None, MKNOD)
        },
        c(Some(1), Some(3), rwm),
        c(Some(1), Some(8), rwm),
        c(Some(1), Some(7), rwm),
        c(Some(5), Some(0), rwm),
        c(Some(1), Some(5), rwm),
        c(Some(1), Some(9), rwm),
        c(Some(5), Some(1), rwm),
        c(Some(136), None, rwm),
        c(Some(5), Some(2), rwm),
        c(Some(10), Some(200), rwm),
    ]
}

/// The config's rules, checked, followed by the defaults.
pub fn plan(rules: &[LinuxDeviceCgroup]) -> Result<Vec<DeviceRule>> {
    let mut out = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let field = format!("linux.resources.devices[{i}]");
        let kind = match r.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => Kind::All,
            LinuxDeviceType::C | LinuxDeviceType::U => Kind::Char,
            LinuxDeviceType::B => Kind::Block,
            LinuxDeviceType::P => bail!("{field}.type: \"p\" (fifo) has no device cgroup rule"),
        };
        let num = |v: Option<i64>, what: &str| -> Result<Option<u32>> {
            match v {
                None | Some(-1) => Ok(None),
                Some(n) if (0..=i32::MAX as i64).contains(&n) => Ok(Some(n as u32)),
                Some(n) => bail!("{field}.{what}: {n} is not a device number"),
            }
        };
        let access = match r.access().as_deref() {
            None | Some("") => READ | WRITE | MKNOD,
            Some(a) => match parse_access(a) {
                Some(bits) => bits,
                None => bail!("{field}.access: {a:?} is not made of r, w and m"),
            },
        };
        out.push(DeviceRule {
            allow: r.allow(),
            kind,
            major: num(r.major(), "major")?,
            minor: num(r.minor(), "minor")?,
            access,
        });
    }
    out.extend(defaults());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rules_name_the_field() {
        let bad: LinuxDeviceCgroup =
            serde_json::from_str(r#"{"allow":true,"type":"c","major":1,"minor":3,"access":"rx"}"#)
                .unwrap();
        let err = plan(&[bad]).unwrap_err().to_string();
        assert!(err.contains("linux.resources.devices[0].access"), "{err}");
        let bad: LinuxDeviceCgroup =
            serde_json::from_str(r#"{"allow":true,"type":"c","major":-5}"#).unwrap();
        let err = plan(&[bad]).unwrap_err().to_string();
        assert!(err.contains("devices[0].major: -5"), "{err}");
    }
}
