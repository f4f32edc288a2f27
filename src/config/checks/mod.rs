//! The checks of config.json, as runc's validator has them: small named
//! functions over the spec (or what is planned of it) and the host facts
//! gathered once, each refusing with the field's JSON path.

pub mod idmaps;
pub mod linux;
pub mod mounts;
pub mod namespaces;
pub mod process;
pub mod root;

/// A spec for the checks' tests: a minimal valid config with `fields`
/// (top-level keys) set over it.
#[cfg(test)]
pub fn test_spec(fields: serde_json::Value) -> oci_spec::runtime::Spec {
    let mut spec = serde_json::json!({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs"},
        "process": {"args": ["/bin/true"], "cwd": "/", "user": {"uid": 0, "gid": 0}}
    });
    for (key, value) in fields.as_object().expect("an object") {
        spec[key] = value.clone();
    }
    serde_json::from_value(spec).expect("a spec")
}
