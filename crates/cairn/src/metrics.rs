//! Prometheus metrics of a following ingest, in the text exposition format (version 0.0.4),
//! served on `--metrics-addr`, and the follow state that `cairn health` reads.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use cairn_source::sqs::Backlog;
use cairn_store::IngestReport;

/// Counters and gauges, updated after each committed batch.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    objects: BTreeMap<&'static str, u64>,
    events: u64,
    duplicates: u64,
    bytes: u64,
    errors: BTreeMap<String, u64>,
    batches: u64,
    messages: BTreeMap<&'static str, u64>,
    /// (account, region) → (newest event, last delivery, lag of the last batch), Unix seconds.
    partitions: BTreeMap<(String, String), (i64, i64, i64)>,
    backlog: BTreeMap<String, (Backlog, i64)>,
}

/// What `cairn health` shows of a follower: each queue's backlog and when it was read.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct FollowState {
    pub queues: BTreeMap<String, QueueState>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct QueueState {
    pub backlog: Backlog,
    /// Unix seconds.
    pub at: i64,
}

pub const FOLLOW_STATE: &str = "follow-state.json";

impl Metrics {
    pub fn observe(&self, r: &IngestReport) {
        let mut m = self.inner.lock().expect("metrics lock");
        m.batches += 1;
        *m.objects.entry("ok").or_default() += r.objects_read - r.objects_failed;
        *m.objects.entry("failed").or_default() += r.objects_failed;
        *m.objects.entry("unchanged").or_default() += r.objects_unchanged;
        *m.objects.entry("skipped").or_default() += r.objects_skipped.values().sum::<u64>();
        m.events += r.events_indexed;
        m.duplicates += r.duplicates_dropped;
        m.bytes += r.bytes_read;
        for (reason, n) in &r.records_failed {
            *m.errors.entry(reason.clone()).or_default() += n;
        }
        for f in &r.failures {
            let kind = error_kind(f.errors.last().map_or("", String::as_str));
            *m.errors.entry(kind.into()).or_default() += 1;
        }
        for (k, p) in &r.partitions {
            let e = m.partitions.entry(k.clone()).or_insert((0, 0, 0));
            e.0 = e.0.max(p.newest);
            e.1 = e.1.max(p.delivered);
            e.2 = p.lag_max;
        }
    }

    pub fn messages(&self, deleted: u64, left: u64, tests: u64) {
        let mut m = self.inner.lock().expect("metrics lock");
        *m.messages.entry("deleted").or_default() += deleted;
        *m.messages.entry("left").or_default() += left;
        *m.messages.entry("test_event").or_default() += tests;
    }

    pub fn backlog(&self, queue: &str, b: Backlog, data_dir: &Path) {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut m = self.inner.lock().expect("metrics lock");
        m.backlog.insert(queue.to_string(), (b, now));
        let state = FollowState {
            queues: m
                .backlog
                .iter()
                .map(|(q, (b, at))| {
                    (
                        q.clone(),
                        QueueState {
                            backlog: *b,
                            at: *at,
                        },
                    )
                })
                .collect(),
        };
        let tmp = data_dir.join(format!("{FOLLOW_STATE}.tmp"));
        let bytes = serde_json::to_vec_pretty(&state).expect("serializes");
        if std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, data_dir.join(FOLLOW_STATE)))
            .is_err()
        {
            tracing::warn!("could not write {FOLLOW_STATE}");
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let m = self.inner.lock().expect("metrics lock");
        let mut s = String::new();
        let mut family = |name: &str, kind: &str, help: &str| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        family(
            "cairn_objects_total",
            "counter",
            "Objects handled, by outcome.",
        );
        let mut body = String::new();
        for (status, n) in &m.objects {
            let _ = writeln!(body, "cairn_objects_total{{status=\"{status}\"}} {n}");
        }
        s.push_str(&std::mem::take(&mut body));
        let scalar = |s: &mut String, name: &str, kind: &str, help: &str, v: u64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        scalar(
            &mut s,
            "cairn_events_total",
            "counter",
            "Events indexed.",
            m.events,
        );
        scalar(
            &mut s,
            "cairn_duplicates_total",
            "counter",
            "Events dropped as already stored (same eventID).",
            m.duplicates,
        );
        scalar(
            &mut s,
            "cairn_bytes_total",
            "counter",
            "Bytes read from objects (decompressed).",
            m.bytes,
        );
        scalar(
            &mut s,
            "cairn_batches_total",
            "counter",
            "Committed batches.",
            m.batches,
        );
        let _ = writeln!(
            s,
            "# HELP cairn_errors_total Input errors, by kind.\n# TYPE cairn_errors_total counter"
        );
        for (kind, n) in &m.errors {
            let _ = writeln!(s, "cairn_errors_total{{kind=\"{}\"}} {n}", escape(kind));
        }
        let _ = writeln!(
            s,
            "# HELP cairn_messages_total Queue messages, by what was done with them.\n# TYPE cairn_messages_total counter"
        );
        for (what, n) in &m.messages {
            let _ = writeln!(s, "cairn_messages_total{{outcome=\"{what}\"}} {n}");
        }
        for (name, help, pick) in [
            (
                "cairn_newest_event_timestamp_seconds",
                "Newest eventTime ingested.",
                0,
            ),
            (
                "cairn_last_delivery_timestamp_seconds",
                "Delivery time of the newest file ingested.",
                1,
            ),
            (
                "cairn_delivery_lag_seconds",
                "Largest delivery lag (delivery minus eventTime) in the last batch.",
                2,
            ),
        ] {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} gauge");
            for ((account, region), v) in &m.partitions {
                let v = [v.0, v.1, v.2][pick];
                let _ = writeln!(
                    s,
                    "{name}{{account=\"{}\",region=\"{}\"}} {v}",
                    escape(account),
                    escape(region)
                );
            }
        }
        let _ = writeln!(
            s,
            "# HELP cairn_queue_messages Approximate messages in the queue, by state.\n# TYPE cairn_queue_messages gauge"
        );
        for (q, (b, _)) in &m.backlog {
            let q = escape(q);
            let _ = writeln!(
                s,
                "cairn_queue_messages{{queue=\"{q}\",state=\"visible\"}} {}\ncairn_queue_messages{{queue=\"{q}\",state=\"in_flight\"}} {}\ncairn_queue_messages{{queue=\"{q}\",state=\"delayed\"}} {}",
                b.visible, b.in_flight, b.delayed
            );
        }
        s
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A short kind for an object error message, for the `kind` label.
fn error_kind(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.contains("kms") {
        "kms_denied"
    } else if m.contains("access denied") {
        "access_denied"
    } else if m.contains("not found") {
        "not_found"
    } else if m.contains("gzip") {
        "gzip"
    } else if m.contains("limit") || m.contains("larger than") {
        "limit"
    } else if m.contains("body broke") || m.contains("get failed") || m.contains("timed out") {
        "fetch"
    } else {
        "decode"
    }
}

/// Serves `GET /metrics` (and `/healthz`) on `addr` from a background thread.
pub fn serve(addr: &str, metrics: Arc<Metrics>) -> std::io::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    std::thread::Builder::new()
        .name("cairn-metrics".into())
        .spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut c) = conn else { continue };
                let _ = c.set_read_timeout(Some(std::time::Duration::from_secs(5)));
                let mut buf = [0u8; 4096];
                let n = c.read(&mut buf).unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]);
                let path = req.split_whitespace().nth(1).unwrap_or("");
                let (status, ctype, body) = match path {
                    "/metrics" => (
                        "200 OK",
                        "text/plain; version=0.0.4; charset=utf-8",
                        metrics.render(),
                    ),
                    "/healthz" => ("200 OK", "text/plain", "ok\n".into()),
                    _ => ("404 Not Found", "text/plain", "not found\n".into()),
                };
                let _ = write!(
                    c,
                    "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        })?;
    Ok(local)
}
