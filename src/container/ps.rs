//! `ps`: the container's processes, from its cgroup.

use anyhow::{bail, Context, Result};

use super::record::{Container, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PsFormat {
    Table,
    Json,
}

/// Host pids (json) or `ps ARGS` output limited to them (table), as a string.
pub fn ps(container: &Container, format: PsFormat, ps_args: &[String]) -> Result<String> {
    let id = container.id();
    if container.status() == Status::Stopped {
        bail!("cannot list processes of container {id:?}: container not running (it has stopped)");
    }
    let mut pids = container.require_cgroup()?.pids()?;
    pids.sort_unstable();
    pids.dedup();
    if format == PsFormat::Json {
        return Ok(serde_json::to_string(&pids)?);
    }
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        ps_args.to_vec()
    };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .context("run ps")?;
    if !out.status.success() {
        bail!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    filter_table(&String::from_utf8_lossy(&out.stdout), &pids)
}

/// Keep the header and the lines whose PID column is one of `pids`.
pub fn filter_table(text: &str, pids: &[i32]) -> Result<String> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let Some(col) = header.split_whitespace().position(|h| h == "PID") else {
        bail!("ps output has no PID column (header {header:?})");
    };
    let mut out = format!("{header}\n");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_keeps_header_and_container_pids() {
        let text = "UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 10:00 ? 00:00:01 init\nroot 42 1 0 10:00 ? 00:00:00 sh\n";
        let out = super::filter_table(text, &[42]).unwrap();
        assert_eq!(
            out,
            "UID PID PPID C STIME TTY TIME CMD\nroot 42 1 0 10:00 ? 00:00:00 sh\n"
        );
    }
}
