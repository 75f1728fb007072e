//! Pipeline health from the ledger: per account and region, what was delivered when, how late
//! its events were, where deliveries stopped, and what failed.
//!
//! Every ledger entry of a CloudTrail file carries its delivery time (from its name), its
//! newest and oldest `eventTime`, and a histogram of its events' delivery lag, so health needs
//! no pass over the index.

use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;

use crate::ledger::{Ledger, Status};

/// Upper bounds (seconds) of the delivery-lag histogram's buckets; the last is open.
pub const LAG_BUCKETS: [i64; 14] = [
    60,
    120,
    300,
    600,
    900,
    1200,
    1800,
    2700,
    3600,
    7200,
    21_600,
    43_200,
    86_400,
    i64::MAX,
];

/// Counts one event's lag into a histogram over [`LAG_BUCKETS`].
pub fn count_lag(hist: &mut Vec<u32>, lag: i64) {
    if hist.is_empty() {
        hist.resize(LAG_BUCKETS.len(), 0);
    }
    let i = LAG_BUCKETS.iter().position(|b| lag <= *b).unwrap_or(0);
    hist[i] = hist[i].saturating_add(1);
}

/// What health looks at.
#[derive(Debug, Clone, Copy)]
pub struct HealthOptions {
    /// Unix seconds; deliveries in `[now - window, now]` are looked at.
    pub now: i64,
    pub window: i64,
    /// A stretch without deliveries longer than this is a gap.
    pub gap: i64,
}

/// A stretch without deliveries.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Gap {
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    pub seconds: i64,
}

/// The health of one account and region.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionHealth {
    pub account: String,
    pub region: String,
    /// `ok`, `errors` (some objects failed), `gap` (a stretch without deliveries in the
    /// window) or `silent` (nothing delivered for longer than the gap threshold, now).
    pub status: &'static str,
    /// In the window.
    pub objects: u64,
    pub events: u64,
    pub failed_objects: u64,
    pub objects_per_hour: f64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_delivered: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub newest_event: Option<OffsetDateTime>,
    /// Delivery lag of the window's events: the bucket bounds of the median and the 95th
    /// percentile, and the exact maximum.
    pub lag_p50_seconds: Option<i64>,
    pub lag_p95_seconds: Option<i64>,
    pub lag_max_seconds: Option<i64>,
    /// Seconds since the last delivery, when longer than the gap threshold.
    pub silent_seconds: Option<i64>,
    pub gaps: Vec<Gap>,
    pub errors: Vec<String>,
}

fn at(t: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[derive(Default)]
struct Acc {
    delivered: Vec<i64>,
    objects: u64,
    events: u64,
    failed: u64,
    newest: Option<i64>,
    lag: Vec<u32>,
    lag_max: Option<i64>,
    errors: Vec<String>,
}

/// Health of every account and region the ledger has seen, sorted.
pub fn health(ledger: &Ledger, o: HealthOptions) -> Vec<PartitionHealth> {
    let mut parts: BTreeMap<(String, String), Acc> = BTreeMap::new();
    for e in ledger.entries() {
        let (Some(account), Some(region)) = (&e.account, &e.region) else {
            continue;
        };
        let acc = parts.entry((account.clone(), region.clone())).or_default();
        // The newest event ever read counts whatever the window.
        if let Some(n) = e.newest {
            acc.newest = Some(acc.newest.map_or(n, |m| m.max(n)));
        }
        let t = e.delivered.unwrap_or(e.at);
        if t < o.now - o.window || t > o.now {
            continue;
        }
        acc.delivered.push(t);
        acc.objects += 1;
        acc.events += e.events;
        if e.status == Status::Failed {
            acc.failed += 1;
            if acc.errors.len() < 5 {
                acc.errors.extend(
                    e.errors
                        .iter()
                        .take(1)
                        .map(|m| format!("{}: {m}", e.object)),
                );
            }
        }
        if acc.lag.is_empty() {
            acc.lag.resize(LAG_BUCKETS.len(), 0);
        }
        for (i, n) in e.lag.iter().enumerate().take(LAG_BUCKETS.len()) {
            acc.lag[i] += n;
        }
        if let (Some(d), Some(old)) = (e.delivered, e.oldest) {
            let l = d - old;
            acc.lag_max = Some(acc.lag_max.map_or(l, |m| m.max(l)));
        }
    }
    parts
        .into_iter()
        .map(|((account, region), mut a)| {
            a.delivered.sort_unstable();
            let gaps: Vec<Gap> = a
                .delivered
                .windows(2)
                .filter(|w| w[1] - w[0] > o.gap)
                .map(|w| Gap {
                    from: at(w[0]),
                    to: at(w[1]),
                    seconds: w[1] - w[0],
                })
                .collect();
            let last = a.delivered.last().copied();
            // Silence only means something where deliveries were steady before it.
            let silent = last
                .map(|l| o.now - l)
                .filter(|s| *s > o.gap && a.delivered.len() >= 2);
            let status = if silent.is_some() {
                "silent"
            } else if !gaps.is_empty() {
                "gap"
            } else if a.failed > 0 {
                "errors"
            } else {
                "ok"
            };
            PartitionHealth {
                account,
                region,
                status,
                objects: a.objects,
                events: a.events,
                failed_objects: a.failed,
                objects_per_hour: a.objects as f64 * 3600.0 / o.window.max(1) as f64,
                last_delivered: last.map(at),
                newest_event: a.newest.map(at),
                lag_p50_seconds: percentile(&a.lag, 0.50, a.lag_max),
                lag_p95_seconds: percentile(&a.lag, 0.95, a.lag_max),
                lag_max_seconds: a.lag_max,
                silent_seconds: silent,
                gaps,
                errors: a.errors,
            }
        })
        .collect()
}

/// The upper bound of the bucket holding quantile `q` (the maximum for the open bucket).
fn percentile(hist: &[u32], q: f64, max: Option<i64>) -> Option<i64> {
    let total: u64 = hist.iter().map(|n| u64::from(*n)).sum();
    if total == 0 {
        return None;
    }
    let rank = ((total as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (i, n) in hist.iter().enumerate() {
        seen += u64::from(*n);
        if seen >= rank {
            let bound = LAG_BUCKETS[i];
            return Some(match max {
                Some(m) if bound == i64::MAX || m < bound => m,
                _ => bound,
            });
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Entry;

    fn entry(n: usize, delivered: i64, lags: &[i64], status: Status) -> Entry {
        let mut lag = Vec::new();
        for l in lags {
            count_lag(&mut lag, *l);
        }
        Entry {
            object: format!("o{n}"),
            version: "v".into(),
            status,
            events: lags.len() as u64,
            account: Some("111111111111".into()),
            region: Some("us-east-1".into()),
            delivered: Some(delivered),
            newest: Some(delivered - lags.iter().min().unwrap()),
            oldest: Some(delivered - lags.iter().max().unwrap()),
            lag,
            errors: if status == Status::Failed {
                vec!["broken".into()]
            } else {
                vec![]
            },
            ..Entry::default()
        }
    }

    #[test]
    fn finds_lag_gaps_silence_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open(dir.path()).unwrap();
        let now = 100_000;
        // Every 5 minutes for an hour, then nothing for 2 hours, then two more.
        let mut entries: Vec<Entry> = (0..12)
            .map(|i| {
                entry(
                    i,
                    now - 3 * 3600 - 3600 + i as i64 * 300,
                    &[100, 200, 400],
                    Status::Ok,
                )
            })
            .collect();
        entries.push(entry(12, now - 1800, &[50, 4000], Status::Failed));
        entries.push(entry(13, now - 1500, &[70], Status::Ok));
        l.append(entries).unwrap();
        let h = health(
            &l,
            HealthOptions {
                now,
                window: 6 * 3600,
                gap: 3600,
            },
        );
        assert_eq!(h.len(), 1);
        let p = &h[0];
        assert_eq!((p.objects, p.events, p.failed_objects), (14, 39, 1));
        assert_eq!(p.status, "gap");
        assert_eq!(p.gaps.len(), 1);
        assert_eq!(
            p.gaps[0].seconds, 9300,
            "from the 12th delivery to the failed one"
        );
        assert_eq!(p.lag_max_seconds, Some(4000));
        assert_eq!(p.lag_p50_seconds, Some(300));
        assert_eq!(p.lag_p95_seconds, Some(600));
        assert_eq!(p.silent_seconds, None);

        let later = health(
            &l,
            HealthOptions {
                now: now + 7200,
                window: 6 * 3600,
                gap: 3600,
            },
        );
        assert_eq!(later[0].status, "silent");
        assert_eq!(later[0].silent_seconds, Some(7200 + 1500));
    }
}
