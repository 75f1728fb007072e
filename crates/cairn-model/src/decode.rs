//! The capped streaming decoder: bytes of an object in, CloudTrail events out.
//!
//! An object is read once, as a stream: gzip is detected by its magic bytes (never by the
//! name, and never twice), the decompressed size is capped, and the JSON is scanned by a small
//! structural scanner that cuts each record out as the exact bytes AWS wrote. Only one record
//! at a time is held in memory, so a 5 GB file costs what its largest record costs.
//!
//! Accepted shapes, in any mix, one after another in the same stream:
//! - `{"Records":[{...},{...}]}`: the CloudTrail log file (other top-level keys are ignored);
//! - `[{...},{...}]`: a JSON array of records (an Event-history download);
//! - `{...}\n{...}\n`: JSON lines, or records simply concatenated.

use std::io::{self, Read};

use flate2::bufread::GzDecoder;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::DecodeError;

/// Explicit limits on what one object may cost. Crossing one is a named error for that object
/// (or record), never a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Decompressed bytes per object. Real files are a few MB; the default is generous.
    pub max_object_bytes: u64,
    /// Bytes of one record's JSON. Records with huge `requestParameters` reach hundreds of KB.
    pub max_record_bytes: usize,
    /// Records per object.
    pub max_records: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_object_bytes: 4 << 30,
            max_record_bytes: 32 << 20,
            max_records: 2_000_000,
        }
    }
}

/// One CloudTrail event: the original bytes and the parsed document.
#[derive(Debug, Clone)]
pub struct Event {
    /// The record exactly as AWS wrote it; for a [repaired](Repairs) record, the fields cairn
    /// added come first and the original bytes follow.
    pub raw: Vec<u8>,
    /// The parsed record, with any fields cairn added.
    pub value: serde_json::Value,
    /// `eventID`, the key events are deduplicated on.
    pub id: String,
    /// `eventTime`.
    pub time: OffsetDateTime,
    /// Position of the record in its object (0-based).
    pub index: u64,
    /// What cairn had to complete or read leniently.
    pub repairs: Repairs,
}

/// What a record needed that a record delivered by CloudTrail never does. Hand-written events,
/// documentation examples and re-shipped exports lack an `eventID`, write `eventTime` in a
/// looser form, or (Logstash) replace it with `@timestamp`; such records are kept, marked
/// under a top-level `cairn` object, and counted, rather than rejected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Repairs {
    /// No `eventID` (or an empty or null one): one was derived from the record's canonical
    /// content, so the same record pretty-printed or compacted gets the same id, and two
    /// identical records remain one event. Marked `cairn.syntheticId: true`.
    pub synthetic_id: bool,
    /// No `eventTime`: it was taken from `@timestamp` (Logstash). Marked
    /// `cairn.timeFrom: "@timestamp"`.
    pub time_from_timestamp: bool,
    /// `eventTime` in a common variant of RFC 3339: a space for the `T`, no zone (read as
    /// UTC), or both. Not marked: the record keeps its own text.
    pub time_variant: bool,
}

impl Repairs {
    /// The repairs made, by their names in the ingest summary.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        [
            (self.synthetic_id, "synthetic_event_id"),
            (self.time_from_timestamp, "time_from_@timestamp"),
            (self.time_variant, "time_variant"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
    }
}

/// Fields that show a JSON object is a CloudTrail record when its `eventID` is missing.
const RECORD_MARKERS: [&str; 4] = ["eventVersion", "eventSource", "eventName", "eventType"];

/// Parses and checks one record's bytes.
pub fn parse_event(raw: Vec<u8>, index: u64, offset: u64) -> Result<Event, DecodeError> {
    let mut value: serde_json::Value =
        serde_json::from_slice(&raw).map_err(|e| DecodeError::InvalidRecord {
            index,
            offset,
            message: e.to_string(),
        })?;
    let obj = value
        .as_object()
        .ok_or(DecodeError::RecordNotObject { index, offset })?;
    let mut repairs = Repairs::default();
    let given_id = match obj.get("eventID") {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        None | Some(serde_json::Value::Null) | Some(serde_json::Value::String(_)) => None,
        Some(_) => {
            return Err(DecodeError::InvalidRecord {
                index,
                offset,
                message: "eventID is not a string".into(),
            });
        }
    };
    // Looked up only for a record that lacks its id or its time (never for what AWS delivers).
    let marked = || RECORD_MARKERS.iter().any(|k| obj.contains_key(*k));
    if given_id.is_none() && !marked() {
        return Err(DecodeError::MissingField {
            index,
            offset,
            field: "eventID",
        });
    }
    let time = match obj.get("eventTime") {
        Some(serde_json::Value::String(s)) => match parse_time(s) {
            Some((t, exact)) => {
                repairs.time_variant = !exact;
                t
            }
            None => {
                return Err(DecodeError::InvalidRecord {
                    index,
                    offset,
                    message: format!(
                        "eventTime \"{s}\" is not a time (RFC 3339, or date and time with a \
                         space or without a zone)"
                    ),
                });
            }
        },
        None | Some(serde_json::Value::Null) if marked() => {
            // Logstash's CloudTrail input replaces eventTime with @timestamp.
            let stamp = obj.get("@timestamp").and_then(|v| v.as_str());
            match stamp.and_then(parse_time) {
                Some((t, _)) => {
                    repairs.time_from_timestamp = true;
                    t
                }
                None => {
                    return Err(DecodeError::MissingField {
                        index,
                        offset,
                        field: "eventTime",
                    });
                }
            }
        }
        _ => {
            return Err(DecodeError::MissingField {
                index,
                offset,
                field: "eventTime",
            });
        }
    };
    let id = match given_id {
        Some(id) => id,
        None => {
            repairs.synthetic_id = true;
            synthetic_event_id(&value)
        }
    };
    let raw = if repairs.synthetic_id || repairs.time_from_timestamp {
        complete(raw, &mut value, &id, time, repairs)
    } else {
        raw
    };
    Ok(Event {
        raw,
        value,
        id,
        time,
        index,
        repairs,
    })
}

/// Reads `eventTime`: RFC 3339, or the variants hand-written and exported events use (a space
/// for `T`, no zone meaning UTC). The flag says whether it was RFC 3339 as written.
pub fn parse_time(s: &str) -> Option<(OffsetDateTime, bool)> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some((t, true));
    }
    let b = s.as_bytes();
    // YYYY-MM-DD?HH:MM:SS at least; ASCII, so that the slices below fall on characters.
    if !s.is_ascii()
        || b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b' ' | b'T' | b't')
    {
        return None;
    }
    let mut fixed = String::with_capacity(s.len() + 1);
    fixed.push_str(&s[..10]);
    fixed.push('T');
    fixed.push_str(&s[11..]);
    let zoned =
        fixed.ends_with(['Z', 'z']) || fixed[19..].contains('+') || fixed[19..].contains('-');
    if !zoned {
        fixed.push('Z');
    }
    OffsetDateTime::parse(&fixed, &Rfc3339)
        .ok()
        .map(|t| (t, false))
}

/// A UUID-shaped id for a record that has none: SHA-256 of the record's canonical JSON (keys
/// sorted at every level, no whitespace), as a version-8 UUID. Formatting does not change it;
/// any change of content does.
pub fn synthetic_event_id(value: &serde_json::Value) -> String {
    let mut h = Sha256::new();
    canonical(value, &mut h);
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..]
    )
}

fn canonical(v: &serde_json::Value, h: &mut Sha256) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            h.update(b"{");
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    h.update(b",");
                }
                h.update(serde_json::to_string(k).unwrap_or_default().as_bytes());
                h.update(b":");
                canonical(&map[k], h);
            }
            h.update(b"}");
        }
        Value::Array(items) => {
            h.update(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    h.update(b",");
                }
                canonical(item, h);
            }
            h.update(b"]");
        }
        other => h.update(other.to_string().as_bytes()),
    }
}

/// Adds what a repaired record lacks (`eventID`, `eventTime`) and the `cairn` mark, to the
/// parsed value and to the stored bytes: in front of the original bytes when none of those
/// keys is there, or by writing the record out again when one is (as `null` or `""`).
fn complete(
    raw: Vec<u8>,
    value: &mut serde_json::Value,
    id: &str,
    time: OffsetDateTime,
    repairs: Repairs,
) -> Vec<u8> {
    use serde_json::{Map, Value};
    let Value::Object(obj) = value else {
        return raw;
    };
    let mut added = Map::new();
    if repairs.synthetic_id {
        added.insert("eventID".into(), Value::from(id));
    }
    if repairs.time_from_timestamp {
        let text = time.format(&Rfc3339).unwrap_or_default();
        added.insert("eventTime".into(), Value::from(text));
    }
    let mut mark = Map::new();
    if repairs.synthetic_id {
        mark.insert("syntheticId".into(), Value::Bool(true));
    }
    if repairs.time_from_timestamp {
        mark.insert("timeFrom".into(), Value::from("@timestamp"));
    }
    // A record of its own with a `cairn` key is left unmarked rather than overwritten.
    if !obj.contains_key("cairn") {
        added.insert("cairn".into(), Value::Object(mark));
    }
    let clash = added.keys().any(|k| obj.contains_key(k));
    for (k, v) in &added {
        obj.insert(k.clone(), v.clone());
    }
    if clash {
        return serde_json::to_vec(&*obj).unwrap_or(raw);
    }
    let head = serde_json::to_vec(&Value::Object(added)).unwrap_or_default();
    // `{"eventID":..,"cairn":{..}` + `,` + the original record after its `{`.
    let open = raw.iter().position(|&c| c == b'{').unwrap_or(0);
    let body = &raw[open + 1..];
    let empty = body
        .iter()
        .find(|c| !c.is_ascii_whitespace())
        .is_none_or(|&c| c == b'}');
    let mut out = Vec::with_capacity(head.len() + raw.len() + 1);
    out.extend_from_slice(&head[..head.len() - 1]);
    if !empty {
        out.push(b',');
    }
    out.extend_from_slice(body);
    out
}

/// Streams the events of one object.
///
/// Items are `Ok(event)`, or `Err` for a record that is skipped (the stream goes on), or a
/// final `Err` for the object (the stream ends; [`DecodeError::is_fatal`] tells which).
pub struct Records<R: Read> {
    scan: Scanner<Capped<Body<R>>>,
    limits: Limits,
    state: State,
    records: u64,
    first: bool,
    /// Inside an array, after an element: a `,` or `]` must come next.
    need_comma: bool,
    done: bool,
    /// Ended on a fatal error.
    failed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between top-level values.
    Top,
    /// Inside `"Records":[`.
    InRecords,
    /// Inside a top-level array of records.
    InArray,
}

impl<R: Read> Records<R> {
    /// Starts decoding `reader`, sniffing gzip from the first bytes.
    pub fn new(reader: R, limits: Limits) -> io::Result<Self> {
        let body = Body::new(reader)?;
        let capped = Capped {
            inner: body,
            left: limits.max_object_bytes,
            limit: limits.max_object_bytes,
            hash: None,
        };
        Ok(Records {
            scan: Scanner::new(capped),
            limits,
            state: State::Top,
            records: 0,
            first: true,
            need_comma: false,
            done: false,
            failed: false,
        })
    }

    /// Whether the object was gzip-compressed.
    pub fn was_gzip(&self) -> bool {
        matches!(self.scan.reader.inner, Body::Gzip { .. })
    }

    /// Decompressed bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.scan.offset
    }

    /// Also computes the SHA-256 of the decompressed bytes (what a CloudTrail digest lists as
    /// the file's `hashValue`), as they stream past. Call before the first record is read.
    pub fn hashing(mut self) -> Self {
        self.scan.reader.hash = Some(Sha256::new());
        self
    }

    /// Hex SHA-256 of the whole decompressed object: `Some` only with [`Records::hashing`],
    /// once the stream ended without a fatal error.
    pub fn sha256(&self) -> Option<String> {
        if !self.done || self.failed {
            return None;
        }
        let h = self.scan.reader.hash.clone()?;
        Some(hex(&h.finalize()))
    }

    fn fail(&mut self, e: DecodeError) -> Option<Result<Event, DecodeError>> {
        self.done = true;
        self.failed = true;
        Some(Err(e))
    }

    fn next_inner(&mut self) -> Result<Option<Result<Event, DecodeError>>, DecodeError> {
        loop {
            match self.state {
                State::Top => {
                    let Some(b) = self.scan.skip_ws(None)? else {
                        if self.first {
                            return Err(DecodeError::Empty);
                        }
                        return Ok(None);
                    };
                    match b {
                        b'[' => {
                            self.scan.bump();
                            self.first = false;
                            self.state = State::InArray;
                            if self.scan.skip_ws(None)? == Some(b']') {
                                self.scan.bump();
                                self.state = State::Top;
                            }
                        }
                        b'{' => {
                            if let Some(rec) = self.top_object()? {
                                return Ok(Some(rec));
                            }
                        }
                        other => {
                            let offset = self.scan.offset;
                            return Err(if self.first {
                                DecodeError::NotCloudTrail {
                                    reason: format!(
                                        "starts with {} instead of JSON",
                                        describe_byte(other)
                                    ),
                                }
                            } else {
                                DecodeError::InvalidJson {
                                    offset,
                                    message: format!(
                                        "unexpected {} between records",
                                        describe_byte(other)
                                    ),
                                }
                            });
                        }
                    }
                }
                State::InRecords | State::InArray => {
                    let Some(b) = self.scan.skip_ws(None)? else {
                        return Err(DecodeError::Truncated {
                            offset: self.scan.offset,
                        });
                    };
                    if b == b']' {
                        self.scan.bump();
                        self.need_comma = false;
                        if self.state == State::InRecords {
                            self.finish_wrapper()?;
                        }
                        self.state = State::Top;
                        continue;
                    }
                    if self.need_comma {
                        if b != b',' {
                            return Err(DecodeError::InvalidJson {
                                offset: self.scan.offset,
                                message: format!(
                                    "expected , or ] after a record, found {}",
                                    describe_byte(b)
                                ),
                            });
                        }
                        self.scan.bump();
                        self.need_comma = false;
                        continue;
                    }
                    let rec = self.array_element()?;
                    self.need_comma = true;
                    return Ok(Some(rec));
                }
            }
        }
    }

    fn count_record(&mut self) -> Result<u64, DecodeError> {
        let index = self.records;
        self.records += 1;
        if self.records > self.limits.max_records {
            return Err(DecodeError::TooManyRecords {
                limit: self.limits.max_records,
            });
        }
        Ok(index)
    }

    /// One element of a records array.
    fn array_element(&mut self) -> Result<Result<Event, DecodeError>, DecodeError> {
        let index = self.count_record()?;
        let offset = self.scan.offset;
        let mut buf = Vec::new();
        let first = self.scan.peek()?;
        let fits = self
            .scan
            .capture_value(&mut buf, self.limits.max_record_bytes)?;
        if !fits {
            return Ok(Err(DecodeError::RecordTooLarge {
                index,
                offset,
                limit: self.limits.max_record_bytes,
            }));
        }
        if first != Some(b'{') {
            return Ok(Err(DecodeError::RecordNotObject { index, offset }));
        }
        Ok(parse_event(buf, index, offset))
    }

    /// A top-level `{`: either the `{"Records":[...]}` wrapper, or a record of its own (JSON
    /// lines). The object is captured byte for byte until a `"Records"` key holding an array
    /// shows which it is; returns the record in the second case.
    fn top_object(&mut self) -> Result<Option<Result<Event, DecodeError>>, DecodeError> {
        let offset = self.scan.offset;
        let limit = self.limits.max_record_bytes;
        let mut obj = Vec::with_capacity(1024);
        let mut too_large = false;
        let mut keys_seen = 0usize;
        let mut digest_like = false;
        self.scan.bump();
        obj.push(b'{');
        loop {
            let b = self
                .scan
                .skip_ws(Some(&mut obj))?
                .ok_or(DecodeError::Truncated {
                    offset: self.scan.offset,
                })?;
            if b == b'}' && keys_seen == 0 {
                self.scan.bump();
                obj.push(b'}');
                break;
            }
            if b != b'"' {
                return Err(DecodeError::InvalidJson {
                    offset: self.scan.offset,
                    message: format!("expected a key, found {}", describe_byte(b)),
                });
            }
            let key_start = obj.len();
            self.scan.capture_value(&mut obj, usize::MAX)?;
            keys_seen += 1;
            let key = &obj[key_start..];
            let is_records = key == b"\"Records\"";
            digest_like |= key == b"\"digestStartTime\"" || key == b"\"logFiles\"";
            match self.scan.skip_ws(Some(&mut obj))? {
                Some(b':') => {
                    self.scan.bump();
                    obj.push(b':');
                }
                Some(other) => {
                    return Err(DecodeError::InvalidJson {
                        offset: self.scan.offset,
                        message: format!("expected : after a key, found {}", describe_byte(other)),
                    });
                }
                None => {
                    return Err(DecodeError::Truncated {
                        offset: self.scan.offset,
                    });
                }
            }
            let v = self.scan.skip_ws(Some(&mut obj))?;
            if is_records && v == Some(b'[') {
                self.scan.bump();
                self.first = false;
                self.state = State::InRecords;
                if self.scan.skip_ws(None)? == Some(b']') {
                    self.scan.bump();
                    self.finish_wrapper()?;
                    self.state = State::Top;
                }
                return Ok(None);
            }
            let room = limit.saturating_sub(obj.len());
            if !self.scan.capture_value(&mut obj, room)? {
                too_large = true;
            }
            match self.scan.skip_ws(Some(&mut obj))? {
                Some(b',') => {
                    self.scan.bump();
                    obj.push(b',');
                }
                Some(b'}') => {
                    self.scan.bump();
                    obj.push(b'}');
                    break;
                }
                Some(other) => {
                    return Err(DecodeError::InvalidJson {
                        offset: self.scan.offset,
                        message: format!(
                            "expected , or }} in an object, found {}",
                            describe_byte(other)
                        ),
                    });
                }
                None => {
                    return Err(DecodeError::Truncated {
                        offset: self.scan.offset,
                    });
                }
            }
        }
        if self.first && digest_like {
            return Err(DecodeError::NotCloudTrail {
                reason: "this is a CloudTrail digest file, not a log file".into(),
            });
        }
        let was_first = std::mem::replace(&mut self.first, false);
        let index = self.count_record()?;
        if too_large || obj.len() > limit {
            return Ok(Some(Err(DecodeError::RecordTooLarge {
                index,
                offset,
                limit,
            })));
        }
        let parsed = parse_event(obj, index, offset);
        if was_first
            && let Err(
                DecodeError::MissingField {
                    field: "eventID", ..
                }
                | DecodeError::RecordNotObject { .. },
            ) = parsed
        {
            // The first thing in the stream is an object that is neither a wrapper nor a record
            // (a record that only lacks its time is a record error, the rest is still read).
            return Err(DecodeError::NotCloudTrail {
                reason:
                    "a JSON object that is neither {\"Records\":[...]} nor a CloudTrail record \
                         (no eventID, eventVersion, eventSource, eventName or eventType)"
                        .into(),
            });
        }
        Ok(Some(parsed))
    }

    /// After the `Records` array: skip any other keys of the wrapper up to its `}`.
    fn finish_wrapper(&mut self) -> Result<(), DecodeError> {
        let mut sink = Vec::new();
        loop {
            match self.scan.skip_ws(None)? {
                Some(b'}') => {
                    self.scan.bump();
                    return Ok(());
                }
                Some(b',') => {
                    self.scan.bump();
                    self.scan.skip_ws(None)?;
                    self.scan.capture_value(&mut sink, 0)?; // key
                    if self.scan.skip_ws(None)? != Some(b':') {
                        return Err(DecodeError::InvalidJson {
                            offset: self.scan.offset,
                            message: "expected :".into(),
                        });
                    }
                    self.scan.bump();
                    self.scan.skip_ws(None)?;
                    self.scan.capture_value(&mut sink, 0)?;
                }
                Some(other) => {
                    return Err(DecodeError::InvalidJson {
                        offset: self.scan.offset,
                        message: format!(
                            "expected , or }} after Records, found {}",
                            describe_byte(other)
                        ),
                    });
                }
                None => {
                    return Err(DecodeError::Truncated {
                        offset: self.scan.offset,
                    });
                }
            }
        }
    }
}

impl<R: Read> Iterator for Records<R> {
    type Item = Result<Event, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_inner() {
            Ok(Some(item)) => Some(item),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => self.fail(e),
        }
    }
}

fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

// ---------------------------------------------------------------------------------------------
// Byte sources: gzip or plain, then a cap.

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const IO_BUF: usize = 64 * 1024;

/// The decompressed body: gzip members one after another (RFC 1952 allows several, as `zcat`
/// does), or the plain bytes. Bytes after a gzip member that are not another member are an
/// error, not silently ignored.
enum Body<R: Read> {
    Plain(Src<R>),
    Gzip {
        decoder: Option<Box<GzDecoder<Src<R>>>>,
    },
}

/// The object's bytes, with the sniffed magic bytes put back in front.
type Src<R> = io::BufReader<io::Chain<io::Cursor<Vec<u8>>, R>>;

impl<R: Read> Body<R> {
    fn new(mut reader: R) -> io::Result<Self> {
        // A pipe may hand out one byte at a time: read until two bytes or the end.
        let mut head = Vec::with_capacity(2);
        while head.len() < 2 {
            let mut b = [0u8; 2];
            match reader.read(&mut b[..2 - head.len()]) {
                Ok(0) => break,
                Ok(n) => head.extend_from_slice(&b[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        let gzip = head.starts_with(&GZIP_MAGIC);
        let src = io::BufReader::with_capacity(IO_BUF, io::Cursor::new(head).chain(reader));
        if gzip {
            #[allow(clippy::disallowed_methods)] // capped by `Capped` right above it
            let decoder = GzDecoder::new(src);
            Ok(Body::Gzip {
                decoder: Some(Box::new(decoder)),
            })
        } else {
            Ok(Body::Plain(src))
        }
    }
}

/// Marker inside an `io::Error` for bytes after the last gzip member.
#[derive(Debug)]
struct TrailingBytes;
impl std::fmt::Display for TrailingBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("trailing bytes after the gzip member")
    }
}
impl std::error::Error for TrailingBytes {}

/// Marker inside an `io::Error` for the decompressed-size cap.
#[derive(Debug)]
struct CapExceeded(u64);
impl std::fmt::Display for CapExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "more than {} decompressed bytes", self.0)
    }
}
impl std::error::Error for CapExceeded {}

impl<R: Read> Read for Body<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self {
            Body::Plain(r) => r.read(out),
            Body::Gzip { decoder } => loop {
                let Some(d) = decoder.as_mut() else {
                    return Ok(0);
                };
                let n = d.read(out)?;
                if n > 0 || out.is_empty() {
                    return Ok(n);
                }
                // End of a member: another member, the end, or garbage.
                use io::BufRead;
                let mut inner = decoder.take().expect("decoder present").into_inner();
                let rest = inner.fill_buf()?;
                if rest.is_empty() {
                    return Ok(0);
                }
                if rest.starts_with(&GZIP_MAGIC) {
                    #[allow(clippy::disallowed_methods)] // capped by `Capped`
                    let next = GzDecoder::new(inner);
                    *decoder = Some(Box::new(next));
                    continue;
                }
                if rest.iter().all(|&b| b == 0) && rest.len() < 8 * 1024 {
                    // Zero padding (tape-style) after the member carries no data; still, only
                    // accept it when it is all there is.
                    let padded = rest.len();
                    inner.consume(padded);
                    if inner.fill_buf()?.is_empty() {
                        return Ok(0);
                    }
                }
                return Err(io::Error::new(io::ErrorKind::InvalidData, TrailingBytes));
            },
        }
    }
}

/// Caps the number of bytes read from the decompressor, and hashes them when asked.
struct Capped<R> {
    inner: R,
    left: u64,
    limit: u64,
    hash: Option<Sha256>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // Probe for one more byte: the object may end exactly at the cap.
            let mut one = [0u8; 1];
            return match self.inner.read(&mut one)? {
                0 => Ok(0),
                _ => Err(io::Error::other(CapExceeded(self.limit))),
            };
        }
        let want = out.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut out[..want])?;
        self.left -= n as u64;
        if let Some(h) = &mut self.hash {
            h.update(&out[..n]);
        }
        Ok(n)
    }
}

/// Maps an I/O error from the byte sources to a decode error for the object.
fn classify(e: io::Error, offset: u64) -> DecodeError {
    if let Some(inner) = e.get_ref() {
        if let Some(c) = inner.downcast_ref::<CapExceeded>() {
            return DecodeError::ObjectTooLarge { limit: c.0 };
        }
        if inner.is::<TrailingBytes>() {
            return DecodeError::TrailingGarbage { offset };
        }
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof => DecodeError::Truncated { offset },
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => DecodeError::Gzip {
            offset,
            message: e.to_string(),
        },
        _ => DecodeError::Io {
            message: e.to_string(),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// The structural scanner.

/// Walks JSON structure over a byte stream and copies values out verbatim. It checks only
/// what it needs to find where a value ends (strings, escapes, nesting); each record is then
/// fully validated by `serde_json`.
struct Scanner<R> {
    reader: R,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    /// Decompressed bytes consumed before `buf[pos]`.
    offset: u64,
    eof: bool,
}

impl<R: Read> Scanner<R> {
    fn new(reader: R) -> Self {
        Scanner {
            reader,
            buf: vec![0; IO_BUF].into_boxed_slice(),
            pos: 0,
            len: 0,
            offset: 0,
            eof: false,
        }
    }

    /// Makes sure `buf[pos..len]` is non-empty unless at end of stream.
    fn fill(&mut self) -> Result<bool, DecodeError> {
        if self.pos < self.len {
            return Ok(true);
        }
        if self.eof {
            return Ok(false);
        }
        self.pos = 0;
        self.len = 0;
        loop {
            match self.reader.read(&mut self.buf) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.len = n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(classify(e, self.offset)),
            }
        }
    }

    fn peek(&mut self) -> Result<Option<u8>, DecodeError> {
        Ok(if self.fill()? {
            Some(self.buf[self.pos])
        } else {
            None
        })
    }

    fn bump(&mut self) {
        self.pos += 1;
        self.offset += 1;
    }

    /// Skips whitespace (copying it to `tee`), returns the next byte without consuming it.
    fn skip_ws(&mut self, mut tee: Option<&mut Vec<u8>>) -> Result<Option<u8>, DecodeError> {
        loop {
            if !self.fill()? {
                return Ok(None);
            }
            let b = self.buf[self.pos];
            if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                if let Some(t) = tee.as_deref_mut() {
                    t.push(b);
                }
                self.bump();
            } else {
                return Ok(Some(b));
            }
        }
    }

    /// Consumes one JSON value, appending its bytes to `out` while it fits in `room` bytes.
    /// Returns false when it did not fit (the value is consumed all the same; `out` is left
    /// with a partial copy the caller must not use).
    fn capture_value(&mut self, out: &mut Vec<u8>, room: usize) -> Result<bool, DecodeError> {
        let start_len = out.len();
        let mut fits = true;
        let mut depth: u32 = 0;
        let mut in_string = false;
        let mut escaped = false;
        let mut started = false;
        let mut scalar = false;
        loop {
            if !self.fill()? {
                if scalar && !in_string {
                    return Ok(fits);
                }
                return Err(DecodeError::Truncated {
                    offset: self.offset,
                });
            }
            let chunk = &self.buf[self.pos..self.len];
            let mut i = 0;
            let mut done = false;
            while i < chunk.len() {
                let b = chunk[i];
                if in_string {
                    if escaped {
                        escaped = false;
                        i += 1;
                        continue;
                    }
                    // Strings are most of a record: jump to the next quote or backslash.
                    match memchr::memchr2(b'"', b'\\', &chunk[i..]) {
                        None => {
                            i = chunk.len();
                            continue;
                        }
                        Some(j) => {
                            i += j;
                            if chunk[i] == b'\\' {
                                escaped = true;
                            } else {
                                in_string = false;
                                if depth == 0 {
                                    i += 1;
                                    done = true;
                                    break;
                                }
                            }
                            i += 1;
                            continue;
                        }
                    }
                }
                if !started {
                    started = true;
                    match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth = 1,
                        b'}' | b']' | b',' | b':' => {
                            return Err(DecodeError::InvalidJson {
                                offset: self.offset + i as u64,
                                message: format!("expected a value, found {}", describe_byte(b)),
                            });
                        }
                        _ => scalar = true,
                    }
                    i += 1;
                    continue;
                }
                if scalar {
                    if matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t' | b':') {
                        done = true;
                        break;
                    }
                    i += 1;
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            done = true;
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            if fits {
                if out.len() - start_len + i <= room {
                    out.extend_from_slice(&chunk[..i]);
                } else {
                    fits = false;
                }
            }
            self.pos += i;
            self.offset += i as u64;
            if done {
                return Ok(fits);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One gzip member, for integrity checks.

/// The decompressed bytes of exactly one gzip member, as CloudTrail hashes a log file, capped
/// at `limit` bytes. Unlike [`Records`], a second member is not read: anything after the first
/// member is reported by [`FirstMember::trailing`], since a reader that accepts it (as `zcat`
/// does) would see data the digest never covered.
pub struct FirstMember<R: io::BufRead> {
    decoder: Capped<GzDecoder<R>>,
}

impl<R: io::BufRead> FirstMember<R> {
    /// Starts decompressing `reader`; fails unless it starts with the gzip magic bytes.
    pub fn new(mut reader: R, limit: u64) -> io::Result<Self> {
        if !reader.fill_buf()?.starts_with(&GZIP_MAGIC[..1]) {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "not gzip"));
        }
        #[allow(clippy::disallowed_methods)] // capped by `Capped` right here
        let decoder = GzDecoder::new(reader);
        Ok(FirstMember {
            decoder: Capped {
                inner: decoder,
                left: limit,
                limit,
                hash: None,
            },
        })
    }

    /// After the member was read to its end: how many bytes follow it (counted up to
    /// `max`, without decompressing them).
    pub fn trailing(self, max: u64) -> io::Result<u64> {
        let inner = self.decoder.inner.into_inner();
        io::copy(&mut inner.take(max), &mut io::sink())
    }
}

impl<R: io::BufRead> Read for FirstMember<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.decoder.read(out)
    }
}

/// Whether an error from this module's readers is the decompressed-size cap.
pub fn is_cap_exceeded(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<CapExceeded>())
}

/// Decompresses the first gzip member of `reader` whole (under `limit` bytes): its bytes,
/// and how many bytes follow the member (counted up to one). For small objects such as
/// digests; log files are streamed through [`FirstMember`].
pub fn first_member(reader: impl io::BufRead, limit: u64) -> io::Result<(Vec<u8>, u64)> {
    let mut member = FirstMember::new(reader, limit)?;
    let mut out = Vec::new();
    member.read_to_end(&mut out)?;
    let trailing = member.trailing(1)?;
    Ok((out, trailing))
}

/// Lower-case hex of `bytes` (hashes, signatures, ids).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn rec(id: &str) -> String {
        format!(
            r#"{{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","eventName":"X","eventID":"{id}"}}"#
        )
    }

    #[test]
    fn event_time_variants() {
        let utc = |s: &str| parse_time(s).map(|(t, exact)| (t.unix_timestamp(), exact));
        let at = 1_739_996_029; // 2025-02-19T20:13:49Z
        for (text, want) in [
            ("2025-02-19T20:13:49Z", Some((at, true))),
            ("2025-02-19T22:13:49+02:00", Some((at, true))),
            ("2025-02-19 20:13:49", Some((at, false))),
            // RFC 3339 itself allows a space for the T.
            ("2025-02-19 20:13:49Z", Some((at, true))),
            ("2025-02-19T20:13:49", Some((at, false))),
            ("2025-02-19 20:13:49.123456789", Some((at, false))),
            ("2025-02-19 20:13:49.123", Some((at, false))),
            ("2025-02-19 22:13:49+02:00", Some((at, true))),
            ("redacted", None),
            ("...", None),
            ("ThisIsAWrongEventTime", None),
            ("2025-02-19", None),
            ("2025-02-19X20:13:49", None),
            ("2025-02-19 20:13:4\u{e9}", None),
            ("2025-02-19 20:13:49\u{e9}\u{e9}", None),
        ] {
            assert_eq!(utc(text), want, "{text}");
        }
    }

    fn one(raw: &str) -> Result<Event, DecodeError> {
        parse_event(raw.as_bytes().to_vec(), 0, 0)
    }

    #[test]
    fn records_without_event_id_get_one_from_their_content() {
        let compact = r#"{"eventVersion":"1.05","eventTime":"2024-01-02T03:04:05Z","eventName":"RunInstances","requestParameters":{"b":[1,2.5,"x"],"a":null}}"#;
        let pretty = "{\n  \"eventName\" : \"RunInstances\",\n  \"requestParameters\": {\"a\": null, \"b\": [1, 2.5, \"x\"]},\n  \"eventTime\": \"2024-01-02T03:04:05Z\", \"eventVersion\": \"1.05\"\n}";
        let a = one(compact).unwrap();
        let b = one(pretty).unwrap();
        assert!(a.repairs.synthetic_id && !a.repairs.time_variant);
        assert_eq!(a.id, b.id, "formatting and key order do not change the id");
        assert_eq!(a.id.len(), 36);
        assert_eq!(&a.id[14..15], "8", "a version-8 UUID");
        let other = one(&compact.replace("2.5", "2.6")).unwrap();
        assert_ne!(a.id, other.id, "any change of content does");
        // The stored bytes: the added fields first, then the record as written.
        let stored = String::from_utf8(a.raw.clone()).unwrap();
        assert_eq!(
            stored,
            format!(
                r#"{{"cairn":{{"syntheticId":true}},"eventID":"{}",{}"#,
                a.id,
                &compact[1..]
            )
        );
        let v: serde_json::Value = serde_json::from_str(&stored).unwrap();
        assert_eq!(v, a.value);
        assert_eq!(v["eventID"], a.id.as_str());
        // An empty or null eventID is replaced, the record written out again.
        let null =
            one(r#"{"eventID":null,"eventName":"X","eventTime":"2024-01-02T03:04:05Z"}"#).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&null.raw).unwrap();
        assert_eq!(v["eventID"], null.id.as_str());
        assert_eq!(v["cairn"]["syntheticId"], true);
        // Not a record at all: still refused, naming the field.
        assert!(matches!(
            one(r#"{"line":1,"rule_id":"x"}"#),
            Err(DecodeError::MissingField {
                field: "eventID",
                ..
            })
        ));
        assert!(matches!(
            one(r#"{"eventName":"X","eventTime":7}"#),
            Err(DecodeError::MissingField {
                field: "eventTime",
                ..
            })
        ));
        assert!(matches!(
            one(r#"{"eventID":"x","eventTime":"redacted"}"#),
            Err(DecodeError::InvalidRecord { .. })
        ));
    }

    #[test]
    fn logstash_records_take_their_time_from_at_timestamp() {
        let r = one(r#"{"@timestamp":"2020-09-14T01:19:40.123Z","@version":"1","eventID":"e1","eventName":"GetObject","eventSource":"s3.amazonaws.com"}"#).unwrap();
        assert!(r.repairs.time_from_timestamp && !r.repairs.synthetic_id);
        assert_eq!(r.time.unix_timestamp(), 1_600_046_380);
        assert_eq!(r.id, "e1");
        let v: serde_json::Value = serde_json::from_slice(&r.raw).unwrap();
        assert_eq!(v["eventTime"], "2020-09-14T01:19:40.123Z");
        assert_eq!(v["cairn"]["timeFrom"], "@timestamp");
        assert_eq!(v, r.value);
        assert_eq!(
            r.repairs.names().collect::<Vec<_>>(),
            ["time_from_@timestamp"]
        );
        // Without either, the record is refused.
        assert!(matches!(
            one(r#"{"@version":"1","eventID":"e1","eventName":"GetObject"}"#),
            Err(DecodeError::MissingField {
                field: "eventTime",
                ..
            })
        ));
    }

    fn decode(bytes: &[u8], limits: Limits) -> (Vec<String>, Vec<DecodeError>) {
        let mut ok = Vec::new();
        let mut errs = Vec::new();
        for item in Records::new(bytes, limits).unwrap() {
            match item {
                Ok(e) => ok.push(String::from_utf8(e.raw).unwrap()),
                Err(e) => errs.push(e),
            }
        }
        (ok, errs)
    }

    #[test]
    fn shapes_keep_bytes_exact() {
        let a = rec("a");
        let b = "{ \"eventTime\" : \"2024-01-02T03:04:05Z\",\n \"eventID\":\"b\", \"x\": [1, {\"y\": \"]}\\\"\"}] }";
        let wrapper = format!("{{\"Records\":[{a},\n  {b}]}}");
        let array = format!("[ {a} , {b} ]");
        let lines = format!("{a}\n{b}\n");
        let other_keys_first =
            format!("{{\"Other\": {{\"Records\": 1}}, \"Records\":[{a},{b}], \"Tail\": [1,2]}}");
        for input in [&wrapper, &array, &lines, &other_keys_first] {
            for bytes in [input.as_bytes().to_vec(), gz(input.as_bytes())] {
                let (ok, errs) = decode(&bytes, Limits::default());
                assert!(errs.is_empty(), "{input}: {errs:?}");
                assert_eq!(ok, vec![a.clone(), b.to_string()], "{input}");
            }
        }
    }

    #[test]
    fn empty_records_is_fine_and_empty_file_is_not() {
        assert_eq!(decode(b"{\"Records\":[]}", Limits::default()).1, vec![]);
        assert_eq!(
            decode(b"  \n", Limits::default()).1,
            vec![DecodeError::Empty]
        );
        assert_eq!(decode(b"", Limits::default()).1, vec![DecodeError::Empty]);
        assert_eq!(
            decode(&gz(b""), Limits::default()).1,
            vec![DecodeError::Empty]
        );
    }

    #[test]
    fn record_errors_skip_only_that_record() {
        let input = format!(
            "{{\"Records\":[{},{{\"eventTime\":\"2024-01-02T03:04:05Z\"}},7,{{\"eventID\":\"z\",\"eventTime\":\"yesterday\"}},{{\"eventID\":\"y\"}},{}]}}",
            rec("a"),
            rec("b")
        );
        let (ok, errs) = decode(input.as_bytes(), Limits::default());
        assert_eq!(ok.len(), 2);
        let kinds: Vec<_> = errs.iter().map(|e| e.reason()).collect();
        assert_eq!(
            kinds,
            vec![
                "missing_field",
                "record_not_object",
                "invalid_record",
                "missing_field"
            ]
        );
        assert!(errs.iter().all(|e| !e.is_fatal()));
        assert!(
            errs[0].to_string().contains("has no eventID"),
            "{}",
            errs[0]
        );
        assert!(
            errs[3].to_string().contains("has no eventTime"),
            "{}",
            errs[3]
        );
    }

    #[test]
    fn limits_are_named_errors() {
        let big = format!(
            r#"{{"eventTime":"2024-01-02T03:04:05Z","eventID":"big","pad":"{}"}}"#,
            "x".repeat(5000)
        );
        let input = format!("{{\"Records\":[{},{big},{}]}}", rec("a"), rec("b"));
        let limits = Limits {
            max_record_bytes: 1000,
            ..Limits::default()
        };
        let (ok, errs) = decode(input.as_bytes(), limits);
        assert_eq!(ok.len(), 2);
        assert!(matches!(
            errs[..],
            [DecodeError::RecordTooLarge {
                index: 1,
                limit: 1000,
                ..
            }]
        ));
        // As a JSON-lines record too.
        let (ok, errs) = decode(format!("{big}\n{}", rec("c")).as_bytes(), limits);
        assert_eq!(ok.len(), 1);
        assert!(matches!(
            errs[..],
            [DecodeError::RecordTooLarge { index: 0, .. }]
        ));

        let limits = Limits {
            max_records: 2,
            ..Limits::default()
        };
        let input = format!("[{},{},{}]", rec("a"), rec("b"), rec("c"));
        let (ok, errs) = decode(input.as_bytes(), limits);
        assert_eq!(ok.len(), 2);
        assert_eq!(errs, vec![DecodeError::TooManyRecords { limit: 2 }]);
    }

    #[test]
    fn gzip_bomb_is_capped() {
        // 64 MiB of zeros compresses to ~64 KiB.
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(b"{\"Records\":[").unwrap();
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..64 {
            e.write_all(&zeros).unwrap();
        }
        let bomb = e.finish().unwrap();
        assert!(bomb.len() < 1 << 20);
        let limits = Limits {
            max_object_bytes: 8 << 20,
            ..Limits::default()
        };
        let (_, errs) = decode(&bomb, limits);
        assert_eq!(errs, vec![DecodeError::ObjectTooLarge { limit: 8 << 20 }]);
    }

    #[test]
    fn exactly_at_the_cap_is_fine() {
        let input = format!("[{}]", rec("a"));
        let limits = Limits {
            max_object_bytes: input.len() as u64,
            ..Limits::default()
        };
        let (ok, errs) = decode(input.as_bytes(), limits);
        assert_eq!((ok.len(), errs.len()), (1, 0));
    }

    #[test]
    fn broken_gzip_is_named() {
        let input = format!("{{\"Records\":[{},{}]}}", rec("a"), rec("b"));
        let good = gz(input.as_bytes());

        let truncated = &good[..good.len() - 12];
        let (_, errs) = decode(truncated, Limits::default());
        assert!(
            matches!(errs.last(), Some(DecodeError::Truncated { .. })),
            "{errs:?}"
        );

        let mut corrupt = good.clone();
        let mid = corrupt.len() / 2;
        for b in &mut corrupt[mid..mid + 8] {
            *b ^= 0x5a;
        }
        let (_, errs) = decode(&corrupt, Limits::default());
        assert!(
            matches!(
                errs.last(),
                Some(
                    DecodeError::Gzip { .. }
                        | DecodeError::Truncated { .. }
                        | DecodeError::InvalidJson { .. }
                        | DecodeError::InvalidRecord { .. }
                )
            ),
            "{errs:?}"
        );
        assert!(errs.last().unwrap().is_fatal(), "{errs:?}");

        let mut trailing = good.clone();
        trailing.extend_from_slice(b"GARBAGE AFTER THE MEMBER");
        let (ok, errs) = decode(&trailing, Limits::default());
        assert_eq!(ok.len(), 2);
        assert!(
            matches!(errs[..], [DecodeError::TrailingGarbage { .. }]),
            "{errs:?}"
        );

        // Two members are one valid gzip stream, as zcat reads it.
        let mut two = gz(format!("[{}]\n", rec("a")).as_bytes());
        two.extend(gz(format!("[{}]", rec("b")).as_bytes()));
        let (ok, errs) = decode(&two, Limits::default());
        assert_eq!((ok.len(), errs.len()), (2, 0), "{errs:?}");
    }

    #[test]
    fn not_cloudtrail_is_named() {
        for (input, want) in [
            (&b"hello world"[..], "starts with 'h'"),
            (b"{\"digestStartTime\":\"x\",\"logFiles\":[]}", "digest"),
            (b"{\"name\":\"manifest\"}", "neither"),
        ] {
            let (_, errs) = decode(input, Limits::default());
            match &errs[..] {
                [DecodeError::NotCloudTrail { reason }] => {
                    assert!(reason.contains(want), "{reason}")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn invalid_json_structure_is_fatal() {
        let input = format!("{{\"Records\":[{} {}]}}", rec("a"), rec("b"));
        let (ok, errs) = decode(input.as_bytes(), Limits::default());
        assert_eq!(ok.len(), 1);
        assert!(matches!(errs[..], [DecodeError::InvalidJson { .. }]));
        let (_, errs) = decode(b"{\"Records\":[", Limits::default());
        assert!(matches!(errs[..], [DecodeError::Truncated { .. }]));
    }

    #[test]
    fn streams_without_holding_the_file() {
        // 20,000 records from a reader that makes them one at a time, as they are asked for:
        // decoding needs no file in memory, only the stream.
        struct Gen {
            n: usize,
            i: usize,
            cur: Vec<u8>,
            pos: usize,
        }
        impl Read for Gen {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                if self.pos == self.cur.len() {
                    if self.i > self.n {
                        return Ok(0);
                    }
                    self.cur = if self.i == 0 {
                        b"{\"Records\":[".to_vec()
                    } else if self.i == self.n {
                        format!("{}]}}", rec(&self.i.to_string())).into_bytes()
                    } else {
                        format!("{},", rec(&self.i.to_string())).into_bytes()
                    };
                    self.i += 1;
                    self.pos = 0;
                }
                let k = out.len().min(self.cur.len() - self.pos);
                out[..k].copy_from_slice(&self.cur[self.pos..self.pos + k]);
                self.pos += k;
                Ok(k)
            }
        }
        let n = Records::new(
            Gen {
                n: 20_000,
                i: 0,
                cur: Vec::new(),
                pos: 0,
            },
            Limits::default(),
        )
        .unwrap()
        .filter(|r| r.is_ok())
        .count();
        assert_eq!(n, 20_000);
    }
}
