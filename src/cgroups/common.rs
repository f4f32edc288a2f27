//! What every backend shares: the converted limits (`Limits`, `Write`) that
//! a plan holds, and the value helpers both v1 and v2 use.

use std::path::Path;

use anyhow::{anyhow, bail, Result};

use crate::cgroups::fs;

/// One value to write into one interface file of the container's cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// The controller whose hierarchy (v1) or interface (v2) holds the file.
    pub controller: String,
    pub file: String,
    pub value: String,
    /// The config field it comes from, for error messages.
    pub field: String,
    /// A missing file is not an error (runc ignores these too).
    pub optional: bool,
    /// BFQ's weight file and value for the same setting: each backend
    /// decides when the kernel's BFQ file is the one to write.
    pub bfq: Option<(String, String)>,
}

impl Write {
    pub fn new(
        controller: &str,
        file: impl Into<String>,
        value: impl ToString,
        field: impl Into<String>,
    ) -> Write {
        Write {
            controller: controller.to_string(),
            file: file.into(),
            value: value.to_string(),
            field: field.into(),
            optional: false,
            bfq: None,
        }
    }
}

/// `linux.resources` converted for one backend, once, when the plan is
/// made (or when `update` reads its input): what `check` and `apply` use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// Every file write, in the order they are written.
    pub writes: Vec<Write>,
    /// linux.resources.cpu.cpus: checked against the parent's effective cpus.
    pub cpus: Option<String>,
    /// linux.resources.cpu.mems: checked against the parent's effective mems.
    pub mems: Option<String>,
    /// linux.resources.memory.limit when memory.checkBeforeUpdate is set:
    /// `update` refuses a limit below the current usage.
    pub check_before_update: Option<i64>,
    /// Why this backend cannot express the resources (the field named):
    /// `check` reports it with what else the host cannot do, so a plan
    /// does not depend on the host it is made on.
    pub refused: Option<String>,
}

impl Limits {
    /// `check`'s first step: the conversion's refusal, if any.
    pub fn check_refused(&self) -> Result<()> {
        match &self.refused {
            Some(why) => Err(anyhow!("{why}")),
            None => Ok(()),
        }
    }
}

/// A cpuset list such as "0-3,7"; returns the numbers it names.
pub fn parse_cpuset(list: &str) -> std::result::Result<Vec<u32>, String> {
    let mut out = Vec::new();
    if list.trim().is_empty() {
        return Ok(out);
    }
    for part in list.trim().split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let lo: u32 = lo
            .trim()
            .parse()
            .map_err(|_| format!("{part:?} is not a number or a range"))?;
        let hi: u32 = hi
            .trim()
            .parse()
            .map_err(|_| format!("{part:?} is not a number or a range"))?;
        if hi < lo || hi - lo > 65_536 {
            return Err(format!("{part:?} is not a valid range"));
        }
        out.extend(lo..=hi);
    }
    Ok(out)
}

/// Every cpu/mem of `list` must be in `have` (the parent's effective set).
pub fn check_subset(field: &str, list: &str, have: &str, parent: &Path) -> Result<()> {
    let want = parse_cpuset(list).map_err(|why| anyhow!("{field}: {list:?}: {why}"))?;
    let have_set = parse_cpuset(have).unwrap_or_default();
    if let Some(missing) = want.iter().find(|c| !have_set.contains(c)) {
        bail!("{field}: {list:?}: {missing} is not available (cgroup {parent:?} has {have:?})");
    }
    Ok(())
}

/// linux.resources.cpu.cpus and .mems against the parent's effective sets,
/// read from `files` (v1 "cpuset.effective_cpus", v2 "cpuset.cpus.effective").
pub fn check_cpuset(limits: &Limits, parent: &Path, files: [&str; 2]) -> Result<()> {
    for (field, list, file) in [
        ("linux.resources.cpu.cpus", &limits.cpus, files[0]),
        ("linux.resources.cpu.mems", &limits.mems, files[1]),
    ] {
        let Some(list) = list.as_deref().filter(|l| !l.is_empty()) else {
            continue;
        };
        let have = fs::read(parent, file)?;
        check_subset(field, list, have.trim(), parent)?;
    }
    Ok(())
}

/// A unified key names one interface file: "CONTROLLER.PARAMETER", no path.
pub fn check_unified_key(key: &str) -> std::result::Result<&str, String> {
    if key.contains('/') || key == "." || key == ".." || key.contains('\0') {
        return Err("must be a file name, without \"/\" or \"..\"".into());
    }
    match key.split_once('.') {
        Some((ctrl, param)) if !ctrl.is_empty() && !param.is_empty() => Ok(ctrl),
        _ => Err("must be CONTROLLER.PARAMETER (like \"memory.high\")".into()),
    }
}

/// checkBeforeUpdate: a new memory limit below what is in use now fails.
pub fn check_before_update(limits: &Limits, mem: Option<&Path>, usage_file: &str) -> Result<()> {
    let (Some(limit), Some(dir)) = (limits.check_before_update, mem) else {
        return Ok(());
    };
    if limit > 0 {
        let usage = fs::read_u64(dir, usage_file)?;
        if (limit as u64) < usage {
            bail!("linux.resources.memory.limit: {limit} is below the current usage of {usage} bytes (checkBeforeUpdate)");
        }
    }
    Ok(())
}

/// The cpuset lists and the checkBeforeUpdate limit, the same on every
/// backend.
pub fn limits_with(writes: Vec<Write>, r: &oci_spec::runtime::LinuxResources) -> Limits {
    let cpu = r.cpu().as_ref();
    let memory = r.memory().as_ref();
    Limits {
        writes,
        cpus: cpu.and_then(|c| c.cpus().clone()),
        mems: cpu.and_then(|c| c.mems().clone()),
        // linux.resources.memory.checkBeforeUpdate
        check_before_update: memory
            .filter(|m| m.check_before_update() == Some(true))
            .and_then(|m| m.limit()),
        refused: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuset_lists() {
        assert_eq!(parse_cpuset("0-2,5"), Ok(vec![0, 1, 2, 5]));
        assert_eq!(parse_cpuset(""), Ok(vec![]));
        assert!(parse_cpuset("2-1").is_err());
        assert!(parse_cpuset("a").is_err());
    }
}

/// What the backends' conversion tests share: resources from JSON and
/// writes as comparable triples.
#[cfg(test)]
pub mod testing {
    use oci_spec::runtime::LinuxResources;

    use super::Write;

    pub fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    pub fn pairs(writes: &[Write]) -> Vec<(String, String, String)> {
        writes
            .iter()
            .map(|w| (w.controller.clone(), w.file.clone(), w.value.clone()))
            .collect()
    }

    pub fn p(c: &str, f: &str, v: &str) -> (String, String, String) {
        (c.into(), f.into(), v.into())
    }
}
