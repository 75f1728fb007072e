//! `cairn serve`: the store as a service.
//!
//! - `POST /` speaks CloudTrail's AWS JSON 1.1 protocol (`X-Amz-Target`): `LookupEvents`,
//!   so that the AWS CLI and the SDKs work against cairn unchanged ([`lookup`]).
//! - `/api/...`: the JSON API of the web UI and of scripts ([`api`], described by
//!   [`openapi`] at `/api/openapi.json`).
//! - `/`, `/events/{id}`, `/alerts`, ...: the web UI, embedded in the binary ([`assets`]).
//! - `/healthz`, `/metrics`.
//!
//! Who may see what: [`auth`] resolves each request to a [`auth::Principal`] (a session, an API
//! token, or anonymous under `--no-auth`), and every read of the store passes the principal's
//! account scope down to the store's query layer. Store reads are blocking (tantivy), so
//! handlers run them on tokio's blocking pool.

// Handlers return `Result<T, Response>` so that `?` answers the request; a `Response` is large
// but only ever built once per request.
#![allow(clippy::result_large_err)]

pub mod acks;
pub mod api;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod lookup;
pub mod metrics;
pub mod openapi;
pub mod sigv4;
pub mod tls;
pub mod tokens;
pub mod users;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cairn_store::Store;
use serde_json::Value;

use crate::auth::{Auth, Principal, Via};
use crate::tokens::Permission;

/// The `X-Amz-Target` prefix of CloudTrail's operations.
pub const TARGET_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";

/// What the server shows that the store alone does not know: the rules and monitors of the
/// configuration. The binary provides them; the defaults show none.
pub trait Views: Send + Sync {
    fn rules(&self) -> Vec<Value> {
        Vec::new()
    }
    fn monitors(&self) -> Result<Vec<Value>, String> {
        Ok(Vec::new())
    }
}

/// Views with no rules and no monitors.
#[derive(Debug, Default)]
pub struct NoViews;
impl Views for NoViews {}

/// Limits of the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body accepted.
    pub max_body: usize,
    /// Longest a request may take before it is answered 503.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body: 1 << 20,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    /// `None` serves anyone as an admin (`--no-auth`, loopback only).
    pub auth: Option<Arc<Auth>>,
    pub audit: Arc<audit::Audit>,
    pub metrics: Arc<metrics::Metrics>,
    pub views: Arc<dyn Views>,
    pub limits: Limits,
    /// Served over TLS: cookies are marked `Secure`.
    pub tls: bool,
}

impl AppState {
    /// The state of a server over a store, with authentication unless `no_auth`.
    pub fn new(store: Arc<Store>, no_auth: bool) -> AppState {
        let dir = store.dir().to_path_buf();
        AppState {
            auth: (!no_auth).then(|| Arc::new(Auth::new(&dir))),
            audit: Arc::new(audit::Audit::new(&dir)),
            metrics: Arc::new(metrics::Metrics::default()),
            views: Arc::new(NoViews),
            limits: Limits::default(),
            tls: false,
            store,
        }
    }
}

/// The address a request came from (the TCP peer), set by the outermost layer.
#[derive(Debug, Clone)]
pub struct Client(pub String);

/// Whether a request says its body is JSON.
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        })
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    let protected = Router::new()
        .route("/api/session", get(api::session))
        .route("/api/logout", post(api::logout))
        .route("/api/search", get(api::search))
        .route("/api/count", get(api::count))
        .route("/api/facets", get(api::facets))
        .route("/api/timeline", get(api::timeline))
        .route("/api/fields", get(api::fields))
        .route("/api/events/{id}", get(api::event_by_id))
        .route("/api/alerts", get(api::alerts))
        .route("/api/alerts/{id}", get(api::alert))
        .route("/api/alerts/{id}/ack", post(api::acknowledge))
        .route("/api/monitors", get(api::monitors))
        .route("/api/rules", get(api::rules))
        .route("/api/health", get(api::health))
        .route("/api/integrity", get(api::integrity))
        .route("/api/stats", get(api::stats))
        .route("/api/users", get(api::users))
        .route("/api/audit", get(api::audit_log))
        .route("/metrics", get(prometheus))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authenticate,
        ));
    let open = Router::new()
        .route("/", post(aws_json).get(assets::index))
        .route("/api/login", post(api::login))
        .route("/api/openapi.json", get(openapi::handler))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/assets/{name}", get(assets::asset))
        .route("/login", get(assets::index))
        .route("/events/{id}", get(assets::index))
        .route("/alerts", get(assets::index))
        .route("/alerts/{id}", get(assets::index))
        .route("/monitors", get(assets::index))
        .route("/health", get(assets::index))
        .route("/integrity", get(assets::index))
        .route("/rules", get(assets::index))
        .fallback(|uri: Uri| async move {
            if uri.path().starts_with("/api/") {
                api::error(StatusCode::NOT_FOUND, "no such API route")
            } else {
                (StatusCode::NOT_FOUND, "not found\n").into_response()
            }
        });
    let limits = state.limits;
    protected
        .merge(open)
        .layer(DefaultBodyLimit::max(limits.max_body))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.request_timeout,
        ))
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(axum::middleware::from_fn_with_state(state.clone(), access))
        .with_state(state)
}

/// The outermost layer: the client's address, security headers, the access log, metrics.
async fn access(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    req.extensions_mut().insert(Client(client.clone()));
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    s.metrics
        .in_flight
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut res = next.run(req).await;
    s.metrics
        .in_flight
        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    let took = started.elapsed();
    let status = res.status().as_u16();
    let route = route.unwrap_or_else(|| "unmatched".into());
    s.metrics.request(&route, method.as_str(), status, took);
    let who = res
        .extensions()
        .get::<Principal>()
        .map(|p| p.name.clone())
        .unwrap_or_else(|| "-".into());
    // The path only: never the query string (it may hold a search someone prefers private,
    // which goes to the audit log instead) nor any header (cookies, signatures).
    tracing::info!(
        target: "cairn::access",
        client = %client,
        user = %who,
        method = %method,
        path = %path,
        route = %route,
        status,
        ms = took.as_secs_f64() * 1000.0,
        "request"
    );
    let h = res.headers_mut();
    for (k, v) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        h.entry(k).or_insert(HeaderValue::from_static(v));
    }
    if path.starts_with("/api/") {
        h.entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    if s.tls {
        h.entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static("max-age=31536000"));
    }
    res
}

/// Resolves the caller of a protected route, or answers 401/403.
async fn authenticate(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let who = match principal(&s, req).await {
        Ok((who, req)) => (who, req),
        Err(res) => return res,
    };
    let (who, mut req) = who;
    req.extensions_mut().insert(who.clone());
    let mut res = next.run(req).await;
    res.extensions_mut().insert(who);
    res
}

async fn principal(s: &AppState, req: Request) -> Result<(Principal, Request), Response> {
    let unauthorized = |m: &str| api::error(StatusCode::UNAUTHORIZED, m);
    let Some(auth) = &s.auth else {
        return Ok((Principal::anonymous(), req));
    };
    let io = |e: std::io::Error| api::error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    let authz = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(a) = authz {
        if a.starts_with("AWS4-HMAC-SHA256") {
            let (parts, body) = req.into_parts();
            let bytes = axum::body::to_bytes(body, s.limits.max_body)
                .await
                .map_err(|_| api::error(StatusCode::PAYLOAD_TOO_LARGE, "the body is too large"))?;
            let who = sigv4_principal(auth, &parts.method, &parts.uri, &parts.headers, &bytes)
                .map_err(|e| {
                    api::error(
                        StatusCode::from_u16(e.status).unwrap_or(StatusCode::FORBIDDEN),
                        format!("{}: {}", e.kind, e.message),
                    )
                })?;
            return Ok((who, Request::from_parts(parts, Body::from(bytes))));
        }
        if let Some(b) = a.strip_prefix("Bearer ") {
            return match auth.bearer(b.trim()).map_err(io)? {
                Some(who) => Ok((who, req)),
                None => Err(unauthorized("the API token is unknown, revoked or wrong")),
            };
        }
        return Err(unauthorized(
            "unsupported Authorization scheme (use SigV4 or Bearer ACCESS_KEY_ID:SECRET)",
        ));
    }
    let id = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| auth::cookie(c, auth::COOKIE).map(str::to_string));
    let Some(id) = id else {
        return Err(unauthorized("not signed in"));
    };
    let Some(who) = auth.session(&id).map_err(io)? else {
        return Err(unauthorized("the session has ended; sign in again"));
    };
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        check_csrf(&who, req.headers())?;
    }
    Ok((who, req))
}

/// A state-changing request made with a session must carry the session's CSRF token, and come
/// from this server's own pages when the browser says where it comes from.
fn check_csrf(who: &Principal, headers: &HeaderMap) -> Result<(), Response> {
    let forbidden = |m: &str| api::error(StatusCode::FORBIDDEN, m);
    let sent = headers
        .get(auth::CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !auth::same_secret(sent.as_bytes(), who.csrf().as_bytes()) || sent.is_empty() {
        return Err(forbidden("missing or wrong CSRF token"));
    }
    if let (Some(origin), Some(host)) = (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
        if origin_host != host {
            return Err(forbidden("cross-origin request refused"));
        }
    }
    Ok(())
}

/// The API token that signed a request with SigV4.
fn sigv4_principal(
    auth: &Auth,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Principal, lookup::ApiError> {
    let all = auth.tokens().map_err(|e| lookup::ApiError {
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
    sigv4::verify(&signed, &all, time::OffsetDateTime::now_utc()).map(auth::token_principal)
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

/// `POST /`: CloudTrail's JSON protocol.
async fn aws_json(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    axum::Extension(client): axum::Extension<Client>,
    body: Bytes,
) -> Response {
    let who = match &s.auth {
        None => Principal::anonymous(),
        Some(auth) => match sigv4_principal(auth, &method, &uri, &headers, &body) {
            Ok(w) => w,
            Err(e) => return aws_error(&e),
        },
    };
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
    s.audit.record(&audit::Event {
        time: audit::now(),
        actor: &who.name,
        client: &client.0,
        action: "lookup_events",
        detail: serde_json::from_slice(&body).unwrap_or(Value::Null),
        outcome: "ok",
    });
    let store = s.store.clone();
    let scope = who.scope.clone();
    let answer = store_work(move || lookup::lookup_events(&store, &req, &scope)).await;
    let mut res = match answer {
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
    };
    res.extensions_mut().insert(who);
    res
}

/// `GET /metrics`: admins and API tokens with the admin role.
async fn prometheus(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
) -> Response {
    if !who.role.may(Permission::Admin) && who.via != Via::Anonymous {
        return api::error(StatusCode::FORBIDDEN, "metrics need the admin role");
    }
    let store = s.store.clone();
    let (events, bytes) = tokio::task::spawn_blocking(move || {
        (
            store.searcher().map(|x| x.num_docs()).unwrap_or(0),
            store.size_on_disk(),
        )
    })
    .await
    .unwrap_or((0, 0));
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(events, bytes),
    )
        .into_response()
}

/// Runs store work (tantivy reads block) on the blocking pool, at most one task per core at a
/// time. A request waits for its turn without holding a thread, so a client that gives up (or
/// the request timeout) drops it before it starts; work already started runs to its end.
/// Without the limit, a burst of slow queries queued on the blocking pool and kept running
/// long after their clients had left, delaying everyone after them.
pub async fn store_work<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    static TURNS: std::sync::OnceLock<Arc<tokio::sync::Semaphore>> = std::sync::OnceLock::new();
    let turns = TURNS
        .get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            Arc::new(tokio::sync::Semaphore::new(cores.max(2)))
        })
        .clone();
    let permit = turns
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        f()
    })
    .await
}
