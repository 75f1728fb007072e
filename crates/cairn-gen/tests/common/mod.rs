//! Helpers shared by the integration tests: reading a generated tree back, independently of
//! the generator's own code.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

use serde_json::Value;
use serde_json::value::RawValue;

/// Every file under `dir`, by path relative to it (with `/`), with its bytes.
pub fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let p = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .unwrap()
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Inflates one gzip member, checking nothing follows it. Tests may use the uncapped decoder:
/// the input is our own output.
#[allow(clippy::disallowed_methods)]
pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut dec = flate2::read::GzDecoder::new(bytes);
    let mut out = Vec::new();
    dec.read_to_end(&mut out).unwrap();
    let mut all = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut all)
        .unwrap();
    assert_eq!(all, out, "a log file must be exactly one gzip member");
    out
}

#[derive(serde::Deserialize)]
pub struct LogFile<'a> {
    #[serde(borrow, rename = "Records")]
    pub records: Vec<&'a RawValue>,
}

/// `YYYYMMDDTHHmmZ` to Unix seconds.
pub fn parse_stamp(s: &str) -> i64 {
    assert_eq!(s.len(), 14, "{s}");
    assert_eq!(&s[8..9], "T");
    assert_eq!(&s[13..14], "Z");
    let f = |a: usize, b: usize| s[a..b].parse::<u8>().unwrap();
    let year: i32 = s[0..4].parse().unwrap();
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(f(4, 6)).unwrap(), f(6, 8))
            .unwrap();
    date.with_hms(f(9, 11), f(11, 13), 0)
        .unwrap()
        .assume_utc()
        .unix_timestamp()
}

/// RFC 3339 to Unix seconds.
pub fn parse_time(s: &str) -> i64 {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp()
}

// ---- a tiny evaluator of the story queries ----------------------------------------------------
// Enough of the Lucene syntax the stories use: `field:value`, `"quoted value"`, AND, OR,
// parentheses; a field is a JSON path whose arrays match if any element does; values compare
// exactly.

#[derive(Debug)]
pub enum Q {
    Term(String, String),
    And(Vec<Q>),
    Or(Vec<Q>),
}

fn tokens(q: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = q.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                cur.push('"');
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => cur.push(chars.next().unwrap()),
                        '"' => break,
                        c => cur.push(c),
                    }
                }
            }
            '(' | ')' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                out.push(c.to_string());
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

pub fn parse_query(q: &str) -> Q {
    let toks = tokens(q);
    let mut pos = 0;
    let q = parse_or(&toks, &mut pos);
    assert_eq!(pos, toks.len(), "trailing tokens in {toks:?}");
    q
}

fn parse_or(t: &[String], pos: &mut usize) -> Q {
    let mut parts = vec![parse_and(t, pos)];
    while t.get(*pos).map(String::as_str) == Some("OR") {
        *pos += 1;
        parts.push(parse_and(t, pos));
    }
    if parts.len() == 1 {
        parts.pop().unwrap()
    } else {
        Q::Or(parts)
    }
}

fn parse_and(t: &[String], pos: &mut usize) -> Q {
    let mut parts = vec![parse_atom(t, pos)];
    while t.get(*pos).map(String::as_str) == Some("AND") {
        *pos += 1;
        parts.push(parse_atom(t, pos));
    }
    if parts.len() == 1 {
        parts.pop().unwrap()
    } else {
        Q::And(parts)
    }
}

fn parse_atom(t: &[String], pos: &mut usize) -> Q {
    let tok = &t[*pos];
    *pos += 1;
    if tok == "(" {
        let q = parse_or(t, pos);
        assert_eq!(t[*pos], ")");
        *pos += 1;
        return q;
    }
    let (field, value) = tok.split_once(':').expect("field:value");
    Q::Term(field.to_string(), value.trim_start_matches('"').to_string())
}

fn leaf_matches(v: &Value, path: &[&str], want: &str) -> bool {
    match v {
        Value::Array(items) => items.iter().any(|i| leaf_matches(i, path, want)),
        _ if path.is_empty() => match v {
            Value::String(s) => s == want,
            Value::Bool(b) => b.to_string() == want,
            Value::Number(n) => n.to_string() == want,
            _ => false,
        },
        Value::Object(m) => m
            .get(path[0])
            .is_some_and(|c| leaf_matches(c, &path[1..], want)),
        _ => false,
    }
}

pub fn matches(q: &Q, record: &Value) -> bool {
    match q {
        Q::Term(f, v) => leaf_matches(record, &f.split('.').collect::<Vec<_>>(), v),
        Q::And(p) => p.iter().all(|q| matches(q, record)),
        Q::Or(p) => p.iter().any(|q| matches(q, record)),
    }
}
