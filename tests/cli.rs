//! Command-line surface outside the container lifecycle: --version, spec,
//! and the JSON log format containerd reads.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn version_mentions_spec() {
    let rt = Runtime::new();
    let out = rt.cmd(&["--version"]);
    out.assert_ok("--version");
    assert!(out.stdout.contains("spec"), "{out:?}");
}

#[test]
fn spec_writes_valid_config() {
    let rt = Runtime::new();
    let dir = rt.host_dir("spec");
    rt.cmd(&["spec", "--bundle", dir.to_str().unwrap()])
        .assert_ok("spec");
    let text = std::fs::read_to_string(dir.join("config.json")).expect("spec wrote no config.json");
    let config: Value = serde_json::from_str(&text).expect("spec wrote invalid JSON");
    assert!(
        config["ociVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("1.")),
        "{config}"
    );
    let args = config["process"]["args"].as_array().expect("process.args");
    assert!(!args.is_empty(), "{config}");
    assert_eq!(config["root"]["path"], "rootfs", "{config}");
}

#[test]
fn spec_refuses_to_overwrite() {
    let rt = Runtime::new();
    let dir = rt.host_dir("spec");
    std::fs::write(dir.join("config.json"), "keep me").unwrap();
    rt.cmd(&["spec", "--bundle", dir.to_str().unwrap()])
        .assert_failed("spec over an existing config.json");
    assert_eq!(
        std::fs::read_to_string(dir.join("config.json")).unwrap(),
        "keep me"
    );
}

#[test]
fn log_json_records_errors() {
    let rt = Runtime::new();
    let log = rt.work.join("runtime.log");
    let out = rt.cmd(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "state",
        "nosuch",
    ]);
    out.assert_failed("state of an unknown id");
    let text = std::fs::read_to_string(&log).expect("no log file written");
    let entries: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("log line is not JSON ({e}): {l}"))
        })
        .collect();
    let error = entries
        .iter()
        .find(|e| e["level"] == "error")
        .unwrap_or_else(|| panic!("no error entry: {text}"));
    assert!(
        error["msg"]
            .as_str()
            .is_some_and(|m| m.contains("does not exist")),
        "{error}"
    );
    assert!(
        error["time"].as_str().is_some_and(|t| !t.is_empty()),
        "{error}"
    );
}

/// `--debug` traces where create's time goes: one line per phase, hull's
/// own and the init's, in order, each with its duration and the time since
/// the command started.
#[test]
fn debug_traces_the_phases_of_create() {
    if !is_hull() {
        skip!("the timing trace is hull's");
    }
    let rt = Runtime::new();
    let bundle = rt.bundle();
    let id = rt.new_id();
    rt.track(&id);
    let log = rt.work.join("debug.log");
    rt.cmd(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "--debug",
        "create",
        "--bundle",
        bundle.dir.to_str().unwrap(),
        &id,
    ])
    .assert_ok("create --debug");
    let text = std::fs::read_to_string(&log).expect("no log file written");
    let phases: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|e| e["msg"].as_str().map(str::to_string))
        .filter_map(|m| m.strip_prefix("timing: ").map(str::to_string))
        .collect();
    let order = [
        "startup",
        "create.config",
        "create.clone",
        "init.rootfs",
        "init.process",
        "create.init-ready",
        "create.commit",
        "command",
    ];
    let mut at = std::collections::HashMap::new();
    for want in order {
        let line = phases
            .iter()
            .find(|p| p.split(' ').next() == Some(want))
            .unwrap_or_else(|| panic!("no {want:?} phase in {phases:#?}"));
        // "PHASE 0.123 ms (at 4.567 ms, peak RSS 3120 KiB)"
        let words: Vec<&str> = line.split(' ').collect();
        assert_eq!(
            (words.len(), words[2], words[5], words[9]),
            (10, "ms", "ms,", "KiB)"),
            "{line}"
        );
        assert!(words[8].parse::<u64>().is_ok_and(|kib| kib > 0), "{line}");
        let total: f64 = words[4].parse().unwrap_or_else(|_| panic!("{line}"));
        at.insert(want, total);
    }
    // hull's own phases in order, and the init's; the init's run between
    // the parse and its Ready, but not necessarily after hull's mark
    // right after the clone (the child may run first, on a busy machine
    // for milliseconds).
    let chains: [&[&str]; 2] = [
        &[
            "startup",
            "create.config",
            "create.clone",
            "create.init-ready",
            "create.commit",
            "command",
        ],
        &[
            "create.config",
            "init.rootfs",
            "init.process",
            "create.init-ready",
        ],
    ];
    for chain in chains {
        assert!(
            chain.windows(2).all(|w| at[w[0]] <= at[w[1]]),
            "out of order ({chain:?}): {phases:#?}"
        );
    }
    rt.delete_force(&id).assert_ok("delete");
}
