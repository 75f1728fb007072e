//! The bodies of the fuzz targets (`fuzz/`, run by `cargo fuzz` through `scripts/fuzz.sh`),
//! kept here so that the normal test suite runs every saved input through the same code
//! (`tests/regressions.rs`). Each function takes arbitrary bytes, must never panic, hang or
//! grow without bound, and asserts what must hold of whatever the parser accepted.

use std::sync::{Arc, OnceLock};

use cairn_store::search::TimeRange;
use cairn_store::{Scope, Store};

/// A target's body.
pub type Target = fn(&[u8]);

/// The targets by name, as `cargo fuzz` knows them.
pub const TARGETS: &[(&str, Target)] = &[
    ("decode", decode),
    ("s3_key", s3_key),
    ("notification", notification),
    ("query", query),
    ("sigma", sigma),
    ("digest", digest),
    ("lookup", lookup),
    ("api_json", api_json),
];

/// An empty store in a temporary directory, opened once per process.
fn store() -> &'static Arc<Store> {
    static STORE: OnceLock<(tempfile::TempDir, Arc<Store>)> = OnceLock::new();
    &STORE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let store = Store::open_or_create(dir.path()).expect("an empty store");
            (dir, Arc::new(store))
        })
        .1
}

/// The record decoder: gzip or plain, `{"Records": [...]}`, JSON lines, a bare array or one
/// record, with small limits so that the limit paths are reached too.
pub fn decode(data: &[u8]) {
    let limits = cairn_model::Limits {
        max_object_bytes: 1 << 20,
        max_record_bytes: 64 << 10,
        max_records: 10_000,
    };
    let Ok(records) = cairn_model::Records::new(data, limits) else {
        return;
    };
    for item in records.hashing() {
        match item {
            Ok(event) => {
                // What the decoder cut out is the record it parsed.
                let again: serde_json::Value =
                    serde_json::from_slice(&event.raw).expect("a decoded record's bytes are JSON");
                assert_eq!(again, event.value);
                let _ = cairn_model::record::event_history_username(&event.value);
            }
            Err(e) => {
                let _ = e.to_string();
                if e.is_fatal() {
                    break;
                }
            }
        }
    }
}

/// The S3 key router, and keys as S3 event notifications encode them.
pub fn s3_key(data: &[u8]) {
    let Ok(key) = std::str::from_utf8(data) else {
        return;
    };
    if let cairn_model::Route::CloudTrail(info) = cairn_model::route(key) {
        assert!(cairn_model::key::is_account(&info.account), "{key}");
        assert!(!info.region.is_empty(), "{key}");
    }
    let decoded = cairn_model::decode_s3_event_key(key);
    let _ = cairn_model::route(&decoded);
}

/// SQS message bodies: S3 event notifications, SNS envelopes, CloudTrail's SNS messages,
/// EventBridge events and S3 test events.
pub fn notification(data: &[u8]) {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    match cairn_model::notify::parse(body) {
        Ok(n) => {
            let _ = format!("{n:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// The query language: parsing, the positioned error, and the lowering of every parsed query
/// to an index query over a real (empty) store, run once with a scope.
pub fn query(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match cairn_query::parse(text) {
        Ok(q) => {
            let _ = q.fields();
            let scope = Scope::new(&["111111111111".to_string()], &[]);
            if let Ok(c) = store().compile(&q, TimeRange::default(), &scope) {
                let _ = store().count(&c);
            }
        }
        Err(e) => {
            let _ = e.render(text);
        }
    }
}

/// Sigma rule files (YAML, legacy rewrites, correlations), then the loaded rules run on an
/// event.
pub fn sigma(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (rules, errors) =
        cairn_detect::RuleSet::from_texts(vec![("fuzz.yml".into(), text.to_string())]);
    for e in &errors {
        let _ = e.to_string();
    }
    if rules.is_empty() {
        return;
    }
    let event = serde_json::json!({
        "eventVersion": "1.08", "eventSource": "iam.amazonaws.com", "eventName": "CreateUser",
        "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2",
        "userIdentity": {"type": "IAMUser", "userName": "alice", "accountId": "111111111111",
            "arn": "arn:aws:iam::111111111111:user/alice"},
        "requestParameters": {"userName": "mallory"}, "eventTime": "2025-05-01T00:00:00Z",
        "eventID": "00000000-0000-4000-8000-000000000001", "recipientAccountId": "111111111111"
    });
    let _ = cairn_detect::Detector::new(&rules).inspect(&event);
}

/// Digest files and public-key lists: parsing, the string to sign, and the signature check.
pub fn digest(data: &[u8]) {
    use cairn_integrity::{Digest, PublicKeys, verify_signature};
    if let Ok(keys) = PublicKeys::from_list_json(data) {
        for k in keys.iter() {
            let _ = verify_signature(&k.der, b"message", &[0u8; 256]);
        }
    }
    let Ok(d) = Digest::parse(data) else {
        return;
    };
    let _ = (d.start(), d.end(), d.starts_chain());
    let signed = d.string_to_sign(&cairn_integrity::digest::sha256_hex(data));
    let sig = cairn_integrity::digest::unhex(&signed).unwrap_or_default();
    let _ = verify_signature(data, signed.as_bytes(), &sig);
}

/// LookupEvents request bodies (AWS JSON 1.1): parsed and checked, then run against a real
/// (empty) store.
pub fn lookup(data: &[u8]) {
    use cairn_server::lookup::{Request, lookup_events};
    match Request::parse(data) {
        Ok(req) => {
            let _ = lookup_events(store(), &req, &Scope::ALL);
        }
        Err(e) => {
            let _ = format!("{e:?}");
        }
    }
}

const POSTS: &[(&str, &str)] = &[
    ("/api/login", "application/json"),
    ("/api/alerts/0123456789abcdef/ack", "application/json"),
    ("/", "application/x-amz-json-1.1"),
];
const GETS: &[&str] = &[
    "/api/search",
    "/api/count",
    "/api/facets",
    "/api/timeline",
    "/api/fields",
];

/// The HTTP API's JSON bodies and query strings, through the real router (authentication off,
/// as on loopback): login, acknowledgement, LookupEvents, and each search route's parameters.
/// The first byte picks the route. No input may make the server answer 5xx (but 503, the
/// request timeout).
pub fn api_json(data: &[u8]) {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    static STATE: OnceLock<cairn_server::AppState> = OnceLock::new();
    let rt = RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    });
    let state = STATE.get_or_init(|| cairn_server::AppState::new(store().clone(), true));
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let req = if which < 128 {
        let (path, ty) = POSTS[which as usize % POSTS.len()];
        let mut b = Request::post(path)
            .header("content-type", ty)
            .header("origin", "http://127.0.0.1");
        if path == "/" {
            b = b.header(
                "x-amz-target",
                "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
            );
        }
        b.body(Body::from(body.to_vec()))
    } else {
        let Ok(query) = std::str::from_utf8(body) else {
            return;
        };
        let path = GETS[which as usize % GETS.len()];
        let query = query.replace([' ', '#', '\n', '\r', '\t'], "%20");
        Request::get(format!("{path}?{query}")).body(Body::empty())
    };
    let Ok(req) = req else { return };
    let res = rt
        .block_on(cairn_server::app(state.clone()).oneshot(req))
        .expect("the router always answers");
    let status = res.status().as_u16();
    assert!(status < 500 || status == 503, "answered {status}");
}
