//! The systemd cgroup driver (`--systemd-cgroup`): a container's cgroup is
//! a transient unit that systemd makes and owns, with `Delegate=yes` so
//! hull writes the files systemd has no property for. `unit` reads
//! `slice:prefix:name`; `properties` turns linux.resources into unit
//! properties; `dbus` sends them to systemd; `manager` is the backend.

pub mod annotations;
pub mod dbus;
pub mod manager;
pub mod properties;
pub mod unit;
