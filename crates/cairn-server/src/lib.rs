//! `cairn serve`: the store as a service.
//!
//! - `POST /` speaks CloudTrail's AWS JSON 1.1 protocol (`X-Amz-Target`): `LookupEvents`,
//!   so that the AWS CLI and the SDKs work against cairn unchanged ([`lookup`]).
//! - `GET /api/search`, `GET /api/events/{id}`: the JSON API.
//! - `GET /healthz`.
//!
//! Store reads are blocking (tantivy), so handlers run them on tokio's blocking pool.

pub mod lookup;
pub mod sigv4;
pub mod tokens;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cairn_store::Store;
use cairn_store::search::TimeRange;
use serde::Deserialize;
use serde_json::{Value, json};

/// The `X-Amz-Target` prefix of CloudTrail's operations.
pub const TARGET_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";

/// Largest request body accepted.
pub const MAX_BODY: usize = 1 << 20;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    /// With authentication, where the tokens are read from (on each request, so that a
    /// revocation takes effect at once); `None` serves anyone (loopback only).
    pub auth_dir: Option<std::path::PathBuf>,
}

/// Checks a request's SigV4 signature against the API tokens, when authentication is on.
fn authorize(
    s: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<tokens::Token>, lookup::ApiError> {
    let Some(dir) = &s.auth_dir else {
        return Ok(None);
    };
    let all = tokens::Tokens::load(dir).map_err(|e| lookup::ApiError {
        status: 500,
        kind: "InternalFailure",
        message: format!("reading the tokens: {e}"),
    })?;
    let signed = sigv4::Signed {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        headers: headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).to_string(),
                )
            })
            .collect(),
        body,
    };
    sigv4::verify(&signed, &all, time::OffsetDateTime::now_utc()).map(|t| Some(t.clone()))
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", post(aws_json))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/api/search", get(search))
        .route("/api/events/{id}", get(event_by_id))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

fn aws_error(e: &lookup::ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        [(header::CONTENT_TYPE, "application/x-amz-json-1.1")],
        e.body().to_string(),
    )
        .into_response()
}

async fn aws_json(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(e) = authorize(&s, &method, &uri, &headers, &body) {
        return aws_error(&e);
    }
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let op = target.strip_prefix(TARGET_PREFIX).unwrap_or(target);
    if op != "LookupEvents" {
        return aws_error(&lookup::ApiError {
            status: 400,
            kind: "UnknownOperationException",
            message: format!("cairn answers LookupEvents, not {op:?}"),
        });
    }
    let req = match lookup::Request::parse(&body) {
        Ok(r) => r,
        Err(e) => return aws_error(&e),
    };
    let store = s.store.clone();
    let answer = tokio::task::spawn_blocking(move || lookup::lookup_events(&store, &req)).await;
    match answer {
        Ok(Ok(body)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-amz-json-1.1")],
            body.to_string(),
        )
            .into_response(),
        Ok(Err(e)) => aws_error(&e),
        Err(e) => aws_error(&lookup::ApiError {
            status: 500,
            kind: "InternalFailure",
            message: e.to_string(),
        }),
    }
}

fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({"error": message.into()}))).into_response()
}

#[derive(Debug, Deserialize)]
struct SearchParams {
    #[serde(default)]
    q: String,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

/// Most hits one search page returns.
pub const MAX_PAGE: usize = 1000;

async fn search(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(p): Query<SearchParams>,
) -> Response {
    if let Err(e) = authorize(&s, &method, &uri, &headers, b"") {
        return json_error(StatusCode::FORBIDDEN, format!("{}: {}", e.kind, e.message));
    }
    let now = time::OffsetDateTime::now_utc();
    let parse_time = |t: &Option<String>| {
        t.as_deref()
            .map(|t| cairn_query::time::parse_instant(t, now))
            .transpose()
    };
    let (from, to) = match (parse_time(&p.from), parse_time(&p.to)) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => return json_error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let q = if p.q.trim().is_empty() {
        "*"
    } else {
        p.q.as_str()
    };
    let query = match cairn_query::parse(q) {
        Ok(q) => q,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": e.to_string(), "position": e.position})),
            )
                .into_response();
        }
    };
    let limit = p.limit.unwrap_or(50).min(MAX_PAGE);
    let offset = p.offset.unwrap_or(0).min(lookup::MAX_OFFSET as usize);
    let store = s.store.clone();
    let result = tokio::task::spawn_blocking(move || {
        let compiled = store.compile(&query, TimeRange { from, to })?;
        let total = store.count(&compiled)?;
        let hits = store.search(&compiled, limit, offset)?;
        Ok::<_, cairn_store::StoreError>((total, hits))
    })
    .await;
    match result {
        Ok(Ok((total, hits))) => {
            let hits: Vec<Value> = hits.iter().map(hit_json).collect();
            axum::Json(json!({"total": total, "offset": offset, "hits": hits})).into_response()
        }
        Ok(Err(cairn_store::StoreError::Query(e))) => json_error(StatusCode::BAD_REQUEST, e),
        Ok(Err(e)) => json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// One event as the JSON API returns it.
fn hit_json(h: &cairn_store::search::Hit) -> Value {
    json!({"object": h.object, "integrity": h.integrity_name(), "event": h.record()})
}

async fn event_by_id(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(e) = authorize(&s, &method, &uri, &headers, b"") {
        return json_error(StatusCode::FORBIDDEN, format!("{}: {}", e.kind, e.message));
    }
    let store = s.store.clone();
    match tokio::task::spawn_blocking(move || store.get(&id)).await {
        Ok(Ok(Some(h))) => axum::Json(hit_json(&h)).into_response(),
        Ok(Ok(None)) => json_error(StatusCode::NOT_FOUND, "no such event"),
        Ok(Err(e)) => json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
