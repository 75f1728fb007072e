//! Rules, alerts and monitors on the command line, and the detection that rides along with
//! ingest.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use cairn_detect::monitor::{Monitors, Status};
use cairn_detect::notify::{self, Dispatcher, Notifiers, SnsContext};
use cairn_detect::{Alert, Alerter, Detector, Recorder, RuleSet, Severity, detect_dir};
use cairn_store::search::TimeRange;
use cairn_store::{IngestOptions, IngestReport, Progress, Store, StoreError};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::{
    self, AlertsCommand, Format, MonitorsCommand, RuleArgs, RulesCommand, SummaryFormat,
};
use crate::config::Loaded;
use crate::output::{self, human};
use crate::{Outcome, UsageError};

/// How long a finished run waits for its notifications before leaving them to the next run.
const DRAIN: Duration = Duration::from_secs(120);
/// Alerts older than this that were never notified (a channel added later) are not sent.
const RESEND_WINDOW: i64 = 86_400;

/// The rule directories of the flags and of cairn.toml (relative to the file), and whether the
/// built-in pack is in.
pub fn load_rules(
    args: &RuleArgs,
    config: Option<&Loaded>,
) -> (RuleSet, Vec<cairn_detect::RuleError>) {
    let mut dirs = args.rules.clone();
    let mut builtin = !args.no_builtin;
    if let Some(l) = config {
        let base = l.path.parent().unwrap_or(Path::new("."));
        dirs.extend(l.config.detect.rules.iter().map(|d| base.join(d)));
        builtin &= l.config.detect.builtin.unwrap_or(true);
    }
    let (mut set, mut errors) = RuleSet::load(&dirs, builtin);
    if let Some(d) = config.and_then(|l| l.config.detect.suppress.as_deref()) {
        match cairn_detect::rules::parse_duration(d) {
            Ok(secs) => {
                for r in &mut set.info {
                    if r.kind == cairn_detect::rules::RuleKind::Detection && r.suppress.is_none() {
                        r.suppress = Some(secs);
                    }
                }
            }
            Err(e) => errors.push(cairn_detect::RuleError {
                file: config
                    .map(|l| l.path.display().to_string())
                    .unwrap_or_default(),
                rule: None,
                reason: format!("[detect] suppress: {e}"),
            }),
        }
    }
    (set, errors)
}

/// What tells a reader of a notification how to see the alert's events.
fn show_fn(dir: &Path, config: Option<&Loaded>) -> notify::ShowFn {
    let url = config.and_then(|l| l.config.detect.show_url.clone());
    let dir = dir.display().to_string();
    Arc::new(move |a: &Alert| match &url {
        Some(u) => u.replace("{id}", &a.id),
        None => format!("cairn --data-dir {dir} alerts show {}", a.id),
    })
}

/// The channels of cairn.toml, started; `None` without channels.
struct Notifying {
    dispatcher: Arc<Dispatcher>,
    _rt: Option<tokio::runtime::Runtime>,
}

fn start_notifying(dir: &Path, config: Option<&Loaded>) -> Result<Option<Notifying>> {
    let Some(l) = config else { return Ok(None) };
    let channels = l.config.channels.clone();
    if channels.is_empty() {
        return Ok(None);
    }
    let mut rt = None;
    let sns = if channels
        .iter()
        .any(|c| matches!(c.kind, notify::ChannelKind::Sns { .. }))
    {
        let runtime = cairn_source::aws::runtime().context("starting the AWS runtime")?;
        let conf = runtime.block_on(cairn_source::aws::sdk_config(&l.config.aws));
        let ctx = SnsContext {
            client: aws_sdk_sns::Client::new(&conf),
            handle: runtime.handle().clone(),
        };
        rt = Some(runtime);
        Some(ctx)
    } else {
        None
    };
    let notifiers = Notifiers::new(channels.clone(), sns)
        .map_err(|e| UsageError(format!("{}: {e}", l.path.display())))?;
    let ddir = detect_dir(dir);
    std::fs::create_dir_all(&ddir).with_context(|| format!("creating {}", ddir.display()))?;
    let log = ddir.join("deliveries.jsonl");
    let dispatcher = Arc::new(Dispatcher::start(
        notifiers,
        log.clone(),
        show_fn(dir, config),
    ));
    // Alerts a crash or a stop left without a notification.
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let recent: Vec<Alert> = cairn_detect::read_alerts(&ddir)?
        .into_iter()
        .filter(|a| a.raised >= now - RESEND_WINDOW)
        .collect();
    match notify::pending_channels(&log, &recent, &channels) {
        Ok(p) => {
            for (alert, to) in p {
                dispatcher.send_to(&alert, &to);
            }
        }
        Err(e) => tracing::warn!(log = %log.display(), error = %e, "cannot read the delivery log"),
    }
    Ok(Some(Notifying {
        dispatcher,
        _rt: rt,
    }))
}

impl Notifying {
    fn finish(self, quiet: bool) {
        let left = self.dispatcher.drain(DRAIN);
        if left > 0 && !quiet {
            eprintln!("{left} notification(s) still being retried were left for the next run");
        }
    }
}

/// The detection riding along with an ingest: Sigma on the decode workers, correlations and
/// alerts at each commit, notifications in the background, monitors on a timer.
pub struct Watching {
    detector: Detector,
    recorder: Mutex<Recorder>,
    notifying: Option<Notifying>,
    monitors: Option<Mutex<Monitors>>,
}

impl Watching {
    /// Starts detection for an ingest into `store` at `dir`, unless rules are off.
    pub fn start(
        dir: &Path,
        store: &Store,
        args: &RuleArgs,
        no_rules: bool,
        config: Option<&Loaded>,
        with_monitors: bool,
    ) -> Result<Option<Watching>> {
        let enabled = !no_rules && config.and_then(|l| l.config.detect.enabled).unwrap_or(true);
        if !enabled {
            return Ok(None);
        }
        let (rules, errors) = load_rules(args, config);
        for e in &errors {
            tracing::error!("rule not loaded: {e}");
        }
        tracing::info!(rules = rules.len(), "rules watching the events ingested");
        let ddir = detect_dir(dir);
        let payload = store.commit_payload()?;
        let mut recorder = Recorder::open(&ddir, &rules, payload.as_deref())?;
        let notifying = start_notifying(dir, config)?;
        if let Some(n) = &notifying {
            let d = n.dispatcher.clone();
            recorder.on_alert(Box::new(move |a| d.send(a)));
        }
        let monitors = match config {
            Some(l) if with_monitors && !l.config.monitors.is_empty() => Some(Mutex::new(
                Monitors::open(&ddir, l.config.monitors.clone())
                    .map_err(|e| UsageError(format!("{}: {e}", l.path.display())))?,
            )),
            _ => None,
        };
        Ok(Some(Watching {
            detector: Detector::new(&rules),
            recorder: Mutex::new(recorder),
            notifying,
            monitors,
        }))
    }

    /// The store's ingest, with every new event shown to the rules.
    pub fn ingest(
        &self,
        store: &Store,
        objects: Vec<Box<dyn cairn_model::Object>>,
        opts: &IngestOptions,
        progress: &Arc<Progress>,
    ) -> Result<IngestReport, StoreError> {
        let mut recorder = self.recorder.lock().unwrap_or_else(|p| p.into_inner());
        let inspect = |v: &Value| {
            self.detector
                .inspect(v)
                .map(|f| Box::new(f) as cairn_store::ingest::Note)
        };
        cairn_store::ingest::ingest_watched(
            store,
            objects,
            opts,
            progress,
            Some(cairn_store::ingest::Watch {
                inspect: &inspect,
                sink: &mut *recorder,
            }),
        )
    }

    /// Shows the rules one event per log file that newly failed digest verification
    /// (`eventSource: cairn.integrity`, `eventName: LogFileValidationFailed`), so that the
    /// built-in `log-file-integrity-failed` rule (or any other) alerts and notifies as usual.
    /// Such events exist only for the rules: they are not added to the store.
    pub fn integrity_failures(&self, failures: &[crate::verify::Failure]) {
        if failures.is_empty() {
            return;
        }
        let now = OffsetDateTime::now_utc();
        let time = cairn_detect::engine::rfc3339(now.unix_timestamp());
        let mut recorder = self.recorder.lock().unwrap_or_else(|p| p.into_inner());
        for f in failures {
            let id = {
                let x = cairn_integrity::digest::sha256_hex(
                    format!("{}\n{}", f.location, f.reason).as_bytes(),
                );
                format!(
                    "{}-{}-{}-{}-{}",
                    &x[0..8],
                    &x[8..12],
                    &x[12..16],
                    &x[16..20],
                    &x[20..32]
                )
            };
            let event = serde_json::json!({
                "eventVersion": "1.09",
                "userIdentity": {"type": "AWSService", "invokedBy": "cairn"},
                "eventTime": time,
                "eventSource": "cairn.integrity",
                "eventName": "LogFileValidationFailed",
                "awsRegion": f.region,
                "sourceIPAddress": "cairn",
                "userAgent": "cairn",
                "requestParameters": {
                    "object": f.location,
                    "reason": f.reason,
                    "digest": f.digest,
                },
                "eventID": id,
                "eventType": "AwsServiceEvent",
                "managementEvent": true,
                "recipientAccountId": f.account,
                "eventCategory": "Management",
            });
            if let Some(found) = self.detector.inspect(&event) {
                recorder.add(found);
            }
        }
        // Outside an index commit: stage and apply at once (a crash in between loses these
        // alerts; the failed state is already recorded and shown by `cairn.integrity:failed`).
        let staged = recorder
            .prepare(None)
            .map_err(|e| e.to_string())
            .and_then(|_| recorder.committed().map_err(|e| e.to_string()));
        if let Err(e) = staged {
            tracing::error!(error = %e, "cannot record the integrity alerts");
        }
    }

    /// Alerts raised since the start.
    pub fn raised(&self) -> u64 {
        self.recorder.lock().map(|r| r.raised).unwrap_or(0)
    }

    /// Checks the monitors that are due.
    pub fn tick(&self, store: &Store) {
        let Some(m) = &self.monitors else { return };
        let mut m = m.lock().unwrap_or_else(|p| p.into_inner());
        let now = OffsetDateTime::now_utc().unix_timestamp();
        if m.next_due(now).is_some_and(|s| s > 0) {
            return;
        }
        match m.run(now, false, &|q, from, to| count(store, q, from, to)) {
            Ok(checks) => {
                for c in checks {
                    tracing::debug!(monitor = %c.name, status = ?c.status, count = c.count, "checked");
                    if let (Some(a), Some(n)) = (&c.alert, &self.notifying) {
                        tracing::warn!(monitor = %c.name, status = ?c.status, "{}", a.summary);
                        n.dispatcher.send(a);
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "monitor check failed"),
        }
    }

    /// Waits for the notifications in flight (bounded).
    pub fn finish(self, quiet: bool) {
        if let Some(n) = self.notifying {
            n.finish(quiet);
        }
    }
}

/// Events matching `query` in `[from, to)`.
fn count(store: &Store, query: &str, from: i64, to: i64) -> Result<u64, String> {
    let q = cairn_query::parse(query).map_err(|e| format!("query {query:?}: {e}"))?;
    let t = |s: i64| OffsetDateTime::from_unix_timestamp(s).map_err(|e| e.to_string());
    let range = TimeRange::new(Some(t(from)?), Some(t(to)?));
    let c = store
        .compile(&q, range, &cairn_store::Scope::ALL)
        .map_err(|e| e.to_string())?;
    store.count(&c).map_err(|e| e.to_string())
}

// --- cairn rules ---------------------------------------------------------------------------------

pub fn rules(dir: &Path, c: RulesCommand, config: Option<&Loaded>) -> Result<Outcome> {
    match c {
        RulesCommand::List { rules, format } => list(&rules, config, format),
        RulesCommand::Check { dirs } => check(&dirs),
        RulesCommand::Test {
            rule,
            events,
            rules,
        } => test(&rules, config, &rule, &events),
        RulesCommand::Backtest {
            rules,
            only,
            time,
            format,
        } => backtest(dir, &rules, config, &only, &time, format),
    }
}

fn report_errors(errors: &[cairn_detect::RuleError]) {
    for e in errors {
        eprintln!("error: {e}");
    }
}

fn list(args: &RuleArgs, config: Option<&Loaded>, format: Format) -> Result<Outcome> {
    let (set, errors) = load_rules(args, config);
    report_errors(&errors);
    let mut out = std::io::stdout().lock();
    if matches!(format, Format::Json | Format::Jsonl) {
        for r in &set.info {
            serde_json::to_writer(&mut out, r)?;
            writeln!(out)?;
        }
    } else {
        let rows: Vec<Vec<Value>> = set
            .info
            .iter()
            .map(|r| {
                vec![
                    json!(r.name.clone().unwrap_or_else(|| r.id.clone())),
                    json!(r.level.as_str()),
                    json!(r.kind.label()),
                    json!(if r.alerts { "yes" } else { "feeds" }),
                    json!(r.title),
                    json!(r.source),
                ]
            })
            .collect();
        output::print_rows(
            &mut out,
            &["rule", "level", "kind", "alerts", "title", "source"],
            &rows,
            format,
        )?;
    }
    out.flush()?;
    Ok(if errors.is_empty() {
        Outcome::Ok
    } else {
        Outcome::InputFailed
    })
}

fn check(dirs: &[PathBuf]) -> Result<Outcome> {
    let (set, errors) = RuleSet::load(dirs, false);
    report_errors(&errors);
    let corr = set
        .info
        .iter()
        .filter(|r| r.kind != cairn_detect::rules::RuleKind::Detection)
        .count();
    let skipped: u64 = set.skipped.values().sum();
    println!(
        "{} files: {} CloudTrail rules compiled ({} detection, {corr} correlation), {} failed, {skipped} skipped (not CloudTrail{})",
        set.files,
        set.len(),
        set.len() - corr,
        errors.len(),
        if set.skipped.is_empty() {
            String::new()
        } else {
            format!(
                ": {}",
                set.skipped
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    Ok(if errors.is_empty() {
        Outcome::Ok
    } else {
        Outcome::InputFailed
    })
}

/// Events from a file: JSON lines, a JSON array, or `{"Records": [...]}`; gzipped or not
/// (read by the same capped decoder as ingest).
fn read_events(path: &Path) -> Result<Vec<Value>> {
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let records = cairn_model::Records::new(f, cairn_model::Limits::default())
        .with_context(|| format!("reading {}", path.display()))?;
    let mut events = Vec::new();
    for r in records {
        match r {
            Ok(e) => events.push(e.value),
            Err(e) => {
                return Err(UsageError(format!("{}: {e}", path.display())).into());
            }
        }
    }
    Ok(events)
}

fn test(args: &RuleArgs, config: Option<&Loaded>, rule: &str, events: &Path) -> Result<Outcome> {
    let (all, errors) = load_rules(args, config);
    report_errors(&errors);
    let set = all.only(rule).ok_or_else(|| {
        UsageError(format!(
            "no rule {rule:?} is loaded (`cairn rules list` shows them)"
        ))
    })?;
    let target = set.find(rule).map(|r| r.id.clone()).unwrap_or_default();
    let detector = Detector::new(&set);
    let mut alerter = Alerter::new(&set);
    let events = read_events(events)?;
    let mut out = std::io::stdout().lock();
    let mut matched = 0;
    let mut findings = Vec::new();
    for ev in &events {
        let Some(f) = detector.inspect(ev) else {
            continue;
        };
        for r in &f.results {
            let rid = r.header.rule_id.clone().unwrap_or_default();
            let role = if rid == target {
                ""
            } else {
                " (feeds the correlation)"
            };
            let why = match &r.body {
                cairn_detect::engine::ResultBody::Detection(d) => {
                    let fields = d
                        .matched_fields
                        .iter()
                        .map(|m| format!("{}={}", m.field, value_text(&m.value)))
                        .collect::<Vec<_>>()
                        .join(", ");
                    format!("{}: {fields}", d.matched_selections.join(", "))
                }
                cairn_detect::engine::ResultBody::Correlation(_) => String::new(),
            };
            writeln!(out, "{}  {}{role}  {why}", f.event_id, r.header.rule_title)?;
        }
        if f.results
            .iter()
            .any(|r| r.header.rule_id.as_deref() == Some(&target))
        {
            matched += 1;
        }
        findings.push(f);
    }
    for (a, new) in alerter.feed(findings) {
        if new && a.kind == cairn_detect::AlertKind::Correlation {
            matched += 1;
            writeln!(
                out,
                "correlation {:?} fired: {}\n  events: {}",
                a.rule,
                a.summary,
                a.event_ids.join(" ")
            )?;
        }
    }
    writeln!(out, "{matched} match(es) in {} events", events.len())?;
    out.flush()?;
    // Like grep: 1 when nothing matched.
    Ok(if matched > 0 {
        Outcome::Ok
    } else {
        Outcome::InputFailed
    })
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Calls `f` with every stored event in `range`, oldest first, a bounded slice of time at a
/// time.
fn scan(store: &Store, range: TimeRange, mut f: impl FnMut(Value)) -> Result<u64> {
    const MAX_SLICE: u64 = 20_000;
    let stats = store.stats(&cairn_store::Scope::ALL)?;
    let (Some(oldest), Some(newest)) = (stats.oldest, stats.newest) else {
        return Ok(0);
    };
    let mut t = range.from.unwrap_or(oldest).max(oldest);
    let end = range.to.unwrap_or(newest + Duration::from_secs(1));
    let all = cairn_query::parse("").map_err(|e| UsageError(e.to_string()))?;
    let mut step = time::Duration::hours(1);
    let mut seen = 0;
    while t < end {
        let stop = (t + step).min(end);
        let q = store.compile(
            &all,
            TimeRange::new(Some(t), Some(stop)),
            &cairn_store::Scope::ALL,
        )?;
        let n = store.count(&q)?;
        if n > MAX_SLICE && step > time::Duration::seconds(1) {
            step /= 2;
            continue;
        }
        let mut hits = store.search(&q, n as usize, 0)?;
        hits.reverse();
        for h in hits {
            f(h.record());
            seen += 1;
        }
        t = stop;
        if n < MAX_SLICE / 8 && step < time::Duration::days(1) {
            step *= 2;
        }
    }
    Ok(seen)
}

#[derive(Debug, Default, serde::Serialize)]
struct RuleTally {
    rule: String,
    title: String,
    level: String,
    alerts: u64,
    events: u64,
    first: Option<String>,
    last: Option<String>,
}

fn backtest(
    dir: &Path,
    args: &RuleArgs,
    config: Option<&Loaded>,
    only: &[String],
    time: &cli::TimeArgs,
    format: SummaryFormat,
) -> Result<Outcome> {
    let store = Store::open(dir)?;
    let (mut set, errors) = load_rules(args, config);
    report_errors(&errors);
    if !only.is_empty() {
        let mut kept = RuleSet::default();
        for o in only {
            let s = set
                .only(o)
                .ok_or_else(|| UsageError(format!("no rule {o:?} is loaded")))?;
            kept.merge(s);
        }
        set = kept;
    }
    let mut range = crate::commands::time_range(time)?;
    if time.since.is_none() && time.from.is_none() {
        range.from = Some(OffsetDateTime::now_utc() - time::Duration::days(30));
    }
    let detector = Detector::new(&set);
    let mut alerter = Alerter::new(&set);
    let mut tallies: std::collections::BTreeMap<String, RuleTally> = Default::default();
    let mut pending = Vec::new();
    let mut tally = |alerts: Vec<(Alert, bool)>| {
        for (a, new) in alerts {
            let t = tallies
                .entry(a.rule_id.clone())
                .or_insert_with(|| RuleTally {
                    rule: a.rule_id.clone(),
                    title: a.rule.clone(),
                    level: a.severity.to_string(),
                    ..RuleTally::default()
                });
            if new {
                t.alerts += 1;
                t.events += a.count;
            } else {
                t.events += 1;
            }
            if t.first.as_ref().is_none_or(|f| a.first_seen < *f) {
                t.first = Some(a.first_seen.clone());
            }
            if t.last.as_ref().is_none_or(|l| a.last_seen > *l) {
                t.last = Some(a.last_seen.clone());
            }
        }
    };
    let started = std::time::Instant::now();
    let seen = scan(&store, range, |ev| {
        if let Some(f) = detector.inspect(&ev) {
            pending.push(f);
            if pending.len() >= 1000 {
                tally(alerter.feed(std::mem::take(&mut pending)));
            }
        }
    })?;
    tally(alerter.feed(pending));
    let mut out = std::io::stdout().lock();
    let rows: Vec<&RuleTally> = tallies.values().collect();
    match format {
        SummaryFormat::Json => {
            serde_json::to_writer_pretty(
                &mut out,
                &json!({ "events": seen, "rules": set.len(), "matches": rows }),
            )?;
            writeln!(out)?;
        }
        SummaryFormat::Text => {
            let table: Vec<Vec<Value>> = rows
                .iter()
                .map(|t| {
                    vec![
                        json!(t.level),
                        json!(t.alerts),
                        json!(t.events),
                        json!(t.title),
                        json!(t.first.clone().unwrap_or_default()),
                        json!(t.last.clone().unwrap_or_default()),
                    ]
                })
                .collect();
            output::print_rows(
                &mut out,
                &["level", "alerts", "events", "rule", "first", "last"],
                &table,
                Format::Table,
            )?;
            writeln!(
                out,
                "{} events, {} rules, {} rules matched, in {:.1}s; nobody was notified",
                human(seen),
                set.len(),
                rows.len(),
                started.elapsed().as_secs_f64()
            )?;
        }
    }
    out.flush()?;
    Ok(Outcome::Ok)
}

// --- cairn alerts --------------------------------------------------------------------------------

/// Every alert, newest form, with the outcome of its notifications.
pub fn all_alerts(dir: &Path) -> Result<Vec<Alert>> {
    let ddir = detect_dir(dir);
    let mut alerts = cairn_detect::read_alerts(&ddir)?;
    let log = ddir.join("deliveries.jsonl");
    if log.exists() {
        let mut by_alert: std::collections::HashMap<String, Vec<cairn_detect::alert::Delivery>> =
            Default::default();
        for r in
            notify::read_deliveries(&log).with_context(|| format!("reading {}", log.display()))?
        {
            by_alert.entry(r.alert).or_default().push(r.delivery);
        }
        for a in &mut alerts {
            if let Some(d) = by_alert.remove(&a.id) {
                a.deliveries = d;
            }
        }
    }
    Ok(alerts)
}

pub fn alerts(dir: &Path, a: cli::AlertsArgs, config: Option<&Loaded>) -> Result<Outcome> {
    if let Some(AlertsCommand::Show { id, format }) = a.command {
        return show(dir, &id, format);
    }
    let mut alerts = all_alerts(dir)?;
    let now = OffsetDateTime::now_utc();
    if let Some(s) = &a.since {
        let d = cairn_query::time::parse_duration(s)
            .map_err(|e| UsageError(format!("--since: {e}")))?;
        let cut = (now - d).format(&Rfc3339)?;
        alerts.retain(|x| x.last_seen >= cut);
    }
    if let Some(r) = &a.rule {
        // A rule's name (as `rules list` shows it), id, id prefix or title; monitors by name.
        let (set, _) = load_rules(&RuleArgs::default(), config);
        let id = set.find(r).map(|i| i.id.clone());
        let monitor = format!("monitor:{r}");
        alerts.retain(|x| {
            Some(&x.rule_id) == id.as_ref()
                || x.rule_id == *r
                || x.rule_id == monitor
                || x.rule == *r
                || x.rule_id.starts_with(r.as_str())
        });
    }
    if let Some(s) = &a.severity {
        let min: Severity = s.parse().map_err(UsageError)?;
        alerts.retain(|x| x.severity >= min);
    }
    alerts.sort_by(|x, y| y.last_seen.cmp(&x.last_seen));
    alerts.truncate(a.limit);
    let mut out = std::io::stdout().lock();
    match a.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &alerts)?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            for x in &alerts {
                serde_json::to_writer(&mut out, x)?;
                writeln!(out)?;
            }
        }
        Format::Table | Format::Csv => {
            let rows: Vec<Vec<Value>> = alerts
                .iter()
                .map(|x| {
                    vec![
                        json!(x.last_seen),
                        json!(x.severity.as_str()),
                        json!(x.rule),
                        json!(x.account.clone().unwrap_or_default()),
                        json!(x.principal.clone().unwrap_or_default()),
                        json!(x.count),
                        json!(notified(x)),
                        json!(x.id),
                    ]
                })
                .collect();
            output::print_rows(
                &mut out,
                &[
                    "last",
                    "severity",
                    "rule",
                    "account",
                    "principal",
                    "events",
                    "notified",
                    "id",
                ],
                &rows,
                a.format,
            )?;
        }
    }
    out.flush()?;
    if alerts.is_empty() && a.format == Format::Table && std::io::stderr().is_terminal() {
        eprintln!("no alerts");
    }
    Ok(Outcome::Ok)
}

fn notified(a: &Alert) -> String {
    if a.deliveries.is_empty() {
        return "-".into();
    }
    a.deliveries
        .iter()
        .map(|d| format!("{}:{}", d.channel, if d.ok { "ok" } else { "FAILED" }))
        .collect::<Vec<_>>()
        .join(" ")
}

fn show(dir: &Path, id: &str, format: Format) -> Result<Outcome> {
    let alerts = all_alerts(dir)?;
    let found: Vec<&Alert> = alerts.iter().filter(|a| a.id.starts_with(id)).collect();
    let a = match found.as_slice() {
        [a] => *a,
        [] => return Err(UsageError(format!("no alert {id}")).into()),
        _ => return Err(UsageError(format!("{id} is the start of several alert ids")).into()),
    };
    let store = Store::open(dir)?;
    let mut hits = Vec::new();
    for e in &a.event_ids {
        if let Some(h) = store.get(e, &cairn_store::Scope::ALL)? {
            hits.push(h);
        }
    }
    let mut out = std::io::stdout().lock();
    if matches!(format, Format::Json | Format::Jsonl) {
        let events: Vec<Value> = hits.iter().map(|h| h.record()).collect();
        let mut v = serde_json::to_value(a)?;
        v["events"] = Value::Array(events);
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
        return Ok(Outcome::Ok);
    }
    writeln!(
        out,
        "{} [{}] {}",
        a.id,
        a.severity.as_str().to_uppercase(),
        a.rule
    )?;
    writeln!(out, "  {}", a.summary)?;
    writeln!(out, "  rule:      {}", a.rule_id)?;
    writeln!(
        out,
        "  events:    {} ({} to {})",
        a.count, a.first_seen, a.last_seen
    )?;
    for (k, v) in [
        ("account", &a.account),
        ("region", &a.region),
        ("principal", &a.principal),
        ("source IP", &a.source_ip),
    ] {
        if let Some(v) = v {
            writeln!(out, "  {k:<10} {v}")?;
        }
    }
    if !a.group.is_empty() {
        let g: Vec<String> = a.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
        writeln!(out, "  group:     {}", g.join(", "))?;
    }
    for d in &a.deliveries {
        writeln!(
            out,
            "  notified:  {} {} after {} attempt(s){}",
            d.channel,
            if d.ok { "ok" } else { "FAILED" },
            d.attempts,
            d.error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        )?;
    }
    if !a.event_ids.is_empty() {
        writeln!(
            out,
            "\nIts events ({} of {} in the store):",
            hits.len(),
            a.event_ids.len()
        )?;
        let mut table = Vec::new();
        output::print_hits(&mut table, &hits, None, format)?;
        out.write_all(&table)?;
        let q = a
            .event_ids
            .iter()
            .map(|e| format!("eventID:{e}"))
            .collect::<Vec<_>>()
            .join(" OR ");
        if a.event_ids.len() <= 10 {
            writeln!(out, "\ncairn --data-dir {} search '{q}'", dir.display())?;
        }
    }
    out.flush()?;
    Ok(Outcome::Ok)
}

// --- cairn monitors ------------------------------------------------------------------------------

/// Each monitor's settings and last state, as `monitors list --format json` prints them.
pub fn monitor_rows(m: &Monitors) -> Vec<Value> {
    m.monitors
        .iter()
        .map(|x| {
            let s = m.state.get(&x.config.name);
            json!({
                "name": x.config.name,
                "query": x.config.query,
                "window": x.config.window,
                "min_count": x.config.min_count,
                "status": s.map(|s| format!("{:?}", s.status).to_uppercase()),
                "last_count": s.map(|s| s.last_count),
                "last_check": s.map(|s| cairn_detect::engine::rfc3339(s.last_check)),
            })
        })
        .collect()
}

/// What `cairn serve` shows of the configuration: its rules and monitors.
pub struct ServeViews {
    pub rules: Vec<Value>,
    pub detect_dir: std::path::PathBuf,
    pub monitors: Vec<cairn_detect::monitor::MonitorConfig>,
}

impl ServeViews {
    pub fn new(dir: &Path, args: &RuleArgs, config: Option<&Loaded>) -> ServeViews {
        let (set, errors) = load_rules(args, config);
        report_errors(&errors);
        ServeViews {
            rules: set
                .info
                .iter()
                .filter_map(|r| serde_json::to_value(r).ok())
                .collect(),
            detect_dir: detect_dir(dir),
            monitors: config
                .map(|l| l.config.monitors.clone())
                .unwrap_or_default(),
        }
    }
}

impl cairn_server::Views for ServeViews {
    fn rules(&self) -> Vec<Value> {
        self.rules.clone()
    }

    fn monitors(&self) -> Result<Vec<Value>, String> {
        if self.monitors.is_empty() {
            return Ok(Vec::new());
        }
        Monitors::open(&self.detect_dir, self.monitors.clone()).map(|m| monitor_rows(&m))
    }
}

pub fn monitors(dir: &Path, c: MonitorsCommand, config: Option<&Loaded>) -> Result<Outcome> {
    let configs = config
        .map(|l| l.config.monitors.clone())
        .unwrap_or_default();
    if configs.is_empty() {
        return Err(UsageError(
            "no monitors: add [[monitor]] sections to cairn.toml (see README, \"Heartbeat monitors\")".into(),
        )
        .into());
    }
    let ddir = detect_dir(dir);
    std::fs::create_dir_all(&ddir).with_context(|| format!("creating {}", ddir.display()))?;
    let mut m = Monitors::open(&ddir, configs).map_err(UsageError)?;
    let mut out = std::io::stdout().lock();
    match c {
        MonitorsCommand::List { format } => {
            let rows = monitor_rows(&m);
            print_monitors(
                &mut out,
                &[
                    "name",
                    "status",
                    "last_count",
                    "min_count",
                    "window",
                    "last_check",
                    "query",
                ],
                &rows,
                format,
            )?;
            Ok(Outcome::Ok)
        }
        MonitorsCommand::Run { at, format } => {
            let now = match &at {
                Some(t) => OffsetDateTime::parse(t, &Rfc3339)
                    .map_err(|e| UsageError(format!("--at {t}: {e}")))?
                    .unix_timestamp(),
                None => OffsetDateTime::now_utc().unix_timestamp(),
            };
            let store = Store::open(dir)?;
            let checks = m.run(now, true, &|q, from, to| count(&store, q, from, to))?;
            let notifying = start_notifying(dir, config)?;
            if let Some(n) = &notifying {
                for c in &checks {
                    if let Some(a) = &c.alert {
                        n.dispatcher.send(a);
                    }
                }
            }
            let rows: Vec<Value> = checks
                .iter()
                .map(|c| {
                    json!({
                        "name": c.name,
                        "status": format!("{:?}", c.status).to_uppercase(),
                        "count": c.count,
                        "min_count": c.min_count,
                        "from": c.from,
                        "to": c.to,
                        "changed": c.alert.is_some(),
                        "alert": c.alert.as_ref().map(|a| a.id.clone()),
                    })
                })
                .collect();
            print_monitors(
                &mut out,
                &[
                    "name",
                    "status",
                    "count",
                    "min_count",
                    "from",
                    "to",
                    "changed",
                    "alert",
                ],
                &rows,
                format,
            )?;
            out.flush()?;
            if let Some(n) = notifying {
                n.finish(false);
            }
            Ok(if checks.iter().any(|c| c.status == Status::Firing) {
                Outcome::InputFailed
            } else {
                Outcome::Ok
            })
        }
    }
}

fn print_monitors(
    out: &mut impl Write,
    cols: &[&str],
    rows: &[Value],
    format: SummaryFormat,
) -> Result<()> {
    match format {
        SummaryFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, rows)?;
            writeln!(out)?;
        }
        SummaryFormat::Text => {
            let table: Vec<Vec<Value>> = rows
                .iter()
                .map(|r| cols.iter().map(|c| r[*c].clone()).collect())
                .collect();
            output::print_rows(out, cols, &table, Format::Table)?;
        }
    }
    Ok(())
}
