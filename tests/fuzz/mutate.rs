//! The mutations the fuzz tests share (`fuzz_config.rs` plans the
//! mutated configs, `mutate_create.rs` runs `create` on them): a seeded
//! xorshift RNG, a dictionary of the corpus's keys and strings, and
//! structural and byte mutations of a config.json.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus")
}

/// (name, bytes) of every seed, sorted by name.
pub fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(corpus_dir())
        .expect("tests/fuzz/corpus")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 5, "the seed corpus is missing: {seeds:?}");
    seeds
}

/// xorshift64*: small, fast, and the same sequence for the same seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn one_in(&mut self, n: u64) -> bool {
        self.next() % n == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Every key and string seen in the corpus, and the values seen under
/// each key: the dictionary that makes mutations land on real structure.
pub struct Dictionary {
    keys: Vec<String>,
    strings: Vec<String>,
    by_key: BTreeMap<String, Vec<Value>>,
}

impl Dictionary {
    pub fn new(seeds: &[Value]) -> Dictionary {
        let mut keys = BTreeSet::new();
        let mut strings = BTreeSet::new();
        let mut by_key: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        fn walk(
            v: &Value,
            keys: &mut BTreeSet<String>,
            strings: &mut BTreeSet<String>,
            by_key: &mut BTreeMap<String, Vec<Value>>,
        ) {
            match v {
                Value::String(s) => {
                    strings.insert(s.clone());
                }
                Value::Array(items) => items.iter().for_each(|i| walk(i, keys, strings, by_key)),
                Value::Object(map) => {
                    for (k, child) in map {
                        keys.insert(k.clone());
                        let seen = by_key.entry(k.clone()).or_default();
                        if seen.len() < 64 && !seen.contains(child) {
                            seen.push(child.clone());
                        }
                        walk(child, keys, strings, by_key);
                    }
                }
                _ => {}
            }
        }
        for seed in seeds {
            walk(seed, &mut keys, &mut strings, &mut by_key);
        }
        // Enum values and names the corpus does not hold.
        for s in [
            "SCMP_ACT_NOTIFY",
            "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_TRACE",
            "SCMP_ACT_ERRNO",
            "SCMP_ACT_ALLOW",
            "SCMP_ACT_LOG",
            "SCMP_ARCH_AARCH64",
            "SCMP_ARCH_PPC64LE",
            "SCMP_ARCH_S390X",
            "SCMP_ARCH_MIPSEL",
            "SCMP_CMP_MASKED_EQ",
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
            "SCHED_FIFO",
            "SCHED_RR",
            "SCHED_ISO",
            "SCHED_FLAG_UTIL_CLAMP_MIN",
            "IOPRIO_CLASS_RT",
            "IOPRIO_CLASS_IDLE",
            "RLIMIT_RTTIME",
            "RLIMIT_AS",
            "time",
            "user",
            "cgroup",
            "a",
            "u",
            "p",
            "rw",
            "mrw",
            "x",
            "idmap",
            "ridmap",
            "rro",
            "rbind",
            "shared",
            "runbindable",
            "bind",
            "cgroup2",
            "overlay",
            "lowerdir=/a:/b,upperdir=/c",
            "PER_LINUX",
            "LINUX32",
            "monotonic",
            "boottime",
            "realtime",
            "CAP_SYS_ADMIN",
            "CAP_LAST_CAP",
            "CAP_BPF",
            "sendmsg",
            "net.core.somaxconn",
            "kernel.panic",
            "fs.mqueue.queues_max",
            "memory.max",
            "cgroup.procs",
            "../cgroup.procs",
        ] {
            strings.insert(s.to_string());
        }
        Dictionary {
            keys: keys.into_iter().collect(),
            strings: strings.into_iter().collect(),
            by_key,
        }
    }
}

/// A step on the way to a node: an object key or an array index.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// The most nodes a mutated value may hold (a seed has about 1,000).
const MAX_NODES: usize = 100_000;

/// How many nodes `v` holds, itself included.
fn size(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(size).sum::<usize>(),
        Value::Object(map) => 1 + map.values().map(size).sum::<usize>(),
        _ => 1,
    }
}

/// A child index of `children`: half the time uniform, half the time
/// weighted by the square root of the child's size, so a big subtree
/// (linux: resources, seccomp) is visited more than a single string, but
/// a 400-name seccomp list does not take every turn.
fn pick_child(children: &[&Value], rng: &mut Rng) -> usize {
    if rng.one_in(2) {
        return rng.below(children.len());
    }
    let weights: Vec<f64> = children.iter().map(|c| (size(c) as f64).sqrt()).collect();
    let total: f64 = weights.iter().sum();
    let mut at = (rng.next() % 1_000_000) as f64 / 1_000_000.0 * total;
    for (i, w) in weights.iter().enumerate() {
        if at < *w {
            return i;
        }
        at -= w;
    }
    children.len() - 1
}

/// A random node, reached by a random walk from the root that may stop
/// at every level: a whole section is replaced as often as a leaf.
fn random_path(root: &Value, rng: &mut Rng) -> Vec<Step> {
    let mut path = Vec::new();
    let mut node = root;
    loop {
        // Never the root itself; rarely a top-level value (each is a single
        // check, soon exhausted); often a node on the way down.
        let stop = match path.len() {
            0 => false,
            1 => rng.one_in(10),
            _ => rng.one_in(4),
        };
        if stop {
            return path;
        }
        match node {
            Value::Object(map) if !map.is_empty() => {
                let entries: Vec<(&String, &Value)> = map.iter().collect();
                let children: Vec<&Value> = entries.iter().map(|(_, v)| *v).collect();
                let (mut k, mut v) = entries[pick_child(&children, rng)];
                // The top-level scalars (ociVersion, hostname) are leaves
                // a walk would end on often: go round them mostly.
                for _ in 0..3 {
                    if !path.is_empty() || v.is_object() || v.is_array() {
                        break;
                    }
                    (k, v) = entries[pick_child(&children, rng)];
                }
                path.push(Step::Key(k.clone()));
                node = v;
            }
            Value::Array(items) if !items.is_empty() => {
                let i = rng.below(items.len());
                path.push(Step::Index(i));
                node = &items[i];
            }
            _ => return path,
        }
    }
}

fn node_mut<'a>(root: &'a mut Value, path: &[Step]) -> &'a mut Value {
    let mut node = root;
    for step in path {
        node = match step {
            Step::Key(k) => node.get_mut(k.as_str()).unwrap(),
            Step::Index(i) => node.get_mut(*i).unwrap(),
        };
    }
    node
}

/// Numbers at and past every edge a field can have.
fn interesting_number(rng: &mut Rng) -> Value {
    let pool = [
        json!(0),
        json!(-1),
        json!(1),
        json!(2),
        json!(-2),
        json!(5),
        json!(6),
        json!(63),
        json!(64),
        json!(65),
        json!(255),
        json!(256),
        json!(1000),
        json!(-1000),
        json!(1001),
        json!(65535),
        json!(65536),
        json!(262144),
        json!(999_999_999),
        json!(1_000_000_000),
        json!(i32::MAX),
        json!(i32::MIN),
        json!(u32::MAX),
        json!(u32::MAX as u64 + 1),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(9_007_199_254_740_993u64),
        json!(1.5),
        json!(-0.0),
        json!(1e308),
        json!(-1e308),
        json!(f64::MIN_POSITIVE),
    ];
    rng.pick(&pool).clone()
}

fn interesting_string(rng: &mut Rng, dict: &Dictionary) -> Value {
    let fixed = [
        "",
        "/",
        ".",
        "..",
        "../",
        "../../../../etc",
        "/../../../../etc/passwd",
        "rootfs/../..",
        "/proc/self/fd/3",
        "/proc/1/ns/net",
        "/dev/null",
        "relative/path",
        "a\u{0}b",
        "/proc/sy\u{0}s",
        "\u{0}",
        "💥",
        "\u{202e}evil",
        " ",
        "-1",
        "0x10",
        "1e3",
        "=",
        "NAME=",
        "=value",
        "%s%n%x",
        "0-",
        "-",
        "3-1",
        "0-4294967295",
        "1,,2",
        "5000",
        "k",
        "1GB",
        "0B",
        "18446744073709551616",
        "a:b:c",
        "slice:prefix:name",
        "max",
        "8:0 rbps=1",
        "é",
    ];
    match rng.below(6) {
        0 | 1 => Value::String(rng.pick(&fixed).to_string()),
        2 | 3 => Value::String(rng.pick(&dict.strings).clone()),
        4 => {
            // Long: past PATH_MAX, NAME_MAX, HOST_NAME_MAX, a page.
            let len = *rng.pick(&[65, 256, 4097, 70_000]);
            let unit = rng.pick(&["a", "/", "é", "../", "a/"]);
            Value::String(unit.repeat(len / unit.len() + 1))
        }
        _ => {
            // A dictionary string with a twist.
            let base = rng.pick(&dict.strings).clone();
            let twisted = match rng.below(4) {
                0 => format!("{base}\u{0}"),
                1 => format!("../{base}"),
                2 => base.to_uppercase(),
                _ => format!("{base}/.."),
            };
            Value::String(twisted)
        }
    }
}

fn random_value(rng: &mut Rng, dict: &Dictionary, depth: usize) -> Value {
    match rng.below(if depth > 2 { 5 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.one_in(2)),
        2 => interesting_number(rng),
        3 | 4 => interesting_string(rng, dict),
        5 => {
            let key = rng.pick(&dict.keys).clone();
            match dict.by_key.get(&key) {
                Some(values) if !values.is_empty() => rng.pick(values).clone(),
                _ => Value::Null,
            }
        }
        6 => Value::Array(
            (0..rng.below(3))
                .map(|_| random_value(rng, dict, depth + 1))
                .collect(),
        ),
        _ => {
            let mut map = Map::new();
            for _ in 0..rng.below(3) {
                map.insert(
                    rng.pick(&dict.keys).clone(),
                    random_value(rng, dict, depth + 1),
                );
            }
            Value::Object(map)
        }
    }
}

/// The same value as another JSON type, where that means something
/// (1024 ↔ "1024", x ↔ [x]), else any value.
fn change_type(v: &Value, rng: &mut Rng, dict: &Dictionary) -> Value {
    match v {
        Value::Number(n) => match rng.below(3) {
            0 => Value::String(n.to_string()),
            1 => json!([n]),
            _ => Value::Bool(n.as_i64() != Some(0)),
        },
        Value::String(s) => match s.parse::<f64>() {
            Ok(_) if rng.one_in(2) => serde_json::from_str(s).unwrap_or(Value::Null),
            _ => match rng.below(3) {
                0 => json!([s]),
                1 => json!({ s.clone(): s }),
                _ => interesting_number(rng),
            },
        },
        Value::Array(items) if !items.is_empty() && rng.one_in(2) => items[0].clone(),
        Value::Object(_) if rng.one_in(2) => Value::Array(vec![v.clone()]),
        _ => random_value(rng, dict, 0),
    }
}

/// One structural mutation of `root`.
pub fn mutate_value(root: &mut Value, rng: &mut Rng, dict: &Dictionary, seeds: &[Value]) {
    let path = random_path(root, rng);
    match rng.below(12) {
        // Remove the node from its parent.
        0 | 1 if !path.is_empty() => {
            let (last, parent_path) = path.split_last().unwrap();
            match (node_mut(root, parent_path), last) {
                (Value::Object(map), Step::Key(k)) => {
                    map.shift_remove(k.as_str());
                }
                (Value::Array(items), Step::Index(i)) => {
                    items.remove(*i);
                }
                _ => {}
            }
        }
        2 => {
            let node = node_mut(root, &path);
            *node = change_type(node, rng, dict);
        }
        3 => *node_mut(root, &path) = interesting_number(rng),
        4 => *node_mut(root, &path) = interesting_string(rng, dict),
        // A value this key has somewhere in the corpus (a wrong enum, a
        // structure from another engine's config).
        5 => {
            if let Some(Step::Key(k)) = path.last() {
                if let Some(values) = dict.by_key.get(k) {
                    *node_mut(root, &path) = rng.pick(values).clone();
                    return;
                }
            }
            *node_mut(root, &path) = random_value(rng, dict, 0);
        }
        // A key added to an object, with a value it has elsewhere.
        6 => {
            if let Value::Object(map) = node_mut(root, &path) {
                let key = rng.pick(&dict.keys).clone();
                let value = match dict.by_key.get(&key) {
                    Some(values) if !rng.one_in(4) => rng.pick(values).clone(),
                    _ => random_value(rng, dict, 0),
                };
                map.insert(key, value);
            }
        }
        // Arrays: duplicate, grow long, reverse, truncate.
        7 => {
            if let Value::Array(items) = node_mut(root, &path) {
                if items.is_empty() {
                    items.push(random_value(rng, dict, 0));
                } else {
                    let i = rng.below(items.len());
                    let copies = *rng.pick(&[1usize, 2, 341, 2000]);
                    let item = items[i].clone();
                    items.extend(std::iter::repeat(item).take(copies));
                }
            }
        }
        8 => {
            if let Value::Array(items) = node_mut(root, &path) {
                match rng.below(2) {
                    0 => items.reverse(),
                    _ => items.truncate(rng.below(items.len() + 1)),
                }
            }
        }
        // Deep nesting around the node.
        9 => {
            let node = node_mut(root, &path);
            let depth = *rng.pick(&[2usize, 20, 126, 127, 128, 200]);
            let mut v = node.take();
            for _ in 0..depth {
                v = if rng.one_in(2) {
                    json!([v])
                } else {
                    json!({ "a": v })
                };
            }
            *node = v;
        }
        // Splice a whole subtree of another seed at the same path, or the
        // other seed whole (changes everything below).
        10 => {
            let other = rng.pick(seeds);
            let mut src = other;
            for step in &path {
                let next = match step {
                    Step::Key(k) => src.get(k.as_str()),
                    Step::Index(i) => src.get(*i),
                };
                match next {
                    Some(n) => src = n,
                    None => break,
                }
            }
            *node_mut(root, &path) = src.clone();
        }
        _ => *node_mut(root, &path) = random_value(rng, dict, 0),
    }
}

/// A mutation of the serialized bytes: what no serde_json::Value can hold.
pub fn mutate_bytes(bytes: &mut Vec<u8>, rng: &mut Rng) {
    if bytes.is_empty() {
        bytes.extend_from_slice(b"{}");
    }
    let at = rng.below(bytes.len());
    // Just inside a string: right after a quote.
    let in_string = bytes[at..]
        .iter()
        .position(|b| *b == b'"')
        .map(|p| at + p + 1)
        .unwrap_or(at);
    match rng.below(9) {
        0 => bytes.truncate(at),
        1 => {
            let pool: [&[u8]; 9] = [
                b"\\u0000",
                b"\\ud800",
                b"\\udfff\\ud800",
                b"\xff",
                b"\xc3",
                b"\xed\xa0\x80",
                b"\xf4\x90\x80\x80",
                b"\\",
                b"\"",
            ];
            let insert = *rng.pick(&pool);
            bytes.splice(in_string..in_string, insert.iter().copied());
        }
        2 => bytes[at] ^= 1 << rng.below(8),
        3 => {
            let end = (at + rng.below(64)).min(bytes.len());
            bytes.drain(at..end);
        }
        4 => {
            let end = (at + rng.below(256)).min(bytes.len());
            let chunk = bytes[at..end].to_vec();
            bytes.splice(at..at, chunk);
        }
        5 => {
            let prefix = "[".repeat(*rng.pick(&[127usize, 128, 129, 5000]));
            bytes.splice(0..0, prefix.into_bytes());
        }
        6 => {
            bytes.splice(at..at, b"0".repeat(400));
        }
        7 => {
            let tails: [&[u8]; 4] = [b" x", b"{}", b"\0", b"]"];
            let tail = *rng.pick(&tails);
            bytes.extend_from_slice(tail);
        }
        _ => {
            // A key written twice: the last one wins, or it is refused.
            let dup = b"\"ociVersion\":\"9.9.9\",";
            if let Some(p) = bytes.iter().position(|b| *b == b'{') {
                bytes.splice(p + 1..p + 1, dup.iter().copied());
            }
        }
    }
}

/// Stacked mutations of one seed, serialized (compact or pretty), and
/// sometimes their bytes mutated too.
pub struct Mutator {
    pub rng: Rng,
    pub dict: Dictionary,
    pub seeds: Vec<Value>,
}

impl Mutator {
    /// `seeds` feed the dictionary and the splices.
    pub fn new(seed: u64, seeds: Vec<Value>) -> Mutator {
        Mutator {
            rng: Rng::new(seed),
            dict: Dictionary::new(&seeds),
            seeds,
        }
    }

    /// A mutated copy of `base`, as a value (before any byte mutation).
    pub fn mutate_value(&mut self, base: &Value) -> Value {
        let mut v = base.clone();
        // Mostly one mutation: each more is a further chance that the
        // input stops at an early check.
        let n = *self.rng.pick(&[1, 1, 1, 1, 2, 2, 3, 4]);
        for _ in 0..n {
            mutate_value(&mut v, &mut self.rng, &self.dict, &self.seeds);
            // Grown arrays of grown arrays multiply (2000 × 2000 × …):
            // past this many nodes the input is dropped before it is
            // serialized, which alone could take longer than the budget.
            if size(&v) > MAX_NODES {
                return base.clone();
            }
        }
        v
    }

    /// `value` serialized, its bytes mutated one time in six.
    pub fn serialize(&mut self, value: &Value) -> Vec<u8> {
        let mut bytes = if self.rng.one_in(2) {
            serde_json::to_vec(value).unwrap()
        } else {
            serde_json::to_vec_pretty(value).unwrap()
        };
        if self.rng.one_in(6) {
            mutate_bytes(&mut bytes, &mut self.rng);
        }
        bytes
    }
}
