//! Reading and writing cgroup interface files, with errors that name the
//! file, the value and the errno; listing pids and enabling controllers.

use std::io::Write;
use std::path::Path;

use anyhow::{anyhow, Context, Result};

/// Write `value` to `dir/file` in one write(2), as the kernel wants it.
pub fn write(dir: &Path, file: &str, value: &str) -> Result<()> {
    let path = dir.join(file);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| anyhow!("open {path:?}: {}", crate::error::describe_io(&e)))?;
    f.write_all(value.as_bytes()).map_err(|e| {
        anyhow!(
            "write {value:?} to {path:?}: {}",
            crate::error::describe_io(&e)
        )
    })
}

pub fn read(dir: &Path, file: &str) -> Result<String> {
    let path = dir.join(file);
    std::fs::read_to_string(&path)
        .map_err(|e| anyhow!("read {path:?}: {}", crate::error::describe_io(&e)))
}

/// A file holding one number ("max" reads as u64::MAX).
pub fn read_u64(dir: &Path, file: &str) -> Result<u64> {
    let text = read(dir, file)?;
    parse_u64(text.trim()).ok_or_else(|| anyhow!("{:?}: not a number: {text:?}", dir.join(file)))
}

pub fn parse_u64(s: &str) -> Option<u64> {
    if s == "max" {
        Some(u64::MAX)
    } else {
        s.parse().ok()
    }
}

/// "key value" lines (memory.stat, cpu.stat, memory.events …).
pub fn parse_flat_keyed(text: &str) -> Vec<(String, u64)> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), parse_u64(v.trim())?))
        })
        .collect()
}

pub fn keyed(text: &str, key: &str) -> Option<u64> {
    parse_flat_keyed(text)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// Pids in a cgroup.procs file.
pub fn read_procs(dir: &Path) -> Result<Vec<i32>> {
    Ok(read(dir, "cgroup.procs")?
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect())
}

/// Pids in `dir` and every cgroup below it.
pub fn all_pids(dir: &Path) -> Result<Vec<i32>> {
    let mut pids = read_procs(dir)?;
    for entry in std::fs::read_dir(dir).with_context(|| format!("read {dir:?}"))? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            pids.extend(all_pids(&entry.path())?);
        }
    }
    Ok(pids)
}

/// Page sizes with a hugetlb.SIZE<suffix> file in `dir`.
pub fn hugetlb_sizes(dir: &Path, suffix: &str) -> Vec<String> {
    let mut sizes: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let size = name.strip_prefix("hugetlb.")?.strip_suffix(suffix)?;
            (!size.contains('.')).then(|| size.to_string())
        })
        .collect();
    sizes.sort();
    sizes
}

/// cgroup2: enable `needed` in cgroup.subtree_control on every level from
/// `root` down to `dir`'s parent, from the top (a controller must be on in
/// the parent first). Levels that have them already are not written.
pub fn enable_controllers(dir: &Path, root: &Path, needed: &[&str]) -> Result<()> {
    if needed.is_empty() {
        return Ok(());
    }
    let mut levels: Vec<&Path> = dir.ancestors().skip(1).collect();
    levels.retain(|p| p.starts_with(root));
    for level in levels.iter().rev() {
        let on = read(level, "cgroup.subtree_control")?;
        let missing: Vec<String> = needed
            .iter()
            .filter(|c| !on.split_whitespace().any(|o| o == **c))
            .map(|c| format!("+{c}"))
            .collect();
        if !missing.is_empty() {
            write(level, "cgroup.subtree_control", &missing.join(" "))
                .context("enable controllers for the container's cgroup")?;
        }
    }
    Ok(())
}

/// rmdir, retried while the last processes are still leaving (EBUSY);
/// a directory already gone is fine.
pub fn remove_dir(dir: &Path) -> Result<()> {
    let mut delay = std::time::Duration::from_millis(1);
    for _ in 0..200 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(std::time::Duration::from_millis(20));
            }
            Err(e) => bail_io(dir, e)?,
        }
    }
    Err(anyhow!(
        "remove cgroup {dir:?}: still busy (processes left in it)"
    ))
}

fn bail_io(dir: &Path, e: std::io::Error) -> Result<()> {
    Err(anyhow!(
        "remove cgroup {dir:?}: {}",
        crate::error::describe_io(&e)
    ))
}
