//! The OpenAPI 3.1 description of the JSON API, served at `/api/openapi.json`. A test compares
//! its paths with the routes the server declares and checks each answer against the properties
//! it documents as required.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

fn query_params() -> Value {
    json!([
        {"name": "q", "in": "query", "schema": {"type": "string"},
         "description": "cairn's query language (Lucene-style); empty means every event"},
        {"name": "from", "in": "query", "schema": {"type": "string"},
         "description": "RFC 3339 time, date, or relative (`24h`, `now-7d`); inclusive"},
        {"name": "to", "in": "query", "schema": {"type": "string"}, "description": "exclusive"},
        {"name": "asof", "in": "query", "schema": {"type": "string", "format": "date-time"},
         "description": "the `asof` of a first page: later pages see only events stored before it"}
    ])
}

fn object(required: &[&str]) -> Value {
    json!({"type": "object", "required": required})
}

fn ok(description: &str, schema: Value) -> Value {
    json!({
        "200": {"description": description, "content": {"application/json": {"schema": schema}}},
        "400": {"$ref": "#/components/responses/BadRequest"},
        "401": {"$ref": "#/components/responses/Unauthorized"}
    })
}

fn get(summary: &str, params: Value, responses: Value) -> Value {
    json!({"get": {"summary": summary, "parameters": params, "responses": responses}})
}

fn id_param(what: &str) -> Value {
    json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"},
            "description": what}])
}

/// The document.
pub fn document() -> Value {
    let with = |extra: Value| {
        let mut p = query_params();
        p.as_array_mut()
            .expect("an array")
            .extend(extra.as_array().cloned().unwrap_or_default());
        p
    };
    let search_params = with(json!([
        {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 1000, "default": 50}},
        {"name": "offset", "in": "query", "schema": {"type": "integer", "maximum": 100000, "default": 0}}
    ]));
    let facet_params = with(json!([
        {"name": "fields", "in": "query", "schema": {"type": "string"},
         "description": "comma-separated field names (at most 12)"},
        {"name": "n", "in": "query", "schema": {"type": "integer", "maximum": 100, "default": 10}}
    ]));
    let timeline_params = with(json!([
        {"name": "buckets", "in": "query", "schema": {"type": "integer", "maximum": 1000, "default": 60}}
    ]));
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "cairn",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Search, alerts, health and integrity of a cairn store. Every answer is limited to the caller's account scope. CloudTrail's LookupEvents is served on POST / (AWS JSON 1.1), outside this document."
        },
        "security": [{"session": []}, {"bearer": []}, {"sigv4": []}],
        "paths": {
            "/api/login": {"post": {
                "summary": "Start a session (sets the cairn_session cookie)",
                "security": [],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["username", "password"],
                    "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}}}},
                "responses": {
                    "200": {"description": "signed in", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Session"}}}},
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "429": {"description": "too many failed logins; Retry-After says how long to wait"}
                }
            }},
            "/api/logout": {"post": {
                "summary": "End the session (needs X-CSRF-Token)",
                "parameters": [{"$ref": "#/components/parameters/Csrf"}],
                "responses": {"204": {"description": "signed out"}, "403": {"$ref": "#/components/responses/Forbidden"}}
            }},
            "/api/session": get("Who is signed in, and the CSRF token", json!([]),
                ok("the session", json!({"$ref": "#/components/schemas/Session"}))),
            "/api/search": get("Matching events, newest first", search_params,
                ok("a page of events", object(&["total", "offset", "limit", "asof", "hits"]))),
            "/api/count": get("How many events match", query_params(),
                ok("the count", object(&["count", "asof"]))),
            "/api/facets": get("Most frequent values of fields among matching events", facet_params,
                ok("values and counts per field", object(&["facets", "asof"]))),
            "/api/timeline": get("Matching events per time bucket", timeline_params,
                ok("the histogram", object(&["interval", "buckets", "asof"]))),
            "/api/fields": get("Field names, for completion", json!([]),
                ok("the names", object(&["fields"]))),
            "/api/events/{id}": get("One event by eventID, with its original record and integrity state",
                id_param("the eventID"), {
                    let mut r = ok("the event", object(&["id", "object", "integrity", "event"]));
                    r["404"] = json!({"$ref": "#/components/responses/NotFound"});
                    r
                }),
            "/api/alerts": get("Alerts, newest first", json!([
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 100}}]),
                ok("the alerts", object(&["alerts"]))),
            "/api/alerts/{id}": get("One alert and the events it holds", id_param("the alert id"), {
                    let mut r = ok("the alert", object(&["alert", "events"]));
                    r["404"] = json!({"$ref": "#/components/responses/NotFound"});
                    r
                }),
            "/api/alerts/{id}/ack": {"post": {
                "summary": "Acknowledge an alert (analyst or admin; needs X-CSRF-Token with a session)",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                               {"$ref": "#/components/parameters/Csrf"}],
                "responses": {
                    "200": {"description": "the alert", "content": {"application/json": {"schema": object(&["alert"])}}},
                    "403": {"$ref": "#/components/responses/Forbidden"},
                    "404": {"$ref": "#/components/responses/NotFound"}
                }
            }},
            "/api/monitors": get("Heartbeat monitors and their state (empty for account-scoped callers)",
                json!([]), ok("the monitors", object(&["monitors"]))),
            "/api/rules": get("Detection rules", json!([]), ok("the rules", object(&["rules"]))),
            "/api/health": get("Pipeline health per account and region", json!([
                    {"name": "window", "in": "query", "schema": {"type": "string", "default": "24h"}},
                    {"name": "gap", "in": "query", "schema": {"type": "string", "default": "1h"}}]),
                ok("the partitions", object(&["window_seconds", "gap_seconds", "partitions"]))),
            "/api/integrity": get("Log-file integrity per account and region", json!([]),
                ok("the states", object(&["checked", "counts", "chains", "failed"]))),
            "/api/stats": get("What the store holds", json!([]),
                ok("the statistics", object(&["events", "oldest", "newest", "accounts", "regions", "objects"]))),
            "/api/users": get("Users and API tokens, without secrets (admin)", json!([]),
                ok("users and tokens", object(&["users", "tokens"]))),
            "/api/audit": get("The newest audit log entries (admin)", json!([
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 200}}]),
                ok("the entries", object(&["events"]))),
            "/api/openapi.json": {"get": {"summary": "This document", "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1"}}}}
        },
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "cairn_session"},
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "ACCESS_KEY_ID:SECRET of an API token"},
                "sigv4": {"type": "apiKey", "in": "header", "name": "Authorization",
                          "description": "AWS Signature Version 4 with an API token as the credentials"}
            },
            "parameters": {
                "Csrf": {"name": "X-CSRF-Token", "in": "header", "schema": {"type": "string"},
                         "description": "the csrf of /api/session; required with a session cookie"}
            },
            "schemas": {
                "Session": object(&["user", "role", "accounts", "regions", "csrf", "auth"]),
                "Error": {"type": "object", "required": ["error"],
                          "properties": {"error": {"type": "string"}, "position": {"type": ["integer", "null"]}}}
            },
            "responses": {
                "BadRequest": {"description": "a bad parameter or query; position is the character offset of a query error",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "Unauthorized": {"description": "not signed in, or unknown credentials",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "Forbidden": {"description": "the role does not allow it, or the CSRF token is missing or wrong",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "NotFound": {"description": "no such thing in the caller's scope",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        }
    })
}

pub async fn handler() -> Response {
    Json(document()).into_response()
}
