//! Reading a bundle's config.json: every parse error names the file, the JSON
//! path of the bad value and its line and column.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use oci_spec::runtime::Spec;

/// The bundle directory made absolute, and its config.json's bytes.
pub fn read_bundle(bundle: &Path) -> Result<(PathBuf, Vec<u8>)> {
    let dir = std::path::absolute(bundle)
        .with_context(|| format!("bundle {bundle:?}: cannot make the path absolute"))?;
    match std::fs::metadata(&dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => bail!("bundle {dir:?}: not a directory"),
        Err(err) => bail!("bundle {dir:?}: {}", crate::error::describe_io(&err)),
    }
    let config_path = dir.join("config.json");
    let bytes = std::fs::read(&config_path).map_err(|err| {
        anyhow::anyhow!("read {config_path:?}: {}", crate::error::describe_io(&err))
    })?;
    Ok((dir, bytes))
}

/// Parse config.json bytes; the error text is `path: problem at line L column C`.
/// A config that parses takes the plain parser; only a failing one is parsed
/// again, tracking the JSON path for the message (that tracking doubles
/// the parser's code and its cost).
pub fn parse_spec(bytes: &[u8]) -> std::result::Result<Spec, String> {
    let mut spec = match serde_json::from_slice(bytes) {
        Ok(spec) => spec,
        Err(_) => parse_spec_tracking_path(bytes)?,
    };
    spec_names_of_rdt_flags(bytes, &mut spec)?;
    Ok(spec)
}

/// linux.intelRdt's `enableCMT` and `enableMBM` (the spec's names, which
/// oci-spec reads as `enableCmt`/`enableMbm`): read from the JSON itself.
/// Only a config that holds either name is parsed a second time.
fn spec_names_of_rdt_flags(bytes: &[u8], spec: &mut Spec) -> std::result::Result<(), String> {
    let holds = |name: &[u8]| bytes.windows(name.len()).any(|w| w == name);
    if !holds(b"\"enableCMT\"") && !holds(b"\"enableMBM\"") {
        return Ok(());
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|err| format!("invalid JSON: {err}"))?;
    let rdt = &value["linux"]["intelRdt"];
    let flag = |name: &str| match &rdt[name] {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Bool(b) => Ok(Some(*b)),
        other => Err(format!(
            "linux.intelRdt.{name}: invalid type: {other}, expected a boolean"
        )),
    };
    let (cmt, mbm) = (flag("enableCMT")?, flag("enableMBM")?);
    if let Some(rdt) = spec
        .linux_mut()
        .as_mut()
        .and_then(|l| l.intel_rdt_mut().as_mut())
    {
        #[allow(deprecated)]
        {
            if cmt.is_some() {
                rdt.set_enable_cmt(cmt);
            }
            if mbm.is_some() {
                rdt.set_enable_mbm(mbm);
            }
        }
    }
    Ok(())
}

fn parse_spec_tracking_path(bytes: &[u8]) -> std::result::Result<Spec, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let spec: Spec = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if path == "." || inner.is_syntax() || inner.is_eof() {
            format!("invalid JSON: {inner}")
        } else {
            format!("{path}: {inner}")
        }
    })?;
    de.end().map_err(|err| format!("invalid JSON: {err}"))?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_type_names_the_json_path() {
        let json = br#"{"ociVersion":"1.0.2","process":{"cwd":"/","user":{"uid":"x","gid":0}}}"#;
        let err = parse_spec(json).unwrap_err();
        assert!(err.starts_with("process.user.uid: invalid type"), "{err}");
        assert!(err.contains("line 1 column"), "{err}");
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let err = parse_spec(b"{\n  \"ociVersion\": \"1.0.2\",\n  oops\n}").unwrap_err();
        assert!(err.contains("line 3 column"), "{err}");
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        assert!(parse_spec(br#"{"ociVersion":"1.0.2"} x"#).is_err());
    }

    #[test]
    fn intel_rdt_flags_are_read_by_the_spec_names() {
        let spec = parse_spec(
            br#"{"ociVersion":"1.3.0","linux":{"intelRdt":{"enableCMT":true,"enableMBM":false}}}"#,
        )
        .unwrap();
        let rdt = spec.linux().as_ref().unwrap().intel_rdt().clone().unwrap();
        #[allow(deprecated)]
        let flags = (*rdt.enable_cmt(), *rdt.enable_mbm());
        assert_eq!(flags, (Some(true), Some(false)));
        let err = parse_spec(br#"{"ociVersion":"1.3.0","linux":{"intelRdt":{"enableCMT":1}}}"#)
            .unwrap_err();
        assert!(
            err.starts_with("linux.intelRdt.enableCMT: invalid type"),
            "{err}"
        );
    }

    #[test]
    fn unknown_fields_are_accepted() {
        let spec = parse_spec(br#"{"ociVersion":"1.0.2","vendorThing":{"a":1}}"#).unwrap();
        assert_eq!(spec.version(), "1.0.2");
    }

    #[test]
    fn unknown_capability_names_fail_to_parse() {
        let err = parse_spec(
            br#"{"ociVersion":"1.0.2","process":{"cwd":"/","user":{"uid":0,"gid":0},"capabilities":{"bounding":["CAP_NOPE"]}}}"#,
        )
        .unwrap_err();
        assert!(err.contains("process.capabilities.bounding"), "{err}");
    }
}
