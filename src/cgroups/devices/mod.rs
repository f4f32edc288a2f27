//! Device access rules of a container's cgroup: `linux.resources.devices`
//! plus runc's default allowed devices, as v1 lines or a v2 eBPF program.

pub mod bpf;

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

/// The rule as devices.allow/devices.deny take it: "c 1:3 rwm".
pub fn v1_line(rule: &DeviceRule) -> String {
    let kind = match rule.kind {
        Kind::All => 'a',
        Kind::Char => 'c',
        Kind::Block => 'b',
    };
    let n = |v: Option<u32>| v.map_or("*".to_string(), |v| v.to_string());
    let mut access = String::new();
    for (bit, c) in [(READ, 'r'), (WRITE, 'w'), (MKNOD, 'm')] {
        if rule.access & bit != 0 {
            access.push(c);
        }
    }
    format!("{kind} {}:{} {access}", n(rule.major), n(rule.minor))
}

/// v1 writes: deny everything first, then each rule in order.
pub fn v1_writes(rules: &[DeviceRule]) -> Vec<(&'static str, String)> {
    let mut out = vec![("devices.deny", "a".to_string())];
    for r in rules {
        let file = if r.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        out.push((file, v1_line(r)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_order() {
        let rules =
            plan(&[serde_json::from_str(r#"{"allow":false,"access":"rwm"}"#).unwrap()]).unwrap();
        let writes = v1_writes(&rules);
        assert_eq!(writes[0], ("devices.deny", "a".to_string()));
        assert_eq!(writes[1], ("devices.deny", "a *:* rwm".to_string()));
        assert_eq!(writes[2], ("devices.allow", "c *:* m".to_string()));
        assert_eq!(writes[3], ("devices.allow", "b *:* m".to_string()));
        assert!(writes.contains(&("devices.allow", "c 136:* rwm".to_string())));
        assert!(writes.contains(&("devices.allow", "c 1:3 rwm".to_string())));
        assert_eq!(writes.len(), 2 + defaults().len());
    }

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
