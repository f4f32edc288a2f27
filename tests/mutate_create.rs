//! A bounded end-to-end mutation run of `create`: the tests' default
//! config mutated (the mutations of `tests/fuzz/mutate.rs`, the fuzz
//! corpus as their dictionary) and each run through the real `create`
//! as root. Whatever the input: no panic and no death by a signal, a
//! refusal is exactly one error line, and nothing is left behind (the
//! harness's checks after every run); a create that succeeds is deleted.
//!
//! The mutated configs are made harmless first (`defuse`): they never
//! point create at a host path outside the test's temp dir, where a real
//! create would act on it as asked (bind sources, root.path, namespace
//! files, the seccomp listener, hooks, which run on the host), nor ask
//! for shared propagation. Refusing those values is tested elsewhere.
//!
//!   HULL_MUTATE_RUNS=N   creates (default 60), within 120 s at most
//!   HULL_MUTATE_SEED=N   RNG seed (default fixed)
//! A failing input is saved under target/tmp/mutate_create/.

mod common;
#[path = "fuzz/mutate.rs"]
mod mutate;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use mutate::{corpus, Mutator};
use serde_json::{json, Value};

const DEFAULT_RUNS: usize = 60;
const DEFAULT_SEED: u64 = 0x5EED_C0FF_EE15_600D;
const BUDGET: Duration = Duration::from_secs(120);

/// Pseudo-filesystem sources: names, not paths.
fn is_fs_name(source: &str) -> bool {
    !source.contains('/') && !source.is_empty()
}

/// Make a mutated config harmless for the host (see the module comment).
/// Values holding a NUL byte stay: create must refuse them untouched.
fn defuse(config: &mut Value, scratch: &Path, id: &str) {
    let has_nul = |v: &Value| v.as_str().is_some_and(|s| s.contains('\0'));
    let replace = |v: &mut Value, with: Value| {
        if v.is_string() && !has_nul(v) {
            *v = with;
        }
    };
    if let Some(hooks) = config.get_mut("hooks").and_then(Value::as_object_mut) {
        for list in hooks.values_mut().filter_map(Value::as_array_mut) {
            for hook in list.iter_mut().filter_map(Value::as_object_mut) {
                if let Some(path) = hook.get_mut("path") {
                    replace(path, json!("/hull-mutate-no-such-hook"));
                }
            }
        }
    }
    if let Some(path) = config.pointer_mut("/root/path") {
        if path != "rootfs" {
            replace(path, json!("no-such-rootfs"));
        }
    }
    if let Some(mounts) = config.get_mut("mounts").and_then(Value::as_array_mut) {
        for mount in mounts.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(source) = mount.get_mut("source") {
                if !source.as_str().is_some_and(is_fs_name) {
                    replace(source, json!(scratch));
                }
            }
            if let Some(options) = mount.get_mut("options").and_then(Value::as_array_mut) {
                options.retain(|o| o != "shared" && o != "rshared");
            }
        }
    }
    if let Some(linux) = config.get_mut("linux").and_then(Value::as_object_mut) {
        if let Some(nss) = linux.get_mut("namespaces").and_then(Value::as_array_mut) {
            for ns in nss.iter_mut().filter_map(Value::as_object_mut) {
                if let Some(path) = ns.get_mut("path") {
                    replace(path, json!("/hull-mutate-no-such-namespace"));
                }
            }
        }
        if let Some(path) = linux.get_mut("cgroupsPath") {
            // Named after the id, so the harness finds it if it is left.
            replace(path, json!(format!("/hull-test-mutate-{id}")));
        }
        if let Some(p) = linux.get_mut("rootfsPropagation") {
            if p == "shared" || p == "rshared" {
                *p = json!("rslave");
            }
        }
        if let Some(path) = linux
            .get_mut("seccomp")
            .and_then(|s| s.get_mut("listenerPath"))
        {
            replace(path, json!("/hull-mutate-no-such-listener.sock"));
        }
    }
}

fn save(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mutate_create");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The error lines of a failed create: stderr without its warnings.
fn error_lines(out: &Output) -> Vec<&str> {
    out.stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("hull: warning: "))
        .collect()
}

#[test]
fn mutated_configs_fail_cleanly_or_create() {
    let runs: usize = std::env::var("HULL_MUTATE_RUNS")
        .ok()
        .map(|s| s.parse().expect("HULL_MUTATE_RUNS: a number"))
        .unwrap_or(DEFAULT_RUNS);
    let seed: u64 = std::env::var("HULL_MUTATE_SEED")
        .ok()
        .map(|s| s.parse().expect("HULL_MUTATE_SEED: a number"))
        .unwrap_or(DEFAULT_SEED);
    let rt = Runtime::new();
    let bundle = rt.bundle();
    let base = bundle.config.clone();
    let scratch = rt.host_dir("bind-source");
    let mut seeds: Vec<Value> = corpus()
        .iter()
        .map(|(_, b)| serde_json::from_slice(b).unwrap())
        .collect();
    seeds.push(base.clone());
    let mut mutator = Mutator::new(seed, seeds);

    let start = Instant::now();
    let (mut created, mut refused) = (0, 0);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for run in 0..runs {
        if start.elapsed() > BUDGET {
            eprintln!("mutate_create: time budget spent after {run} runs");
            break;
        }
        let id = rt.new_id();
        let mut config = mutator.mutate_value(&base);
        defuse(&mut config, &scratch, &id);
        let bytes = mutator.serialize(&config);
        std::fs::write(bundle.config_path(), &bytes).unwrap();
        let out = rt.create(&id, &bundle);
        let fail = |why: String| -> ! {
            let path = save(&format!("run-{seed}-{run}.json"), &bytes);
            panic!(
                "run {run} (seed {seed}): {why}\n  input saved as {}\n  {out:?}",
                path.display()
            );
        };
        if out.stderr.contains("panicked") || out.stderr.contains("RUST_BACKTRACE") {
            fail("hull panicked".into());
        }
        if out.code > 128 {
            fail(format!("hull died of signal {}", out.code - 128));
        }
        if out.success() {
            created += 1;
            let deleted = rt.delete(&id);
            if !deleted.success() {
                fail(format!(
                    "delete after a successful create failed: {deleted:?}"
                ));
            }
        } else {
            refused += 1;
            let lines = error_lines(&out);
            if lines.len() != 1 || !lines[0].starts_with("hull: ") {
                fail(format!(
                    "exit {} must come with one error line, got {lines:?}",
                    out.code
                ));
            }
            let reason: String = lines[0]
                .trim_start_matches("hull: ")
                .split([':', ' '])
                .find(|w| !w.is_empty() && !w.starts_with('"'))
                .unwrap_or("")
                .chars()
                .map(|c| if c.is_ascii_digit() { 'N' } else { c })
                .take(40)
                .collect();
            *reasons.entry(reason).or_default() += 1;
        }
        let left = rt.leftovers();
        if !left.is_empty() {
            fail(format!("left behind: {left:#?}"));
        }
    }
    println!(
        "mutate_create: seed {seed}, {} runs in {:.1} s: {created} created (and deleted), {refused} refused",
        created + refused,
        start.elapsed().as_secs_f64()
    );
    for (reason, n) in &reasons {
        println!("  {n:>4}  {reason}");
    }
    assert!(
        created + refused >= runs.min(10),
        "too few runs within the time budget: {}",
        created + refused
    );
}
