//! A deterministic mutation fuzzer over config.json loading, validation and
//! planning: `config::plan_from_bytes` with a `FixedHost` (no syscall,
//! nothing made), then the pure planners that follow it (cgroup file
//! writes for v1 and v2, device rules, the eBPF program, the seccomp
//! filter built but never loaded). Any panic fails the test and the input
//! is saved for reproduction.
//!
//! Inputs are the seed corpus (`tests/fuzz/corpus/*.json`) mutated with a
//! seeded xorshift RNG: values replaced by other types, keys removed or
//! added, huge and negative numbers, NUL bytes, `../` paths, wrong enum
//! values, values spliced from other configs, deep nesting, long arrays;
//! then sometimes the bytes: truncation, invalid UTF-8, lone surrogates.
//!
//!   HULL_FUZZ_SECONDS=N   time budget (default 20)
//!   HULL_FUZZ_SEED=N      RNG seed (default fixed: the same inputs each run)
//!   HULL_FUZZ_INPUT=PATH  run only this file (or every file of this dir):
//!                         reproduce a saved input
//! Saved inputs: target/tmp/fuzz_config/.

#[path = "fuzz/mutate.rs"]
mod mutate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hull::config::{plan_from_bytes, FixedHost, Plan};
use mutate::{corpus, Mutator};
use serde_json::Value;

const DEFAULT_SECONDS: u64 = 20;
const DEFAULT_SEED: u64 = 0x9E37_79B9_7F4A_7C15;
/// An input taking longer than this is a failure too (a config must not
/// be able to stall create).
const SLOW: Duration = Duration::from_secs(1);
/// No progress for this long: the planner hangs on the current input.
const HANG: Duration = Duration::from_secs(15);
/// Mutated inputs bigger than this are dropped.
const MAX_INPUT: usize = 1 << 20;
/// Stop collecting after this many distinct panic locations.
const MAX_FINDINGS: usize = 20;

fn out_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz_config")
}

/// The planners that follow a plan, all pure: everything the plan feeds
/// before a syscall consumes it.
fn exercise(plan: &Plan, small_seccomp: bool) {
    use hull::cgroups::{v1, v2};
    let r = &plan.cgroup.resources;
    let _ = v1::convert(r);
    let _ = v2::convert(r, &mut Vec::new());
    let _ = v1::devices::writes(&plan.cgroup.devices);
    let _ = v2::devices::program(&plan.cgroup.devices);
    let _ = hull::config::id_map_text(&plan.uid_mappings);
    // libseccomp takes ~10 ms (debug) for an engine's 400-syscall profile:
    // only small filters are built every time.
    if let Some(seccomp) = plan.seccomp.as_ref().filter(|_| small_seccomp) {
        let _ = hull::security::seccomp::build(seccomp);
    }
}

/// Plan `bytes`: Ok(None) when planned, Ok(Some(error text)) when
/// refused, Err(panic text) when anything panicked.
fn run_one(bytes: &[u8], host: &FixedHost) -> Result<Option<String>, String> {
    let result = std::panic::catch_unwind(|| {
        match plan_from_bytes(Path::new("/fuzz/bundle"), bytes, host) {
            Ok(plan) => {
                exercise(&plan, bytes.len() < 12_000);
                None
            }
            // Formatted as create prints it.
            Err(err) => Some(format!("{err:#}")),
        }
    });
    result.map_err(|_| {
        LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| "a panic without a message".into())
    })
}

thread_local! {
    /// Set on the fuzzing thread: its panics are recorded, not printed.
    static FUZZING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Panics on a fuzzing thread are recorded quietly (thousands of inputs
/// may hit the same one); others go to the default hook.
fn install_quiet_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if FUZZING.with(|f| f.get()) {
                let place = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let payload = info.payload();
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{place}: {msg}")));
            } else {
                default(info);
            }
        }));
    });
}

fn hosts() -> [FixedHost; 2] {
    [
        FixedHost::default(),
        FixedHost {
            apparmor: true,
            selinux: true,
        },
    ]
}

fn save(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = out_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[derive(Default)]
struct Stats {
    runs: u64,
    planned: u64,
    slowest: Duration,
    /// First words of the error texts: which checks the inputs reach.
    errors: BTreeMap<String, u64>,
}

#[test]
fn every_seed_plans() {
    // The seeds are valid configs (on a host where their paths exist and
    // AppArmor and SELinux are on, which some engines' configs ask for):
    // mutations then start deep inside the planner, not at its first check.
    let host = FixedHost {
        apparmor: true,
        selinux: true,
    };
    for (name, bytes) in corpus() {
        if let Err(err) = plan_from_bytes(Path::new("/fuzz/bundle"), &bytes, &host) {
            panic!("{name}: {err:#}");
        }
    }
}

#[test]
fn planning_never_panics() {
    install_quiet_hook();
    if let Some(input) = std::env::var_os("HULL_FUZZ_INPUT") {
        return replay(Path::new(&input));
    }
    let seconds = std::env::var("HULL_FUZZ_SECONDS")
        .ok()
        .map(|s| {
            s.parse::<u64>()
                .expect("HULL_FUZZ_SECONDS: a number of seconds")
        })
        .unwrap_or(DEFAULT_SECONDS);
    let seed = std::env::var("HULL_FUZZ_SEED")
        .ok()
        .map(|s| s.parse::<u64>().expect("HULL_FUZZ_SEED: a number"))
        .unwrap_or(DEFAULT_SEED);
    let seeds = corpus();
    let values: Vec<Value> = seeds
        .iter()
        .map(|(name, b)| serde_json::from_slice(b).unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect();

    // The loop runs on a worker thread; this one watches for a hang.
    let progress = Arc::new(AtomicU64::new(0));
    let current: Arc<Mutex<Vec<u8>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let worker = {
        let (progress, current, done) = (progress.clone(), current.clone(), done.clone());
        std::thread::spawn(move || {
            fuzz_loop(seconds, seed, &seeds, values, &progress, &current);
            done.store(true, Ordering::SeqCst);
        })
    };
    let (mut last, mut since) = (0, Instant::now());
    while !done.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(200));
        let now = progress.load(Ordering::SeqCst);
        if now != last {
            (last, since) = (now, Instant::now());
        } else if since.elapsed() > HANG {
            let input = current.lock().map(|c| c.clone()).unwrap_or_default();
            let path = save(&format!("hang-{seed}-{now}.json"), &input);
            panic!(
                "planning hangs on input {now} (seed {seed}), saved as {}",
                path.display()
            );
        }
    }
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
}

fn fuzz_loop(
    seconds: u64,
    seed: u64,
    seeds: &[(String, Vec<u8>)],
    values: Vec<Value>,
    progress: &AtomicU64,
    current: &Mutex<Vec<u8>>,
) {
    FUZZING.with(|f| f.set(true));
    let budget = Duration::from_secs(seconds);
    let start = Instant::now();
    let hosts = hosts();
    let mut mutator = Mutator::new(seed, values);
    let mut stats = Stats::default();
    let mut findings: BTreeMap<String, (String, PathBuf)> = BTreeMap::new();
    let mut slow: Vec<(Duration, PathBuf)> = Vec::new();
    // The seeds first, as they are, then mutations until the budget ends.
    let mut i = 0u64;
    while i < seeds.len() as u64 || start.elapsed() < budget {
        let (bytes, from) = if (i as usize) < seeds.len() {
            (seeds[i as usize].1.clone(), seeds[i as usize].0.clone())
        } else {
            let k = mutator.rng.below(seeds.len());
            let value = mutator.mutate_value(&mutator.seeds[k].clone());
            let bytes = mutator.serialize(&value);
            // Grown arrays of grown arrays: big inputs only slow the
            // search down (a 100 MB config plans, in seconds).
            if bytes.len() > MAX_INPUT {
                continue;
            }
            (bytes, seeds[k].0.clone())
        };
        if let Ok(mut c) = current.lock() {
            c.clone_from(&bytes);
        }
        // Mostly with AppArmor and SELinux on (engines' configs name
        // profiles), one input in eight without.
        let host = &hosts[usize::from(i % 8 != 0)];
        let began = Instant::now();
        let outcome = run_one(&bytes, host);
        let took = began.elapsed();
        stats.runs += 1;
        stats.slowest = stats.slowest.max(took);
        match outcome {
            Ok(None) => stats.planned += 1,
            Ok(Some(err)) => {
                // The JSON path the error names, indexes folded:
                // "mounts[N].destination".
                let head: String = err
                    .split([':', ' ', '"'])
                    .next()
                    .unwrap_or("")
                    .chars()
                    .map(|c| if c.is_ascii_digit() { 'N' } else { c })
                    .take(48)
                    .collect();
                *stats.errors.entry(head).or_default() += 1;
            }
            Err(panic) => {
                let place = panic.split(": ").next().unwrap_or("").to_string();
                if let std::collections::btree_map::Entry::Vacant(e) = findings.entry(place) {
                    let path = save(&format!("panic-{seed}-{i}.json"), &bytes);
                    eprintln!(
                        "PANIC on input {i} (from {from}): {panic}\n  saved: {}",
                        path.display()
                    );
                    e.insert((panic, path));
                }
            }
        }
        if took > SLOW {
            let path = save(&format!("slow-{seed}-{i}.json"), &bytes);
            slow.push((took, path));
        }
        i += 1;
        progress.store(i, Ordering::SeqCst);
        if findings.len() >= MAX_FINDINGS {
            break;
        }
    }
    FUZZING.with(|f| f.set(false));
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "fuzz_config: seed {seed}, {} inputs in {elapsed:.1} s ({:.0}/s), {} planned, slowest {:?}",
        stats.runs,
        stats.runs as f64 / elapsed,
        stats.planned,
        stats.slowest
    );
    let mut errors: Vec<(&String, &u64)> = stats.errors.iter().collect();
    errors.sort_by(|a, b| b.1.cmp(a.1));
    for (head, n) in errors.iter().take(24) {
        println!("  {n:>8}  refused at {head}");
    }
    let mut report = String::new();
    for (panic, path) in findings.values() {
        report.push_str(&format!(
            "\n  {panic}\n    reproduce: HULL_FUZZ_INPUT={} cargo test --test fuzz_config",
            path.display()
        ));
    }
    for (took, path) in &slow {
        report.push_str(&format!("\n  slow ({took:?}): {}", path.display()));
    }
    assert!(
        report.is_empty(),
        "planning panicked or stalled on {} input(s):{report}",
        findings.len() + slow.len()
    );
}

/// Run saved inputs (a file, or every file of a dir) and fail on a panic.
fn replay(input: &Path) {
    let files: Vec<PathBuf> = if input.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(input)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    } else {
        vec![input.to_path_buf()]
    };
    FUZZING.with(|f| f.set(true));
    let mut failed = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for host in hosts() {
            if let Err(panic) = run_one(&bytes, &host) {
                failed.push(format!("{}: {panic}", file.display()));
                break;
            }
        }
    }
    FUZZING.with(|f| f.set(false));
    assert!(failed.is_empty(), "panics:\n{}", failed.join("\n"));
    println!("replayed {} input(s) without a panic", files.len());
}
