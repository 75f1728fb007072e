//! `cairn export --lake`, `cairn lake ddl|compact` and `cairn worker`: the Parquet lake.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use cairn_lake::ddl::{Engine, Partitions};
use cairn_lake::{Dest, LakeWriter, LocalDest, Partition, Row};
use cairn_source::aws::{self, AwsOptions};
use cairn_source::lake::S3Dest;
use cairn_source::s3::S3Url;
use cairn_source::sqs::{QueueRef, SqsFollower, SqsOptions};
use cairn_store::Scope;
use serde::Serialize;

use crate::cli::{self, SummaryFormat};
use crate::commands::{open, parse_query, time_range};
use crate::{Outcome, UsageError};

/// Opens a lake: `s3://BUCKET[/PREFIX]` through the SDK, anything else a local directory.
pub fn dest(
    location: &str,
    aws: &AwsOptions,
    rt: &tokio::runtime::Runtime,
) -> Result<Arc<dyn Dest>> {
    if location.starts_with("s3://") {
        let url = S3Url::parse(location).ok_or_else(|| {
            UsageError(format!("{location}: a lake in S3 is s3://BUCKET[/PREFIX]"))
        })?;
        let conf = rt.block_on(aws::sdk_config(aws));
        let client = aws::s3_client(&conf, aws);
        return Ok(Arc::new(S3Dest::new(client, rt.handle().clone(), url)));
    }
    if location.contains("://") {
        return Err(UsageError(format!(
            "{location}: a lake is a directory or s3://BUCKET[/PREFIX]"
        ))
        .into());
    }
    Ok(Arc::new(
        LocalDest::new(Path::new(location))
            .with_context(|| format!("opening the lake {location}"))?,
    ))
}

#[derive(Debug, Serialize)]
struct ExportSummary {
    lake: String,
    events: u64,
    files: u64,
    bytes: u64,
    /// Events dropped because the same eventID was already in the file.
    duplicates: u64,
    seconds: f64,
    events_per_second: f64,
}

fn summary(lake: String, events: u64, w: &cairn_lake::Written, started: Instant) -> ExportSummary {
    let seconds = started.elapsed().as_secs_f64();
    ExportSummary {
        lake,
        events,
        files: w.files,
        bytes: w.bytes,
        duplicates: w.duplicates,
        seconds,
        events_per_second: events as f64 / seconds.max(1e-9),
    }
}

fn print<T: Serialize>(
    format: SummaryFormat,
    value: &T,
    text: impl FnOnce() -> String,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        SummaryFormat::Json => {
            serde_json::to_writer_pretty(&mut out, value)?;
            writeln!(out)?;
        }
        SummaryFormat::Text => writeln!(out, "{}", text())?,
    }
    Ok(())
}

/// `cairn export --lake DEST [QUERY]`: the store's matching events, streamed into the lake.
pub fn export(dir: &Path, a: cli::ExportArgs) -> Result<Outcome> {
    let started = Instant::now();
    let store = open(dir)?;
    let q = parse_query(&store, &a.query)?;
    let compiled = store.compile(&q, time_range(&a.time)?, &Scope::ALL)?;
    let rt = aws::runtime().context("starting the AWS runtime")?;
    let dest = dest(&a.lake, &a.aws.options(a.aws_region.clone()), &rt)?;
    let location = dest.location();
    let mut writer = LakeWriter::new(dest, a.write.options());
    let events = store.scan(&compiled, |hit| -> Result<()> {
        writer.add_row(Row::parse(&hit.raw, &hit.object)?)?;
        Ok(())
    })?;
    let written = writer.finish()?;
    let s = summary(location, events, &written, started);
    print(a.format, &s, || {
        format!(
            "{} events to {} in {} files ({:.1} MiB) in {:.1}s ({:.0} events/s)",
            s.events,
            s.lake,
            s.files,
            s.bytes as f64 / 1048576.0,
            s.seconds,
            s.events_per_second
        )
    })?;
    Ok(Outcome::Ok)
}

/// The commercial regions CloudTrail logs from, for Athena's partition projection when no
/// `--regions` are given (a region missing from the list is a partition Athena never reads).
const REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// `cairn lake ...`.
pub fn lake(c: cli::LakeCommand) -> Result<Outcome> {
    match c {
        cli::LakeCommand::Ddl {
            engine,
            location,
            table,
            accounts,
            regions,
        } => {
            let engine = match engine {
                cli::EngineArg::Athena => Engine::Athena,
                cli::EngineArg::Trino => Engine::Trino,
                cli::EngineArg::Spark => Engine::Spark,
                cli::EngineArg::Duckdb => Engine::DuckDb,
            };
            if !table
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            {
                return Err(UsageError(format!(
                    "--table {table}: letters, digits, `_` and `.` only"
                ))
                .into());
            }
            if location.contains('\'') {
                return Err(UsageError("--location must not hold a quote".into()).into());
            }
            // What a local lake holds fills in the projection's accounts and first date.
            let mut found = Partitions::default();
            if !location.contains("://") && Path::new(&location).is_dir() {
                let parts: BTreeSet<Partition> = LocalDest::new(Path::new(&location))?
                    .list()?
                    .iter()
                    .filter_map(|(p, _)| p.rsplit_once('/').and_then(|(d, _)| Partition::parse(d)))
                    .collect();
                found.accounts = parts
                    .iter()
                    .map(|p| p.account.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                found.first_date = parts.iter().map(|p| p.date.clone()).min();
            }
            let p = Partitions {
                accounts: if accounts.is_empty() {
                    found.accounts
                } else {
                    accounts
                },
                regions: if regions.is_empty() {
                    REGIONS.iter().map(|r| r.to_string()).collect()
                } else {
                    regions
                },
                first_date: found.first_date,
            };
            if engine == Engine::Athena && p.accounts.is_empty() {
                return Err(UsageError(
                    "Athena's partition projection needs the account ids: --accounts ID,ID".into(),
                )
                .into());
            }
            print!("{}", cairn_lake::ddl::ddl(engine, &location, &table, &p));
            Ok(Outcome::Ok)
        }
        cli::LakeCommand::Compact {
            dest: location,
            target_mib,
            aws: flags,
            aws_region,
            write,
            format,
        } => {
            let started = Instant::now();
            let rt = aws::runtime().context("starting the AWS runtime")?;
            let d = dest(&location, &flags.options(aws_region), &rt)?;
            let r = cairn_lake::compact::compact(&*d, &write.options(), target_mib.max(1) << 20)?;
            let secs = started.elapsed().as_secs_f64();
            let loc = d.location();
            let report = serde_json::json!({
                "lake": loc,
                "partitions": r.partitions,
                "files_before": r.files_before,
                "files_after": r.files_after,
                "events_before": r.rows_before,
                "events_after": r.rows_after,
                "duplicates": r.duplicates,
                "recovered": r.recovered,
                "seconds": secs,
            });
            print(format, &report, || {
                format!(
                    "{loc}: {} partitions compacted, {} files became {}, {} events kept, {} duplicates removed, in {secs:.1}s",
                    r.partitions, r.files_before, r.files_after, r.rows_after, r.duplicates
                )
            })?;
            Ok(Outcome::Ok)
        }
    }
}

#[derive(Debug, Default, Serialize)]
struct WorkerSummary {
    batches: u64,
    objects: u64,
    objects_failed: u64,
    events: u64,
    files: u64,
    bytes: u64,
    messages_deleted: u64,
    messages_left: u64,
}

/// `cairn worker --sqs QUEUE --lake DEST`: receive a batch, write its objects' events, commit
/// the files, then delete the messages whose objects are all in committed files. A crash
/// anywhere repeats a batch (duplicates, which compaction removes) and loses nothing.
pub fn worker(a: cli::WorkerArgs, quiet: bool) -> Result<Outcome> {
    let q = QueueRef::parse(&a.sqs).ok_or_else(|| {
        UsageError(format!(
            "--sqs {}: a queue is sqs://NAME or its https URL",
            a.sqs
        ))
    })?;
    let opts = a.aws.options(a.aws_region.clone());
    let rt = aws::runtime().context("starting the AWS runtime")?;
    let lake = dest(&a.lake, &opts, &rt)?;
    let conf = rt.block_on(aws::sdk_config(&opts));
    let follower = SqsFollower::new(
        aws::sqs_client(&conf),
        aws::s3_client(&conf, &opts),
        rt.handle().clone(),
        &q,
        SqsOptions {
            batch_messages: a.batch.max(1),
            wait: if a.drain {
                Duration::from_secs(1)
            } else {
                Duration::from_secs(20)
            },
            ..SqsOptions::default()
        },
    )?;
    let stop = cairn_source::sqs::stop_on_signals(rt.handle());
    let limits = cairn_model::Limits {
        max_object_bytes: a.limits.max_object_bytes,
        max_record_bytes: a.limits.max_record_bytes,
        max_records: a.limits.max_records,
    };
    let mut writer = LakeWriter::new(lake.clone(), a.write.options());
    let mut s = WorkerSummary::default();
    if !quiet {
        tracing::info!(queue = %follower.url, lake = %lake.location(), "worker started");
    }
    while !*stop.borrow() {
        let mut batch = match follower.receive(&stop) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(queue = %follower.url, error = %e, "receive failed; retrying");
                std::thread::sleep(Duration::from_secs(2));
                continue;
            }
        };
        if batch.messages.is_empty() {
            if a.drain && batch.tests == 0 {
                break;
            }
            continue;
        }
        let hidden = follower.keep_hidden(&batch);
        let objects = std::mem::take(&mut batch.objects);
        let files_before = writer.written().files;
        let outcomes =
            cairn_lake::pipeline::write_objects(objects, &mut writer, limits, a.concurrency);
        drop(hidden);
        let outcomes = match outcomes {
            Ok(o) => o,
            // The lake could not be written: nothing is deleted, the messages come back.
            Err(e) => {
                tracing::error!(lake = %lake.location(), error = %e, "writing the lake failed; the batch comes back");
                writer = LakeWriter::new(lake.clone(), a.write.options());
                std::thread::sleep(Duration::from_secs(2));
                continue;
            }
        };
        let mut done: HashMap<&str, bool> = HashMap::new();
        let mut events = 0;
        for o in &outcomes {
            done.insert(&o.location, o.ok);
            events += o.events;
            if !o.ok {
                s.objects_failed += 1;
                for e in &o.errors {
                    tracing::warn!(object = %o.location, error = %e, "input error");
                }
            }
        }
        let settled = follower.settle(batch, |l| done.get(l) == Some(&true))?;
        s.batches += 1;
        s.objects += outcomes.len() as u64;
        s.events += events;
        s.messages_deleted += settled.deleted;
        s.messages_left += settled.left;
        tracing::info!(
            events,
            objects = outcomes.len(),
            files = writer.written().files - files_before,
            deleted = settled.deleted,
            left = settled.left,
            "batch committed"
        );
    }
    let w = writer.finish()?;
    s.files = w.files;
    s.bytes = w.bytes;
    print(a.format, &s, || {
        format!(
            "{} events from {} objects ({} failed) in {} batches: {} files ({:.1} MiB); {} messages deleted, {} left",
            s.events,
            s.objects,
            s.objects_failed,
            s.batches,
            s.files,
            s.bytes as f64 / 1048576.0,
            s.messages_deleted,
            s.messages_left
        )
    })?;
    Ok(if s.objects_failed > 0 {
        Outcome::InputFailed
    } else {
        Outcome::Ok
    })
}

/// An ingest report for objects written to the lake only.
pub fn report(outcomes: &[cairn_lake::pipeline::Outcome]) -> cairn_store::IngestReport {
    let mut r = cairn_store::IngestReport {
        objects_seen: outcomes.len() as u64,
        ..Default::default()
    };
    for o in outcomes {
        r.outcomes.push((o.location.clone(), o.ok));
        if o.skipped {
            *r.objects_skipped
                .entry("not a CloudTrail log file".into())
                .or_default() += 1;
            continue;
        }
        r.objects_read += 1;
        r.lake_events += o.events;
        if !o.ok {
            r.objects_failed += 1;
            for e in &o.errors {
                tracing::warn!(object = %o.location, error = %e, "input error");
            }
            r.failures.push(cairn_store::ingest::Failure {
                object: o.location.clone(),
                errors: o.errors.clone(),
                events: o.events,
            });
        }
    }
    r
}

type Objects = Vec<Box<dyn cairn_model::Object>>;

/// An object read into memory, to be read twice (by the lake and by the index).
struct Held {
    meta: cairn_model::ObjectMeta,
    bytes: Result<Arc<Vec<u8>>, String>,
}

impl cairn_model::Object for Held {
    fn meta(&self) -> &cairn_model::ObjectMeta {
        &self.meta
    }

    fn open(self: Box<Self>) -> std::io::Result<Box<dyn std::io::Read + Send>> {
        match self.bytes {
            Ok(b) => Ok(Box::new(std::io::Cursor::new(ArcBytes(b)))),
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}

struct ArcBytes(Arc<Vec<u8>>);

impl AsRef<[u8]> for ArcBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Objects per chunk that [`tee_chunks`] holds in memory, and their stored bytes at most
/// (one larger object is a chunk of its own).
const TEE_OBJECTS: usize = 32;
const TEE_BYTES: u64 = 256 << 20;

/// Splits objects into chunks held in memory, each as two lists of the same objects: one to
/// write to the lake, one to index. Each object is read once (on `threads` threads), up to
/// the decompressed-size limit; one that cannot be read is an error of that object in both.
pub fn tee_chunks(
    objects: Vec<Box<dyn cairn_model::Object>>,
    limits: cairn_model::Limits,
    threads: usize,
) -> impl Iterator<Item = (Objects, Objects)> {
    let mut chunks: Vec<Vec<Box<dyn cairn_model::Object>>> = Vec::new();
    let mut bytes = 0;
    for o in objects {
        let size = o.meta().size.unwrap_or(0);
        match chunks.last_mut() {
            Some(c) if c.len() < TEE_OBJECTS && bytes + size <= TEE_BYTES => {
                bytes += size;
                c.push(o);
            }
            _ => {
                bytes = size;
                chunks.push(vec![o]);
            }
        }
    }
    chunks.into_iter().map(move |chunk| {
        let held = read_all(chunk, limits.max_object_bytes, threads);
        let twin = |h: &Held| -> Box<dyn cairn_model::Object> {
            Box::new(Held {
                meta: h.meta.clone(),
                bytes: h.bytes.clone(),
            })
        };
        let for_index = held.iter().map(twin).collect();
        let for_lake = held
            .into_iter()
            .map(|h| Box::new(h) as Box<dyn cairn_model::Object>)
            .collect();
        (for_lake, for_index)
    })
}

fn read_all(chunk: Vec<Box<dyn cairn_model::Object>>, limit: u64, threads: usize) -> Vec<Held> {
    use std::io::Read;
    let n = chunk.len();
    let work = std::sync::Mutex::new(chunk.into_iter().enumerate());
    let out = std::sync::Mutex::new(Vec::with_capacity(n));
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, n.max(1)) {
            s.spawn(|| {
                loop {
                    let next = work.lock().expect("work lock").next();
                    let Some((i, o)) = next else { break };
                    let meta = o.meta().clone();
                    let bytes = o
                        .open()
                        .and_then(|r| {
                            let mut buf = Vec::new();
                            r.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
                            Ok(buf)
                        })
                        .map_err(|e| format!("cannot read: {e}"))
                        .and_then(|b| {
                            if b.len() as u64 > limit {
                                Err(format!("larger than the limit of {limit} bytes"))
                            } else {
                                Ok(Arc::new(b))
                            }
                        });
                    out.lock()
                        .expect("out lock")
                        .push((i, Held { meta, bytes }));
                }
            });
        }
    });
    let mut v = out.into_inner().expect("out lock");
    v.sort_by_key(|(i, _)| *i);
    v.into_iter().map(|(_, h)| h).collect()
}
