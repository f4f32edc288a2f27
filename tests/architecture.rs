//! The shape of `src/` that docs/ARCHITECTURE.md promises, checked on every
//! `make test`: no file over 600 lines, no function over 120, and no circle
//! in the import graph (between top-level modules, and between files).
//!
//! The source is read as text: comments, strings and char literals are blanked
//! first, then `fn` bodies are measured by their braces and `crate::`,
//! `super::` and child-module paths are resolved to the file that defines them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 600;
const MAX_FN_LINES: usize = 120;

/// One source file: its module path (`cgroups::v2::memory`), its path from
/// the crate root, its length, and its code with comments and literals
/// blanked.
struct Source {
    module: String,
    path: PathBuf,
    lines: usize,
    code: String,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files
        .into_iter()
        .filter_map(|path| {
            let rel = path.strip_prefix(&root).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            // The binaries' roots are not modules of the library.
            if matches!(parts[0].as_str(), "main" | "lib" | "bin") {
                return None;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            Some(Source {
                module: parts.join("::"),
                lines: text.lines().count(),
                code: blank_literals(&text),
                path: Path::new("src").join(path.strip_prefix(&root).unwrap()),
            })
        })
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `text` with every comment, string and char literal replaced by spaces
/// (newlines kept, so line numbers stay right).
fn blank_literals(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && (i == 0 || !(b[i - 1].is_alphanumeric() || b[i - 1] == '_'))
            && raw_string_hashes(&b[i + 1..]).is_some()
        {
            let hashes = raw_string_hashes(&b[i + 1..]).unwrap();
            let close: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat('#').take(hashes))
                .collect();
            // r, the hashes and the opening quote
            let start = i + 2 + hashes;
            let mut j = start;
            while j < b.len() && !b[j..].starts_with(&close) {
                j += 1;
            }
            out.push('"');
            out.extend(
                b[i + 1..(j + close.len()).min(b.len())]
                    .iter()
                    .map(|&c| blank(c)),
            );
            out.pop();
            out.push('"');
            i = j + close.len();
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if c == '\'' && next == Some('\\') {
            // '\n', '\'', '\u{..}'
            let mut j = i + 2;
            while j < b.len() && b[j] != '\'' {
                j += 1;
            }
            out.push_str(&" ".repeat(j + 1 - i));
            i = j + 1;
        } else if c == '\'' && b.get(i + 2) == Some(&'\'') {
            out.push_str("   ");
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// For the text after an `r`: the number of `#` before a `"`, if it opens a
/// raw string.
fn raw_string_hashes(rest: &[char]) -> Option<usize> {
    let hashes = rest.iter().take_while(|&&c| c == '#').count();
    (rest.get(hashes) == Some(&'"')).then_some(hashes)
}

/// The code of a file without its `#[cfg(test)]` modules: tests may reach
/// anywhere, and they are measured on their own.
fn without_test_modules(code: &str) -> String {
    let mut out = code.to_string();
    while let Some(at) = out.find("#[cfg(test)]") {
        let after = &out[at..];
        let Some(open) = after.find('{') else { break };
        let semi = after.find(';').unwrap_or(usize::MAX);
        if semi < open {
            // `#[cfg(test)] mod tests;` or a single item: blank the attribute.
            out.replace_range(at..at + "#[cfg(test)]".len(), &" ".repeat(12));
            continue;
        }
        let end = at + open + matching_brace(&after[open..]).unwrap_or(after.len() - open);
        let blanked: String = out[at..end]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        out.replace_range(at..end, &blanked);
    }
    out
}

/// The byte length up to and including the brace that closes the `{` at the
/// start of `text`.
fn matching_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// (name, first line, length in lines) of every `fn` with a body.
fn functions(code: &str) -> Vec<(String, usize, usize)> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    let mut from = 0;
    while let Some(at) = code[from..].find("fn ").map(|i| from + i) {
        from = at + 3;
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
            continue;
        }
        let name: String = code[at + 3..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        let rest = &code[at..];
        let (Some(open), semi) = (rest.find('{'), rest.find(';')) else {
            continue;
        };
        if semi.is_some_and(|s| s < open) {
            continue; // a declaration without a body
        }
        let Some(len) = matching_brace(&rest[open..]) else {
            continue;
        };
        let first = code[..at].matches('\n').count() + 1;
        let lines = rest[..open + len].matches('\n').count() + 1;
        found.push((name, first, lines));
    }
    found
}

/// Paths `prefix::a::b` in `code`: the words after each `prefix::`.
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find(prefix).map(|i| from + i) {
        from = at + prefix.len();
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut parts = Vec::new();
        let mut rest = &code[at + prefix.len()..];
        loop {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if word.is_empty() {
                break;
            }
            rest = &rest[word.len()..];
            parts.push(word);
            match rest.strip_prefix("::") {
                Some(r) => rest = r,
                None => break,
            }
        }
        out.push(parts);
    }
    out
}

/// The file-level import graph: module → modules whose items it names.
fn file_graph(files: &[Source]) -> BTreeMap<String, BTreeSet<String>> {
    let known: BTreeSet<&str> = files.iter().map(|s| s.module.as_str()).collect();
    // The longest known module that is a prefix of `parts`.
    let resolve = |parts: &[String]| -> Option<String> {
        (1..=parts.len())
            .rev()
            .map(|n| parts[..n].join("::"))
            .find(|m| known.contains(m.as_str()))
    };
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let code = without_test_modules(&file.code);
        let here: Vec<String> = file.module.split("::").map(String::from).collect();
        let mut targets = BTreeSet::new();
        for parts in paths_after(&code, "crate::") {
            targets.extend(resolve(&parts));
        }
        // `super::super::x`: each super is one level up from this file.
        for parts in paths_after(&code, "super::") {
            let ups = 1 + parts.iter().take_while(|p| *p == "super").count();
            let base = &here[..here.len().saturating_sub(ups)];
            let rest = &parts[ups - 1..];
            let full: Vec<String> = base.iter().chain(rest).cloned().collect();
            targets.extend(resolve(&full));
        }
        // A parent naming its child module: `child::x` or `use child::…`.
        for child in files.iter().filter(|c| {
            c.module
                .strip_prefix(&format!("{}::", file.module))
                .is_some_and(|rest| !rest.contains("::"))
        }) {
            let name = child.module.rsplit("::").next().unwrap();
            let named = !paths_after(&code, &format!("{name}::")).is_empty()
                || code.contains(&format!("use {name};"))
                || code.contains(&format!("use self::{name}"));
            if named {
                targets.insert(child.module.clone());
            }
        }
        targets.remove(&file.module);
        graph.insert(file.module.clone(), targets);
    }
    graph
}

/// Every strongly connected component with more than one node (a circle).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Kosaraju: order by finish time, then walk the reversed graph.
    let nodes: Vec<&String> = graph.keys().collect();
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    for &n in &nodes {
        let mut stack = vec![(n.clone(), false)];
        while let Some((v, done)) = stack.pop() {
            if done {
                order.push(v);
                continue;
            }
            if !seen.insert(v.clone()) {
                continue;
            }
            stack.push((v.clone(), true));
            for w in graph.get(&v).into_iter().flatten() {
                if !seen.contains(w) {
                    stack.push((w.clone(), false));
                }
            }
        }
    }
    let mut reversed: BTreeMap<&String, Vec<&String>> = BTreeMap::new();
    for (v, ws) in graph {
        for w in ws {
            reversed.entry(w).or_default().push(v);
        }
    }
    let mut assigned = BTreeSet::new();
    let mut out = Vec::new();
    for v in order.iter().rev() {
        if assigned.contains(v) {
            continue;
        }
        let mut comp = Vec::new();
        let mut stack = vec![v];
        assigned.insert(v.clone());
        while let Some(x) = stack.pop() {
            comp.push(x.clone());
            for &w in reversed.get(x).into_iter().flatten() {
                if assigned.insert(w.clone()) {
                    stack.push(w);
                }
            }
        }
        if comp.len() > 1 {
            comp.sort();
            out.push(comp);
        }
    }
    out
}

#[test]
fn no_source_file_is_over_the_limit() {
    let long: Vec<String> = sources()
        .iter()
        .filter(|s| s.lines > MAX_FILE_LINES)
        .map(|s| format!("{}: {} lines", s.path.display(), s.lines))
        .collect();
    assert!(long.is_empty(), "over {MAX_FILE_LINES} lines: {long:#?}");
}

#[test]
fn no_function_is_over_the_limit() {
    let mut long = Vec::new();
    for s in sources() {
        for (name, line, lines) in functions(&s.code) {
            if lines > MAX_FN_LINES {
                long.push(format!(
                    "{}:{line} fn {name}: {lines} lines",
                    s.path.display()
                ));
            }
        }
    }
    assert!(long.is_empty(), "over {MAX_FN_LINES} lines: {long:#?}");
}

#[test]
fn the_file_import_graph_has_no_circle() {
    let found = circles(&file_graph(&sources()));
    assert!(found.is_empty(), "files importing each other: {found:#?}");
}

#[test]
fn the_module_import_graph_has_no_circle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in file_graph(&sources()) {
        let top = |m: &str| m.split("::").next().unwrap().to_string();
        let entry = graph.entry(top(&from)).or_default();
        entry.extend(tos.iter().map(|t| top(t)).filter(|t| *t != top(&from)));
    }
    let found = circles(&graph);
    assert!(found.is_empty(), "modules importing each other: {found:#?}");
}

/// The checker itself: a circle, a long function and a string full of
/// braces are seen as what they are.
#[test]
fn the_checker_sees_circles_functions_and_literals() {
    let code = blank_literals(
        "fn a() {\n    let s = \"}}}\";\n    let r = r#\"{\"#;\n    let c = '}';\n    // }\n}\nfn b<'x>(v: &'x str) {\n}\n",
    );
    let fns = functions(&code);
    assert_eq!(
        fns,
        vec![("a".to_string(), 1, 6), ("b".to_string(), 7, 2)],
        "{code}"
    );
    let mut g = BTreeMap::new();
    g.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    g.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    g.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    g.insert("d".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(circles(&g), vec![vec!["a", "b", "c"]]);
    assert_eq!(
        paths_after("use crate::cgroups::v2::{a, b}; x::crate::no", "crate::"),
        vec![vec!["cgroups", "v2"]]
    );
}
