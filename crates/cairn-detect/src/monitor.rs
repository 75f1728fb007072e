//! Heartbeat monitors: alerts on the absence of events.
//!
//! A monitor counts the events matching a query in a window that ends `delay` before the
//! check (CloudTrail delivers minutes late, so the newest minutes are always short), and is
//! FIRING while the count is below `min_count`. Each change between OK and FIRING raises an
//! alert, so a canary that stops and resumes notifies twice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::alert::{Alert, AlertKind, Severity};
use crate::engine::{hex, rfc3339};
use crate::recorder::{RecordError, append_alerts, write_durably};
use crate::rules::parse_duration;

/// A monitor as written in `cairn.toml` (`[[monitor]]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorConfig {
    pub name: String,
    /// A cairn query (the `search` language).
    pub query: String,
    /// How far back to count, e.g. `1h`.
    pub window: String,
    /// Fewer events than this in the window is FIRING.
    pub min_count: u64,
    /// How often to check while following (default 5m).
    #[serde(default)]
    pub every: Option<String>,
    /// The newest part of time left out of the window, for delivery delay (default 15m).
    #[serde(default)]
    pub delay: Option<String>,
    /// The severity of its alerts (default high).
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A monitor with its durations read.
#[derive(Debug, Clone)]
pub struct Monitor {
    pub config: MonitorConfig,
    pub window: i64,
    pub every: i64,
    pub delay: i64,
    pub severity: Severity,
}

impl Monitor {
    pub fn new(config: MonitorConfig) -> Result<Monitor, String> {
        let d = |field: &str, v: Option<&str>, default: &str| -> Result<i64, String> {
            parse_duration(v.unwrap_or(default))
                .map(|s| s as i64)
                .map_err(|e| format!("monitor {:?}: {field}: {e}", config.name))
        };
        let window = d("window", Some(&config.window), "")?;
        let every = d("every", config.every.as_deref(), "5m")?;
        let delay = d("delay", config.delay.as_deref(), "15m")?;
        if window == 0 || every == 0 {
            return Err(format!(
                "monitor {:?}: window and every must be longer than zero",
                config.name
            ));
        }
        Ok(Monitor {
            severity: config.severity.unwrap_or(Severity::High),
            config,
            window,
            every,
            delay,
        })
    }

    /// The window a check at `now` counts: `[from, to)`, Unix seconds.
    pub fn window_at(&self, now: i64) -> (i64, i64) {
        let to = now - self.delay;
        (to - self.window, to)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Ok,
    Firing,
}

/// What is remembered of a monitor between checks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MonitorState {
    pub status: Status,
    /// Since when (the check that moved it there), Unix seconds.
    pub since: i64,
    pub last_check: i64,
    pub last_count: u64,
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub count: u64,
    pub min_count: u64,
    pub from: String,
    pub to: String,
    /// The alert raised when the status changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<Alert>,
}

/// The configured monitors and their state in `<data>/detect/monitors.json`.
#[derive(Debug)]
pub struct Monitors {
    dir: PathBuf,
    pub monitors: Vec<Monitor>,
    pub state: BTreeMap<String, MonitorState>,
}

/// Counts the events matching a query in `[from, to)` (Unix seconds).
pub type Count<'a> = dyn Fn(&str, i64, i64) -> Result<u64, String> + 'a;

impl Monitors {
    pub fn open(dir: &Path, configs: Vec<MonitorConfig>) -> Result<Monitors, String> {
        let monitors = configs
            .into_iter()
            .map(Monitor::new)
            .collect::<Result<Vec<_>, _>>()?;
        let path = dir.join("monitors.json");
        let state = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| format!("{}: {e}", path.display()))?,
            Err(_) => BTreeMap::new(),
        };
        Ok(Monitors {
            dir: dir.to_path_buf(),
            monitors,
            state,
        })
    }

    /// Seconds until the next monitor is due at `now` (0 when one is due).
    pub fn next_due(&self, now: i64) -> Option<i64> {
        self.monitors
            .iter()
            .map(|m| {
                let last = self
                    .state
                    .get(&m.config.name)
                    .map_or(i64::MIN / 2, |s| s.last_check);
                (last + m.every - now).max(0)
            })
            .min()
    }

    /// Checks the monitors that are due at `now` (all of them when `all`), records the
    /// changes as alerts and returns the checks made.
    pub fn run(
        &mut self,
        now: i64,
        all: bool,
        count: &Count<'_>,
    ) -> Result<Vec<Check>, RecordError> {
        let mut checks = Vec::new();
        for m in &self.monitors {
            let name = &m.config.name;
            let prev = self.state.get(name).cloned();
            if !all && prev.as_ref().is_some_and(|s| now < s.last_check + m.every) {
                continue;
            }
            let (from, to) = m.window_at(now);
            let n = count(&m.config.query, from, to).map_err(|e| RecordError {
                path: self.dir.join("monitors.json"),
                message: format!("monitor {name:?}: {e}"),
            })?;
            let status = if n < m.config.min_count {
                Status::Firing
            } else {
                Status::Ok
            };
            let changed = match &prev {
                None => status == Status::Firing,
                Some(p) => p.status != status,
            };
            let alert = changed.then(|| monitor_alert(m, status, n, from, to, now));
            self.state.insert(
                name.clone(),
                MonitorState {
                    status,
                    since: if changed || prev.is_none() {
                        now
                    } else {
                        prev.as_ref().map_or(now, |p| p.since)
                    },
                    last_check: now,
                    last_count: n,
                },
            );
            checks.push(Check {
                name: name.clone(),
                status,
                count: n,
                min_count: m.config.min_count,
                from: rfc3339(from),
                to: rfc3339(to),
                alert,
            });
        }
        let alerts: Vec<Alert> = checks.iter().filter_map(|c| c.alert.clone()).collect();
        append_alerts(&self.dir, &alerts)?;
        let path = self.dir.join("monitors.json");
        let bytes = serde_json::to_vec_pretty(&self.state).map_err(|e| RecordError {
            path: path.clone(),
            message: e.to_string(),
        })?;
        write_durably(&path, &bytes)?;
        Ok(checks)
    }
}

fn monitor_alert(m: &Monitor, status: Status, n: u64, from: i64, to: i64, now: i64) -> Alert {
    let c = &m.config;
    let mut h = Sha256::new();
    h.update(b"monitor\0");
    h.update(c.name.as_bytes());
    h.update(format!("\0{status:?}\0{now}").as_bytes());
    let span = |s: i64| crate::engine::span(s as u64);
    let (kind, summary) = match status {
        Status::Firing => (
            AlertKind::MonitorFiring,
            format!(
                "Heartbeat {:?} is FIRING: {n} event(s) matching `{}` between {} and {}, \
                 fewer than the {} expected in {}. The activity it watches, or the trail that \
                 records it, may have stopped.",
                c.name,
                c.query,
                rfc3339(from),
                rfc3339(to),
                c.min_count,
                span(m.window)
            ),
        ),
        Status::Ok => (
            AlertKind::MonitorResolved,
            format!(
                "Heartbeat {:?} is OK again: {n} event(s) matching `{}` between {} and {} \
                 (at least {} expected).",
                c.name,
                c.query,
                rfc3339(from),
                rfc3339(to),
                c.min_count
            ),
        ),
    };
    Alert {
        id: hex(&h.finalize()[..10]),
        kind,
        rule_id: format!("monitor:{}", c.name),
        rule: c
            .description
            .clone()
            .unwrap_or_else(|| format!("Heartbeat {}", c.name)),
        // The resolution goes wherever the firing went.
        severity: m.severity,
        tags: vec!["cairn.heartbeat".into()],
        first_seen: rfc3339(from),
        last_seen: rfc3339(to),
        count: n,
        account: None,
        region: None,
        principal: None,
        event_name: None,
        source_ip: None,
        event_ids: Vec::new(),
        group: vec![("monitor".into(), c.name.clone())],
        summary,
        raised: now,
        deliveries: Vec::new(),
    }
}
