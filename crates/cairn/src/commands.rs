//! One function per command: flags to settings, a library call, output.

use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, Result};
use cairn_source::{LocalSource, Source};
use cairn_store::search::{Compiled, Lookup, TimeRange};
use cairn_store::{IngestReport, Progress, Scope, Store};
use time::OffsetDateTime;

use crate::cli::{self, Command, Format, SummaryFormat};
use crate::output::{self, human};
use crate::{Outcome, UsageError};

pub fn run(cli: cli::Cli) -> Result<Outcome> {
    let config = if matches!(cli.command, Command::Config(_)) {
        None
    } else {
        crate::config::load(cli.config.as_deref()).map_err(|e| UsageError(e.to_string()))?
    };
    // The configured data directory stands in for the default, not for a flag or CAIRN_DATA.
    let configured = config.as_ref().and_then(|c| c.config.data_dir.clone());
    let dir = match configured {
        Some(d)
            if cli.data_dir == Path::new(cli::DEFAULT_DATA_DIR)
                && std::env::var_os("CAIRN_DATA").is_none() =>
        {
            d
        }
        _ => cli.data_dir.clone(),
    };
    let dir = dir.as_path();
    match cli.command {
        Command::Ingest(a) => crate::ingest::run(dir, a, config.as_ref(), cli.quiet),
        Command::Health(a) => crate::health::health(dir, a),
        Command::Check(c) => crate::health::check(dir, c),
        Command::Config(cli::ConfigCommand::Check) => {
            crate::health::config_check(cli.config.as_deref())
        }
        Command::Search(a) => search(dir, a),
        Command::Lookup(a) => lookup(dir, a),
        Command::Show(a) => show(dir, a),
        Command::Top(a) => top(dir, a),
        Command::Timeline(a) => timeline(dir, a),
        Command::Stats(a) => stats(dir, a),
        Command::Generate(a) => generate(a),
        Command::Demo(a) => crate::demo::run(a, cli.quiet),
        Command::Rules(c) => crate::detect::rules(dir, c, config.as_ref()),
        Command::Alerts(a) => crate::detect::alerts(dir, a, config.as_ref()),
        Command::Monitors(c) => crate::detect::monitors(dir, c, config.as_ref()),
        Command::Verify(a) => crate::verify::run(&a),
        Command::Serve(a) => crate::serve::serve(dir, a, config.as_ref(), cli.quiet),
        Command::Tokens(c) => crate::serve::tokens(dir, c),
        Command::Users(c) => crate::serve::users(dir, c),
        Command::Export(a) => crate::lake::export(dir, a),
        Command::Lake(c) => crate::lake::lake(c),
        Command::Worker(a) => crate::lake::worker(a, cli.quiet),
    }
}

fn stdout() -> BufWriter<std::io::StdoutLock<'static>> {
    BufWriter::new(std::io::stdout().lock())
}

// --- ingest -----------------------------------------------------------------------------------

/// Ingests local paths (the demo's way in).
/// Reads local paths into the store, with the rules watching (the demo's ingest).
pub fn ingest_paths(dir: &Path, a: &cli::IngestArgs, quiet: bool) -> Result<IngestReport> {
    let paths = a.inputs.iter().map(std::path::PathBuf::from).collect();
    let mut listing = LocalSource::new(paths)
        .list()
        .map_err(|e| UsageError(e.to_string()))?;
    let store = Store::open_or_create(dir).with_context(|| format!("opening {}", dir.display()))?;
    let watching = crate::detect::Watching::start(dir, &store, &a.rules, a.no_rules, None, false)?;
    let objects = std::mem::take(&mut listing.objects);
    let report = crate::ingest::with_progress(
        &store,
        objects,
        &crate::ingest::options(a),
        !quiet,
        watching.as_ref(),
    );
    if let Some(w) = watching {
        w.finish(quiet);
    }
    let mut report = report?;
    for (reason, n) in listing.skipped {
        *report.objects_skipped.entry(reason).or_default() += n;
    }
    Ok(report)
}

pub fn print_summary(out: &mut impl Write, r: &IngestReport) -> std::io::Result<()> {
    let rate = if r.elapsed_seconds > 0.0 {
        r.events_indexed as f64 / r.elapsed_seconds
    } else {
        0.0
    };
    writeln!(
        out,
        "{} objects read ({} unchanged since an earlier run), {} events indexed, {} duplicates dropped, in {:.1}s ({} events/s)",
        human(r.objects_read),
        human(r.objects_unchanged),
        human(r.events_indexed),
        human(r.duplicates_dropped),
        r.elapsed_seconds,
        human(rate as u64)
    )?;
    if r.lake_events > 0 || r.lake_files > 0 {
        writeln!(
            out,
            "{} events written to the lake in {} files",
            human(r.lake_events),
            human(r.lake_files)
        )?;
    }
    for (reason, n) in &r.objects_skipped {
        writeln!(out, "skipped {} objects: {reason}", human(*n))?;
    }
    for (reason, n) in &r.records_failed {
        writeln!(out, "skipped {} records: {reason}", human(*n))?;
    }
    for (repair, n) in &r.events_repaired {
        let what = match repair.as_str() {
            "synthetic_event_id" => "had no eventID: id derived from content (cairn.syntheticId)",
            "time_from_@timestamp" => "had no eventTime: time from @timestamp (cairn.timeFrom)",
            "time_variant" => "had eventTime without T or zone: read as UTC",
            other => other,
        };
        writeln!(out, "kept {} events that {what}", human(*n))?;
    }
    if let Some(i) = r.integrity {
        writeln!(
            out,
            "integrity: {} objects verified against their signed digests, {} failed ({} in this run){}",
            human(i.verified),
            human(i.failed),
            human(i.newly_failed),
            if i.failed > 0 {
                ": cairn search cairn.integrity:failed"
            } else {
                ""
            }
        )?;
    }
    if !r.failures.is_empty() {
        writeln!(out, "{} objects had errors:", r.failures.len())?;
        for f in &r.failures {
            for e in &f.errors {
                writeln!(out, "  {}: {e}", f.object)?;
            }
        }
    }
    Ok(())
}

/// Draws ingest progress on stderr when it is a terminal; nothing otherwise.
pub fn progress_bar(
    p: Arc<Progress>,
) -> (
    Arc<std::sync::atomic::AtomicBool>,
    std::thread::JoinHandle<()>,
) {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let handle = std::thread::spawn(move || {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} objects  {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        let started = std::time::Instant::now();
        while !stop2.load(Ordering::Relaxed) {
            let total = p.objects_total.load(Ordering::Relaxed);
            let done = p.objects_done.load(Ordering::Relaxed);
            let bytes_total = p.bytes_total.load(Ordering::Relaxed);
            let bytes_done = p.bytes_done.load(Ordering::Relaxed);
            let events = p.events.load(Ordering::Relaxed);
            let secs = started.elapsed().as_secs_f64().max(0.001);
            let mbs = bytes_done as f64 / secs / 1e6;
            let eta = if bytes_done > 0 && bytes_total > bytes_done {
                format!(
                    "ETA {:.0}s",
                    (bytes_total - bytes_done) as f64 / (bytes_done as f64 / secs)
                )
            } else {
                String::new()
            };
            bar.set_length(total);
            bar.set_position(done);
            bar.set_message(format!("{} events  {mbs:.1} MB/s  {eta}", human(events)));
            std::thread::sleep(Duration::from_millis(120));
        }
        bar.finish_and_clear();
    });
    (stop, handle)
}

// --- search -----------------------------------------------------------------------------------

pub fn time_range(t: &cli::TimeArgs) -> Result<TimeRange> {
    let now = OffsetDateTime::now_utc();
    let instant =
        |s: &str| cairn_query::time::parse_instant(s, now).map_err(|e| UsageError(e.to_string()));
    if let Some(since) = &t.since {
        let d = cairn_query::time::parse_duration(since).map_err(|e| UsageError(e.to_string()))?;
        return Ok(TimeRange::new(Some(now - d), None));
    }
    let range = TimeRange::new(
        t.from.as_deref().map(instant).transpose()?,
        t.to.as_deref().map(instant).transpose()?,
    );
    if let (Some(f), Some(t)) = (range.from, range.to)
        && f >= t
    {
        return Err(UsageError(format!("--from ({f}) must be before --to ({t})")).into());
    }
    Ok(range)
}

/// Parses a query, printing the error with a caret under the position.
pub fn parse_query(store: &Store, text: &str) -> Result<cairn_query::Query> {
    let q = cairn_query::parse(text)
        .map_err(|e| UsageError(format!("invalid query\n{}", e.render(text))))?;
    for field in q.fields() {
        if !store.has_field(field)? {
            tracing::warn!(field, "no event in the store has this field");
        }
    }
    Ok(q)
}

pub fn open(dir: &Path) -> Result<Store> {
    Ok(Store::open(dir)?)
}

fn run_hits(store: &Store, q: &Compiled, o: &cli::OutputArgs) -> Result<Outcome> {
    let mut out = stdout();
    if o.count {
        writeln!(out, "{}", store.count(q)?)?;
    } else {
        let hits = store.search(q, o.limit, 0)?;
        output::print_hits(&mut out, &hits, o.fields.as_deref(), o.format)?;
        out.flush()?;
        if o.format == Format::Table && std::io::stdout().is_terminal() {
            let total = store.count(q)?;
            if total as usize > hits.len() {
                eprintln!(
                    "{} of {} matching events (--limit for more)",
                    hits.len(),
                    human(total)
                );
            }
        }
    }
    out.flush()?;
    Ok(Outcome::Ok)
}

fn search(dir: &Path, a: cli::SearchArgs) -> Result<Outcome> {
    let store = open(dir)?;
    let q = parse_query(&store, &a.query)?;
    let compiled = store.compile(&q, time_range(&a.time)?, &Scope::ALL)?;
    run_hits(&store, &compiled, &a.output)
}

fn lookup(dir: &Path, a: cli::LookupArgs) -> Result<Outcome> {
    let store = open(dir)?;
    let l = Lookup {
        event_id: a.event_id,
        event_name: a.event_name,
        read_only: a.read_only,
        username: a.username,
        resource_type: a.resource_type,
        resource_name: a.resource_name,
        event_source: a.event_source,
        access_key_id: a.access_key,
        insights_only: false,
    };
    let compiled = store.compile_lookup(&l, time_range(&a.time)?, &Scope::ALL)?;
    run_hits(&store, &compiled, &a.output)
}

fn show(dir: &Path, a: cli::ShowArgs) -> Result<Outcome> {
    let store = open(dir)?;
    let hit = store.get(&a.event_id, &Scope::ALL)?.ok_or_else(|| {
        UsageError(format!(
            "no event with eventID {} in {}",
            a.event_id,
            dir.display()
        ))
    })?;
    let mut out = stdout();
    if a.raw {
        out.write_all(&hit.raw)?;
    } else {
        out.write_all(output::pretty(&hit.raw, 0).as_bytes())?;
    }
    writeln!(out)?;
    out.flush()?;
    // Where it came from, and whether its trail's digests prove it; a failed verification is
    // said even when the output goes to a pipe.
    let state = cairn_store::integrity::Integrity::load(dir)?;
    let verdict = state.objects.get(&hit.object);
    if std::io::stdout().is_terminal()
        || verdict.is_some_and(|v| v.state == cairn_store::integrity::State::Failed)
    {
        let integrity = match verdict {
            Some(v) if !v.reason.is_empty() => format!("{}: {}", v.state.name(), v.reason),
            Some(v) => v.state.name().to_string(),
            None => "unverified".to_string(),
        };
        eprintln!("from {}\nintegrity: {integrity}", hit.object);
    }
    Ok(Outcome::Ok)
}

fn top(dir: &Path, a: cli::TopArgs) -> Result<Outcome> {
    let store = open(dir)?;
    let q = parse_query(&store, &a.query)?;
    let compiled = store.compile(&q, time_range(&a.time)?, &Scope::ALL)?;
    let (values, truncated) = store.top(&a.field, &compiled, a.limit)?;
    if truncated {
        tracing::warn!(
            field = %a.field,
            "{} has no column: counted over the newest {} matching events only",
            a.field,
            cairn_store::search::TOP_SCAN_LIMIT
        );
    }
    let rows: Vec<Vec<serde_json::Value>> = values
        .into_iter()
        .map(|(k, c)| vec![c.into(), k.into()])
        .collect();
    let mut out = stdout();
    output::print_rows(&mut out, &["count", "value"], &rows, a.format)?;
    out.flush()?;
    Ok(Outcome::Ok)
}

fn timeline(dir: &Path, a: cli::TimelineArgs) -> Result<Outcome> {
    let store = open(dir)?;
    let q = parse_query(&store, &a.query)?;
    let compiled = store.compile(&q, time_range(&a.time)?, &Scope::ALL)?;
    let interval =
        cairn_query::time::parse_duration(&a.interval).map_err(|e| UsageError(e.to_string()))?;
    let buckets = store.timeline(&compiled, interval.whole_seconds())?;
    let fmt = |t: i64| {
        OffsetDateTime::from_unix_timestamp(t)
            .ok()
            .and_then(|d| {
                d.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default()
    };
    let mut out = stdout();
    if a.format == Format::Table && std::io::stdout().is_terminal() && !buckets.is_empty() {
        let counts: Vec<u64> = buckets.iter().map(|(_, c)| *c).collect();
        let width = output::terminal_width().unwrap_or(80).max(20);
        // Fold buckets so the sparkline fits one line.
        let per = counts.len().div_ceil(width);
        let folded: Vec<u64> = counts.chunks(per).map(|c| c.iter().sum()).collect();
        writeln!(out, "{}", output::sparkline(&folded))?;
        let step = if per == 1 {
            a.interval.clone()
        } else {
            format!("{per} x {}", a.interval)
        };
        let max = human(folded.iter().copied().max().unwrap_or(0));
        writeln!(
            out,
            "{} .. {}  ({step} per column, max {max})\n",
            fmt(buckets[0].0),
            fmt(buckets[buckets.len() - 1].0)
        )?;
    }
    let rows: Vec<Vec<serde_json::Value>> = buckets
        .iter()
        .map(|(t, c)| vec![fmt(*t).into(), (*c).into()])
        .collect();
    output::print_rows(&mut out, &["time", "count"], &rows, a.format)?;
    out.flush()?;
    Ok(Outcome::Ok)
}

fn stats(dir: &Path, a: cli::StatsArgs) -> Result<Outcome> {
    let store = open(dir)?;
    let s = store.stats(&Scope::ALL)?;
    let mut out = stdout();
    match a.format {
        SummaryFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &s)?;
            writeln!(out)?;
        }
        SummaryFormat::Text => print_stats(&mut out, dir, &s)?,
    }
    out.flush()?;
    Ok(Outcome::Ok)
}

pub fn print_stats(
    out: &mut impl Write,
    dir: &Path,
    s: &cairn_store::search::Stats,
) -> std::io::Result<()> {
    let t = |d: Option<OffsetDateTime>| {
        d.and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "-".into())
    };
    writeln!(out, "store       {}", dir.display())?;
    writeln!(out, "events      {}", human(s.events))?;
    writeln!(out, "time range  {} .. {}", t(s.oldest), t(s.newest))?;
    writeln!(
        out,
        "objects     {} read ({} with errors)",
        human(s.objects),
        human(s.objects_failed)
    )?;
    writeln!(
        out,
        "on disk     {} in {} segments",
        output::bytes(s.bytes_on_disk),
        s.segments
    )?;
    let list = |v: &[(String, u64)]| {
        v.iter()
            .map(|(k, c)| format!("{k} ({})", human(*c)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(
        out,
        "accounts    {}: {}",
        s.accounts.len(),
        list(&s.accounts)
    )?;
    writeln!(out, "regions     {}: {}", s.regions.len(), list(&s.regions))?;
    Ok(())
}

// --- generate ---------------------------------------------------------------------------------

/// The start of the hour `t` is in: generated trails end there by default.
pub fn hour_start(t: OffsetDateTime) -> OffsetDateTime {
    let secs = t.unix_timestamp();
    OffsetDateTime::from_unix_timestamp(secs - secs.rem_euclid(3600)).unwrap_or(t)
}

fn generate(a: cli::GenerateArgs) -> Result<Outcome> {
    let now = OffsetDateTime::now_utc();
    let end = match &a.end {
        Some(e) => {
            cairn_query::time::parse_instant(e, now).map_err(|e| UsageError(e.to_string()))?
        }
        None => hour_start(now),
    };
    let mut cfg = cairn_gen::GenConfig::new(&a.out);
    cfg.events = a.events;
    cfg.accounts = a.accounts;
    cfg.regions = a.regions;
    cfg.days = a.days;
    cfg.end = end;
    cfg.seed = a.seed;
    cfg.org = a.org;
    cfg.prefix = a.prefix;
    cfg.duplicate_rate = a.duplicate_rate;
    cfg.stories = a.stories;
    let started = std::time::Instant::now();
    let m = cairn_gen::generate(&cfg).map_err(|e| match e {
        cairn_gen::GenError::Config(_) => anyhow::Error::new(UsageError(e.to_string())),
        e => anyhow::Error::new(e),
    })?;
    let digests = if a.digests {
        let mut d = cairn_gen::digests::DigestConfig::new(&a.out, &a.bucket);
        d.trail = a.trail.clone();
        d.home_region = a.home_region.clone();
        if let Some(at) = &a.rotate_key_at {
            let at = cairn_query::time::parse_instant(at, now)
                .map_err(|e| UsageError(format!("--rotate-key-at: {e}")))?;
            d.keys.push(cairn_gen::digests::SigningKey::test(1, at));
        }
        d.backfill = a.backfill;
        let tamper = a
            .tamper
            .as_deref()
            .map(|t| {
                cairn_gen::digests::Tamper::from_name(t).ok_or_else(|| {
                    UsageError(format!(
                        "--tamper {t}: not one of {}",
                        cairn_gen::digests::Tamper::ALL.map(|t| t.name()).join(", ")
                    ))
                })
            })
            .transpose()?;
        let dm = cairn_gen::digests::sign_trail(&d)?;
        if let Some(t) = tamper {
            for k in cairn_gen::digests::tamper(&a.out, t)? {
                eprintln!("tampered ({}): {k}", t.name());
            }
        }
        let keys = a.out.join("public-keys.json");
        std::fs::write(
            &keys,
            serde_json::to_vec_pretty(&dm.public_keys.to_list_json())?,
        )
        .with_context(|| format!("writing {}", keys.display()))?;
        format!(
            "; {} signed digests (test key), public keys: {}",
            human(dm.digests.len() as u64),
            keys.display()
        )
    } else {
        String::new()
    };
    let secs = started.elapsed().as_secs_f64();
    println!(
        "wrote {} unique events ({} records, {} files, {}) to {} in {:.1}s ({} events/s); manifest: {}{digests}",
        human(m.unique_events),
        human(m.records_written),
        human(m.files),
        output::bytes(m.bytes_compressed),
        a.out.display(),
        secs,
        human((m.records_written as f64 / secs.max(0.001)) as u64),
        a.out.join("manifest.json").display()
    );
    Ok(Outcome::Ok)
}
