//! CRIU: finding it, asking its version, and saying in one line why it
//! cannot work here (not installed, or `criu check` refuses this kernel).
//! `checkpoint` and `restore` (src/container/) drive it over its RPC.

pub mod rpc;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The oldest CRIU hull drives: 3.11, the first with external network
/// namespaces (runc's floor for them); Debian 12 ships 3.17.
pub const MIN_VERSION: i32 = 31100;

/// A CRIU that answered its version.
pub struct Criu {
    pub path: PathBuf,
    pub version: i32,
}

impl Criu {
    /// `--criu PATH`, else `criu` in $PATH; asked for its version over RPC.
    pub fn find(explicit: Option<&Path>) -> Result<Criu> {
        let path = locate(explicit, std::env::var_os("PATH").as_deref())?;
        let version = version(&path)?;
        if version < MIN_VERSION {
            bail!(
                "{}: CRIU {} is too old (hull needs {} or newer)",
                path.display(),
                dotted(version),
                dotted(MIN_VERSION)
            );
        }
        Ok(Criu { path, version })
    }

    /// A pid namespace joined by path is an external namespace to CRIU,
    /// which it handles from 3.15 on.
    pub fn check_joined_pid_namespace(&self, joined: bool) -> Result<()> {
        if joined && self.version < 31500 {
            bail!(
                "{}: CRIU {} cannot handle a pid namespace joined by path (3.15 or newer can)",
                self.path.display(),
                dotted(self.version)
            );
        }
        Ok(())
    }

    /// Why CRIU failed, for an error: its own message, the log's last error
    /// line (`log`), and `criu check`'s verdict when it is not "Looks good".
    pub fn explain(&self, errmsg: Option<&str>, log: Option<&Path>) -> String {
        let mut parts = Vec::new();
        if let Some(msg) = errmsg.map(str::trim).filter(|m| !m.is_empty()) {
            parts.push(msg.to_string());
        }
        if let Some(log) = log {
            if let Some(line) = first_log_error(log) {
                parts.push(format!("{}: {line}", log.display()));
            }
        }
        if let Some(verdict) = check(&self.path) {
            if parts.iter().any(|p| p.ends_with(&verdict)) {
                parts.push("`criu check` fails the same way on this kernel".to_string());
            } else {
                parts.push(format!("`criu check` on this kernel: {verdict}"));
            }
        }
        parts.join("; ")
    }
}

/// Where criu is: the explicit path (which must be an executable file) or
/// the first `criu` on `search` (a PATH value).
fn locate(explicit: Option<&Path>, search: Option<&std::ffi::OsStr>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        if !is_executable(path) {
            bail!("--criu {}: no executable file there", path.display());
        }
        return Ok(path.to_path_buf());
    }
    let found = search
        .map(std::env::split_paths)
        .into_iter()
        .flatten()
        .map(|dir| dir.join("criu"))
        .find(|p| is_executable(p));
    match found {
        Some(path) => Ok(path),
        None => bail!(
            "CRIU is not installed: no `criu` in PATH (install it, e.g. `apt-get install criu`, or pass --criu PATH)"
        ),
    }
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// CRIU's version number (3.17.1 is 31701), asked over RPC.
fn version(path: &Path) -> Result<i32> {
    let swrk = rpc::Swrk::start(path, &[])?;
    let req = rpc::Request {
        r#type: rpc::ReqType::Version as i32,
        ..Default::default()
    };
    let resp = swrk.call(&req, |_| Ok(()));
    let _ = swrk.finish();
    let resp = resp.with_context(|| format!("{}: ask its version", path.display()))?;
    match resp.version {
        Some(v) if resp.success => Ok(v.number()),
        _ => bail!("{}: it did not tell its version", path.display()),
    }
}

/// 31701 → "3.17.1".
pub fn dotted(version: i32) -> String {
    format!(
        "{}.{}.{}",
        version / 10000,
        version / 100 % 100,
        version % 100
    )
}

/// `criu check`: None when it says the kernel will do, else its first
/// error line (or its last line).
pub fn check(path: &Path) -> Option<String> {
    let out = std::process::Command::new(path)
        .arg("check")
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        return None;
    }
    first_error(&text).or_else(|| Some(format!("exited with {}", out.status)))
}

/// The first line that names an error, else the last non-empty one.
fn first_error(text: &str) -> Option<String> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .find(|l| l.contains("Error") || l.contains("error"))
        .or(lines.last())
        .map(|l| l.to_string())
}

/// The first line of a CRIU log that reports an error: the cause (the
/// later ones say what failed because of it). CRIU's lines start with a
/// timestamp: `(00.012345) Error (criu/mount.c:1234): …`.
fn first_log_error(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .find(|l| l.contains("Error"))
        .map(|l| match l.split_once(") ") {
            Some((stamp, rest)) if stamp.starts_with('(') => rest.trim().to_string(),
            _ => l.trim().to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_dotted() {
        assert_eq!(dotted(31701), "3.17.1");
        assert_eq!(dotted(MIN_VERSION), "3.11.0");
        let v = rpc::Version {
            major_number: 3,
            minor_number: 17,
            sublevel: Some(1),
            gitid: None,
        };
        assert_eq!(v.number(), 31701);
    }

    #[test]
    fn a_missing_criu_is_one_line_naming_what_to_do() {
        let err = locate(None, Some("/nonexistent:/also-not".as_ref())).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("CRIU is not installed: no `criu` in PATH"),
            "{text}"
        );
        assert!(!text.contains('\n'));
        let err = locate(Some("/nonexistent/criu".as_ref()), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--criu /nonexistent/criu: no executable file there"
        );
    }

    #[test]
    fn criu_is_found_on_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let criu = dir.path().join("criu");
        std::fs::write(&criu, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&criu, std::fs::Permissions::from_mode(0o755)).unwrap();
        let search = format!("/nonexistent:{}", dir.path().display());
        assert_eq!(locate(None, Some(search.as_ref())).unwrap(), criu);
        // Not executable: not taken.
        std::fs::set_permissions(&criu, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(locate(None, Some(search.as_ref())).is_err());
    }

    #[test]
    fn error_lines_are_picked_from_check_output_and_logs() {
        let check = "Warn (criu/kerndat.c:1103): CRIU was built without libnftables support\nError (criu/vdso.c:470): vDSO: unexpected layout\nLooks bad.\n";
        assert_eq!(
            first_error(check).unwrap(),
            "Error (criu/vdso.c:470): vDSO: unexpected layout"
        );
        assert_eq!(first_error("\nSomething odd\n\n").unwrap(), "Something odd");
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("dump.log");
        std::fs::write(&log, "(00.000100) Dumping\n(00.001000) Error (criu/mount.c:1208): mnt: 42:./proc is external\n(00.002000) Error (criu/cr-dump.c:2100): Dumping FAILED.\n").unwrap();
        assert_eq!(
            first_log_error(&log).unwrap(),
            "Error (criu/mount.c:1208): mnt: 42:./proc is external"
        );
        assert_eq!(first_log_error(&dir.path().join("none")), None);
    }
}
