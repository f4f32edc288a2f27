//! The config's strings as the kernel will take them: no NUL byte anywhere
//! (a C string ends at the first one), names no longer than the kernel's.

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// The kernel's limit for a hostname or NIS domain name (HOST_NAME_MAX).
pub const HOST_NAME_MAX: usize = 64;

/// Refuse a NUL byte in any string of config.json, keys included, naming
/// its JSON path; top-level keys in `skip` are not looked at.
///
/// Every path, name and option of the config ends as a C string at some
/// syscall, which would silently stop at the NUL: a `linux.maskedPaths`
/// entry `"/proc/sy\u0000s"` masked nothing, and create still succeeded.
/// Checking every string, not a list of path fields, also covers fields
/// added later. (`annotations` never reach a syscall and are skipped.)
///
/// In JSON a NUL can only be written as the escape `\u0000`: without that
/// text in `json` (valid JSON, parsed already) there is nothing to walk.
pub fn check_json_no_nul(json: &[u8], skip: &[&str]) -> Result<()> {
    let text = String::from_utf8_lossy(json);
    if !text.contains("\\u0000") {
        return Ok(());
    }
    let value: Value = serde_json::from_str(&text).context("re-read config.json")?;
    check_value(&value, "", skip)
}

/// `check_json_no_nul` for a value of the config given as a struct (an
/// `exec --process` file's process), below `prefix`.
pub fn check_no_nul(value: &impl serde::Serialize, prefix: &str) -> Result<()> {
    let text = serde_json::to_vec(value).with_context(|| format!("{prefix}: re-read"))?;
    if !String::from_utf8_lossy(&text).contains("\\u0000") {
        return Ok(());
    }
    let value = serde_json::to_value(value).with_context(|| format!("{prefix}: re-read"))?;
    check_value(&value, prefix, &[])
}

fn check_value(value: &Value, prefix: &str, skip: &[&str]) -> Result<()> {
    let mut path = prefix.to_string();
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter().filter(|(k, _)| !skip.contains(&k.as_str())) {
                walk_entry(&mut path, key, child)?;
            }
            Ok(())
        }
        other => walk(other, &mut path),
    }
}

fn walk(value: &Value, path: &mut String) -> Result<()> {
    match value {
        Value::String(s) if s.contains('\0') => bail!("{path}: contains a NUL byte"),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(map) => {
            for (key, child) in map {
                walk_entry(path, key, child)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn walk_entry(path: &mut String, key: &str, child: &Value) -> Result<()> {
    if key.contains('\0') {
        bail!("{path}: the key {key:?} contains a NUL byte");
    }
    let len = path.len();
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
    walk(child, path)?;
    path.truncate(len);
    Ok(())
}

/// `hostname` and `domainname`: the kernel takes at most 64 bytes.
pub fn check_host_name(field: &str, name: &str) -> Result<()> {
    if name.len() > HOST_NAME_MAX {
        bail!(
            "{field}: {} bytes long, the kernel takes at most {HOST_NAME_MAX}",
            name.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nul_error(v: Value, prefix: &str) -> String {
        let err = match prefix {
            "" => check_json_no_nul(&serde_json::to_vec(&v).unwrap(), &["annotations"]),
            _ => check_no_nul(&v, prefix),
        };
        format!("{:#}", err.unwrap_err())
    }

    #[test]
    fn a_nul_is_named_by_its_json_path() {
        let v = json!({"linux": {"maskedPaths": ["/a", "/b", "/proc/sy\u{0}s"]}});
        assert_eq!(
            nul_error(v, ""),
            "linux.maskedPaths[2]: contains a NUL byte"
        );
        let v = json!({"mounts": [{"destination": "/x"}, {"destination": "/y\u{0}"}]});
        assert_eq!(
            nul_error(v, ""),
            "mounts[1].destination: contains a NUL byte"
        );
        let v = json!({"cwd": "/\u{0}"});
        assert_eq!(nul_error(v, "process"), "process.cwd: contains a NUL byte");
        let v = json!({"linux": {"sysctl": {"net.a\u{0}": "1"}}});
        assert!(nul_error(v, "").starts_with("linux.sysctl: the key"));
    }

    #[test]
    fn clean_strings_and_annotations_pass() {
        let v = json!({"hostname": "h", "linux": {"maskedPaths": ["/proc/kcore"]},
                       "annotations": {"a": "b\u{0}"}});
        let json = serde_json::to_vec(&v).unwrap();
        assert!(check_json_no_nul(&json, &["annotations"]).is_ok());
        // An escaped backslash before "u0000" is no NUL.
        assert!(check_json_no_nul(br#"{"hostname": "a\\u0000"}"#, &[]).is_ok());
    }

    #[test]
    fn host_names_fit_the_kernel() {
        assert!(check_host_name("hostname", &"h".repeat(64)).is_ok());
        let err = check_host_name("hostname", &"h".repeat(65)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "hostname: 65 bytes long, the kernel takes at most 64"
        );
    }
}
