//! `org.systemd.property.NAME` annotations: unit properties an engine
//! passes through, their values in GVariant text form (`true`,
//! `uint64 15000000`, `'mixed'`, `['a.service']`), as runc reads them. A
//! name ending in a lower-case letter and `Sec` takes seconds and is sent
//! as the `USec` property.

use std::collections::HashMap;

use anyhow::{bail, Result};

use super::properties::{Property, Value};

pub const PREFIX: &str = "org.systemd.property.";

/// Every property annotation of `annotations`, sorted by name.
pub fn properties(annotations: &HashMap<String, String>) -> Result<Vec<Property>> {
    let mut keys: Vec<_> = annotations
        .keys()
        .filter(|k| k.starts_with(PREFIX))
        .collect();
    keys.sort();
    keys.into_iter()
        .map(|key| property(key, &annotations[key]))
        .collect()
}

fn property(key: &str, text: &str) -> Result<Property> {
    let field = format!("annotations[{key:?}]");
    let name = &key[PREFIX.len()..];
    if name.len() < 3 || !name.bytes().all(|b| b.is_ascii_alphabetic()) {
        bail!("{field}: {name:?} is not a systemd property name (3 or more ASCII letters)");
    }
    let value = parse(text).map_err(|why| anyhow::anyhow!("{field} {text:?}: {why}"))?;
    let seconds = name
        .strip_suffix("Sec")
        .filter(|stem| stem.ends_with(|c: char| c.is_ascii_lowercase()));
    let (name, value) = match seconds {
        Some(stem) => {
            let usec = to_usec(&value).map_err(|why| anyhow::anyhow!("{field} {text:?}: {why}"))?;
            (format!("{stem}USec"), Value::U64(usec))
        }
        None => match value {
            Parsed::Value(v) => (name.to_string(), v),
            Parsed::Double(_) => bail!(
                "{field} {text:?}: a double is only taken for a property in seconds (NAMESec)"
            ),
        },
    };
    Ok(Property { name, value, field })
}

#[derive(Debug, PartialEq)]
enum Parsed {
    Value(Value),
    Double(f64),
}

fn to_usec(v: &Parsed) -> std::result::Result<u64, String> {
    let secs: f64 = match v {
        Parsed::Double(d) => *d,
        Parsed::Value(Value::Byte(n)) => f64::from(*n),
        Parsed::Value(Value::U16(n)) => f64::from(*n),
        Parsed::Value(Value::I16(n)) => f64::from(*n),
        Parsed::Value(Value::U32(n)) => f64::from(*n),
        Parsed::Value(Value::I32(n)) => f64::from(*n),
        Parsed::Value(Value::U64(n)) => return n.checked_mul(1_000_000).ok_or("too large".into()),
        Parsed::Value(Value::I64(n)) => {
            let n = u64::try_from(*n).map_err(|_| "seconds must not be negative".to_string())?;
            return n.checked_mul(1_000_000).ok_or("too large".into());
        }
        _ => return Err("a property in seconds takes a number".into()),
    };
    if !(0.0..=1.8e13).contains(&secs) {
        return Err("seconds must be between 0 and 1.8e13".into());
    }
    Ok((secs * 1e6).round() as u64)
}

/// The GVariant text forms engines use: booleans, numbers (a bare integer
/// is an int32, a type keyword or `@t`-style prefix names another),
/// doubles, quoted strings, and arrays of strings or of unsigned integers.
fn parse(text: &str) -> std::result::Result<Parsed, String> {
    let t = text.trim();
    match t {
        "true" => return Ok(Parsed::Value(Value::Bool(true))),
        "false" => return Ok(Parsed::Value(Value::Bool(false))),
        _ => {}
    }
    if let Some(inner) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return parse_array(inner, None);
    }
    if let Some(rest) = t.strip_prefix("@as") {
        let inner = rest
            .trim()
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'));
        return parse_array(inner.ok_or("@as takes an array")?, Some("s"));
    }
    if let Some(rest) = t.strip_prefix("@au") {
        let inner = rest
            .trim()
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'));
        return parse_array(inner.ok_or("@au takes an array")?, Some("u"));
    }
    if t.starts_with('\'') || t.starts_with('"') {
        return unquote(t).map(|s| Parsed::Value(Value::Str(s)));
    }
    let (kind, number) = match t.split_once(char::is_whitespace) {
        Some((kind, n)) => (kind.strip_prefix('@').unwrap_or(kind), n.trim()),
        None => match t.strip_prefix('@').and_then(|r| r.split_at_checked(1)) {
            Some((k, n)) => (k, n.trim()),
            None => ("", t),
        },
    };
    let bad = || {
        format!(
            "{number:?} is not a {}",
            if kind.is_empty() { "value" } else { kind }
        )
    };
    let v = match kind {
        "uint64" | "t" => Value::U64(number.parse().map_err(|_| bad())?),
        "int64" | "x" => Value::I64(number.parse().map_err(|_| bad())?),
        "uint32" | "u" => Value::U32(number.parse().map_err(|_| bad())?),
        "int32" | "i" => Value::I32(number.parse().map_err(|_| bad())?),
        "uint16" | "q" => Value::U16(number.parse().map_err(|_| bad())?),
        "int16" | "n" => Value::I16(number.parse().map_err(|_| bad())?),
        "byte" | "y" => Value::Byte(number.parse().map_err(|_| bad())?),
        "double" | "d" => return number.parse().map(Parsed::Double).map_err(|_| bad()),
        "" if number.contains(['.', 'e', 'E']) => {
            return number.parse().map(Parsed::Double).map_err(|_| bad())
        }
        "" => Value::I32(number.parse().map_err(|_| bad())?),
        other => {
            return Err(format!(
                "{other:?} is not a GVariant type this runtime reads"
            ))
        }
    };
    Ok(Parsed::Value(v))
}

fn parse_array(inner: &str, kind: Option<&str>) -> std::result::Result<Parsed, String> {
    let items = split_items(inner)?;
    let strings = match kind {
        Some(k) => k == "s",
        None => items.first().map_or(true, |i| i.starts_with(['\'', '"'])),
    };
    if strings {
        let all: std::result::Result<Vec<_>, _> = items.iter().map(|i| unquote(i)).collect();
        return Ok(Parsed::Value(Value::Strs(all?)));
    }
    let nums: std::result::Result<Vec<u32>, _> = items
        .iter()
        .map(|i| {
            let n = i.strip_prefix("uint32").unwrap_or(i).trim();
            n.parse::<u32>()
                .map_err(|_| format!("{i:?} is not an unsigned 32-bit number"))
        })
        .collect();
    Ok(Parsed::Value(Value::U32s(nums?)))
}

/// The items of an array body, split at commas outside quotes.
fn split_items(inner: &str) -> std::result::Result<Vec<String>, String> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in inner.chars() {
        match quote {
            Some(q) => {
                cur.push(c);
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == ',' => items.push(std::mem::take(&mut cur).trim().to_string()),
            None => {
                if c == '\'' || c == '"' {
                    quote = Some(c);
                }
                cur.push(c);
            }
        }
    }
    if quote.is_some() {
        return Err("a string is not closed".into());
    }
    let last = cur.trim().to_string();
    if !last.is_empty() || !items.is_empty() {
        items.push(last);
    }
    if items.iter().any(String::is_empty) {
        return Err("an array item is empty".into());
    }
    Ok(items)
}

/// A single- or double-quoted GVariant string, backslash escapes undone.
fn unquote(t: &str) -> std::result::Result<String, String> {
    let q = t.chars().next().ok_or("empty string")?;
    let body = t
        .strip_prefix(q)
        .and_then(|r| r.strip_suffix(q))
        .filter(|_| t.len() >= 2)
        .ok_or_else(|| format!("{t:?} is not a quoted string"))?;
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(c) => out.push(c),
                None => return Err(format!("{t:?} ends in a lone backslash")),
            },
            c if c == q => return Err(format!("{t:?} has an unescaped {q} inside")),
            '\0' => return Err("a string holds a NUL byte".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Result<Vec<(String, Value)>> {
        let map = pairs
            .iter()
            .map(|(k, v)| (format!("{PREFIX}{k}"), v.to_string()))
            .chain([("other".to_string(), "ignored".to_string())])
            .collect();
        Ok(properties(&map)?
            .into_iter()
            .map(|p| (p.name, p.value))
            .collect())
    }

    #[test]
    fn values_engines_pass() {
        assert_eq!(
            props(&[
                ("CollectMode", "'inactive-or-failed'"),
                ("DefaultDependencies", "true"),
                ("After", "['crio.service', \"a b.service\"]"),
                ("TasksMax", "uint64 50"),
                ("CPUWeight", "@t 10"),
                ("Nice", "5"),
                ("Empty", "@as []"),
            ])
            .unwrap(),
            vec![
                (
                    "After".into(),
                    Value::Strs(vec!["crio.service".into(), "a b.service".into()])
                ),
                ("CPUWeight".into(), Value::U64(10)),
                (
                    "CollectMode".into(),
                    Value::Str("inactive-or-failed".into())
                ),
                ("DefaultDependencies".into(), Value::Bool(true)),
                ("Empty".into(), Value::Strs(vec![])),
                ("Nice".into(), Value::I32(5)),
                ("TasksMax".into(), Value::U64(50)),
            ]
        );
    }

    #[test]
    fn seconds_become_microseconds() {
        assert_eq!(
            props(&[
                ("TimeoutStopSec", "15"),
                ("RuntimeMaxSec", "1.5"),
                ("TimeoutStopUSec", "uint64 7")
            ])
            .unwrap(),
            vec![
                ("RuntimeMaxUSec".into(), Value::U64(1_500_000)),
                ("TimeoutStopUSec".into(), Value::U64(15_000_000)),
                ("TimeoutStopUSec".into(), Value::U64(7)),
            ]
        );
    }

    #[test]
    fn bad_annotations_name_the_key() {
        for (name, value, why) in [
            ("Ab", "true", "not a systemd property name"),
            ("Memory-Max", "1", "not a systemd property name"),
            ("KillMode", "'mixed", "not a quoted string"),
            ("TasksMax", "uint64 -1", "is not a uint64"),
            ("TasksMax", "float 1", "not a GVariant type"),
            ("After", "['a',]", "array item is empty"),
            ("TimeoutStopSec", "'x'", "takes a number"),
            ("TimeoutStopSec", "-1", "between 0"),
            ("CPUWeight", "1.5", "only taken for a property in seconds"),
        ] {
            let err = props(&[(name, value)]).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("annotations[\"{PREFIX}{name}\"]")),
                "{name}={value}: {err}"
            );
            assert!(err.contains(why), "{name}={value}: {err}");
        }
    }
}
