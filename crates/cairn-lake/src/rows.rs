//! Records to Arrow: one [`Row`] per event, a [`RecordBatch`] per file.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, ListArray, RecordBatch, StringArray, StructArray,
    TimestampMicrosecondArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::LakeError;
use crate::schema::{self, schema};

/// One event, parsed once.
#[derive(Debug, Clone)]
pub struct Row {
    /// `eventTime` in microseconds since the epoch.
    pub time: Option<i64>,
    pub record: Value,
    /// The record exactly as it was read.
    pub raw: String,
    /// The object it was read from.
    pub object: String,
}

/// Where an event goes: `account=<id>/region=<r>/date=<YYYY-MM-DD>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Partition {
    pub account: String,
    pub region: String,
    pub date: String,
}

impl Partition {
    /// The partition's directory, relative to the lake's root.
    pub fn path(&self) -> String {
        format!(
            "account={}/region={}/date={}",
            self.account, self.region, self.date
        )
    }

    /// Reads a partition back from its directory (`account=../region=../date=..`).
    pub fn parse(path: &str) -> Option<Partition> {
        let mut parts = path.trim_matches('/').split('/');
        let mut take = |key: &str| {
            parts
                .next()?
                .strip_prefix(key)?
                .strip_prefix('=')
                .map(str::to_string)
        };
        Some(Partition {
            account: take("account")?,
            region: take("region")?,
            date: take("date")?,
        })
    }
}

/// A partition value safe in a path: letters, digits, `-` and `_`; anything else becomes `_`.
fn clean(s: &str) -> String {
    let c: String = s
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if c.is_empty() { "unknown".into() } else { c }
}

/// Parses `eventTime` into microseconds since the epoch.
pub fn micros(v: &Value) -> Option<i64> {
    let t = OffsetDateTime::parse(v.get("eventTime")?.as_str()?, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1000).ok()
}

impl Row {
    pub fn parse(raw: &[u8], object: &str) -> Result<Row, LakeError> {
        let record: Value = serde_json::from_slice(raw).map_err(|e| LakeError::Record {
            object: object.to_string(),
            message: e.to_string(),
        })?;
        Row::from_value(record, raw, object)
    }

    /// A row from a record the caller already parsed (the decoder parses every record once).
    pub fn from_value(record: Value, raw: &[u8], object: &str) -> Result<Row, LakeError> {
        if !record.is_object() {
            return Err(LakeError::Record {
                object: object.to_string(),
                message: "a record is not a JSON object".into(),
            });
        }
        Ok(Row {
            time: micros(&record),
            raw: String::from_utf8_lossy(raw).into_owned(),
            object: object.to_string(),
            record,
        })
    }

    /// The event's partition: its account (`recipientAccountId`, else the identity's), its
    /// region and the UTC date of `eventTime`.
    pub fn partition(&self) -> Partition {
        let s = |path: &str| cairn_model::record::get_str(&self.record, path);
        let account = s("recipientAccountId")
            .or_else(|| s("userIdentity.accountId"))
            .unwrap_or("unknown");
        let date = self
            .time
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t.div_euclid(1_000_000)).ok())
            .map(|t| format!("{:04}-{:02}-{:02}", t.year(), t.month() as u8, t.day()))
            .unwrap_or_else(|| "unknown".into());
        Partition {
            account: clean(account),
            region: clean(s("awsRegion").unwrap_or("unknown")),
            date,
        }
    }

    pub fn event_id(&self) -> Option<&str> {
        self.record.get("eventID").and_then(Value::as_str)
    }
}

/// A string column's value: strings as they are, other scalars as JSON text.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A JSON-text column's value (objects, arrays, anything but null).
fn json(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn boolean(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn strings(values: impl Iterator<Item = Option<String>>) -> ArrayRef {
    Arc::new(StringArray::from(values.collect::<Vec<_>>()))
}

/// The rows as one batch of the lake's schema, in the order given.
pub fn batch(rows: &[Row]) -> Result<RecordBatch, LakeError> {
    let mut columns: Vec<ArrayRef> = Vec::new();
    columns.push(Arc::new(
        TimestampMicrosecondArray::from(rows.iter().map(|r| r.time).collect::<Vec<_>>())
            .with_timezone("UTC"),
    ));
    for name in schema::STRINGS {
        columns.push(strings(rows.iter().map(|r| text(r.record.get(*name)))));
    }
    for name in schema::BOOLS {
        columns.push(Arc::new(BooleanArray::from(
            rows.iter()
                .map(|r| boolean(r.record.get(*name)))
                .collect::<Vec<_>>(),
        )));
    }
    // userIdentity: a struct, null when the record has none.
    let identity: Vec<Option<&serde_json::Map<String, Value>>> = rows
        .iter()
        .map(|r| r.record.get("userIdentity").and_then(Value::as_object))
        .collect();
    let mut children: Vec<ArrayRef> = Vec::new();
    for name in schema::IDENTITY_STRINGS {
        children.push(strings(
            identity.iter().map(|i| i.and_then(|i| text(i.get(*name)))),
        ));
    }
    for name in schema::IDENTITY_JSON {
        children.push(strings(
            identity.iter().map(|i| i.and_then(|i| json(i.get(*name)))),
        ));
    }
    columns.push(Arc::new(StructArray::try_new(
        schema::identity_fields(),
        children,
        Some(NullBuffer::from(
            identity.iter().map(Option::is_some).collect::<Vec<_>>(),
        )),
    )?));
    // resources: a list of structs, null when the record has none.
    let mut offsets: Vec<i32> = vec![0];
    let mut items: Vec<&Value> = Vec::new();
    let mut present = Vec::with_capacity(rows.len());
    for r in rows {
        match r.record.get("resources").and_then(Value::as_array) {
            Some(list) => {
                items.extend(list.iter());
                present.push(true);
            }
            None => present.push(false),
        }
        let n = i32::try_from(items.len()).map_err(|_| LakeError::TooLarge)?;
        offsets.push(n);
    }
    let item_children: Vec<ArrayRef> = schema::RESOURCE_STRINGS
        .iter()
        .map(|name| strings(items.iter().map(|i| text(i.get(*name)))))
        .collect();
    let values = StructArray::try_new(schema::resource_fields(), item_children, None)?;
    columns.push(Arc::new(ListArray::try_new(
        schema::resource_item(),
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Arc::new(values),
        Some(NullBuffer::from(present)),
    )?));
    for name in schema::JSON {
        columns.push(strings(rows.iter().map(|r| json(r.record.get(*name)))));
    }
    columns.push(strings(
        rows.iter()
            .map(|r| cairn_model::record::principal(&r.record)),
    ));
    columns.push(strings(rows.iter().map(|r| Some(r.object.clone()))));
    columns.push(strings(rows.iter().map(|r| {
        let map = r.record.as_object()?;
        let extra: serde_json::Map<String, Value> = map
            .iter()
            .filter(|(k, _)| !schema::known(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        (!extra.is_empty()).then(|| Value::Object(extra).to_string())
    })));
    columns.push(strings(rows.iter().map(|r| Some(r.raw.clone()))));
    Ok(RecordBatch::try_new(schema(), columns)?)
}
