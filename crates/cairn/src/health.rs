//! `cairn health`, `cairn check ...` (Nagios plugin conventions) and `cairn config check`.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use cairn_store::Store;
use cairn_store::health::{HealthOptions, PartitionHealth};
use cairn_store::search::TimeRange;
use time::OffsetDateTime;

use crate::cli::{self, CheckCommand, SummaryFormat};
use crate::metrics::{FOLLOW_STATE, FollowState};
use crate::output::human;
use crate::{Outcome, UsageError};

fn seconds(s: &str, flag: &str) -> Result<i64> {
    Ok(cairn_query::time::parse_duration(s)
        .map_err(|e| UsageError(format!("{flag}: {e}")))?
        .whole_seconds())
}

/// A duration in the largest unit that keeps it short: `42s`, `17m`, `3h12m`, `2d4h`.
pub fn short(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{}h", s / 86_400, s % 86_400 / 3600),
    }
}

fn partitions(
    store: &Store,
    window: i64,
    gap: i64,
    accounts: &[String],
    regions: &[String],
) -> Result<Vec<PartitionHealth>> {
    let ledger = store.ledger()?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut parts = cairn_store::health::health(&ledger, HealthOptions { now, window, gap });
    parts.retain(|p| {
        (accounts.is_empty() || accounts.contains(&p.account))
            && (regions.is_empty() || regions.contains(&p.region))
    });
    Ok(parts)
}

pub fn health(dir: &Path, a: cli::HealthArgs) -> Result<Outcome> {
    let store = Store::open(dir)?;
    let window = seconds(&a.window, "--window")?;
    let gap = seconds(&a.gap, "--gap")?;
    let parts = partitions(&store, window, gap, &a.account, &a.region)?;
    let follow: Option<FollowState> = std::fs::read(dir.join(FOLLOW_STATE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let mut out = std::io::stdout().lock();
    if a.format == SummaryFormat::Json {
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({
                "window_seconds": window,
                "gap_seconds": gap,
                "partitions": parts,
                "queues": follow.map(|f| f.queues).unwrap_or_default(),
            }),
        )?;
        writeln!(out)?;
        return Ok(Outcome::Ok);
    }
    if parts.is_empty() {
        writeln!(
            out,
            "no CloudTrail deliveries in the store (files outside the AWSLogs layout have no account or region)"
        )?;
    } else {
        writeln!(
            out,
            "{:<14} {:<16} {:<7} {:>8} {:>10} {:>7} {:<20} {:<20} {:>8} {:>8} {:>8}",
            "ACCOUNT",
            "REGION",
            "STATUS",
            "OBJECTS",
            "EVENTS",
            "ERRORS",
            "LAST DELIVERY",
            "NEWEST EVENT",
            "LAG P50",
            "LAG P95",
            "LAG MAX"
        )?;
        let t = |t: Option<OffsetDateTime>| {
            t.map(|t| {
                format!(
                    "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                    t.year(),
                    t.month() as u8,
                    t.day(),
                    t.hour(),
                    t.minute(),
                    t.second()
                )
            })
            .unwrap_or_else(|| "-".into())
        };
        let d = |s: Option<i64>| s.map_or("-".into(), short);
        for p in &parts {
            writeln!(
                out,
                "{:<14} {:<16} {:<7} {:>8} {:>10} {:>7} {:<20} {:<20} {:>8} {:>8} {:>8}",
                p.account,
                p.region,
                p.status,
                human(p.objects),
                human(p.events),
                p.failed_objects,
                t(p.last_delivered),
                t(p.newest_event),
                d(p.lag_p50_seconds),
                d(p.lag_p95_seconds),
                d(p.lag_max_seconds),
            )?;
            if let Some(s) = p.silent_seconds {
                writeln!(out, "  silent: nothing delivered for {}", short(s))?;
            }
            for g in &p.gaps {
                writeln!(
                    out,
                    "  gap: no delivery for {} ({} to {})",
                    short(g.seconds),
                    t(Some(g.from)),
                    t(Some(g.to))
                )?;
            }
            for e in &p.errors {
                writeln!(out, "  error: {e}")?;
            }
        }
    }
    if let Some(f) = follow {
        for (q, s) in f.queues {
            writeln!(
                out,
                "queue {q}: {} visible, {} in flight, {} delayed (read {} ago)",
                s.backlog.visible,
                s.backlog.in_flight,
                s.backlog.delayed,
                short(OffsetDateTime::now_utc().unix_timestamp() - s.at)
            )?;
        }
    }
    Ok(Outcome::Ok)
}

/// A Nagios plugin result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl State {
    fn word(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }
}

/// Prints `CAIRN NAME STATE - text | perfdata` and returns the exit code.
fn report(name: &str, state: State, text: &str, perf: &str) -> Outcome {
    let perf = if perf.is_empty() {
        String::new()
    } else {
        format!(" | {perf}")
    };
    println!("CAIRN {name} {} - {text}{perf}", state.word());
    Outcome::Exit(state as u8)
}

pub fn check(dir: &Path, c: CheckCommand) -> Result<Outcome> {
    let (name, result) = match c {
        CheckCommand::Count(a) => ("COUNT", check_count(dir, &a)),
        CheckCommand::Lag(a) => ("LAG", check_lag(dir, &a)),
        CheckCommand::Trail(a) => ("TRAIL", check_trail(&a)),
    };
    // Nagios reads anything that went wrong before a verdict as UNKNOWN.
    Ok(match result {
        Ok((state, text, perf)) => report(name, state, &text, &perf),
        Err(e) => report(name, State::Unknown, &format!("{e:#}"), ""),
    })
}

/// A Nagios range for "alert below `lo` or above `hi`".
fn range(lo: Option<u64>, hi: Option<u64>) -> String {
    match (lo, hi) {
        (Some(l), Some(h)) => format!("{l}:{h}"),
        (Some(l), None) => format!("{l}:"),
        (None, Some(h)) => format!("~:{h}"),
        (None, None) => String::new(),
    }
}

type Verdict = (State, String, String);

fn check_count(dir: &Path, a: &cli::CheckCountArgs) -> Result<Verdict> {
    let store = Store::open(dir)?;
    let window = seconds(&a.window, "--window")?;
    let delay = seconds(&a.delay, "--delay")?;
    let q = cairn_query::parse(&a.query).map_err(|e| UsageError(format!("invalid query: {e}")))?;
    let now = OffsetDateTime::now_utc();
    let to = now - time::Duration::seconds(delay);
    let compiled = store.compile(
        &q,
        TimeRange::new(Some(to - time::Duration::seconds(window)), Some(to)),
        &cairn_store::Scope::ALL,
    )?;
    let n = store.count(&compiled)?;
    let state = if a.crit_below.is_some_and(|c| n < c) || a.crit_above.is_some_and(|c| n > c) {
        State::Critical
    } else if a.warn_below.is_some_and(|w| n < w) || a.warn_above.is_some_and(|w| n > w) {
        State::Warning
    } else {
        State::Ok
    };
    let what = if a.query.trim().is_empty() {
        "events".to_string()
    } else {
        format!("events matching '{}'", a.query)
    };
    Ok((
        state,
        format!("{n} {what} in the last {}", a.window),
        format!(
            "count={n};{};{};0;",
            range(a.warn_below, a.warn_above),
            range(a.crit_below, a.crit_above)
        ),
    ))
}

fn check_lag(dir: &Path, a: &cli::CheckLagArgs) -> Result<Verdict> {
    let store = Store::open(dir)?;
    let warn = seconds(&a.warn, "--warn")?;
    let crit = seconds(&a.crit, "--crit")?;
    // Every partition ever seen: one that went quiet long ago is the worst case, not absent.
    let parts = partitions(&store, i64::MAX / 4, i64::MAX / 4, &a.account, &a.region)?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let lags: Vec<(String, i64)> = parts
        .iter()
        .filter_map(|p| {
            p.newest_event.map(|t| {
                (
                    format!("{}/{}", p.account, p.region),
                    now - t.unix_timestamp(),
                )
            })
        })
        .collect();
    let Some((worst_name, worst)) = lags.iter().max_by_key(|(_, l)| *l).cloned() else {
        anyhow::bail!("no events from CloudTrail files in the store for this account and region");
    };
    let state = if worst >= crit {
        State::Critical
    } else if worst >= warn {
        State::Warning
    } else {
        State::Ok
    };
    let late = lags.iter().filter(|(_, l)| *l >= warn).count();
    let perf: Vec<String> = lags
        .iter()
        .map(|(n, l)| format!("'{n}'={l}s;{warn};{crit};0;"))
        .collect();
    Ok((
        state,
        format!(
            "newest event of {worst_name} is {} old; {late} of {} account/regions over {}",
            short(worst),
            lags.len(),
            a.warn
        ),
        perf.join(" "),
    ))
}

fn check_trail(a: &cli::CheckTrailArgs) -> Result<Verdict> {
    let opts = a.aws.options(a.region.clone());
    let rt = cairn_source::aws::runtime()?;
    let status = rt.block_on(async {
        let conf = cairn_source::aws::sdk_config(&opts).await;
        cairn_source::aws::trail_status(&conf, &a.name).await
    });
    let s = status.map_err(|e| anyhow::anyhow!("GetTrailStatus {}: {e}", a.name))?;
    Ok(trail_verdict(
        &a.name,
        &s,
        OffsetDateTime::now_utc().unix_timestamp(),
    ))
}

/// Not logging is CRITICAL; a delivery, digest or notification error is WARNING.
fn trail_verdict(name: &str, s: &cairn_source::aws::TrailStatus, now: i64) -> Verdict {
    let age = s.latest_delivery_time.map(|t| now - t);
    let perf = age.map_or(String::new(), |a| format!("delivery_age={a}s;;;0;"));
    let last = age.map_or("no delivery yet".into(), |a| {
        format!("last delivery {} ago", short(a))
    });
    if !s.is_logging {
        return (
            State::Critical,
            format!("trail {name} is not logging; {last}"),
            perf,
        );
    }
    let errors: Vec<String> = [
        ("delivery", &s.latest_delivery_error),
        ("digest delivery", &s.latest_digest_delivery_error),
        ("notification", &s.latest_notification_error),
    ]
    .into_iter()
    .filter_map(|(what, e)| e.as_ref().map(|e| format!("latest {what} error: {e}")))
    .collect();
    if !errors.is_empty() {
        return (
            State::Warning,
            format!("trail {name} is logging; {}; {last}", errors.join("; ")),
            perf,
        );
    }
    (State::Ok, format!("trail {name} is logging; {last}"), perf)
}

pub fn config_check(path: Option<&Path>) -> Result<Outcome> {
    match crate::config::load(path).map_err(|e| UsageError(e.to_string()))? {
        None => Err(UsageError(
            "no configuration: ./cairn.toml does not exist and --config was not given".into(),
        )
        .into()),
        Some(l) => {
            // What serde cannot see: durations, channel settings, rule files.
            let mut problems = Vec::new();
            for m in &l.config.monitors {
                if let Err(e) = cairn_detect::monitor::Monitor::new(m.clone()) {
                    problems.push(e);
                }
            }
            for c in &l.config.channels {
                if let Err(e) = c.validate() {
                    problems.push(format!("channel {:?}: {e}", c.name));
                }
            }
            let (rules, errors) =
                crate::detect::load_rules(&crate::cli::RuleArgs::default(), Some(&l));
            problems.extend(errors.iter().map(|e| e.to_string()));
            if !problems.is_empty() {
                for p in &problems {
                    eprintln!("error: {}: {p}", l.path.display());
                }
                return Ok(Outcome::Exit(2));
            }
            println!(
                "{}: ok ({} sources, {} rules, {} monitors, {} channels)",
                l.path.display(),
                l.config.sources.len(),
                rules.len(),
                l.config.monitors.len(),
                l.config.channels.len()
            );
            Ok(Outcome::Ok)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_source::aws::TrailStatus;

    #[test]
    fn trail_status_maps_to_nagios_states() {
        let now = 10_000;
        let logging = TrailStatus {
            is_logging: true,
            latest_delivery_time: Some(now - 300),
            ..TrailStatus::default()
        };
        let (state, text, perf) = trail_verdict("main", &logging, now);
        assert_eq!(state, State::Ok);
        assert_eq!(text, "trail main is logging; last delivery 5m ago");
        assert_eq!(perf, "delivery_age=300s;;;0;");
        let failing = TrailStatus {
            latest_delivery_error: Some("AccessDenied".into()),
            ..logging.clone()
        };
        let (state, text, _) = trail_verdict("main", &failing, now);
        assert_eq!(state, State::Warning);
        assert!(
            text.contains("latest delivery error: AccessDenied"),
            "{text}"
        );
        let stopped = TrailStatus {
            is_logging: false,
            ..failing
        };
        assert_eq!(trail_verdict("main", &stopped, now).0, State::Critical);
    }

    #[test]
    fn ranges_follow_nagios_syntax() {
        assert_eq!(range(Some(10), None), "10:");
        assert_eq!(range(None, Some(5)), "~:5");
        assert_eq!(range(Some(1), Some(5)), "1:5");
        assert_eq!(range(None, None), "");
    }
}
