//! Evaluation: the stateless Sigma match on the decode workers ([`Detector`]) and the stateful
//! part on the writer ([`Alerter`]): correlations, suppression, and the alerts they raise.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use cairn_model::record;
use rsigma_eval::{
    CorrelationConfig, CorrelationEngine, CorrelationEventMode, Engine, Event, EventValue,
    JsonEvent, TimestampFallback,
};
pub use rsigma_eval::{EvaluationResult, ResultBody};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::alert::{Alert, AlertKind, MAX_EVENT_IDS};
use crate::rules::{RuleInfo, RuleKind, RuleSet};

/// The correlation engine cairn runs: event time from `eventTime`, the ids of the events in a
/// window kept (up to [`MAX_EVENT_IDS`]), and rules that only feed a correlation kept quiet.
pub(crate) fn correlation_engine() -> CorrelationEngine {
    CorrelationEngine::new(CorrelationConfig {
        timestamp_fields: vec!["eventTime".into()],
        timestamp_fallback: TimestampFallback::Skip,
        emit_detections: false,
        correlation_event_mode: CorrelationEventMode::Refs,
        max_correlation_events: MAX_EVENT_IDS,
        ..CorrelationConfig::default()
    })
}

/// A CloudTrail record as rsigma sees it. Its JSON form is only `{"id": eventID}`: that is
/// what rsigma keeps of an event in a correlation window, and the whole record is not needed.
struct Record<'a> {
    inner: JsonEvent<'a>,
    id: &'a str,
}

impl<'a> Record<'a> {
    fn new(v: &'a Value) -> Record<'a> {
        Record {
            inner: JsonEvent::borrow(v),
            id: record::get_str(v, "eventID").unwrap_or(""),
        }
    }
}

impl Event for Record<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        self.inner.get_field(path)
    }
    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        self.inner.any_string_value(pred)
    }
    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        self.inner.all_string_values()
    }
    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        self.inner.visit_string_values(visit)
    }
    fn to_json(&self) -> Value {
        serde_json::json!({ "id": self.id })
    }
    fn field_keys(&self) -> Vec<Cow<'_, str>> {
        self.inner.field_keys()
    }
    fn top_level_keys(&self) -> Option<Vec<Cow<'_, str>>> {
        self.inner.top_level_keys()
    }
    fn visit_top_level_keys(&self, visit: &mut dyn FnMut(&str)) -> bool {
        self.inner.visit_top_level_keys(visit)
    }
}

/// An event that matched at least one rule, with what matched.
#[derive(Debug)]
pub struct Finding {
    /// `eventTime`, Unix seconds.
    pub time: i64,
    pub event_id: String,
    pub event: Value,
    pub results: Vec<EvaluationResult>,
}

/// The stateless half: matches one event against every detection rule. Shared by the decode
/// workers.
pub struct Detector {
    engine: Engine,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("rules", &self.engine.rule_count())
            .finish()
    }
}

impl Detector {
    pub fn new(rules: &RuleSet) -> Detector {
        let mut engine = Engine::new();
        for r in &rules.rules {
            // Every rule compiled once already when the set was loaded.
            if let Err(e) = engine.add_rule(r) {
                tracing::error!(rule = %r.title, error = %e, "rule failed to compile");
            }
        }
        Detector { engine }
    }

    /// The rules an event matches, or `None` (almost always).
    pub fn inspect(&self, event: &Value) -> Option<Finding> {
        let results = self.engine.evaluate(&Record::new(event));
        if results.is_empty() {
            return None;
        }
        Some(Finding {
            time: event_time(event).unwrap_or(0),
            event_id: record::get_str(event, "eventID").unwrap_or("").to_string(),
            event: event.clone(),
            results,
        })
    }
}

/// `eventTime` as Unix seconds.
pub fn event_time(event: &Value) -> Option<i64> {
    let t = record::get_str(event, "eventTime")?;
    OffsetDateTime::parse(t, &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// An alert still taking the matches of its group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpenGroup {
    pub rule_id: String,
    pub group: Vec<(String, String)>,
    pub alert: Alert,
    /// Event time (Unix seconds) until which matches of the group join the alert.
    pub until: i64,
}

/// What an [`Alerter`] carries from one batch to the next; persisted by the recorder.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AlerterState {
    #[serde(default)]
    pub correlation: Option<rsigma_eval::CorrelationSnapshot>,
    #[serde(default)]
    pub open: Vec<OpenGroup>,
}

/// The stateful half: feeds findings through the correlation rules and turns results into
/// alerts, suppressing storms into one alert per group.
pub struct Alerter {
    corr: CorrelationEngine,
    info: HashMap<String, Arc<RuleInfo>>,
    open: HashMap<(String, Vec<(String, String)>), OpenGroup>,
    now: fn() -> i64,
}

impl std::fmt::Debug for Alerter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerter")
            .field("open", &self.open.len())
            .finish_non_exhaustive()
    }
}

fn wall_clock() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

impl Alerter {
    pub fn new(rules: &RuleSet) -> Alerter {
        let mut corr = correlation_engine();
        for r in &rules.rules {
            if let Err(e) = corr.add_rule(r) {
                tracing::error!(rule = %r.title, error = %e, "rule failed to compile");
            }
        }
        for c in &rules.correlations {
            if let Err(e) = corr.add_correlation(c) {
                tracing::error!(rule = %c.title, error = %e, "correlation failed to compile");
            }
        }
        let mut info = HashMap::new();
        for i in &rules.info {
            let i = Arc::new(i.clone());
            info.insert(i.id.clone(), i.clone());
            if let Some(n) = &i.name {
                info.entry(n.clone()).or_insert(i.clone());
            }
        }
        Alerter {
            corr,
            info,
            open: HashMap::new(),
            now: wall_clock,
        }
    }

    /// Restores the state saved by [`Alerter::state`].
    pub fn restore(&mut self, state: AlerterState) {
        if let Some(s) = state.correlation
            && !self.corr.import_state(s)
        {
            tracing::warn!("correlation state of an older cairn version dropped");
        }
        for g in state.open {
            self.open.insert((g.rule_id.clone(), g.group.clone()), g);
        }
    }

    pub fn state(&self) -> AlerterState {
        AlerterState {
            correlation: Some(self.corr.export_state()),
            open: self.open.values().cloned().collect(),
        }
    }

    /// Feeds findings (sorted here by event time) and returns the alerts raised or updated,
    /// each once, in its latest form, with whether it is new.
    pub fn feed(&mut self, mut findings: Vec<Finding>) -> Vec<(Alert, bool)> {
        findings.sort_by(|a, b| (a.time, &a.event_id).cmp(&(b.time, &b.event_id)));
        let mut touched: Vec<(Alert, bool)> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        for mut f in findings {
            let detections = std::mem::take(&mut f.results);
            let results =
                self.corr
                    .process_with_detections(&Record::new(&f.event), detections, f.time);
            for r in results {
                if let Some((alert, new)) = self.raise(&f, &r) {
                    match at.get(&alert.id) {
                        Some(&i) => {
                            let was_new = touched[i].1;
                            touched[i] = (alert, was_new || new);
                        }
                        None => {
                            at.insert(alert.id.clone(), touched.len());
                            touched.push((alert, new));
                        }
                    }
                }
            }
        }
        // Close the groups whose window has passed the newest event seen.
        if let Some(newest) = touched.iter().map(|(a, _)| a.last_seen.clone()).max() {
            let newest = parse_time(&newest);
            self.open.retain(|_, g| g.until >= newest);
        }
        touched
    }

    fn raise(&mut self, f: &Finding, r: &EvaluationResult) -> Option<(Alert, bool)> {
        let key = r
            .header
            .rule_id
            .clone()
            .unwrap_or_else(|| r.header.rule_title.clone());
        let info = self.info.get(&key)?.clone();
        if !info.alerts {
            return None;
        }
        let ev = &f.event;
        let (kind, group, ids, count) = match &r.body {
            ResultBody::Detection(_) => {
                let group = info
                    .group_by
                    .iter()
                    .map(|g| {
                        let v = record::get(ev, g).map(value_text).unwrap_or_default();
                        (g.clone(), v)
                    })
                    .collect::<Vec<_>>();
                (
                    AlertKind::Detection,
                    group,
                    vec![(f.time, f.event_id.clone())],
                    1,
                )
            }
            ResultBody::Correlation(c) => {
                let mut ids: Vec<(i64, String)> = c
                    .event_refs
                    .iter()
                    .flatten()
                    .filter_map(|e| Some((e.timestamp, e.id.clone()?)))
                    .collect();
                if ids.is_empty() {
                    ids.push((f.time, f.event_id.clone()));
                }
                let count = (c.aggregated_value.max(1.0)) as u64;
                (AlertKind::Correlation, c.group_key.clone(), ids, count)
            }
        };
        let gk = (info.id.clone(), group.clone());
        if let Some(open) = self.open.get_mut(&gk)
            && info.suppress.is_some()
            && f.time <= open.until
        {
            let a = &mut open.alert;
            for (t, id) in &ids {
                if !a.event_ids.contains(id) {
                    if a.event_ids.len() < MAX_EVENT_IDS {
                        a.event_ids.push(id.clone());
                    }
                    if kind == AlertKind::Detection {
                        a.count += 1;
                    }
                }
                a.last_seen = a.last_seen.clone().max(rfc3339(*t));
            }
            if kind == AlertKind::Correlation {
                a.count = a.count.max(count).max(a.event_ids.len() as u64);
            }
            return Some((a.clone(), false));
        }
        let first = ids.iter().map(|(t, _)| *t).min().unwrap_or(f.time);
        let last = ids.iter().map(|(t, _)| *t).max().unwrap_or(f.time);
        let mut h = Sha256::new();
        h.update(info.id.as_bytes());
        for (k, v) in &group {
            h.update([0]);
            h.update(k.as_bytes());
            h.update([0]);
            h.update(v.as_bytes());
        }
        h.update([1]);
        h.update(ids[0].1.as_bytes());
        let id = hex(&h.finalize()[..10]);
        let alert = Alert {
            id,
            kind,
            rule_id: info.id.clone(),
            rule: info.title.clone(),
            severity: info.level,
            tags: info.tags.clone(),
            first_seen: rfc3339(first),
            last_seen: rfc3339(last),
            count: count.max(ids.len() as u64),
            account: record::account(ev).map(str::to_string),
            region: record::get_str(ev, "awsRegion").map(str::to_string),
            principal: record::principal(ev),
            event_name: record::get_str(ev, "eventName").map(str::to_string),
            source_ip: record::get_str(ev, "sourceIPAddress").map(str::to_string),
            event_ids: ids
                .into_iter()
                .map(|(_, id)| id)
                .take(MAX_EVENT_IDS)
                .collect(),
            group: group.clone(),
            summary: summary(&info, ev, &r.body),
            raised: (self.now)(),
            deliveries: Vec::new(),
        };
        if let Some(s) = info.suppress {
            self.open.insert(
                gk,
                OpenGroup {
                    rule_id: info.id.clone(),
                    group,
                    alert: alert.clone(),
                    until: first + s as i64,
                },
            );
        }
        Some((alert, true))
    }
}

/// One sentence: who did what, where, when; for a correlation, how many and within what.
fn summary(info: &RuleInfo, ev: &Value, body: &ResultBody) -> String {
    let who = record::principal(ev).unwrap_or_else(|| "an unknown principal".into());
    let what = record::get_str(ev, "eventName").unwrap_or("an API call");
    let service = record::get_str(ev, "eventSource").unwrap_or("AWS");
    let account = record::account(ev).unwrap_or("an unknown account");
    let region = record::get_str(ev, "awsRegion").unwrap_or("an unknown region");
    let when = record::get_str(ev, "eventTime").unwrap_or("an unknown time");
    let from = record::get_str(ev, "sourceIPAddress")
        .map(|ip| format!(" from {ip}"))
        .unwrap_or_default();
    let error = record::get_str(ev, "errorCode")
        .map(|e| format!(" (denied: {e})"))
        .unwrap_or_default();
    match body {
        ResultBody::Detection(_) => format!(
            "{who} called {what} on {service} in account {account} ({region}){from} at {when}{error}."
        ),
        ResultBody::Correlation(c) => {
            let group = c
                .group_key
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            let kind = match &info.kind {
                RuleKind::Correlation(t) => t.as_str(),
                RuleKind::Detection => "correlation",
            };
            format!(
                "{} ({kind}, {} events within {}) for {group}; the last: {who} called {what} in \
                 account {account} ({region}){from} at {when}{error}.",
                info.title,
                c.aggregated_value,
                span(c.timespan_secs)
            )
        }
    }
}

pub(crate) fn span(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

pub(crate) fn parse_time(s: &str) -> i64 {
    OffsetDateTime::parse(s, &Rfc3339)
        .map(|t| t.unix_timestamp())
        .unwrap_or(0)
}

pub(crate) use cairn_model::hex;
