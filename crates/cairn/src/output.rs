//! Writing results: tables that fit the terminal, CSV, JSON, and records pretty-printed in the
//! order AWS wrote them.

use std::io::{self, Write};

use cairn_model::record;
use cairn_store::search::Hit;
use serde_json::Value;

use crate::cli::Format;

/// Default table columns: (header, field).
pub const DEFAULT_COLUMNS: &[(&str, &str)] = &[
    ("time", "eventTime"),
    ("principal", "principal"),
    ("event", "eventName"),
    ("source", "eventSource"),
    ("region", "awsRegion"),
    ("account", "recipientAccountId"),
    ("ip", "sourceIPAddress"),
    ("error", "errorCode"),
];

/// A column's value in a record; derived names are computed as the index computes them.
pub fn field_value(rec: &Value, hit: &Hit, field: &str) -> String {
    let field = field.strip_prefix("json.").unwrap_or(field);
    match field {
        "principal" => record::principal(rec).unwrap_or_default(),
        "username" => record::event_history_username(rec).unwrap_or_default(),
        "account" => record::account(rec).unwrap_or_default().to_string(),
        "cairn.object" => hit.object.clone(),
        "cairn.integrity" => hit.integrity_name().to_string(),
        "eventSource" => {
            let s = record::get_str(rec, field).unwrap_or_default();
            s.strip_suffix(".amazonaws.com").unwrap_or(s).to_string()
        }
        _ => match record::get(rec, field) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        },
    }
}

/// Prints hits in a format.
pub fn print_hits(
    out: &mut impl Write,
    hits: &[Hit],
    fields: Option<&[String]>,
    format: Format,
) -> io::Result<()> {
    let columns: Vec<(String, String)> = match fields {
        Some(f) => f.iter().map(|f| (f.clone(), f.clone())).collect(),
        None => DEFAULT_COLUMNS
            .iter()
            .map(|(h, f)| (h.to_string(), f.to_string()))
            .collect(),
    };
    match format {
        Format::Json | Format::Jsonl => {
            let one_line = format == Format::Jsonl;
            if !one_line {
                writeln!(out, "[")?;
            }
            for (i, hit) in hits.iter().enumerate() {
                if fields.is_some() {
                    let rec = hit.record();
                    let values: Vec<Value> = columns
                        .iter()
                        .map(|(_, f)| Value::String(field_value(&rec, hit, f)))
                        .collect();
                    let obj = ordered_object(columns.iter().map(|(h, _)| h.as_str()), &values);
                    let text = if one_line {
                        obj
                    } else {
                        pretty(obj.as_bytes(), 1)
                    };
                    out.write_all(text.as_bytes())?;
                } else if one_line {
                    out.write_all(&hit.raw)?;
                } else {
                    out.write_all(pretty(&hit.raw, 1).as_bytes())?;
                }
                if !one_line && i + 1 < hits.len() {
                    write!(out, ",")?;
                }
                writeln!(out)?;
            }
            if !one_line {
                writeln!(out, "]")?;
            }
        }
        Format::Csv => {
            let header: Vec<&str> = columns.iter().map(|(h, _)| h.as_str()).collect();
            writeln!(
                out,
                "{}",
                header
                    .iter()
                    .map(|h| csv_cell(h))
                    .collect::<Vec<_>>()
                    .join(",")
            )?;
            for hit in hits {
                let rec = hit.record();
                let row: Vec<String> = columns
                    .iter()
                    .map(|(_, f)| csv_cell(&field_value(&rec, hit, f)))
                    .collect();
                writeln!(out, "{}", row.join(","))?;
            }
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = hits
                .iter()
                .map(|hit| {
                    let rec = hit.record();
                    columns
                        .iter()
                        .map(|(_, f)| field_value(&rec, hit, f))
                        .collect()
                })
                .collect();
            let header: Vec<String> = columns.iter().map(|(h, _)| h.to_uppercase()).collect();
            print_table(out, &header, &rows)?;
        }
    }
    Ok(())
}

/// Prints rows of named columns in a format (`top`, `timeline`): JSON objects, CSV, or a table.
pub fn print_rows(
    out: &mut impl Write,
    columns: &[&str],
    rows: &[Vec<Value>],
    format: Format,
) -> io::Result<()> {
    let object = |row: &Vec<Value>| ordered_object(columns.iter().copied(), row);
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match format {
        Format::Json => {
            let all: Vec<String> = rows
                .iter()
                .map(|r| pretty(object(r).as_bytes(), 1))
                .collect();
            if all.is_empty() {
                return writeln!(out, "[]");
            }
            writeln!(out, "[\n{}\n]", all.join(",\n"))
        }
        Format::Jsonl => rows.iter().try_for_each(|r| writeln!(out, "{}", object(r))),
        Format::Csv => {
            writeln!(out, "{}", columns.join(","))?;
            rows.iter().try_for_each(|r| {
                writeln!(
                    out,
                    "{}",
                    r.iter()
                        .map(|v| csv_cell(&text(v)))
                        .collect::<Vec<_>>()
                        .join(",")
                )
            })
        }
        Format::Table => {
            let header: Vec<String> = columns.iter().map(|c| c.to_uppercase()).collect();
            let cells: Vec<Vec<String>> =
                rows.iter().map(|r| r.iter().map(text).collect()).collect();
            print_table(out, &header, &cells)
        }
    }
}

/// A JSON object with its keys in the given order (a `serde_json::Map` would sort them).
fn ordered_object<'a>(keys: impl Iterator<Item = &'a str>, values: &[Value]) -> String {
    let parts: Vec<String> = keys
        .zip(values)
        .map(|(k, v)| format!("{}:{v}", Value::String(k.to_string())))
        .collect();
    format!("{{{}}}", parts.join(","))
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The terminal's width when stdout is one.
pub fn terminal_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !io::stdout().is_terminal() {
        return None;
    }
    terminal_size::terminal_size().map(|(w, _)| w.0 as usize)
}

/// A plain table, shrinking the widest columns until it fits the terminal (when stdout is one).
pub fn print_table(
    out: &mut impl Write,
    header: &[String],
    rows: &[Vec<String>],
) -> io::Result<()> {
    let n = header.len();
    let clean = |s: &str| s.replace(['\n', '\r', '\t'], " ");
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| clean(c)).collect())
        .collect();
    let mut widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    if let Some(total) = terminal_width() {
        let gaps = 2 * n.saturating_sub(1);
        while widths.iter().sum::<usize>() + gaps > total {
            let (i, w) = widths
                .iter()
                .copied()
                .enumerate()
                .max_by_key(|(_, w)| *w)
                .expect("columns");
            if w <= 6 {
                break;
            }
            widths[i] = w - 1;
        }
    }
    let fit = |s: &str, w: usize| -> String {
        let len = s.chars().count();
        if len <= w {
            format!("{s:<w$}")
        } else {
            let cut: String = s.chars().take(w.saturating_sub(1)).collect();
            format!("{cut}…")
        }
    };
    let line = |cells: &[String]| -> String {
        let parts: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| fit(c, *w)).collect();
        parts.join("  ").trim_end().to_string()
    };
    writeln!(out, "{}", line(header))?;
    for r in &rows {
        writeln!(out, "{}", line(r))?;
    }
    Ok(())
}

/// Pretty-prints JSON bytes keeping every key in its place and every number and string as
/// written (a re-serialization would sort keys or reformat numbers). `indent` is the level
/// the value starts at.
pub fn pretty(raw: &[u8], indent: usize) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(raw.len() * 2);
    let mut level = indent;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.chars().peekable();
    let newline = |out: &mut String, level: usize| {
        out.push('\n');
        for _ in 0..level {
            out.push_str("  ");
        }
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                // Empty containers stay on one line.
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}') | Some(']')) {
                    out.push(chars.next().expect("peeked"));
                } else {
                    level += 1;
                    newline(&mut out, level);
                }
            }
            '}' | ']' => {
                level = level.saturating_sub(1);
                newline(&mut out, level);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, level);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    let pad: String = "  ".repeat(indent);
    format!("{pad}{out}")
}

/// Thousands separators for counts people read.
pub fn human(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes as MiB/GiB.
pub fn bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2} GiB", n / 1024.0 / 1024.0 / 1024.0)
    } else if n >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", n / 1024.0 / 1024.0)
    } else if n >= 1024.0 {
        format!("{:.1} KiB", n / 1024.0)
    } else {
        format!("{n} B")
    }
}

/// A one-line sparkline of counts.
pub fn sparkline(counts: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                ' '
            } else {
                BARS[((c * 7) / max) as usize]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_keeps_order_and_text() {
        let raw = br#"{"z":1,"a":{"b":[1, 2.50,"x,y:{}"],"e":{}},"s":"q\"}"}"#;
        let p = pretty(raw, 0);
        assert_eq!(
            p,
            "{\n  \"z\": 1,\n  \"a\": {\n    \"b\": [\n      1,\n      2.50,\n      \"x,y:{}\"\n    ],\n    \"e\": {}\n  },\n  \"s\": \"q\\\"}\"\n}"
        );
        let back: Value = serde_json::from_str(&p).unwrap();
        assert_eq!(back, serde_json::from_slice::<Value>(raw).unwrap());
    }

    #[test]
    fn helpers() {
        assert_eq!(human(1234567), "1,234,567");
        assert_eq!(csv_cell("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert_eq!(sparkline(&[0, 1, 7]).chars().count(), 3);
    }
}
