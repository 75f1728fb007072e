//! The JSON API through `app().oneshot(...)`: the access matrix (every route, every role, own
//! and other accounts), hostile input, the OpenAPI document against the routes, and one test
//! over a real socket.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cairn_model::{Object, ObjectMeta};
use cairn_server::tokens::{Role, Tokens};
use cairn_server::users::Users;
use cairn_server::{AppState, app};
use cairn_store::{IngestOptions, Progress, Scope, Store};
use serde_json::{Value, json};
use tower::ServiceExt;

const A: &str = "111111111111";
const B: &str = "222222222222";
/// A string only account B's events hold: it must never reach a reader scoped to A.
const B_MARK: &str = "secret-b-bucket";
const PASSWORD: &str = "correct horse battery staple";

struct Bytes(ObjectMeta, Vec<u8>);

impl Object for Bytes {
    fn meta(&self) -> &ObjectMeta {
        &self.0
    }
    fn open(self: Box<Self>) -> std::io::Result<Box<dyn std::io::Read + Send>> {
        Ok(Box::new(std::io::Cursor::new(self.1)))
    }
}

fn id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

fn record(n: u32, account: &str, region: &str, name: &str, ip: &str, extra: Value) -> Value {
    json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "userName": format!("user{n}"),
            "arn": format!("arn:aws:iam::{account}:user/user{n}"), "accountId": account,
            "accessKeyId": format!("AKIAEXAMPLE{n:05}")},
        "eventTime": format!("2024-03-05T1{n}:00:00Z"),
        "eventSource": "s3.amazonaws.com", "eventName": name, "awsRegion": region,
        "sourceIPAddress": ip, "userAgent": "aws-cli/2.15.0",
        "requestParameters": extra, "eventID": id(n), "eventType": "AwsApiCall",
        "readOnly": false, "recipientAccountId": account
    })
}

fn object(account: &str, region: &str, records: Vec<Value>) -> Box<dyn Object> {
    let key = format!(
        "AWSLogs/{account}/CloudTrail/{region}/2024/03/05/{account}_CloudTrail_{region}_20240305T2000Z_AbCdEf0123456789.json"
    );
    let data = serde_json::to_vec(&json!({ "Records": records })).unwrap();
    Box::new(Bytes(
        ObjectMeta {
            location: key.clone(),
            key,
            size: Some(data.len() as u64),
            version: data.len().to_string(),
        },
        data,
    ))
}

struct Env {
    _dir: tempfile::TempDir,
    state: AppState,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = Store::open_or_create(&data).unwrap();
    let objects = vec![
        object(
            A,
            "us-east-1",
            vec![
                record(
                    1,
                    A,
                    "us-east-1",
                    "GetObject",
                    "10.0.0.1",
                    json!({"bucketName": "a-bucket"}),
                ),
                record(
                    2,
                    A,
                    "us-east-1",
                    "PutObject",
                    "10.0.0.2",
                    json!({"bucketName": "a-bucket"}),
                ),
                record(
                    3,
                    A,
                    "us-east-1",
                    "DeleteObject",
                    "10.0.0.1",
                    json!({"bucketName": "a-bucket"}),
                ),
            ],
        ),
        object(
            A,
            "eu-west-1",
            vec![record(
                4,
                A,
                "eu-west-1",
                "GetObject",
                "10.0.0.4",
                json!({"bucketName": "a-eu"}),
            )],
        ),
        object(
            B,
            "us-east-1",
            vec![
                record(
                    5,
                    B,
                    "us-east-1",
                    "DeleteBucket",
                    "198.51.100.66",
                    json!({"bucketName": B_MARK}),
                ),
                record(
                    6,
                    B,
                    "us-east-1",
                    "PutBucketPolicy",
                    "198.51.100.66",
                    json!({"bucketName": B_MARK}),
                ),
            ],
        ),
    ];
    let r = cairn_store::ingest::ingest(
        &store,
        objects,
        &IngestOptions {
            threads: 1,
            ..IngestOptions::default()
        },
        &Arc::new(Progress::default()),
    )
    .unwrap();
    assert_eq!(r.events_indexed, 6, "{r:?}");
    write_alerts(&data);
    let mut users = Users::default();
    let scoped = Scope::new(&[A.into()], &[]);
    for (name, role, scope) in [
        ("admin", Role::Admin, Scope::ALL),
        ("analyst-a", Role::Analyst, scoped.clone()),
        ("viewer-a", Role::Viewer, scoped.clone()),
        (
            "analyst-a-eu",
            Role::Analyst,
            Scope::new(&[A.into()], &["eu-west-1".into()]),
        ),
    ] {
        users.add(name, PASSWORD, role, scope, 0).unwrap();
    }
    users.save(&data).unwrap();
    let state = AppState::new(Arc::new(Store::open(&data).unwrap()), false);
    Env { _dir: dir, state }
}

fn alert(id: &str, account: &str, events: &[u32]) -> cairn_detect::Alert {
    serde_json::from_value(json!({
        "id": id, "kind": "detection", "rule_id": "r1", "rule": "test rule", "severity": "high",
        "first_seen": "2024-03-05T11:00:00Z", "last_seen": "2024-03-05T16:00:00Z",
        "count": events.len(), "account": account, "region": "us-east-1",
        "event_ids": events.iter().map(|n| id_of(*n)).collect::<Vec<_>>(),
        "summary": format!("something in {account}"), "raised": 1_709_640_000
    }))
    .unwrap()
}

fn id_of(n: u32) -> String {
    id(n)
}

fn write_alerts(data: &Path) {
    let dir = cairn_detect::recorder::detect_dir(data);
    std::fs::create_dir_all(&dir).unwrap();
    // alert-a also names an event of B (as a cross-account correlation could): a reader scoped
    // to A must get the alert without that event.
    cairn_detect::recorder::append_alerts(
        &dir,
        &[
            alert("alert-a", A, &[1, 2, 5]),
            alert("alert-b", B, &[5, 6]),
        ],
    )
    .unwrap();
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

async fn send(state: &AppState, req: Request<Body>) -> Answer {
    let res = app(state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// How a request authenticates.
#[derive(Clone)]
enum Who {
    Nobody,
    Session { cookie: String, csrf: String },
    Bearer(String),
}

async fn login(state: &AppState, user: &str, password: &str) -> (StatusCode, Option<Who>) {
    let a = send(
        state,
        Request::post("/api/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"username": user, "password": password}).to_string(),
            ))
            .unwrap(),
    )
    .await;
    if a.status != StatusCode::OK {
        return (a.status, None);
    }
    let cookie = a.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_string();
    let csrf = a.json()["csrf"].as_str().unwrap().to_string();
    (a.status, Some(Who::Session { cookie, csrf }))
}

fn request(method: &str, uri: &str, who: &Who, csrf: bool) -> Request<Body> {
    let mut r = Request::builder().method(method).uri(uri);
    match who {
        Who::Nobody => {}
        Who::Session {
            cookie,
            csrf: token,
        } => {
            r = r.header(header::COOKIE, cookie);
            if csrf {
                r = r.header("x-csrf-token", token);
            }
        }
        Who::Bearer(b) => r = r.header(header::AUTHORIZATION, format!("Bearer {b}")),
    }
    r.body(Body::empty()).unwrap()
}

const GETS: &[&str] = &[
    "/api/session",
    "/api/search",
    "/api/search?q=recipientAccountId:222222222222",
    "/api/search?q=198.51.100.66",
    "/api/count",
    "/api/facets",
    "/api/facets?fields=recipientAccountId,requestParameters.bucketName",
    "/api/timeline",
    "/api/fields",
    "/api/events/EVENT_A",
    "/api/events/EVENT_B",
    "/api/alerts",
    "/api/alerts/alert-a",
    "/api/alerts/alert-b",
    "/api/monitors",
    "/api/rules",
    "/api/health",
    "/api/integrity",
    "/api/stats",
    "/api/users",
    "/api/audit",
    "/metrics",
];

#[tokio::test]
async fn access_matrix_every_route_every_role() {
    let e = env();
    let s = &e.state;
    let mut who: Vec<(&str, Who)> = vec![("nobody", Who::Nobody)];
    for name in ["admin", "analyst-a", "viewer-a", "analyst-a-eu"] {
        let (st, w) = login(s, name, PASSWORD).await;
        assert_eq!(st, StatusCode::OK, "{name}");
        who.push((name, w.unwrap()));
    }
    let mut tokens = Tokens::default();
    let t = tokens.create("ci", Role::Viewer, Scope::new(&[A.into()], &[]), 0);
    tokens.save(s.store.dir()).unwrap();
    who.push(("token-a", Who::Bearer(format!("{}:{}", t.id, t.secret))));
    // The right secret with its last character changed (to one it surely is not).
    let last = if t.secret.ends_with('x') { 'y' } else { 'x' };
    who.push((
        "token-wrong",
        Who::Bearer(format!("{}:{}{last}", t.id, &t.secret[..39])),
    ));

    for (name, w) in &who {
        let scoped = name.ends_with("-a") || name.ends_with("-eu");
        let eu_only = name.ends_with("-eu");
        let admin = *name == "admin";
        let anonymous = matches!(name, &"nobody" | &"token-wrong");
        for route in GETS {
            let uri = route
                .replace("EVENT_A", &id(if eu_only { 4 } else { 1 }))
                .replace("EVENT_B", &id(5));
            let a = send(s, request("GET", &uri, w, false)).await;
            let expected = if anonymous {
                StatusCode::UNAUTHORIZED
            } else if !admin && ["/api/users", "/api/audit", "/metrics"].contains(route) {
                StatusCode::FORBIDDEN
            } else if scoped
                && (uri.ends_with(&id(5))
                    || route.ends_with("alert-b")
                    || (eu_only && route.ends_with("alert-a")))
            {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::OK
            };
            assert_eq!(a.status, expected, "{name} GET {uri}: {}", a.body);
            if scoped {
                for mark in [B, B_MARK, "198.51.100.66", &id(5), &id(6), "alert-b"] {
                    assert!(
                        !a.body.contains(mark),
                        "{name} GET {uri} leaks {mark}: {}",
                        a.body
                    );
                }
            }
            if eu_only {
                assert!(
                    !a.body.contains("10.0.0.1") && !a.body.contains(&id(1)),
                    "{name} GET {uri} leaks another region: {}",
                    a.body
                );
            }
            // A missing event of another account answers exactly as a missing one.
            if expected == StatusCode::NOT_FOUND && uri.contains("/api/events/") {
                let none = send(s, request("GET", "/api/events/no-such-id", w, false)).await;
                assert_eq!((none.status, none.body.clone()), (a.status, a.body.clone()));
            }
        }
        if anonymous {
            continue;
        }
        let total = send(s, request("GET", "/api/search", w, false))
            .await
            .json()["total"]
            .clone();
        let want = if eu_only {
            1
        } else if scoped {
            4
        } else {
            6
        };
        assert_eq!(total, json!(want), "{name}");
        let alert = send(s, request("GET", "/api/alerts/alert-a", w, false)).await;
        if alert.status == StatusCode::OK {
            let n = alert.json()["events"].as_array().unwrap().len();
            let want = if eu_only {
                0
            } else if scoped {
                2
            } else {
                3
            };
            assert_eq!(n, want, "{name}: {}", alert.body);
        }
    }

    // Acknowledging: analysts and admins, in scope, with the CSRF token.
    let get = |n: &str| who.iter().find(|(x, _)| *x == n).unwrap().1.clone();
    for (name, alert, csrf, expected) in [
        ("viewer-a", "alert-a", true, StatusCode::FORBIDDEN),
        ("token-a", "alert-a", false, StatusCode::FORBIDDEN),
        ("analyst-a", "alert-b", true, StatusCode::NOT_FOUND),
        ("analyst-a", "alert-a", false, StatusCode::FORBIDDEN),
        ("nobody", "alert-a", false, StatusCode::UNAUTHORIZED),
        ("analyst-a", "alert-a", true, StatusCode::OK),
        ("admin", "alert-b", true, StatusCode::OK),
    ] {
        let a = send(
            s,
            request(
                "POST",
                &format!("/api/alerts/{alert}/ack"),
                &get(name),
                csrf,
            ),
        )
        .await;
        assert_eq!(a.status, expected, "{name} ack {alert}: {}", a.body);
        if expected == StatusCode::OK {
            assert_eq!(a.json()["alert"]["acknowledged"]["by"], json!(name));
        }
    }
    let acks = cairn_server::acks::read(s.store.dir()).unwrap();
    assert_eq!(acks.len(), 2);
    assert_eq!(acks["alert-a"].by, "analyst-a");

    // The audit log holds logins, searches and acknowledgements, and never a password.
    let audit = std::fs::read_to_string(cairn_server::audit::path(s.store.dir())).unwrap();
    assert!(audit.contains("\"action\":\"login\""));
    assert!(audit.contains("\"action\":\"search\""));
    assert!(audit.contains("\"action\":\"alert_ack\""));
    assert!(!audit.contains(PASSWORD));
    assert!(!audit.contains(&t.secret));

    // Logging out ends the session.
    let admin = get("admin");
    let a = send(s, request("POST", "/api/logout", &admin, true)).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = send(s, request("GET", "/api/session", &admin, false)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn hostile_input_is_refused_and_changes_nothing() {
    let e = env();
    let s = &e.state;
    let (_, admin) = login(s, "admin", PASSWORD).await;
    let admin = admin.unwrap();
    let (_, analyst) = login(s, "analyst-a", PASSWORD).await;
    let analyst = analyst.unwrap();

    // Oversized bodies.
    let big = vec![b'a'; 2 << 20];
    for uri in ["/api/login", "/"] {
        let a = send(
            s,
            Request::post(uri)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(big.clone()))
                .unwrap(),
        )
        .await;
        assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{uri}");
    }
    // Malformed JSON and the wrong media type.
    for (ty, body, status) in [
        (
            "application/json",
            "{\"username\": ",
            StatusCode::BAD_REQUEST,
        ),
        ("application/json", "[1,2,3]", StatusCode::BAD_REQUEST),
        (
            "text/plain",
            "{\"username\":\"admin\",\"password\":\"x\"}",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "application/x-www-form-urlencoded",
            "username=admin&password=x",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ] {
        let a = send(
            s,
            Request::post("/api/login")
                .header(header::CONTENT_TYPE, ty)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
        assert_eq!(a.status, status, "{ty} {body}: {}", a.body);
        assert!(a.json()["error"].is_string());
    }
    let lookup = |body: &'static str| {
        Request::post("/")
            .header(
                "x-amz-target",
                format!("{}LookupEvents", cairn_server::TARGET_PREFIX),
            )
            .body(Body::from(body))
            .unwrap()
    };
    let a = send(s, lookup("{not json")).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(
        a.body.contains("MissingAuthenticationTokenException"),
        "{}",
        a.body
    );
    let open = AppState::new(s.store.clone(), true);
    let a = send(&open, lookup("{not json")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("SerializationException"), "{}", a.body);

    // Query-language injection cannot widen a scope: whatever the query says, the scope is
    // AND-ed outside it.
    for q in [
        "recipientAccountId:222222222222",
        "* OR recipientAccountId:222222222222",
        "eventName:x) OR (recipientAccountId:222222222222",
        "NOT recipientAccountId:111111111111",
        "account:* OR NOT account:*",
        "requestParameters.bucketName:secret-b-bucket",
        "\"secret-b-bucket\"",
    ] {
        let uri = format!("/api/search?q={}", urlencode(q));
        let a = send(s, request("GET", &uri, &analyst, false)).await;
        assert!(
            a.status == StatusCode::OK || a.status == StatusCode::BAD_REQUEST,
            "{q}: {}",
            a.body
        );
        assert!(
            !a.body.contains(B_MARK) && !a.body.contains(&id(5)),
            "{q}: {}",
            a.body
        );
        if a.status == StatusCode::OK {
            for h in a.json()["hits"].as_array().unwrap() {
                assert_eq!(h["account"], json!(A), "{q}");
            }
        }
    }
    // A syntax error says where.
    let a = send(
        s,
        request("GET", "/api/search?q=eventName%3A(a%20OR", &admin, false),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.json()["position"].is_u64(), "{}", a.body);
    // An over-long query and a bad time.
    let long = "a".repeat(cairn_server::api::MAX_QUERY + 1);
    let a = send(
        s,
        request("GET", &format!("/api/search?q={long}"), &admin, false),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = send(
        s,
        request("GET", "/api/search?from=yesterday-ish", &admin, false),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = send(
        s,
        request("GET", "/api/search?offset=100000000", &admin, false),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);

    // Path traversal on the assets reads nothing from disk.
    for uri in [
        "/assets/..%2f..%2fCargo.toml",
        "/assets/../../Cargo.toml",
        "/assets/%2e%2e/%2e%2e/src/lib.rs",
        "/assets/..%5c..%5cCargo.toml",
        "/assets/app.js%00.css",
        "/assets/",
        "/../../etc/passwd",
    ] {
        let a = send(s, Request::get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(
            !a.body.contains("[package]") && !a.body.contains("root:"),
            "{uri}"
        );
    }
    let a = send(
        s,
        Request::get("/assets/app.js").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );

    // Missing, forged and cross-origin CSRF: refused, nothing acknowledged, session kept.
    let Who::Session { cookie, csrf } = &analyst else {
        unreachable!()
    };
    for (token, origin) in [
        (None, None),
        (Some("forged"), None),
        (Some(""), None),
        (Some(csrf.as_str()), Some("http://evil.example")),
    ] {
        let mut r = Request::post("/api/alerts/alert-a/ack")
            .header(header::COOKIE, cookie)
            .header(header::HOST, "127.0.0.1:8080");
        if let Some(t) = token {
            r = r.header("x-csrf-token", t);
        }
        if let Some(o) = origin {
            r = r.header(header::ORIGIN, o);
        }
        let a = send(s, r.body(Body::empty()).unwrap()).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{token:?} {origin:?}");
    }
    let mut r = Request::post("/api/logout").header(header::COOKIE, cookie.as_str());
    r = r.header("x-csrf-token", "forged");
    assert_eq!(
        send(s, r.body(Body::empty()).unwrap()).await.status,
        StatusCode::FORBIDDEN
    );
    assert!(cairn_server::acks::read(s.store.dir()).unwrap().is_empty());
    let a = send(s, request("GET", "/api/session", &analyst, false)).await;
    assert_eq!(a.status, StatusCode::OK);
    // A forged session cookie.
    let forged = Who::Session {
        cookie: "cairn_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
        csrf: "x".into(),
    };
    assert_eq!(
        send(s, request("GET", "/api/search", &forged, false))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // Failed logins are limited, then even the right password waits.
    for _ in 0..cairn_server::auth::LOGIN_FAILURES {
        assert_eq!(
            login(s, "viewer-a", "wrong password!!").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (st, _) = login(s, "viewer-a", PASSWORD).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    // Unknown users fail the same way as wrong passwords.
    let a = send(
        s,
        Request::post("/api/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"username": "mallory", "password": "x"}).to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert!(a.status == StatusCode::UNAUTHORIZED || a.status == StatusCode::TOO_MANY_REQUESTS);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The document lists exactly the API routes the server declares, and each GET answers with
/// the properties it documents as required.
#[tokio::test]
async fn openapi_matches_the_handlers() {
    let src = include_str!("../src/lib.rs");
    let mut routed: Vec<String> = src
        .match_indices(".route(\"")
        .map(|(i, m)| {
            let rest = &src[i + m.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .filter(|p| p.starts_with("/api/"))
        .collect();
    routed.sort();
    let doc = cairn_server::openapi::document();
    let mut documented: Vec<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    documented.sort();
    assert_eq!(routed, documented);

    let e = env();
    let s = &e.state;
    let (_, admin) = login(s, "admin", PASSWORD).await;
    let admin = admin.unwrap();
    let served = send(
        s,
        Request::get("/api/openapi.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(served.json(), doc);
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(get) = item.get("get") else { continue };
        let uri = path
            .replace(
                "{id}",
                if path.contains("alerts") {
                    "alert-a"
                } else {
                    ""
                },
            )
            .replace("/api/events/", &format!("/api/events/{}", id(1)));
        let a = send(s, request("GET", &uri, &admin, false)).await;
        assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.body);
        let schema = &get["responses"]["200"]["content"]["application/json"]["schema"];
        let schema = match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => doc["components"]["schemas"][r.rsplit('/').next().unwrap()].clone(),
            None => schema.clone(),
        };
        let body = a.json();
        for key in schema["required"].as_array().into_iter().flatten() {
            let key = key.as_str().unwrap();
            assert!(body.get(key).is_some(), "{uri} lacks {key}: {body}");
        }
    }
}

/// Over a real socket: connection info, compression, security headers, a session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_socket() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let e = env();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service =
        app(e.state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
    async fn raw(addr: std::net::SocketAddr, req: String) -> String {
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(req.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        c.read_to_end(&mut out).await.unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }
    let r = raw(
        addr,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into(),
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    let r = raw(
        addr,
        "GET /api/openapi.json HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n".into(),
    )
    .await;
    assert!(
        r.to_ascii_lowercase().contains("content-encoding: gzip"),
        "{}",
        &r[..300.min(r.len())]
    );
    let body = json!({"username": "admin", "password": PASSWORD}).to_string();
    let r = raw(
        addr,
        format!(
            "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    let cookie = r
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let r = raw(
        addr,
        format!(
            "GET /api/stats HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(r.contains("\"events\":6"), "{r}");
    assert!(r.to_ascii_lowercase().contains("x-frame-options: deny"));
    // The audit log names the client's address.
    let audit = std::fs::read_to_string(cairn_server::audit::path(e.state.store.dir())).unwrap();
    assert!(audit.contains("\"client\":\"127.0.0.1\""), "{audit}");
}
