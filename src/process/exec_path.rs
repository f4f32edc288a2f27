//! Finding the program of `process.args[0]` inside the container, with the
//! messages engines match on ("executable file not found in $PATH",
//! "no such file or directory", "permission denied").

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Resolve `name` the way execvp would, using PATH from the container's env.
pub fn find_executable(name: &str, env: &[String]) -> Result<CString> {
    let path = if name.contains('/') {
        let p = PathBuf::from(name);
        check_executable(name, &p)?;
        p
    } else {
        let search = env
            .iter()
            .find_map(|v| v.strip_prefix("PATH="))
            .unwrap_or(DEFAULT_PATH);
        let found = search
            .split(':')
            .map(|dir| Path::new(if dir.is_empty() { "." } else { dir }).join(name))
            .find(|candidate| is_executable_file(candidate));
        match found {
            Some(p) => p,
            None => bail!("exec: {name:?}: executable file not found in $PATH"),
        }
    };
    Ok(CString::new(path.into_os_string().into_encoded_bytes())?)
}

fn is_executable_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        && nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok()
}

fn check_executable(name: &str, path: &Path) -> Result<()> {
    match std::fs::metadata(path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            bail!("exec: {name:?}: stat {name}: no such file or directory")
        }
        Err(err) => bail!("exec: {name:?}: {err}"),
        Ok(meta) if meta.is_dir() => bail!("exec: {name:?}: is a directory: permission denied"),
        Ok(_) if !is_executable_file(path) => bail!("exec: {name:?}: permission denied"),
        Ok(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_in_path() {
        let env = vec!["PATH=/nonexistent:/bin:/usr/bin".to_string()];
        let p = find_executable("sh", &env).unwrap();
        assert!(p.to_str().unwrap().ends_with("/sh"));
    }

    #[test]
    fn missing_program_says_not_found_in_path() {
        let err = find_executable("no-such-program-xyz", &[]).unwrap_err();
        assert!(err
            .to_string()
            .contains("executable file not found in $PATH"));
        let err = find_executable("/no/such/file", &[]).unwrap_err();
        assert!(err.to_string().contains("no such file or directory"));
        let err = find_executable("/", &[]).unwrap_err();
        assert!(err.to_string().contains("permission denied"));
    }
}
