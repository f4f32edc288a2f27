//! `events`: the container's resource usage as runc's JSON events, once
//! (`--stats`) or every interval, with `oom` events when the kernel counts
//! an OOM kill.

use std::io::Write;
use std::time::Duration;

use anyhow::{bail, Result};

use super::record::{Container, Status};

pub struct EventsOptions {
    pub stats_once: bool,
    pub interval: Duration,
}

pub fn events(container: &Container, opts: &EventsOptions) -> Result<()> {
    let id = container.id();
    if container.status() == Status::Stopped {
        bail!("cannot get events of container {id:?}: container not running (it has stopped)");
    }
    let cgroup = container.require_cgroup()?;
    let mut out = std::io::stdout().lock();
    let stats_event = |out: &mut std::io::StdoutLock| -> Result<()> {
        let event = serde_json::json!({"type": "stats", "id": id, "data": cgroup.stats()?});
        writeln!(out, "{event}")?;
        out.flush()?;
        Ok(())
    };
    if opts.stats_once {
        return stats_event(&mut out);
    }
    let mut ooms = cgroup.oom_kills().unwrap_or(0);
    loop {
        if !container.init_alive() {
            return Ok(());
        }
        let now = cgroup.oom_kills().unwrap_or(ooms);
        if now > ooms {
            writeln!(out, "{}", serde_json::json!({"type": "oom", "id": id}))?;
        }
        ooms = now;
        stats_event(&mut out)?;
        std::thread::sleep(opts.interval);
    }
}
