//! `cairn ingest`: local paths, S3 prefixes and SQS queues, once or following.
//!
//! Each input becomes a loop of the same three steps: list (or receive) objects, ingest them
//! through the store's pipeline (which commits and writes the ledger), then acknowledge what
//! was committed: S3 watermarks move, queue messages are deleted. A crash between any two
//! steps repeats work, which the ledger and eventID dedupe make harmless, and loses nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use cairn_source::aws::{self, AwsOptions};
use cairn_source::s3::{Filter, S3Options, S3Source, S3Url};
use cairn_source::sqs::{QueueRef, SqsFollower, SqsOptions};
use cairn_source::{LocalSource, Source};
use cairn_store::{IngestOptions, IngestReport, LockWait, Progress, Store};
use tokio::sync::watch;

use crate::cli::{self, SummaryFormat};
use crate::commands::{print_summary, progress_bar, time_range};
use crate::config::{IngestSection, Loaded};
use crate::metrics::Metrics;
use crate::{Outcome, UsageError};

/// One thing to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Local(PathBuf),
    S3(S3Url),
    Sqs(QueueRef),
}

impl Input {
    /// Parses a SOURCE argument or a configured `url`.
    pub fn parse(s: &str) -> Result<Input, String> {
        if s.starts_with("s3://") {
            return S3Url::parse(s)
                .map(Input::S3)
                .ok_or_else(|| format!("{s}: an S3 source is s3://BUCKET[/PREFIX]"));
        }
        if s.starts_with("sqs://") || s.starts_with("https://") || s.starts_with("http://") {
            return QueueRef::parse(s).map(Input::Sqs).ok_or_else(|| {
                format!("{s}: a queue is sqs://NAME, sqs://https://sqs.REGION.amazonaws.com/ACCOUNT/NAME or its https URL")
            });
        }
        if s.contains("://") {
            return Err(format!(
                "{s}: not a source cairn reads (a path, s3://, sqs:// or an SQS queue URL)"
            ));
        }
        Ok(Input::Local(PathBuf::from(s)))
    }
}

/// An input with its settings.
#[derive(Debug, Clone)]
struct Job {
    /// The configured source's name, for logs.
    name: Option<String>,
    input: Input,
    filter: Filter,
    aws: AwsOptions,
}

/// Everything the loops share.
struct Ctx<'a> {
    dir: &'a Path,
    store: &'a Store,
    opts: IngestOptions,
    s3: S3Options,
    sqs: SqsOptions,
    interval: Duration,
    metrics: Arc<Metrics>,
    quiet: bool,
    follow: bool,
    watch: Option<&'a crate::detect::Watching>,
    /// Digest verification: off, or with the keys of `--public-keys` (else ListPublicKeys).
    verify: Option<Option<cairn_integrity::PublicKeys>>,
    /// The lake written beside (or instead of) the index.
    lake: Option<std::sync::Mutex<cairn_lake::LakeWriter>>,
    /// Whether events go to the index (not with `--lake --no-index`).
    index: bool,
}

fn duration(s: &str, flag: &str) -> Result<Duration> {
    let d = cairn_query::time::parse_duration(s).map_err(|e| UsageError(format!("{flag}: {e}")))?;
    Ok(Duration::from_secs(d.whole_seconds().max(0) as u64))
}

/// The ingest options from flags (shared with the demo).
pub fn options(a: &cli::IngestArgs) -> IngestOptions {
    let defaults = IngestOptions::default();
    IngestOptions {
        limits: cairn_model::Limits {
            max_object_bytes: a.limits.max_object_bytes,
            max_record_bytes: a.limits.max_record_bytes,
            max_records: a.limits.max_records,
        },
        threads: a.threads.unwrap_or(defaults.threads).max(1),
        memory_budget: a.memory_mib << 20,
        lock: if a.no_wait {
            LockWait::Fail
        } else {
            LockWait::Wait
        },
        commit_every: a.commit_every.max(1),
        hash: !a.no_verify,
        ..defaults
    }
}

fn jobs(a: &cli::IngestArgs, config: Option<&Loaded>) -> Result<Vec<Job>> {
    let range = time_range(&a.time)?;
    let flags = a.aws.options(a.aws_region.clone());
    let base = config.map(|c| c.config.aws.clone()).unwrap_or_default();
    let flag_filter = Filter {
        accounts: a.account.clone(),
        regions: a.region.clone(),
        from: range.from,
        to: range.to,
    };
    if !a.inputs.is_empty() {
        return a
            .inputs
            .iter()
            .map(|s| {
                Ok(Job {
                    name: None,
                    input: Input::parse(s).map_err(UsageError)?,
                    filter: flag_filter.clone(),
                    aws: base.overridden_by(&flags),
                })
            })
            .collect();
    }
    let Some(c) = config.filter(|c| !c.config.sources.is_empty()) else {
        return Err(UsageError(
            "nothing to ingest: give a SOURCE (a path, s3://BUCKET/PREFIX, sqs://QUEUE) or \
             [[source]] entries in cairn.toml"
                .into(),
        )
        .into());
    };
    let now = time::OffsetDateTime::now_utc();
    c.config
        .sources
        .iter()
        .map(|s| {
            let instant = |v: &Option<toml::Spanned<String>>| {
                v.as_ref()
                    .map(|t| cairn_query::time::parse_instant(t.get_ref(), now))
                    .transpose()
                    .map_err(|e| UsageError(e.to_string()))
            };
            let since = s
                .since
                .as_ref()
                .map(|d| cairn_query::time::parse_duration(d.get_ref()))
                .transpose()
                .map_err(|e| UsageError(e.to_string()))?;
            let from = since.map(|d| now - d).or(instant(&s.from)?);
            let filter = Filter {
                accounts: if a.account.is_empty() {
                    s.accounts.iter().map(|x| x.get_ref().clone()).collect()
                } else {
                    a.account.clone()
                },
                regions: if a.region.is_empty() {
                    s.regions.clone()
                } else {
                    a.region.clone()
                },
                from: range.from.or(from),
                to: range.to.or(instant(&s.to)?),
            };
            Ok(Job {
                name: s.name.clone(),
                input: Input::parse(s.url.get_ref()).map_err(UsageError)?,
                filter,
                aws: base.overridden_by(&s.aws).overridden_by(&flags),
            })
        })
        .collect()
}

pub fn run(
    dir: &Path,
    a: cli::IngestArgs,
    config: Option<&Loaded>,
    quiet: bool,
) -> Result<Outcome> {
    let jobs = jobs(&a, config)?;
    let section = config.map(|c| &c.config.ingest);
    // Each setting: the flag, else the configuration, else the default.
    let configured = |f: fn(&IngestSection) -> Option<&toml::Spanned<String>>| {
        section.and_then(f).map(|v| v.get_ref().clone())
    };
    let interval = (a.interval.clone())
        .or_else(|| configured(|s| s.interval.as_ref()))
        .unwrap_or_else(|| "60s".into());
    let lookback = (a.lookback.clone())
        .or_else(|| configured(|s| s.lookback.as_ref()))
        .unwrap_or_else(|| "1h".into());
    let metrics_addr = (a.metrics_addr.clone()).or_else(|| configured(|s| s.metrics_addr.as_ref()));
    let remote = jobs.iter().any(|j| !matches!(j.input, Input::Local(_)));
    let mut opts = options(&a);
    if remote {
        let concurrency = a.concurrency.or(section.and_then(|s| s.concurrency));
        opts.decoders = Some(concurrency.unwrap_or(16).max(1));
    }
    let has_stdin = jobs
        .iter()
        .any(|j| j.input == Input::Local(PathBuf::from("-")));
    if a.follow && has_stdin {
        return Err(UsageError("--follow cannot read standard input".into()).into());
    }
    let store = Store::open_or_create(dir).with_context(|| format!("opening {}", dir.display()))?;
    let watching = crate::detect::Watching::start(
        dir,
        &store,
        &a.rules,
        a.no_rules || a.no_index,
        config,
        a.follow,
    )?;
    let rt = aws::runtime().context("starting the AWS runtime")?;
    let lake = match &a.lake {
        Some(l) => {
            let aws = config
                .map(|c| c.config.aws.clone())
                .unwrap_or_default()
                .overridden_by(&a.aws.options(a.aws_region.clone()));
            let dest = crate::lake::dest(l, &aws, &rt)?;
            Some(std::sync::Mutex::new(cairn_lake::LakeWriter::new(
                dest,
                a.lake_write.options(),
            )))
        }
        None => None,
    };
    let ctx = Ctx {
        dir,
        store: &store,
        opts,
        s3: S3Options {
            lookback: cairn_query::time::parse_duration(&lookback)
                .map_err(|e| UsageError(format!("--lookback: {e}")))?,
            ..S3Options::default()
        },
        sqs: SqsOptions {
            batch_messages: (a.batch.or(section.and_then(|s| s.batch)))
                .unwrap_or(100)
                .max(1),
            // Without --follow a queue is drained: wait briefly for each receive.
            wait: if a.follow {
                Duration::from_secs(20)
            } else {
                Duration::from_secs(1)
            },
            ..SqsOptions::default()
        },
        interval: duration(&interval, "--interval")?,
        metrics: Arc::default(),
        quiet,
        follow: a.follow,
        watch: watching.as_ref(),
        lake,
        index: !a.no_index,
        verify: if a.no_verify || a.no_index {
            None
        } else {
            Some(match &a.public_keys {
                Some(p) => {
                    let bytes = std::fs::read(p)
                        .map_err(|e| UsageError(format!("--public-keys {}: {e}", p.display())))?;
                    Some(
                        cairn_integrity::PublicKeys::from_list_json(&bytes).map_err(|e| {
                            UsageError(format!("--public-keys {}: {e}", p.display()))
                        })?,
                    )
                }
                None => None,
            })
        },
    };
    // Following, SIGINT/SIGTERM finish the batch in work. A single run keeps the default
    // (the process ends at once, which the ledger makes safe): its stop signal never fires,
    // and its sender is kept so that waiting on it does not return early.
    let (_never, stop) = if a.follow {
        (None, cairn_source::sqs::stop_on_signals(rt.handle()))
    } else {
        let (tx, rx) = watch::channel(false);
        (Some(tx), rx)
    };
    if let Some(addr) = &metrics_addr {
        let bound = crate::metrics::serve(addr, ctx.metrics.clone())
            .map_err(|e| UsageError(format!("--metrics-addr {addr}: {e}")))?;
        tracing::info!(%bound, "serving metrics on http://{bound}/metrics");
    }

    let mut total = IngestReport::default();
    if a.follow {
        // One thread per input; the store's writer lock takes their commits in turn.
        let reports: Vec<Result<IngestReport>> = std::thread::scope(|s| {
            let handles: Vec<_> = jobs
                .iter()
                .map(|j| {
                    let (ctx, rt, stop) = (&ctx, &rt, stop.clone());
                    s.spawn(move || follow(ctx, j, rt, stop))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("follower thread"))
                .collect()
        });
        for r in reports {
            total.merge(r?);
        }
    } else {
        for j in &jobs {
            total.merge(once(&ctx, j, &rt, &stop)?);
        }
    }
    if let Some(l) = ctx.lake {
        l.into_inner().unwrap_or_else(|p| p.into_inner()).finish()?;
    }
    drop(rt);

    let raised = watching.as_ref().map(|w| w.raised());
    if let Some(w) = watching {
        w.finish(quiet);
    }
    let mut out = std::io::stdout().lock();
    match a.format {
        SummaryFormat::Json => {
            let mut v = serde_json::to_value(&total)?;
            if let Some(n) = raised {
                v["alerts_raised"] = n.into();
            }
            serde_json::to_writer_pretty(&mut out, &v)?;
            std::io::Write::write_all(&mut out, b"\n")?;
        }
        SummaryFormat::Text => {
            print_summary(&mut out, &total)?;
            if let Some(n) = raised.filter(|n| *n > 0) {
                std::io::Write::write_fmt(
                    &mut out,
                    format_args!(
                        "{n} alert(s) raised: cairn --data-dir {} alerts\n",
                        dir.display()
                    ),
                )?;
            }
        }
    }
    Ok(if total.has_failures() {
        Outcome::InputFailed
    } else {
        Outcome::Ok
    })
}

/// Reads an input once: a path or prefix completely, a queue until it is empty.
fn once(
    ctx: &Ctx<'_>,
    j: &Job,
    rt: &tokio::runtime::Runtime,
    stop: &watch::Receiver<bool>,
) -> Result<IngestReport> {
    match &j.input {
        Input::Local(p) => {
            let listing = LocalSource::new(vec![p.clone()])
                .list()
                .map_err(|e| UsageError(e.to_string()))?;
            let mut report = ingest_listing(ctx, listing)?;
            integrity_pass(ctx, j, rt, None, &mut report);
            Ok(report)
        }
        Input::S3(url) => {
            let mut src = s3_source(ctx, j, url, rt)?;
            let mut report = s3_pass(ctx, &mut src)?;
            integrity_pass(ctx, j, rt, None, &mut report);
            Ok(report)
        }
        Input::Sqs(q) => {
            let f = follower(ctx, j, q, rt)?;
            let mut total = IngestReport::default();
            while let Some(r) = sqs_batch(ctx, &f, stop)? {
                total.merge(r);
            }
            Ok(total)
        }
    }
}

/// Follows an input until stopped.
fn follow(
    ctx: &Ctx<'_>,
    j: &Job,
    rt: &tokio::runtime::Runtime,
    mut stop: watch::Receiver<bool>,
) -> Result<IngestReport> {
    let mut total = IngestReport::default();
    if let Some(n) = &j.name {
        tracing::info!(source = %n, "starting");
    }
    match &j.input {
        Input::Sqs(q) => {
            let f = follower(ctx, j, q, rt)?;
            tracing::info!(queue = %f.url, "following");
            while !*stop.borrow() {
                if let Some(w) = ctx.watch {
                    w.tick(ctx.store);
                }
                match sqs_batch(ctx, &f, &stop) {
                    Ok(Some(r)) => total.merge(r),
                    Ok(None) => {}
                    // A queue or store that is unreachable for a while is waited out.
                    Err(e) => {
                        tracing::error!(queue = %f.url, error = %format!("{e:#}"), "batch failed; retrying");
                        pause(rt, &mut stop, Duration::from_secs(5));
                    }
                }
            }
        }
        Input::S3(url) => {
            let mut src = s3_source(ctx, j, url, rt)?;
            let since = Since::default();
            tracing::info!(%url, interval = ?ctx.interval, "following");
            while !*stop.borrow() {
                if let Some(w) = ctx.watch {
                    w.tick(ctx.store);
                }
                match s3_pass(ctx, &mut src) {
                    Ok(mut r) => {
                        integrity_pass(ctx, j, rt, Some(&since), &mut r);
                        total.merge(r)
                    }
                    Err(e) => tracing::error!(%url, error = %format!("{e:#}"), "pass failed"),
                }
                pause(rt, &mut stop, ctx.interval);
            }
        }
        Input::Local(p) => {
            let since = Since::default();
            while !*stop.borrow() {
                let listing = LocalSource::new(vec![p.clone()])
                    .list()
                    .map_err(|e| UsageError(e.to_string()))?;
                let mut r = ingest_listing(ctx, listing)?;
                integrity_pass(ctx, j, rt, Some(&since), &mut r);
                total.merge(r);
                if let Some(w) = ctx.watch {
                    w.tick(ctx.store);
                }
                pause(rt, &mut stop, ctx.interval);
            }
        }
    }
    Ok(total)
}

/// Where a follower's digest verification starts: everything the first time, then three
/// hours before the newest digest verified so far (new digests, and the hours they close).
#[derive(Default)]
struct Since {
    newest: std::cell::Cell<Option<time::OffsetDateTime>>,
}

impl Since {
    fn from(&self) -> Option<time::OffsetDateTime> {
        self.newest.get().map(|n| n - time::Duration::hours(3))
    }

    fn saw(&self, newest: Option<time::OffsetDateTime>) {
        self.newest.set(self.newest.get().max(newest));
    }
}

/// Verifies the source's digests against what the store read (see
/// [`crate::verify::store_pass`]); a failure is logged, never fatal to the ingest.
fn integrity_pass(
    ctx: &Ctx<'_>,
    j: &Job,
    rt: &tokio::runtime::Runtime,
    since: Option<&Since>,
    report: &mut IngestReport,
) {
    let Some(keys) = &ctx.verify else { return };
    let mut opts = cairn_integrity::Options::new(String::new());
    opts.from = since.and_then(Since::from);
    opts.accounts = j.filter.accounts.clone();
    opts.regions = j.filter.regions.clone();
    let result = match &j.input {
        Input::Local(p) => {
            let Some(keys) = keys else {
                if crate::verify::has_digests(p) {
                    tracing::warn!(
                        path = %p.display(),
                        "digests found but not verified: pass --public-keys FILE (events stay unverified)"
                    );
                }
                return;
            };
            let Some((root, prefix, bucket)) = crate::verify::local_layout(p) else {
                return;
            };
            opts.prefix = prefix;
            opts.bucket = bucket;
            opts.signatures_required = false;
            opts.threads = 4;
            crate::verify::store_pass(
                ctx.store,
                &cairn_integrity::LocalBucket::new(root),
                keys,
                &opts,
            )
        }
        Input::S3(url) => {
            opts.bucket = url.bucket.clone();
            opts.prefix = url.prefix.trim_matches('/').to_string();
            opts.threads = 16;
            let conf = rt.block_on(aws::sdk_config(&j.aws));
            let client = aws::s3_client(&conf, &j.aws);
            let bucket = cairn_source::integrity::S3Bucket::new(
                client,
                rt.handle().clone(),
                &url.bucket,
                j.aws.max_attempts.unwrap_or(aws::DEFAULT_MAX_ATTEMPTS),
            );
            match keys {
                Some(k) => crate::verify::store_pass(ctx.store, &bucket, k, &opts),
                None => {
                    let online =
                        cairn_source::integrity::CloudTrailKeys::new(conf, rt.handle().clone());
                    crate::verify::store_pass(ctx.store, &bucket, &online, &opts)
                }
            }
        }
        Input::Sqs(_) => return,
    };
    match result {
        Ok(pass) => {
            if let Some(s) = since {
                s.saw(pass.newest);
            }
            report.integrity = Some(cairn_store::ingest::IntegrityCounts {
                verified: pass.verified,
                failed: pass.failed,
                newly_failed: pass.newly_failed.len() as u64,
            });
            for f in &pass.newly_failed {
                tracing::error!(object = %f.location, reason = %f.reason, "log file failed integrity validation");
            }
            if let Some(w) = ctx.watch {
                w.integrity_failures(&pass.newly_failed);
            }
        }
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "digests not verified (events stay unverified)")
        }
    }
}

/// Sleeps, waking early when stopped.
fn pause(rt: &tokio::runtime::Runtime, stop: &mut watch::Receiver<bool>, d: Duration) {
    rt.block_on(async {
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = stop.wait_for(|s| *s) => {}
        }
    });
}

fn s3_source(
    ctx: &Ctx<'_>,
    j: &Job,
    url: &S3Url,
    rt: &tokio::runtime::Runtime,
) -> Result<S3Source> {
    let conf = rt.block_on(aws::sdk_config(&j.aws));
    let client = aws::s3_client(&conf, &j.aws);
    Ok(S3Source::new(
        client,
        rt.handle().clone(),
        url.clone(),
        j.filter.clone(),
        ctx.s3.clone(),
        Some(ctx.dir),
    )?)
}

fn follower(
    ctx: &Ctx<'_>,
    j: &Job,
    q: &QueueRef,
    rt: &tokio::runtime::Runtime,
) -> Result<SqsFollower> {
    let conf = rt.block_on(aws::sdk_config(&j.aws));
    let s3 = aws::s3_client(&conf, &j.aws);
    let sqs = aws::sqs_client(&conf);
    Ok(SqsFollower::new(
        sqs,
        s3,
        rt.handle().clone(),
        q,
        ctx.sqs.clone(),
    )?)
}

/// One listing of an S3 prefix, ingested, then the watermarks moved.
fn s3_pass(ctx: &Ctx<'_>, src: &mut S3Source) -> Result<IngestReport> {
    use std::sync::atomic::Ordering::Relaxed;
    let (requests, keys) = (
        src.stats.requests.load(Relaxed),
        src.stats.keys_listed.load(Relaxed),
    );
    let listing = src.list()?;
    let mut report = ingest_listing(ctx, listing)?;
    report.list_requests = src.stats.requests.load(Relaxed) - requests;
    report.keys_listed = src.stats.keys_listed.load(Relaxed) - keys;
    let done: HashMap<&str, bool> = report
        .outcomes
        .iter()
        .map(|(l, ok)| (l.as_str(), *ok))
        .collect();
    src.advance(|location| done.get(location) == Some(&true))?;
    Ok(report)
}

/// One batch of queue messages: received, ingested, settled. `None` when the queue had none.
fn sqs_batch(
    ctx: &Ctx<'_>,
    f: &SqsFollower,
    stop: &watch::Receiver<bool>,
) -> Result<Option<IngestReport>> {
    let mut batch = f.receive(stop)?;
    let tests = batch.tests as u64;
    if batch.messages.is_empty() {
        ctx.metrics.messages(0, 0, tests);
        if let Ok(b) = f.backlog() {
            ctx.metrics.backlog(&f.url, b, ctx.dir);
        }
        return Ok((tests > 0).then(IngestReport::default));
    }
    let hidden = f.keep_hidden(&batch);
    let objects = std::mem::take(&mut batch.objects);
    let report = ingest_objects(ctx, objects)?;
    drop(hidden);
    let done: HashMap<&str, bool> = report
        .outcomes
        .iter()
        .map(|(l, ok)| (l.as_str(), *ok))
        .collect();
    let settled = f.settle(batch, |location| done.get(location) == Some(&true))?;
    ctx.metrics.messages(settled.deleted, settled.left, tests);
    if let Ok(b) = f.backlog() {
        ctx.metrics.backlog(&f.url, b, ctx.dir);
    }
    tracing::info!(
        events = report.events_indexed,
        objects = report.objects_read,
        deleted = settled.deleted,
        left = settled.left,
        "batch committed"
    );
    Ok(Some(report))
}

fn ingest_listing(ctx: &Ctx<'_>, mut listing: cairn_source::Listing) -> Result<IngestReport> {
    let objects = std::mem::take(&mut listing.objects);
    let mut report = ingest_objects(ctx, objects)?;
    for (reason, n) in listing.skipped {
        *report.objects_skipped.entry(reason).or_default() += n;
    }
    Ok(report)
}

fn ingest_objects(
    ctx: &Ctx<'_>,
    objects: Vec<Box<dyn cairn_model::Object>>,
) -> Result<IngestReport> {
    if objects.is_empty() {
        return Ok(IngestReport::default());
    }
    let report = match &ctx.lake {
        None => index_objects(ctx, objects)?,
        Some(lake) => {
            let mut lake = lake.lock().unwrap_or_else(|p| p.into_inner());
            if ctx.index {
                // Each chunk of objects is read into memory once, written to the lake (files
                // committed), then indexed: the ledger never says done for an object whose
                // events are not in the lake yet.
                let mut total = IngestReport::default();
                for (for_lake, for_index) in
                    crate::lake::tee_chunks(objects, ctx.opts.limits, ctx.opts.threads)
                {
                    let lake_report = write_lake(ctx, &mut lake, for_lake)?;
                    let mut r = index_objects(ctx, for_index)?;
                    let lake_ok: HashMap<&str, bool> = lake_report
                        .outcomes
                        .iter()
                        .map(|(l, ok)| (l.as_str(), *ok))
                        .collect();
                    for (l, ok) in r.outcomes.iter_mut() {
                        *ok &= lake_ok.get(l.as_str()).copied().unwrap_or(true);
                    }
                    r.lake_events += lake_report.lake_events;
                    r.lake_files += lake_report.lake_files;
                    total.merge(r);
                }
                total
            } else {
                let r = write_lake(ctx, &mut lake, objects)?;
                ctx.metrics.observe(&r);
                r
            }
        }
    };
    Ok(report)
}

/// Writes objects to the lake and commits the files: the report's outcomes say which objects
/// are wholly in committed files.
fn write_lake(
    ctx: &Ctx<'_>,
    lake: &mut cairn_lake::LakeWriter,
    objects: Vec<Box<dyn cairn_model::Object>>,
) -> Result<IngestReport> {
    let started = std::time::Instant::now();
    let files = lake.written().files;
    let outcomes = cairn_lake::pipeline::write_objects(
        objects,
        lake,
        ctx.opts.limits,
        ctx.opts.decoders.unwrap_or(ctx.opts.threads),
    )?;
    let mut r = crate::lake::report(&outcomes);
    r.lake_files = lake.written().files - files;
    r.elapsed_seconds = started.elapsed().as_secs_f64();
    Ok(r)
}

fn index_objects(
    ctx: &Ctx<'_>,
    objects: Vec<Box<dyn cairn_model::Object>>,
) -> Result<IngestReport> {
    let bar = !ctx.quiet && !ctx.follow;
    let report = with_progress(ctx.store, objects, &ctx.opts, bar, ctx.watch)?;
    ctx.metrics.observe(&report);
    Ok(report)
}

/// Runs the store's pipeline, with a progress bar on a terminal when `bar`; a held lock is a
/// usage error (exit 2).
pub fn with_progress(
    store: &Store,
    objects: Vec<Box<dyn cairn_model::Object>>,
    opts: &IngestOptions,
    bar: bool,
    watch: Option<&crate::detect::Watching>,
) -> Result<IngestReport> {
    let progress = Arc::new(Progress::default());
    let bar = bar.then(|| progress_bar(progress.clone()));
    let result = match watch {
        Some(w) => w.ingest(store, objects, opts, &progress),
        None => cairn_store::ingest::ingest(store, objects, opts, &progress),
    };
    if let Some((stop, handle)) = bar {
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = handle.join();
    }
    result.map_err(|e| match e {
        cairn_store::StoreError::Locked { .. } => anyhow::Error::new(UsageError(e.to_string())),
        e => anyhow::Error::new(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_inputs() {
        assert_eq!(
            Input::parse("s3://b/p/"),
            Ok(Input::S3(S3Url {
                bucket: "b".into(),
                prefix: "p/".into()
            }))
        );
        assert!(matches!(Input::parse("sqs://q"), Ok(Input::Sqs(_))));
        assert_eq!(
            Input::parse("logs/x.json.gz"),
            Ok(Input::Local("logs/x.json.gz".into()))
        );
        assert!(Input::parse("ftp://x").is_err());
        assert!(Input::parse("s3://").is_err());
    }
}
