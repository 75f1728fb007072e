//! CloudTrail's `LookupEvents` on the AWS JSON 1.1 wire format (CLOUDTRAIL.md §5), so that
//! `aws cloudtrail lookup-events --endpoint-url ...` and boto3's paginator work unchanged.
//!
//! Paging tokens are stateless: a token encodes the position, the end of the window fixed by
//! the first page (so new events do not shift the pages) and a hash of the request's other
//! parameters (a token is valid only with the same ones). The AWS CLI sends a token again
//! later when `--max-items` resumes, which this allows.

use base64::Engine as _;
use cairn_store::search::{Lookup, TimeRange};
use cairn_store::{Scope, Store, StoreError};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

/// An error in CloudTrail's words: HTTP 400 with `{"__type": ..., "message": ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub kind: &'static str,
    pub message: String,
}

impl ApiError {
    fn bad(kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            kind,
            message: message.into(),
        }
    }

    pub fn body(&self) -> Value {
        json!({"__type": self.kind, "message": self.message})
    }
}

/// The attribute keys `LookupEvents` accepts.
pub const ATTRIBUTE_KEYS: [&str; 8] = [
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
];

/// Results per page when `MaxResults` is not given, and the most allowed.
pub const MAX_RESULTS: u64 = 50;

/// A validated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub lookup: Lookup,
    pub start: Option<OffsetDateTime>,
    pub end: Option<OffsetDateTime>,
    pub max_results: u64,
    pub token: Option<Token>,
    /// Hash of the parameters a token must be used with.
    pub fingerprint: String,
}

/// Where the next page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub offset: u64,
    /// Unix seconds: the end of the window as of the first page.
    pub end: i64,
    /// Unix seconds: the first page's time; later pages see only events stored before it.
    pub asof: i64,
}

fn time_of(v: &Value, field: &str) -> Result<Option<OffsetDateTime>, ApiError> {
    let bad = || {
        ApiError::bad(
            "SerializationException",
            format!("{field} is not a timestamp"),
        )
    };
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let secs = n.as_f64().ok_or_else(bad)?;
            OffsetDateTime::from_unix_timestamp(secs.floor() as i64)
                .map(Some)
                .map_err(|_| bad())
        }
        // boto3 and the CLI send numbers; accept RFC 3339 text from hand-written clients.
        Some(Value::String(s)) => {
            OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .map(Some)
                .map_err(|_| bad())
        }
        Some(_) => Err(bad()),
    }
}

impl Request {
    /// Parses and checks a request body.
    pub fn parse(body: &[u8]) -> Result<Request, ApiError> {
        let v: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::bad(
                "SerializationException",
                format!("the body is not JSON: {e}"),
            )
        })?;
        if !v.is_object() {
            return Err(ApiError::bad(
                "SerializationException",
                "the body is not a JSON object",
            ));
        }
        let mut lookup = Lookup::default();
        let attrs = match v.get("LookupAttributes") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.clone(),
            Some(_) => {
                return Err(ApiError::bad(
                    "InvalidLookupAttributesException",
                    "LookupAttributes must be a list",
                ));
            }
        };
        if attrs.len() > 1 {
            return Err(ApiError::bad(
                "InvalidLookupAttributesException",
                "You cannot specify more than one lookup attribute",
            ));
        }
        let mut canonical = Vec::new();
        for a in &attrs {
            let key = a.get("AttributeKey").and_then(Value::as_str).unwrap_or("");
            let value = a
                .get("AttributeValue")
                .and_then(Value::as_str)
                .unwrap_or("");
            if value.is_empty() || value.len() > 2000 {
                return Err(ApiError::bad(
                    "InvalidLookupAttributesException",
                    "AttributeValue must be 1 to 2000 characters",
                ));
            }
            let v = Some(value.to_string());
            match key {
                "EventId" => lookup.event_id = v,
                "EventName" => lookup.event_name = v,
                "Username" => lookup.username = v,
                "ResourceType" => lookup.resource_type = v,
                "ResourceName" => lookup.resource_name = v,
                "EventSource" => lookup.event_source = v,
                "AccessKeyId" => lookup.access_key_id = v,
                "ReadOnly" => {
                    lookup.read_only = Some(match value.to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(ApiError::bad(
                                "InvalidLookupAttributesException",
                                "ReadOnly is true or false",
                            ));
                        }
                    })
                }
                _ => {
                    return Err(ApiError::bad(
                        "InvalidLookupAttributesException",
                        format!(
                            "AttributeKey {key:?} is not one of {}",
                            ATTRIBUTE_KEYS.join(", ")
                        ),
                    ));
                }
            }
            canonical.push(format!("{key}={value}"));
        }
        match v.get("EventCategory") {
            None | Some(Value::Null) => {}
            Some(Value::String(c)) if c == "insight" => lookup.insights_only = true,
            Some(other) => {
                return Err(ApiError::bad(
                    "InvalidEventCategoryException",
                    format!("EventCategory {other} is not insight"),
                ));
            }
        }
        let start = time_of(&v, "StartTime")?;
        let end = time_of(&v, "EndTime")?;
        if let (Some(s), Some(e)) = (start, end)
            && s > e
        {
            return Err(ApiError::bad(
                "InvalidTimeRangeException",
                "StartTime is after EndTime",
            ));
        }
        let max_results = match v.get("MaxResults") {
            None | Some(Value::Null) => MAX_RESULTS,
            Some(n) => match n.as_u64() {
                Some(n) if (1..=MAX_RESULTS).contains(&n) => n,
                _ => {
                    return Err(ApiError::bad(
                        "InvalidMaxResultsException",
                        format!("MaxResults must be 1 to {MAX_RESULTS}"),
                    ));
                }
            },
        };
        let fingerprint = {
            let params = format!(
                "{}|{:?}|{:?}|{}",
                canonical.join("&"),
                start.map(OffsetDateTime::unix_timestamp),
                end.map(OffsetDateTime::unix_timestamp),
                lookup.insights_only
            );
            let h = Sha256::digest(params.as_bytes());
            cairn_model::hex(&h[..8])
        };
        let token = match v.get("NextToken") {
            None | Some(Value::Null) => None,
            Some(Value::String(t)) => Some(decode_token(t, &fingerprint)?),
            Some(_) => {
                return Err(ApiError::bad(
                    "InvalidNextTokenException",
                    "NextToken is not a string",
                ));
            }
        };
        Ok(Request {
            lookup,
            start,
            end,
            max_results,
            token,
            fingerprint,
        })
    }
}

fn encode_token(t: Token, fingerprint: &str) -> String {
    let raw = format!("2:{}:{}:{}:{fingerprint}", t.offset, t.end, t.asof);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_token(s: &str, fingerprint: &str) -> Result<Token, ApiError> {
    let bad = || {
        ApiError::bad(
            "InvalidNextTokenException",
            "NextToken is not valid for this request (a token works only with the parameters of the request that returned it)",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim())
        .map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let parts: Vec<&str> = raw.split(':').collect();
    match parts.as_slice() {
        ["2", offset, end, asof, fp] if *fp == fingerprint => Ok(Token {
            offset: offset.parse().map_err(|_| bad())?,
            end: end.parse().map_err(|_| bad())?,
            asof: asof.parse().map_err(|_| bad())?,
        }),
        _ => Err(bad()),
    }
}

/// Most events a token may skip: deep pages are answered, but a token cannot ask the store
/// to walk further than this.
pub const MAX_OFFSET: u64 = 1_000_000;

/// Answers a request from the store, as far as the caller's scope lets it see: the response body.
pub fn lookup_events(store: &Store, req: &Request, scope: &Scope) -> Result<Value, ApiError> {
    let internal = |e: StoreError| ApiError {
        status: 500,
        kind: "InternalFailure",
        message: e.to_string(),
    };
    let now = OffsetDateTime::now_utc();
    // The window's end is fixed by the first page, so that pages do not move as events arrive.
    let bad_token = |_| ApiError::bad("InvalidNextTokenException", "NextToken is not valid");
    let (offset, end, asof) = match req.token {
        Some(t) => (
            t.offset,
            OffsetDateTime::from_unix_timestamp(t.end).map_err(bad_token)?,
            OffsetDateTime::from_unix_timestamp(t.asof).map_err(bad_token)?,
        ),
        None => (
            0,
            req.end.unwrap_or(now).min(now + time::Duration::days(3650)),
            now + time::Duration::seconds(1),
        ),
    };
    if offset > MAX_OFFSET {
        return Err(ApiError::bad(
            "InvalidNextTokenException",
            "NextToken is past the deepest page served",
        ));
    }
    // `end` is inclusive in LookupEvents; the store's range is exclusive.
    let range = TimeRange {
        from: req.start,
        to: Some(end + time::Duration::seconds(1)),
        ingested_before: Some(asof),
    };
    let compiled = store
        .compile_lookup(&req.lookup, range, scope)
        .map_err(internal)?;
    let n = req.max_results as usize;
    // One more than asked tells whether there is a next page.
    let hits = store
        .search(&compiled, n + 1, offset as usize)
        .map_err(internal)?;
    let more = hits.len() > n;
    let events: Vec<Value> = hits.iter().take(n).map(|h| event(&h.raw)).collect();
    let mut body = json!({ "Events": events });
    if more {
        body["NextToken"] = encode_token(
            Token {
                offset: offset + n as u64,
                end: end.unix_timestamp(),
                asof: asof.unix_timestamp(),
            },
            &req.fingerprint,
        )
        .into();
    }
    Ok(body)
}

/// One event in `LookupEvents`' shape, `CloudTrailEvent` being the record as a JSON string.
pub fn event(raw: &[u8]) -> Value {
    let rec: Value = serde_json::from_slice(raw).unwrap_or(Value::Null);
    let s = |path: &str| cairn_model::record::get_str(&rec, path).map(str::to_string);
    let mut e = serde_json::Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            e.insert(k.to_string(), v);
        }
    };
    put("EventId", s("eventID").map(Value::from));
    put("EventName", s("eventName").map(Value::from));
    put(
        "ReadOnly",
        rec.get("readOnly").map(|r| match r {
            Value::Bool(b) => Value::from(b.to_string()),
            other => Value::from(other.as_str().unwrap_or("").to_string()),
        }),
    );
    put(
        "AccessKeyId",
        s("userIdentity.accessKeyId").map(Value::from),
    );
    put(
        "EventTime",
        cairn_model::record::get_str(&rec, "eventTime")
            .and_then(|t| {
                OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            })
            .map(|t| Value::from(t.unix_timestamp())),
    );
    put("EventSource", s("eventSource").map(Value::from));
    put(
        "Username",
        cairn_model::record::event_history_username(&rec).map(Value::from),
    );
    let resources: Vec<Value> = rec
        .get("resources")
        .and_then(Value::as_array)
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    json!({
                        "ResourceType": r.get("type").and_then(Value::as_str),
                        "ResourceName": r.get("ARN").and_then(Value::as_str),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    put("Resources", Some(Value::from(resources)));
    put(
        "CloudTrailEvent",
        Some(Value::from(String::from_utf8_lossy(raw).to_string())),
    );
    Value::Object(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> &'static str {
        Request::parse(body.as_bytes()).unwrap_err().kind
    }

    #[test]
    fn each_documented_error() {
        assert_eq!(err("not json"), "SerializationException");
        assert_eq!(
            err(r#"{"LookupAttributes":[{"AttributeKey":"Nope","AttributeValue":"x"}]}"#),
            "InvalidLookupAttributesException"
        );
        assert_eq!(
            err(
                r#"{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"a"},{"AttributeKey":"EventName","AttributeValue":"b"}]}"#
            ),
            "InvalidLookupAttributesException"
        );
        assert_eq!(
            err(r#"{"LookupAttributes":[{"AttributeKey":"ReadOnly","AttributeValue":"maybe"}]}"#),
            "InvalidLookupAttributesException"
        );
        assert_eq!(
            err(r#"{"StartTime":20,"EndTime":10}"#),
            "InvalidTimeRangeException"
        );
        assert_eq!(err(r#"{"MaxResults":0}"#), "InvalidMaxResultsException");
        assert_eq!(err(r#"{"MaxResults":51}"#), "InvalidMaxResultsException");
        assert_eq!(
            err(r#"{"EventCategory":"data"}"#),
            "InvalidEventCategoryException"
        );
        assert_eq!(
            err(r#"{"NextToken":"garbage!"}"#),
            "InvalidNextTokenException"
        );
    }

    #[test]
    fn a_token_works_only_with_its_parameters() {
        let a = Request::parse(
            br#"{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"A"}]}"#,
        )
        .unwrap();
        let t = encode_token(
            Token {
                offset: 50,
                end: 1_700_000_000,
                asof: 1_700_000_100,
            },
            &a.fingerprint,
        );
        let again = format!(
            r#"{{"LookupAttributes":[{{"AttributeKey":"EventName","AttributeValue":"A"}}],"NextToken":"{t}","MaxResults":10}}"#
        );
        let r = Request::parse(again.as_bytes()).unwrap();
        assert_eq!(
            r.token,
            Some(Token {
                offset: 50,
                end: 1_700_000_000,
                asof: 1_700_000_100,
            })
        );
        let other = format!(
            r#"{{"LookupAttributes":[{{"AttributeKey":"EventName","AttributeValue":"B"}}],"NextToken":"{t}"}}"#
        );
        assert_eq!(err(&other), "InvalidNextTokenException");
    }
}
