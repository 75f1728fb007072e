//! Prometheus metrics of the server, in the text exposition format (version 0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
pub const BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

/// Counters of requests, per route, method and status, and their latency per route.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    logins: Mutex<BTreeMap<&'static str, u64>>,
    pub in_flight: AtomicI64,
}

impl Metrics {
    /// Counts one finished request. `route` is the route's pattern (`/api/events/{id}`), never
    /// the path, so that the label set stays bounded.
    pub fn request(&self, route: &str, method: &str, status: u16, took: Duration) {
        *self
            .requests
            .lock()
            .expect("metrics lock")
            .entry((route.to_string(), method.to_string(), status))
            .or_default() += 1;
        let mut l = self.latency.lock().expect("metrics lock");
        let h = l.entry(route.to_string()).or_insert_with(|| Histogram {
            counts: vec![0; BUCKETS.len()],
            ..Histogram::default()
        });
        let secs = took.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    /// Counts a login attempt: `ok`, `failed` or `limited`.
    pub fn login(&self, outcome: &'static str) {
        *self
            .logins
            .lock()
            .expect("metrics lock")
            .entry(outcome)
            .or_default() += 1;
    }

    /// The exposition text, with the store's gauges.
    pub fn render(&self, events: u64, bytes_on_disk: u64) -> String {
        let mut o = String::new();
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        o.push_str("# HELP cairn_http_requests_total HTTP requests answered.\n");
        o.push_str("# TYPE cairn_http_requests_total counter\n");
        for ((route, method, status), n) in self.requests.lock().expect("metrics lock").iter() {
            let _ = writeln!(
                o,
                "cairn_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                esc(route),
                esc(method)
            );
        }
        o.push_str("# HELP cairn_http_request_duration_seconds Time to answer a request.\n");
        o.push_str("# TYPE cairn_http_request_duration_seconds histogram\n");
        for (route, h) in self.latency.lock().expect("metrics lock").iter() {
            let r = esc(route);
            for (b, c) in BUCKETS.iter().zip(&h.counts) {
                let _ = writeln!(
                    o,
                    "cairn_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"{b}\"}} {c}"
                );
            }
            let _ = writeln!(
                o,
                "cairn_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                o,
                "cairn_http_request_duration_seconds_sum{{route=\"{r}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                o,
                "cairn_http_request_duration_seconds_count{{route=\"{r}\"}} {}",
                h.count
            );
        }
        o.push_str("# HELP cairn_http_in_flight Requests being answered.\n");
        o.push_str("# TYPE cairn_http_in_flight gauge\n");
        let _ = writeln!(
            o,
            "cairn_http_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        o.push_str("# HELP cairn_logins_total Login attempts by outcome.\n");
        o.push_str("# TYPE cairn_logins_total counter\n");
        for outcome in ["ok", "failed", "limited"] {
            let n = self
                .logins
                .lock()
                .expect("metrics lock")
                .get(outcome)
                .copied()
                .unwrap_or(0);
            let _ = writeln!(o, "cairn_logins_total{{outcome=\"{outcome}\"}} {n}");
        }
        o.push_str("# HELP cairn_store_events Events in the store.\n");
        o.push_str("# TYPE cairn_store_events gauge\n");
        let _ = writeln!(o, "cairn_store_events {events}");
        o.push_str("# HELP cairn_store_bytes Bytes of the store on disk.\n");
        o.push_str("# TYPE cairn_store_bytes gauge\n");
        let _ = writeln!(o, "cairn_store_bytes {bytes_on_disk}");
        o
    }
}
