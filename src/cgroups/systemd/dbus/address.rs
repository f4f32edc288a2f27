//! Where the bus is: the system bus (or systemd's private socket when no
//! dbus-daemon runs), or the calling user's bus, as unix:path= addresses;
//! and the uid the bus sees us as, which inside a user namespace is not
//! getuid().

use std::path::PathBuf;

/// systemd's own socket: the manager answers on it without a bus (no
/// Hello, no AddMatch), root only.
pub const SYSTEMD_PRIVATE: &str = "/run/systemd/private";
const SYSTEM_BUS: &str = "/run/dbus/system_bus_socket";

/// A socket to try, and whether it is a peer-to-peer connection to
/// systemd itself rather than a bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub path: PathBuf,
    pub direct: bool,
}

/// The system bus's sockets in the order to try: $DBUS_SYSTEM_BUS_ADDRESS
/// (its unix:path= entries) or the standard socket, then systemd's private
/// socket.
pub fn system_bus() -> Vec<Address> {
    let env = std::env::var("DBUS_SYSTEM_BUS_ADDRESS").ok();
    let mut out: Vec<Address> = match env.as_deref().map(unix_paths) {
        Some(paths) if !paths.is_empty() => paths,
        _ => vec![PathBuf::from(SYSTEM_BUS)],
    }
    .into_iter()
    .map(|path| Address {
        path,
        direct: false,
    })
    .collect();
    out.push(Address {
        path: SYSTEMD_PRIVATE.into(),
        direct: true,
    });
    out
}

/// The user's bus: $DBUS_SESSION_BUS_ADDRESS's unix:path= entries, or
/// /run/user/UID/bus for the uid the host knows us as.
pub fn user_bus() -> Vec<Address> {
    let env = std::env::var("DBUS_SESSION_BUS_ADDRESS").ok();
    let paths = match env.as_deref().map(unix_paths) {
        Some(paths) if !paths.is_empty() => paths,
        _ => vec![PathBuf::from(format!("/run/user/{}/bus", outside_uid()))],
    };
    paths
        .into_iter()
        .map(|path| Address {
            path,
            direct: false,
        })
        .collect()
}

/// The unix:path= sockets of a D-Bus address list ("unix:path=/x,guid=…;
/// tcp:…"); other transports and abstract sockets are not supported.
pub fn unix_paths(addresses: &str) -> Vec<PathBuf> {
    addresses
        .split(';')
        .filter_map(|a| a.strip_prefix("unix:"))
        .filter_map(|params| {
            params
                .split(',')
                .find_map(|kv| kv.strip_prefix("path="))
                .and_then(unescape)
                .map(PathBuf::from)
        })
        .collect()
}

/// A D-Bus address value with its %XX escapes decoded (None if malformed).
fn unescape(value: &str) -> Option<String> {
    let mut out = Vec::new();
    let mut bytes = value.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

/// The uid the host (and so the bus) knows us as: getuid() mapped through
/// /proc/self/uid_map to the outside; getuid() when there is no map.
pub fn outside_uid() -> u32 {
    let uid = nix::unistd::getuid().as_raw();
    std::fs::read_to_string("/proc/self/uid_map")
        .ok()
        .and_then(|map| map_uid(&map, uid))
        .unwrap_or(uid)
}

/// `uid` through a uid_map text ("inside outside count" lines).
pub fn map_uid(map: &str, uid: u32) -> Option<u32> {
    map.lines().find_map(|line| {
        let f: Vec<u64> = line
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        let [inside, outside, count] = f[..] else {
            return None;
        };
        let uid = u64::from(uid);
        (uid >= inside && uid - inside < count)
            .then(|| u32::try_from(outside + (uid - inside)).ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_paths_from_address_lists() {
        assert_eq!(
            unix_paths("unix:path=/run/user/1000/bus"),
            vec![PathBuf::from("/run/user/1000/bus")]
        );
        assert_eq!(
            unix_paths("tcp:host=x;unix:guid=ab,path=/tmp/a%20b;unix:abstract=/x"),
            vec![PathBuf::from("/tmp/a b")]
        );
        assert!(unix_paths("unix:path=/x%2").is_empty());
        assert!(unix_paths("").is_empty());
    }

    #[test]
    fn uid_through_the_map() {
        let map = "         0       1000          1\n         1     100000      65536\n";
        assert_eq!(map_uid(map, 0), Some(1000));
        assert_eq!(map_uid(map, 5), Some(100_004));
        assert_eq!(map_uid(map, 65537), None);
        assert_eq!(map_uid("0 0 4294967295", 7), Some(7));
        assert_eq!(map_uid("garbage", 0), None);
    }
}
