//! Turning a decoded event into an index document.

use std::net::IpAddr;

use cairn_model::Event;
use cairn_model::record::{self, get_str};
use serde_json::Value;
use tantivy::TantivyDocument;
use tantivy::schema::OwnedValue;
use time::OffsetDateTime;

use crate::schema::{Fields, Source};

/// A document ready for the writer, with what deduplication needs.
#[derive(Debug)]
pub struct EventDoc {
    /// `eventID` as 128 bits.
    pub eid: u128,
    /// Days since the Unix epoch of `eventTime`: duplicates share their `eventTime`, so the
    /// dedupe cache is partitioned by day.
    pub day: i32,
    /// `eventTime` in Unix seconds.
    pub time: i64,
    pub doc: TantivyDocument,
    /// What the watcher noted about the event on the decode worker (see [`crate::ingest::Watch`]).
    pub note: Option<crate::ingest::Note>,
    /// What the decoder completed or read leniently, counted in the ingest report.
    pub repairs: cairn_model::Repairs,
}

/// `eventID` as 128 bits: the UUID itself, or a 128-bit FNV-1a hash of any other id.
pub fn event_id_bits(id: &str) -> u128 {
    if let Some(u) = parse_uuid(id) {
        return u;
    }
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    id.bytes()
        .fold(OFFSET, |h, b| (h ^ b as u128).wrapping_mul(PRIME))
}

fn parse_uuid(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.len() != 36 || b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    let mut v: u128 = 0;
    for (i, &c) in b.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            continue;
        }
        v = (v << 4) | (c as char).to_digit(16)? as u128;
    }
    Some(v)
}

fn date(t: OffsetDateTime) -> tantivy::DateTime {
    crate::lower::index_time(t)
}

/// Builds the document of one event read from `object`.
pub fn build(
    fields: &Fields,
    event: Event,
    object: &str,
    key_account: Option<&str>,
    ingested: OffsetDateTime,
) -> EventDoc {
    let Event {
        raw,
        value,
        id,
        time,
        repairs,
        ..
    } = event;
    let mut doc = TantivyDocument::new();
    let v = &value;
    let c = &fields.computed;

    doc.add_date(c.event_time, date(time));
    doc.add_date(c.ingest_time, date(ingested));
    doc.add_text(c.object, object);
    for (i, (path, _, _, source)) in crate::schema::HOT.iter().enumerate() {
        if *source == Source::Path
            && let Some(s) = get_str(v, path)
        {
            doc.add_text(fields.hot[i], s);
        }
    }
    if let Some(acct) = record::account(v).or(key_account) {
        doc.add_text(c.account, acct);
    }
    if let Some(ip) = get_str(v, "sourceIPAddress") {
        doc.add_text(c.source_ip, ip);
        if let Ok(addr) = ip.trim().parse::<IpAddr>() {
            doc.add_ip_addr(fields.ip, to_v6(addr));
        }
    }
    match v.get("readOnly") {
        Some(Value::Bool(b)) => doc.add_bool(c.read_only, *b),
        Some(Value::String(s)) if s == "true" || s == "false" => {
            doc.add_bool(c.read_only, s == "true")
        }
        _ => {}
    }
    for (typ, arn) in record::resources(v) {
        if let Some(t) = typ {
            doc.add_text(c.resource_type, t);
        }
        if let Some(a) = arn {
            doc.add_text(c.resource_arn, a);
        }
    }
    if let Some(p) = record::principal(v) {
        doc.add_text(c.principal, &p);
    }
    if let Some(u) = record::event_history_username(v) {
        doc.add_text(c.username, &u);
    }

    let mut text = String::with_capacity(raw.len());
    let mut path = String::new();
    walk(v, &mut path, &mut text, &mut |p| {
        doc.add_text(fields.paths, p)
    });
    doc.add_text(fields.all, &text);

    doc.add_bytes(fields.raw, &raw);
    let eid = event_id_bits(&id);
    doc.add_ip_addr(fields.eid, std::net::Ipv6Addr::from(eid));
    if let Value::Object(map) = value {
        doc.add_field_value(fields.json, &OwnedValue::from(map));
    }
    let day = (time.unix_timestamp().div_euclid(86_400)) as i32;
    EventDoc {
        eid,
        day,
        time: time.unix_timestamp(),
        doc,
        note: None,
        repairs,
    }
}

/// IPv4 addresses are indexed as IPv4-mapped IPv6, as tantivy stores all IPs.
pub fn to_v6(addr: IpAddr) -> std::net::Ipv6Addr {
    match addr {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    }
}

/// Collects every string and number value (for full text) and calls `on_path` for every path
/// (repeats are harmless: `paths` records documents, not frequencies).
fn walk(v: &Value, path: &mut String, text: &mut String, on_path: &mut impl FnMut(&str)) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                if !child.is_null() {
                    on_path(path);
                }
                walk(child, path, text, on_path);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, path, text, on_path);
            }
        }
        Value::String(s) => {
            text.push_str(s);
            text.push('\n');
        }
        Value::Number(n) => {
            use std::fmt::Write;
            let _ = writeln!(text, "{n}");
        }
        Value::Bool(_) | Value::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids() {
        assert_eq!(event_id_bits("00000000-0000-0000-0000-00000000000a"), 10);
        assert_eq!(
            event_id_bits("f2b0c2c4-9d1e-4c0e-8f0a-1b2c3d4e5f60"),
            0xf2b0c2c49d1e4c0e8f0a1b2c3d4e5f60
        );
        assert_ne!(event_id_bits("not-a-uuid"), event_id_bits("not-a-uuiD"));
        assert_eq!(event_id_bits("x"), event_id_bits("x"));
    }
}
