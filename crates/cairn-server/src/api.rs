//! The JSON API under `/api/`. Every handler reads the store through the caller's scope.

use std::collections::BTreeMap;

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_store::search::{Compiled, Hit, TimeRange};
use cairn_store::{Scope, Store, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::auth::{COOKIE, Principal, Via};
use crate::tokens::Permission;
use crate::{AppState, Client};

/// Most hits one search page returns.
pub const MAX_PAGE: usize = 1000;
/// Deepest offset a search page may start at.
pub const MAX_OFFSET: usize = 100_000;
/// Most values per facet, and most facets per request.
pub const MAX_FACET_VALUES: usize = 100;
pub const MAX_FACETS: usize = 12;
/// Most histogram buckets.
pub const MAX_BUCKETS: usize = 1000;
/// Longest query text accepted.
pub const MAX_QUERY: usize = 8192;

/// The facets the UI shows by default.
pub const DEFAULT_FACETS: &[&str] = &[
    "eventName",
    "principal",
    "sourceIPAddress",
    "awsRegion",
    "recipientAccountId",
    "errorCode",
    "userAgent",
];

pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!("{e}");
    error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Runs blocking store work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Response> + Send + 'static,
) -> Result<T, Response> {
    crate::store_work(f)
        .await
        .unwrap_or_else(|e| Err(internal(e)))
}

fn store_error(e: StoreError) -> Response {
    match e {
        StoreError::Query(m) => error(StatusCode::BAD_REQUEST, m),
        e => internal(e),
    }
}

/// The parameters of search, count, facets and timeline.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Params {
    #[serde(default)]
    pub q: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub asof: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
    pub fields: Option<String>,
    pub n: Option<usize>,
    pub buckets: Option<usize>,
}

/// A query ready to run, with the instant its results are fixed at.
struct Prepared {
    compiled: Compiled,
    range: TimeRange,
    asof: OffsetDateTime,
}

fn prepare(store: &Store, p: &Params, scope: &Scope) -> Result<Prepared, Response> {
    if p.q.len() > MAX_QUERY {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("the query is longer than {MAX_QUERY} bytes"),
        ));
    }
    let now = OffsetDateTime::now_utc();
    let instant = |name: &str, t: &Option<String>| {
        t.as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| cairn_query::time::parse_instant(t, now))
            .transpose()
            .map_err(|e| error(StatusCode::BAD_REQUEST, format!("{name}: {e}")))
    };
    let from = instant("from", &p.from)?;
    let to = instant("to", &p.to)?;
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        return Err(error(StatusCode::BAD_REQUEST, "from must be before to"));
    }
    let asof = instant("asof", &p.asof)?.unwrap_or(now + time::Duration::seconds(1));
    let text = if p.q.trim().is_empty() { "*" } else { &p.q };
    let query = cairn_query::parse(text).map_err(|e| {
        let position = text.get(..e.position).map(|s| s.chars().count());
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": e.to_string(), "position": position})),
        )
            .into_response()
    })?;
    let range = TimeRange {
        from,
        to,
        ingested_before: Some(asof),
    };
    let compiled = store.compile(&query, range, scope).map_err(store_error)?;
    Ok(Prepared {
        compiled,
        range,
        asof,
    })
}

/// One event as the API returns it: the columns of the results table, and the record.
pub fn hit_json(h: &Hit) -> Value {
    let rec = h.record();
    let s = |path: &str| cairn_model::record::get_str(&rec, path).map(str::to_string);
    let resources: Vec<&str> = cairn_model::record::resources(&rec)
        .filter_map(|(arn, _)| arn)
        .collect();
    json!({
        "id": s("eventID"),
        "time": s("eventTime"),
        "principal": cairn_model::record::principal(&rec),
        "event_name": s("eventName"),
        "event_source": s("eventSource"),
        "region": s("awsRegion"),
        "account": cairn_model::record::account(&rec),
        "source_ip": s("sourceIPAddress"),
        "error_code": s("errorCode"),
        "user_agent": s("userAgent"),
        "access_key_id": cairn_model::record::access_key_id(&rec),
        "resources": resources,
        "object": h.object,
        "integrity": h.integrity_name(),
        "event": rec,
    })
}

fn audit(s: &AppState, p: &Principal, client: &Client, action: &str, detail: Value) {
    s.audit.record(&crate::audit::Event {
        time: crate::audit::now(),
        actor: &p.name,
        client: &client.0,
        action,
        detail,
        outcome: "ok",
    });
}

pub async fn search(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(client): Extension<Client>,
    Query(p): Query<Params>,
) -> Response {
    audit(
        &s,
        &who,
        &client,
        "search",
        json!({"q": p.q, "from": p.from, "to": p.to, "offset": p.offset}),
    );
    let limit = p.limit.unwrap_or(50).min(MAX_PAGE);
    let offset = p.offset.unwrap_or(0);
    if offset > MAX_OFFSET {
        return error(
            StatusCode::BAD_REQUEST,
            format!("offset is past {MAX_OFFSET}: narrow the query or the time range"),
        );
    }
    let store = s.store.clone();
    let r = blocking(move || {
        let q = prepare(&store, &p, &who.scope)?;
        let total = store.count(&q.compiled).map_err(store_error)?;
        let hits = store
            .search(&q.compiled, limit, offset)
            .map_err(store_error)?;
        Ok(json!({
            "total": total,
            "offset": offset,
            "limit": limit,
            "asof": rfc3339(q.asof),
            "hits": hits.iter().map(hit_json).collect::<Vec<_>>(),
        }))
    })
    .await;
    r.map_or_else(|e| e, |v| Json(v).into_response())
}

pub async fn count(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<Params>,
) -> Response {
    let store = s.store.clone();
    blocking(move || {
        let q = prepare(&store, &p, &who.scope)?;
        let n = store.count(&q.compiled).map_err(store_error)?;
        Ok(json!({"count": n, "asof": rfc3339(q.asof)}))
    })
    .await
    .map_or_else(|e| e, |v| Json(v).into_response())
}

pub async fn facets(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<Params>,
) -> Response {
    let fields: Vec<String> = match p.fields.as_deref() {
        Some(f) if !f.trim().is_empty() => f
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect(),
        _ => DEFAULT_FACETS.iter().map(|f| f.to_string()).collect(),
    };
    if fields.len() > MAX_FACETS {
        return error(
            StatusCode::BAD_REQUEST,
            format!("at most {MAX_FACETS} fields at once"),
        );
    }
    let n = p.n.unwrap_or(10).clamp(1, MAX_FACET_VALUES);
    let store = s.store.clone();
    blocking(move || {
        let q = prepare(&store, &p, &who.scope)?;
        let mut out = Vec::new();
        for f in &fields {
            let (values, truncated) = store.top(f, &q.compiled, n).map_err(store_error)?;
            out.push(json!({
                "field": f,
                "values": values.iter().map(|(v, c)| json!({"value": v, "count": c})).collect::<Vec<_>>(),
                "truncated": truncated,
            }));
        }
        Ok(json!({"facets": out, "asof": rfc3339(q.asof)}))
    })
    .await
    .map_or_else(|e| e, |v| Json(v).into_response())
}

/// A bucket width of about `span / buckets`, rounded up to a width people read easily.
pub fn interval_for(span_secs: i64, buckets: usize) -> i64 {
    const NICE: &[i64] = &[
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
        172_800, 604_800, 2_592_000,
    ];
    let raw = (span_secs.max(1) + buckets as i64 - 1) / buckets.max(1) as i64;
    NICE.iter()
        .copied()
        .find(|n| *n >= raw)
        .unwrap_or_else(|| (raw + 86399) / 86400 * 86400)
}

pub async fn timeline(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<Params>,
) -> Response {
    let buckets = p.buckets.unwrap_or(60).clamp(1, MAX_BUCKETS);
    let store = s.store.clone();
    blocking(move || {
        let q = prepare(&store, &p, &who.scope)?;
        let (from, to) = match (q.range.from, q.range.to) {
            (Some(f), Some(t)) => (f, t),
            (f, t) => {
                let st = store.stats(&who.scope).map_err(store_error)?;
                let lo = f.or(st.oldest);
                let hi = t.or(st.newest.map(|n| n + time::Duration::seconds(1)));
                match (lo, hi) {
                    (Some(lo), Some(hi)) if lo < hi => (lo, hi),
                    _ => {
                        return Ok(json!({"interval": 60, "buckets": [], "asof": rfc3339(q.asof)}));
                    }
                }
            }
        };
        let interval = interval_for((to - from).whole_seconds(), buckets);
        let counts: BTreeMap<i64, u64> = store
            .timeline(&q.compiled, interval)
            .map_err(store_error)?
            .into_iter()
            .collect();
        // Every bucket of the range, so the chart's axis is the range asked for.
        let first = from.unix_timestamp().div_euclid(interval) * interval;
        let mut out = Vec::new();
        let mut t = first;
        while t < to.unix_timestamp() && out.len() <= MAX_BUCKETS * 2 {
            let at = OffsetDateTime::from_unix_timestamp(t).map_err(internal)?;
            out.push(json!({"t": rfc3339(at), "count": counts.get(&t).copied().unwrap_or(0)}));
            t += interval;
        }
        Ok(json!({
            "interval": interval,
            "from": rfc3339(from),
            "to": rfc3339(to),
            "buckets": out,
            "asof": rfc3339(q.asof),
        }))
    })
    .await
    .map_or_else(|e| e, |v| Json(v).into_response())
}

pub async fn fields(State(s): State<AppState>) -> Response {
    let store = s.store.clone();
    blocking(move || {
        let mut names: Vec<String> = store.field_names(2000).map_err(store_error)?;
        names.sort();
        names.dedup();
        Ok(json!({"fields": names}))
    })
    .await
    .map_or_else(|e| e, |v| Json(v).into_response())
}

pub async fn event_by_id(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(client): Extension<Client>,
    Path(id): Path<String>,
) -> Response {
    audit(&s, &who, &client, "event", json!({"id": id}));
    let store = s.store.clone();
    blocking(move || {
        let Some(h) = store.get(&id, &who.scope).map_err(store_error)? else {
            return Err(error(StatusCode::NOT_FOUND, "no such event"));
        };
        let mut v = hit_json(&h);
        let reason = cairn_store::integrity::Integrity::load(store.dir())
            .ok()
            .and_then(|i| i.objects.get(&h.object).map(|o| o.reason.clone()))
            .filter(|r| !r.is_empty());
        v["integrity_reason"] = json!(reason);
        Ok(v)
    })
    .await
    .map_or_else(|e| e, |v| Json(v).into_response())
}

pub async fn stats(State(s): State<AppState>, Extension(who): Extension<Principal>) -> Response {
    let store = s.store.clone();
    blocking(move || {
        let st = store.stats(&who.scope).map_err(store_error)?;
        serde_json::to_value(st).map_err(internal)
    })
    .await
    .map_or_else(|e| e, |v| Json(v).into_response())
}

#[derive(Debug, Deserialize)]
pub struct HealthParams {
    window: Option<String>,
    gap: Option<String>,
}

pub async fn health(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<HealthParams>,
) -> Response {
    let secs = |name: &str, v: Option<&str>, default: i64| -> Result<i64, Response> {
        v.map_or(Ok(default), |v| {
            cairn_query::time::parse_duration(v)
                .map(|d| d.whole_seconds())
                .map_err(|e| error(StatusCode::BAD_REQUEST, format!("{name}: {e}")))
        })
    };
    let (window, gap) = match (
        secs("window", p.window.as_deref(), 86400),
        secs("gap", p.gap.as_deref(), 3600),
    ) {
        (Ok(w), Ok(g)) => (w, g),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let store = s.store.clone();
    blocking(move || {
        let ledger = store.ledger().map_err(store_error)?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let parts: Vec<_> = cairn_store::health::health(
            &ledger,
            cairn_store::health::HealthOptions { now, window, gap },
        )
        .into_iter()
        .filter(|p| who.scope.permits(Some(&p.account), Some(&p.region)))
        .collect();
        Ok(json!({"window_seconds": window, "gap_seconds": gap, "partitions": parts}))
    })
    .await
    .map_or_else(|e| e, |v| Json(v).into_response())
}

pub async fn integrity(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Response {
    let store = s.store.clone();
    blocking(move || {
        let state = cairn_store::integrity::Integrity::load(store.dir()).map_err(store_error)?;
        let ledger = store.ledger().map_err(store_error)?;
        let mut chains: BTreeMap<(String, String), [u64; 3]> = BTreeMap::new();
        let mut failed = Vec::new();
        for e in ledger.entries() {
            if e.status == cairn_store::Status::Skipped
                || !who.scope.permits(e.account.as_deref(), e.region.as_deref())
            {
                continue;
            }
            let key = (
                e.account.clone().unwrap_or_default(),
                e.region.clone().unwrap_or_default(),
            );
            let st = state.state(&e.object);
            let i = match st {
                cairn_store::integrity::State::Verified => 0,
                cairn_store::integrity::State::Failed => 1,
                cairn_store::integrity::State::Unverified => 2,
            };
            chains.entry(key).or_default()[i] += 1;
            if st == cairn_store::integrity::State::Failed && failed.len() < 1000 {
                let o = &state.objects[&e.object];
                failed.push(json!({"object": e.object, "reason": o.reason, "digest": o.digest}));
            }
        }
        let mut counts = [0u64; 3];
        let chains: Vec<Value> = chains
            .into_iter()
            .map(|((account, region), c)| {
                for i in 0..3 {
                    counts[i] += c[i];
                }
                json!({"account": account, "region": region,
                       "verified": c[0], "failed": c[1], "unverified": c[2]})
            })
            .collect();
        Ok(json!({
            "checked": !state.objects.is_empty(),
            "counts": {"verified": counts[0], "failed": counts[1], "unverified": counts[2]},
            "chains": chains,
            "failed": failed,
        }))
    })
    .await
    .map_or_else(|e| e, |v| Json(v).into_response())
}

pub async fn rules(State(s): State<AppState>) -> Response {
    Json(json!({"rules": s.views.rules()})).into_response()
}

pub async fn monitors(State(s): State<AppState>, Extension(who): Extension<Principal>) -> Response {
    // A monitor counts events of every account: only unlimited readers see its numbers.
    if !who.scope.is_all() {
        return Json(json!({"monitors": []})).into_response();
    }
    let views = s.views.clone();
    blocking(move || views.monitors().map_err(internal))
        .await
        .map_or_else(|e| e, |m| Json(json!({"monitors": m})).into_response())
}

// --- alerts -----------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct AlertParams {
    limit: Option<usize>,
}

fn visible_alerts(s: &AppState, who: &Principal) -> Result<Vec<Value>, Response> {
    let dir = cairn_detect::recorder::detect_dir(s.store.dir());
    let alerts = cairn_detect::recorder::read_alerts(&dir).map_err(internal)?;
    let acks = crate::acks::read(s.store.dir()).map_err(internal)?;
    let mut alerts: Vec<_> = alerts
        .into_iter()
        .filter(|a| who.scope.permits(a.account.as_deref(), a.region.as_deref()))
        .collect();
    // A correlation may hold events of several accounts: name only those in scope.
    if !who.scope.is_all() {
        let visible = s
            .store
            .visible_ids(
                alerts
                    .iter()
                    .flat_map(|a| a.event_ids.iter().map(String::as_str)),
                &who.scope,
            )
            .map_err(store_error)?;
        for a in &mut alerts {
            a.event_ids.retain(|e| visible.contains(e));
        }
    }
    let mut out = Vec::with_capacity(alerts.len());
    for a in alerts {
        let mut v = serde_json::to_value(&a).unwrap_or_default();
        v["acknowledged"] = json!(acks.get(&a.id));
        out.push(v);
    }
    Ok(out)
}

pub async fn alerts(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<AlertParams>,
) -> Response {
    let limit = p.limit.unwrap_or(100).min(10_000);
    blocking(move || {
        let mut all = visible_alerts(&s, &who)?;
        all.reverse();
        all.truncate(limit);
        Ok(json!({"alerts": all}))
    })
    .await
    .map_or_else(|e| e, |v| Json(v).into_response())
}

pub async fn alert(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    blocking(move || {
        let Some(a) = visible_alerts(&s, &who)?
            .into_iter()
            .find(|a| a["id"] == id)
        else {
            return Err(error(StatusCode::NOT_FOUND, "no such alert"));
        };
        let mut events = Vec::new();
        for e in a["event_ids"].as_array().into_iter().flatten() {
            if let Some(h) = e
                .as_str()
                .map(|e| s.store.get(e, &who.scope))
                .transpose()
                .map_err(store_error)?
                .flatten()
            {
                events.push(hit_json(&h));
            }
        }
        Ok(json!({"alert": a, "events": events}))
    })
    .await
    .map_or_else(|e| e, |v| Json(v).into_response())
}

pub async fn acknowledge(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(client): Extension<Client>,
    Path(id): Path<String>,
) -> Response {
    if !who.role.may(Permission::Triage) {
        return error(
            StatusCode::FORBIDDEN,
            "acknowledging alerts needs the analyst or admin role",
        );
    }
    let s2 = s.clone();
    let who2 = who.clone();
    let id2 = id.clone();
    let r = blocking(move || {
        if !visible_alerts(&s2, &who2)?.iter().any(|a| a["id"] == id2) {
            return Err(error(StatusCode::NOT_FOUND, "no such alert"));
        }
        crate::acks::append(s2.store.dir(), &id2, &who2.name).map_err(internal)?;
        visible_alerts(&s2, &who2)?
            .into_iter()
            .find(|a| a["id"] == id2)
            .ok_or_else(|| error(StatusCode::NOT_FOUND, "no such alert"))
    })
    .await;
    match r {
        Ok(a) => {
            audit(&s, &who, &client, "alert_ack", json!({"id": id}));
            Json(json!({"alert": a})).into_response()
        }
        Err(e) => e,
    }
}

// --- sessions ---------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct Login {
    username: String,
    password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

fn session_body(who: &Principal, auth: bool) -> Value {
    json!({
        "user": who.name,
        "role": who.role.name(),
        "accounts": who.scope.accounts,
        "regions": who.scope.regions,
        "csrf": who.csrf(),
        "auth": auth,
    })
}

pub async fn session(State(s): State<AppState>, Extension(who): Extension<Principal>) -> Response {
    Json(session_body(&who, s.auth.is_some())).into_response()
}

pub async fn login(
    State(s): State<AppState>,
    Extension(client): Extension<Client>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(auth) = s.auth.clone() else {
        return error(
            StatusCode::BAD_REQUEST,
            "this server runs without authentication",
        );
    };
    if !crate::is_json(&headers) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the credentials as application/json",
        );
    }
    let Ok(l) = serde_json::from_slice::<Login>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "expected {\"username\": ..., \"password\": ...}",
        );
    };
    let client = client.0;
    let record = |action: &str, outcome: &str| {
        s.audit.record(&crate::audit::Event {
            time: crate::audit::now(),
            actor: &l.username,
            client: &client,
            action,
            detail: Value::Null,
            outcome,
        });
    };
    if let Some(wait) = auth.login_blocked(&client, &l.username) {
        record("login_limited", "denied");
        s.metrics.login("limited");
        let secs = wait.as_secs().max(1);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, secs.to_string())],
            Json(json!({"error": "too many failed logins; try again later", "retry_after": secs})),
        )
            .into_response();
    }
    let auth2 = auth.clone();
    let (name, password) = (l.username.clone(), l.password.clone());
    let user = tokio::task::spawn_blocking(move || {
        auth2
            .users()
            .map(|u| u.check(&name, &password).map(|u| u.name.clone()))
    })
    .await;
    let user = match user {
        Ok(Ok(u)) => u,
        Ok(Err(e)) => return internal(e),
        Err(e) => return internal(e),
    };
    let Some(user) = user else {
        auth.login_failed(&client, &l.username);
        record("login_failed", "denied");
        s.metrics.login("failed");
        return error(StatusCode::UNAUTHORIZED, "wrong user name or password");
    };
    auth.login_succeeded(&user);
    let (id, _) = auth.start_session(&user);
    let who = match auth.session(&id) {
        Ok(Some(w)) => w,
        Ok(None) => return error(StatusCode::UNAUTHORIZED, "the user was removed"),
        Err(e) => return internal(e),
    };
    record("login", "ok");
    s.metrics.login("ok");
    let secure = if s.tls { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        crate::auth::SESSION_MAX.as_secs()
    );
    (
        [(header::SET_COOKIE, cookie)],
        Json(session_body(&who, true)),
    )
        .into_response()
}

pub async fn logout(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(client): Extension<Client>,
) -> Response {
    if let (Some(auth), Via::Session { id, .. }) = (&s.auth, &who.via) {
        auth.end_session(id);
    }
    audit(&s, &who, &client, "logout", Value::Null);
    (
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
        )],
    )
        .into_response()
}

// --- administration ---------------------------------------------------------------------------

fn admin_only(who: &Principal) -> Result<(), Response> {
    if who.role.may(Permission::Admin) {
        Ok(())
    } else {
        Err(error(StatusCode::FORBIDDEN, "this needs the admin role"))
    }
}

pub async fn users(State(s): State<AppState>, Extension(who): Extension<Principal>) -> Response {
    if let Err(e) = admin_only(&who) {
        return e;
    }
    let Some(auth) = &s.auth else {
        return Json(json!({"users": [], "tokens": []})).into_response();
    };
    let (users, tokens) = match (auth.users(), auth.tokens()) {
        (Ok(u), Ok(t)) => (u, t),
        (Err(e), _) | (_, Err(e)) => return internal(e),
    };
    let users: Vec<Value> = users
        .users
        .iter()
        .map(|u| json!({"name": u.name, "role": u.role.name(), "scope": u.scope, "created": u.created}))
        .collect();
    let tokens: Vec<Value> = tokens
        .tokens
        .iter()
        .map(|t| json!({"id": t.id, "name": t.name, "role": t.role.name(), "scope": t.scope, "created": t.created, "revoked": t.revoked}))
        .collect();
    Json(json!({"users": users, "tokens": tokens})).into_response()
}

pub async fn audit_log(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<AlertParams>,
) -> Response {
    if let Err(e) = admin_only(&who) {
        return e;
    }
    let limit = p.limit.unwrap_or(200).min(10_000);
    blocking(move || s.audit.tail(limit).map_err(internal))
        .await
        .map_or_else(|e| e, |v| Json(json!({"events": v})).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_round() {
        assert_eq!(interval_for(3600, 60), 60);
        assert_eq!(interval_for(86400, 60), 1800);
        assert_eq!(interval_for(7 * 86400, 60), 10800);
        assert_eq!(interval_for(10, 60), 1);
        assert_eq!(interval_for(400 * 86400, 10), 40 * 86400);
    }
}
