//! The device rules as the v1 devices controller takes them.

use crate::cgroups::devices::{DeviceRule, Kind, MKNOD, READ, WRITE};

/// The rule as devices.allow/devices.deny take it: "c 1:3 rwm".
pub fn line(rule: &DeviceRule) -> String {
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

/// linux.resources.devices (with the defaults after them) → devices.deny and
/// devices.allow: deny everything first, then each rule in order.
pub fn writes(rules: &[DeviceRule]) -> Vec<(&'static str, String)> {
    let mut out = vec![("devices.deny", "a".to_string())];
    for r in rules {
        let file = if r.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        out.push((file, line(r)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::devices::{defaults, plan};

    #[test]
    fn lines_and_order() {
        let rules =
            plan(&[serde_json::from_str(r#"{"allow":false,"access":"rwm"}"#).unwrap()]).unwrap();
        let writes = writes(&rules);
        assert_eq!(writes[0], ("devices.deny", "a".to_string()));
        assert_eq!(writes[1], ("devices.deny", "a *:* rwm".to_string()));
        assert_eq!(writes[2], ("devices.allow", "c *:* m".to_string()));
        assert_eq!(writes[3], ("devices.allow", "b *:* m".to_string()));
        assert!(writes.contains(&("devices.allow", "c 136:* rwm".to_string())));
        assert!(writes.contains(&("devices.allow", "c 1:3 rwm".to_string())));
        assert_eq!(writes.len(), 2 + defaults().len());
    }
}
