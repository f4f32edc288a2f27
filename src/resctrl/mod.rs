//! `linux.intelRdt`: cache and memory-bandwidth allocation (Intel RDT,
//! AMD PQoS) through the resctrl filesystem, as runtime-spec 1.3 has it.
//!
//! - A class of service (CLOS) is a directory below the resctrl mount.
//!   With `closID` the container joins that group; without it, and with
//!   a schema to apply, it gets a group named after the container.
//! - Schema lines (`l3CacheSchema`, `memBwSchema`, then each of
//!   `schemata`) are written to the group's `schemata` file one by one, so
//!   a later line wins for a resource and domain an earlier one named.
//!   A `closID` group that already exists is not written: its schemata
//!   must already hold the lines asked for (it is shared, and may be
//!   managed by someone else).
//! - `enableMonitoring` (or the older `enableCMT`/`enableMBM`) makes a
//!   monitoring group `mon_groups/<id>` in the container's CLOS (or the
//!   root group's), for the container's own counters.
//! - The init's pid goes into the innermost group's `tasks` before the
//!   process runs; `exec`'d processes join the same group.
//! - `delete` removes the monitoring group and a group named after the
//!   container; a `closID` group is never removed (other containers may
//!   share it; runc does the same).
//!
//! The resctrl tree is reached through [`Resctrl`], so the writes are
//! tested against a fake tree (no host here has resctrl).

#[cfg(test)]
mod tests;

use std::io;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use oci_spec::runtime::LinuxIntelRdt;
use serde::{Deserialize, Serialize};

/// What the host's resctrl offers, read once when config.json asks for
/// `linux.intelRdt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostResctrl {
    /// Where resctrl is mounted.
    pub root: PathBuf,
    /// The resources schemata lines may name (`info/` entries: L3, MB, …).
    pub resources: Vec<String>,
    /// Whether monitoring groups can be made (`info/L3_MON`).
    pub monitoring: bool,
}

impl HostResctrl {
    /// The resctrl mount of this mount namespace, if there is one.
    pub fn find() -> io::Result<Option<HostResctrl>> {
        let text = std::fs::read("/proc/self/mountinfo")?;
        let root = mount_point(&text);
        root.map(|root| HostResctrl::read(&root)).transpose()
    }

    /// What the resctrl mounted at `root` offers.
    pub fn read(root: &Path) -> io::Result<HostResctrl> {
        let mut resources = Vec::new();
        let mut monitoring = false;
        for entry in std::fs::read_dir(root.join("info"))? {
            let entry = entry?;
            if !entry.file_type()?.is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            match name.strip_suffix("_MON") {
                Some(_) => monitoring = true,
                None => resources.push(name),
            }
        }
        resources.sort();
        Ok(HostResctrl {
            root: root.to_path_buf(),
            resources,
            monitoring,
        })
    }
}

/// The mount point of the first resctrl filesystem in a mountinfo text.
fn mount_point(mountinfo: &[u8]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    mountinfo.split(|b| *b == b'\n').find_map(|line| {
        let fields: Vec<&[u8]> = line.split(|b| *b == b' ').collect();
        let dash = fields.iter().position(|f| *f == b"-")?;
        if fields.get(dash + 1) != Some(&&b"resctrl"[..]) {
            return None;
        }
        let point = crate::syscall::unescape_mountinfo(fields.get(4)?);
        Some(PathBuf::from(std::ffi::OsString::from_vec(point)))
    })
}

/// `linux.intelRdt` checked against the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdtPlan {
    pub root: PathBuf,
    /// `closID`: a group that may be shared.
    pub clos_id: Option<String>,
    /// Schema lines, in the order they are written.
    pub lines: Vec<String>,
    pub monitoring: bool,
}

/// Where a container is in resctrl: written to the state (and to the
/// cleanup record before anything is made).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RdtState {
    /// The CLOS group (absent: the root group), whose schemata `update`
    /// writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<PathBuf>,
    /// The group whose `tasks` the container's processes are written to.
    pub tasks: PathBuf,
    /// The groups `delete` removes, innermost first.
    #[serde(default)]
    pub remove: Vec<PathBuf>,
}

/// Names resctrl keeps for itself in its root.
const RESERVED: [&str; 4] = ["info", "mon_groups", "mon_data", "mon_hw_id"];

/// Check `linux.intelRdt` against the host's resctrl (`host`: None when
/// it was not asked, else the answer of [`HostResctrl::find`]).
pub fn plan(
    rdt: &LinuxIntelRdt,
    host: Option<&io::Result<Option<HostResctrl>>>,
) -> Result<RdtPlan> {
    let host = match host {
        Some(Ok(Some(host))) => host,
        Some(Err(err)) => bail!("linux.intelRdt: cannot find the resctrl mount: read /proc/self/mountinfo: {err}"),
        Some(Ok(None)) | None => bail!(
            "linux.intelRdt: resctrl is not mounted on this host, so cache and memory bandwidth cannot be allocated (it needs a CPU with Intel RDT or AMD PQoS and `mount -t resctrl resctrl /sys/fs/resctrl`)"
        ),
    };
    if let Some(clos) = rdt.clos_id() {
        check_clos_id(clos).with_context(|| format!("linux.intelRdt.closID {clos:?}"))?;
    }
    let mut lines = Vec::new();
    let named = [
        ("l3CacheSchema", rdt.l3_cache_schema()),
        ("memBwSchema", rdt.mem_bw_schema()),
    ];
    let listed = rdt.schemata().iter().flatten().enumerate();
    let fields = named
        .into_iter()
        .filter_map(|(field, line)| Some((field.to_string(), line.as_ref()?)))
        .chain(listed.map(|(i, line)| (format!("schemata[{i}]"), line)));
    for (field, line) in fields {
        let line = line.trim();
        check_line(line, host).with_context(|| format!("linux.intelRdt.{field} {line:?}"))?;
        lines.push(line.to_string());
    }
    #[allow(deprecated)]
    let monitoring = [rdt.enable_monitoring(), rdt.enable_cmt(), rdt.enable_mbm()]
        .iter()
        .any(|flag| flag.unwrap_or(false));
    if monitoring && !host.monitoring {
        bail!("linux.intelRdt.enableMonitoring: this host's resctrl has no monitoring (no info/L3_MON below {:?})", host.root);
    }
    Ok(RdtPlan {
        root: host.root.clone(),
        clos_id: rdt.clos_id().clone(),
        lines,
        monitoring,
    })
}

fn check_clos_id(clos: &str) -> Result<()> {
    if clos.is_empty() || clos == "." || clos == ".." || clos.len() > 255 {
        bail!("not a valid resctrl group name");
    }
    if let Some(c) = clos.chars().find(|c| *c == '/' || c.is_control()) {
        bail!("{c:?} is not allowed in a resctrl group name");
    }
    if RESERVED.contains(&clos) {
        bail!("the name is resctrl's own");
    }
    Ok(())
}

/// One schemata line: `RESOURCE:domain=value;…`, for a resource the host has.
fn check_line(line: &str, host: &HostResctrl) -> Result<()> {
    if line.contains(['\n', '\0']) {
        bail!("a schema line cannot hold a newline or NUL byte");
    }
    let Some((resource, domains)) = line.split_once(':') else {
        bail!("not a schema line (RESOURCE:ID=VALUE;…)");
    };
    let resource = resource.trim();
    if !host.resources.iter().any(|r| r == resource) {
        bail!(
            "this host's resctrl has no {resource:?} resource (it has: {})",
            host.resources.join(", ")
        );
    }
    if domains.split(';').any(|d| !d.contains('=')) {
        bail!("each domain must be given as ID=VALUE");
    }
    Ok(())
}

impl RdtPlan {
    /// The CLOS group the container `id` is in (None: the root group).
    fn group(&self, id: &str) -> Option<PathBuf> {
        match &self.clos_id {
            Some(clos) => Some(self.root.join(clos)),
            None if !self.lines.is_empty() => Some(self.root.join(id)),
            None => None,
        }
    }

    /// Where the container `id` will be, before anything is made.
    pub fn state(&self, id: &str) -> RdtState {
        let group = self.group(id);
        let clos = group.clone().unwrap_or_else(|| self.root.clone());
        let monitor = self.monitoring.then(|| clos.join("mon_groups").join(id));
        let own = group.clone().filter(|_| self.clos_id.is_none());
        RdtState {
            group,
            tasks: monitor.clone().unwrap_or(clos),
            remove: monitor.into_iter().chain(own).collect(),
        }
    }
}

/// The resctrl tree: the kernel's, or a fake one in tests.
pub trait Resctrl {
    fn mkdir(&self, path: &Path) -> io::Result<()>;
    fn rmdir(&self, path: &Path) -> io::Result<()>;
    fn read(&self, path: &Path) -> io::Result<String>;
    /// One write(2) of `data` to an existing file.
    fn write(&self, path: &Path, data: &str) -> io::Result<()>;
}

/// The mounted resctrl.
pub struct Kernel;

impl Resctrl for Kernel {
    fn mkdir(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir(path)
    }

    fn rmdir(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_dir(path)
    }

    fn read(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn write(&self, path: &Path, data: &str) -> io::Result<()> {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
        let written = file.write(data.as_bytes())?;
        if written != data.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short write"));
        }
        Ok(())
    }
}

/// Make the container `id`'s groups, write its schema, and put `pid` (the
/// init, not running the process yet) in its group. On an error, what was
/// made stays for [`remove`] (the state names it).
pub fn apply(fs: &dyn Resctrl, plan: &RdtPlan, id: &str, pid: i32) -> Result<()> {
    let state = plan.state(id);
    if let Some(group) = &state.group {
        let shared = plan.clos_id.is_some();
        if shared && plan.lines.is_empty() {
            // Joined as it is: it must be there.
            if let Err(err) = fs.read(&group.join("schemata")) {
                bail!("linux.intelRdt.closID: resctrl group {group:?}: {err} (without a schema to apply, the group must exist)");
            }
        } else {
            if !shared && RESERVED.contains(&id) {
                bail!("linux.intelRdt: the container id {id:?} is one of resctrl's own names: give a closID");
            }
            let made = match fs.mkdir(group) {
                Ok(()) => true,
                // A shared group may be there; one named after this
                // container is another's (or left over): never taken over.
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists && shared => false,
                Err(err) => bail!("linux.intelRdt: make resctrl group {group:?}: {err}"),
            };
            if shared && !made {
                check_schemata(fs, group, &plan.lines)?;
            } else {
                write_schemata(fs, group, &plan.lines)?;
            }
        }
    }
    if plan.monitoring {
        fs.mkdir(&state.tasks).map_err(|err| {
            anyhow::anyhow!(
                "linux.intelRdt.enableMonitoring: make resctrl monitoring group {:?}: {err}",
                state.tasks
            )
        })?;
    }
    join(fs, &state, pid)
}

/// Write each line to the group's schemata, with resctrl's own word on a
/// line it refuses (info/last_cmd_status in the mount's root, the group's
/// parent).
fn write_schemata(fs: &dyn Resctrl, group: &Path, lines: &[String]) -> Result<()> {
    let file = group.join("schemata");
    let root = group.parent().unwrap_or(group);
    for line in lines {
        if let Err(err) = fs.write(&file, &format!("{line}\n")) {
            let status = fs
                .read(&root.join("info/last_cmd_status"))
                .map(|s| format!(" (resctrl: {})", s.trim()))
                .unwrap_or_default();
            bail!("linux.intelRdt: write {line:?} to {file:?}: {err}{status}");
        }
    }
    Ok(())
}

/// A shared group that exists already is not changed: it must hold every
/// `domain=value` the lines ask for.
fn check_schemata(fs: &dyn Resctrl, group: &Path, lines: &[String]) -> Result<()> {
    let file = group.join("schemata");
    let text = fs
        .read(&file)
        .with_context(|| format!("linux.intelRdt.closID: read {file:?}"))?;
    let have: Vec<Schema> = text.lines().filter_map(Schema::parse).collect();
    for line in lines {
        let want = Schema::parse(line).unwrap_or_default();
        let held = have.iter().find(|h| h.resource == want.resource);
        let missing = want
            .domains
            .iter()
            .find(|d| !held.is_some_and(|h| h.domains.contains(d)));
        if let Some((domain, _)) = missing {
            bail!(
                "linux.intelRdt: resctrl group {group:?} exists with other settings: {line:?} asks for domain {domain} what its schemata does not hold ({:?}); a closID group that exists is joined, not changed",
                text.trim()
            );
        }
    }
    Ok(())
}

/// A schemata line with its values made comparable: the kernel pads names
/// and bitmasks (`    L3:0=0007ff`), config.json need not.
#[derive(Debug, Default, PartialEq, Eq)]
struct Schema {
    resource: String,
    domains: Vec<(String, String)>,
}

impl Schema {
    fn parse(line: &str) -> Option<Schema> {
        let (resource, rest) = line.split_once(':')?;
        let domains = rest
            .split(';')
            .filter_map(|d| {
                let (id, value) = d.split_once('=')?;
                let value = value.trim();
                let value = match u64::from_str_radix(value, 16) {
                    Ok(n) => format!("{n:x}"),
                    Err(_) => value.to_string(),
                };
                Some((id.trim().to_string(), value))
            })
            .collect();
        Some(Schema {
            resource: resource.trim().to_string(),
            domains,
        })
    }
}

/// `update --l3-cache-schema/--mem-bw-schema`: `lines` (flag, line)
/// written to the container's group, each checked against the host first.
pub fn update(fs: &dyn Resctrl, state: &RdtState, lines: &[(&str, String)]) -> Result<()> {
    let Some(group) = state.group.as_ref().filter(|g| state.remove.contains(g)) else {
        bail!("the container has no resctrl group of its own to update (a closID group is shared: change it in resctrl itself)");
    };
    let root = group.parent().unwrap_or(group);
    let host = HostResctrl::read(root).with_context(|| format!("read resctrl at {root:?}"))?;
    let mut checked = Vec::new();
    for (flag, line) in lines {
        let line = line.trim();
        check_line(line, &host).with_context(|| format!("{flag} {line:?}"))?;
        checked.push(line.to_string());
    }
    write_schemata(fs, group, &checked)
}

/// Put `pid` in the container's group (the init at create, a process at
/// `exec`).
pub fn join(fs: &dyn Resctrl, state: &RdtState, pid: i32) -> Result<()> {
    let tasks = state.tasks.join("tasks");
    fs.write(&tasks, &format!("{pid}\n"))
        .with_context(|| format!("linux.intelRdt: write pid {pid} to {tasks:?}"))
}

/// Remove the groups the container made (its processes are gone). A group
/// already gone is fine; one that still has tasks is left alone: resctrl
/// would move them to the parent group, and they are not this container's
/// (a create that failed on a group of the same name that was there).
pub fn remove(fs: &dyn Resctrl, state: &RdtState) -> Result<()> {
    for dir in &state.remove {
        match fs.read(&dir.join("tasks")) {
            Ok(tasks) if !tasks.trim().is_empty() => continue,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            _ => {}
        }
        match fs.rmdir(dir) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => bail!("remove resctrl group {dir:?}: {err}"),
        }
    }
    Ok(())
}
