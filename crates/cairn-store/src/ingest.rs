//! The ingest pipeline: objects in, deduplicated events committed, ledger written.
//!
//! ```text
//!  objects ──► [route + ledger filter] ──► work queue ──► N decode workers ──► bounded queue ──► writer
//!                                                          (gunzip, scan,                       (dedupe, add,
//!                                                           parse, build doc)                    commit, ledger)
//! ```
//!
//! Both queues are bounded, so memory stays flat whatever the input size: at most a few
//! thousand documents wait between the workers and the writer. Commits happen every
//! `commit_every` events or `commit_interval`, and an object's ledger entry is written only
//! after the commit that holds all its events.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cairn_model::{DecodeError, Limits, Object, ObjectKind, Records, Route, route};
use serde::Serialize;
use time::OffsetDateTime;

use crate::doc::{self, EventDoc};
use crate::ledger::{Entry, Status};
use crate::{LockWait, Store, StoreError};

/// How to ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub limits: Limits,
    /// Index writer threads, and decode workers unless `decoders` is set.
    pub threads: usize,
    /// Decode workers, each reading one object at a time: more than the cores when objects
    /// come over the network, so that fetches overlap.
    pub decoders: Option<usize>,
    /// Bytes the index writer may buffer before flushing a segment (all threads together).
    pub memory_budget: usize,
    pub commit_every: u64,
    pub commit_interval: Duration,
    pub lock: LockWait,
    /// Compute each object's SHA-256 as it is read, for verification against digests.
    pub hash: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        IngestOptions {
            limits: Limits::default(),
            threads,
            decoders: None,
            memory_budget: 384 << 20,
            commit_every: 1_000_000,
            commit_interval: Duration::from_secs(30),
            lock: LockWait::Wait,
            hash: true,
        }
    }
}

/// Live counters, for a progress display.
#[derive(Debug, Default)]
pub struct Progress {
    pub objects_total: AtomicU64,
    pub objects_done: AtomicU64,
    pub bytes_total: AtomicU64,
    pub bytes_done: AtomicU64,
    pub events: AtomicU64,
    pub duplicates: AtomicU64,
}

/// An object that could not be read completely.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub object: String,
    pub errors: Vec<String>,
    /// Events that were read from it all the same.
    pub events: u64,
}

/// What an ingest did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestReport {
    /// Objects offered by the source.
    pub objects_seen: u64,
    /// Objects read this run.
    pub objects_read: u64,
    /// Objects already read by an earlier run, unchanged since.
    pub objects_unchanged: u64,
    /// Objects not read, by reason (digest files, other services' files).
    pub objects_skipped: BTreeMap<String, u64>,
    /// Objects with errors (each listed in `failures`).
    pub objects_failed: u64,
    pub events_indexed: u64,
    pub duplicates_dropped: u64,
    /// Records skipped, by reason.
    pub records_failed: BTreeMap<String, u64>,
    /// Events indexed that the decoder had to complete or read leniently, by repair
    /// (`synthetic_event_id`, `time_from_@timestamp`, `time_variant`; see
    /// [`cairn_model::Repairs`]).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub events_repaired: BTreeMap<String, u64>,
    pub bytes_read: u64,
    /// S3 listing work (ListObjectsV2 requests and keys returned), which an incremental run
    /// keeps proportional to what is new.
    pub list_requests: u64,
    pub keys_listed: u64,
    pub elapsed_seconds: f64,
    /// Events and files written to a Parquet lake (`ingest --lake`).
    #[serde(skip_serializing_if = "is_zero")]
    pub lake_events: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub lake_files: u64,
    pub failures: Vec<Failure>,
    /// Every object offered that holds events, and whether it is now completely in the store
    /// (read now or by an earlier run): what a follower needs to acknowledge notifications.
    #[serde(skip)]
    pub outcomes: Vec<(String, bool)>,
    /// Per (account, region) read this run: for live gauges.
    #[serde(skip)]
    pub partitions: BTreeMap<(String, String), PartitionSeen>,
    /// Objects verified against their trail's signed digests, when digests were checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrity: Option<IntegrityCounts>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The store's objects by verification state after a digest check (see `crate::integrity`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct IntegrityCounts {
    pub verified: u64,
    pub failed: u64,
    /// Objects that failed in this run.
    pub newly_failed: u64,
}

/// The newest event and delivery of one account and region in a run, Unix seconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct PartitionSeen {
    pub newest: i64,
    pub delivered: i64,
    /// The largest delivery lag of an event read.
    pub lag_max: i64,
}

impl IngestReport {
    /// Adds the report of another run (of a source, or of a batch) into this one.
    pub fn merge(&mut self, r: IngestReport) {
        self.objects_seen += r.objects_seen;
        self.objects_read += r.objects_read;
        self.objects_unchanged += r.objects_unchanged;
        self.lake_events += r.lake_events;
        self.lake_files += r.lake_files;
        for (k, v) in r.objects_skipped {
            *self.objects_skipped.entry(k).or_default() += v;
        }
        self.objects_failed += r.objects_failed;
        self.events_indexed += r.events_indexed;
        self.duplicates_dropped += r.duplicates_dropped;
        for (k, v) in r.records_failed {
            *self.records_failed.entry(k).or_default() += v;
        }
        for (k, v) in r.events_repaired {
            *self.events_repaired.entry(k).or_default() += v;
        }
        self.bytes_read += r.bytes_read;
        self.list_requests += r.list_requests;
        self.keys_listed += r.keys_listed;
        self.elapsed_seconds += r.elapsed_seconds;
        self.failures.extend(r.failures);
        self.outcomes.extend(r.outcomes);
        if let Some(i) = r.integrity {
            let newly = self.integrity.map_or(0, |o| o.newly_failed);
            self.integrity = Some(IntegrityCounts {
                newly_failed: newly + i.newly_failed,
                ..i
            });
        }
        for (k, p) in r.partitions {
            let e = self.partitions.entry(k).or_default();
            e.newest = e.newest.max(p.newest);
            e.delivered = e.delivered.max(p.delivered);
            e.lag_max = e.lag_max.max(p.lag_max);
        }
    }

    /// Whether some input failed (the CLI's exit code says so).
    pub fn has_failures(&self) -> bool {
        self.objects_failed > 0
    }
}

/// Cap on the messages kept per failed object.
const MAX_ERRORS_PER_OBJECT: usize = 20;
/// Events sent from a worker to the writer in one message.
const BATCH: usize = 256;

enum Msg {
    Events(usize, Vec<EventDoc>),
    RecordError(usize, DecodeError),
    Done {
        obj: usize,
        bytes: u64,
        fatal: Option<String>,
        /// Hex SHA-256 of the decompressed object, when it was read to its end.
        sha256: Option<String>,
    },
}

#[derive(Default)]
struct ObjStats {
    events: u64,
    duplicates: u64,
    errors: Vec<String>,
    newest: Option<i64>,
    oldest: Option<i64>,
    lag: Vec<u32>,
}

/// What an object's key says, kept for its ledger entry.
#[derive(Clone, Default)]
struct Origin {
    account: Option<String>,
    region: Option<String>,
    delivered: Option<i64>,
}

/// What a watcher noted about one event on a decode worker.
pub type Note = Box<dyn std::any::Any + Send>;

/// What a watcher runs on the decode workers for each event read.
pub type Inspect<'a> = dyn Fn(&serde_json::Value) -> Option<Note> + Sync + 'a;

/// A watcher of the events going into the store: the detection pipeline. `inspect` runs on
/// the decode workers for every event read; the writer hands its note to `sink` only for the
/// events the store did not hold yet, so that each event is watched once, whatever the
/// re-deliveries and re-runs. `sink` stages and applies around each commit ([`CommitHook`]).
pub struct Watch<'a> {
    pub inspect: &'a Inspect<'a>,
    pub sink: &'a mut dyn Sink,
}

/// The writer-side half of a [`Watch`].
pub trait Sink: crate::CommitHook {
    /// A new event's note, in the order the events were added.
    fn added(&mut self, note: Note);
}

impl std::fmt::Debug for Watch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Watch")
    }
}

/// Ingests `objects` into `store`.
pub fn ingest(
    store: &Store,
    objects: Vec<Box<dyn Object>>,
    opts: &IngestOptions,
    progress: &Arc<Progress>,
) -> Result<IngestReport, StoreError> {
    ingest_watched(store, objects, opts, progress, None)
}

/// [`ingest`], with every new event shown to `watch`.
pub fn ingest_watched(
    store: &Store,
    objects: Vec<Box<dyn Object>>,
    opts: &IngestOptions,
    progress: &Arc<Progress>,
    watch: Option<Watch<'_>>,
) -> Result<IngestReport, StoreError> {
    let started = Instant::now();
    let (inspect, mut sink) = match watch {
        Some(w) => (Some(w.inspect), Some(w.sink)),
        None => (None, None),
    };
    let mut writer = store.writer(opts.threads, opts.memory_budget, opts.lock)?;
    let mut report = IngestReport {
        objects_seen: objects.len() as u64,
        ..Default::default()
    };

    // Route and filter by the ledger before reading anything.
    let mut work = Vec::new();
    for o in objects {
        let meta = o.meta();
        let origin = match route(&meta.key) {
            Route::CloudTrail(k) if k.kind == ObjectKind::Digest => {
                report.outcomes.push((meta.location.clone(), true));
                *report
                    .objects_skipped
                    .entry("digest file".into())
                    .or_default() += 1;
                continue;
            }
            Route::CloudTrail(k) => Origin {
                account: Some(k.account),
                region: Some(k.region),
                delivered: k.delivered.map(|t| t.unix_timestamp()),
            },
            Route::Skip { reason } => {
                report.outcomes.push((meta.location.clone(), true));
                tracing::debug!(object = %meta.location, %reason, "skipped");
                *report
                    .objects_skipped
                    .entry("not a CloudTrail log file".into())
                    .or_default() += 1;
                continue;
            }
            Route::Loose => Origin::default(),
        };
        if writer.ledger().is_done(&meta.location, &meta.version) {
            report.objects_unchanged += 1;
            report.outcomes.push((meta.location.clone(), true));
            continue;
        }
        work.push((o, origin));
    }
    // In delivery-time order across accounts and regions (a stable sort: files without a time
    // keep their place, first), so that the correlations see events about as they happened
    // rather than one partition's days after another's.
    work.sort_by_key(|(_, origin)| origin.delivered);
    progress
        .objects_total
        .store(work.len() as u64, Ordering::Relaxed);
    progress.bytes_total.store(
        work.iter().filter_map(|(o, _)| o.meta().size).sum(),
        Ordering::Relaxed,
    );
    let metas: Vec<_> = work.iter().map(|(o, _)| o.meta().clone()).collect();
    let (work, origins): (Vec<_>, Vec<Origin>) = work.into_iter().unzip();

    let ingested = OffsetDateTime::now_utc();
    let fields = store.fields().clone();
    let (work_tx, work_rx) = crossbeam_channel::bounded::<(usize, Box<dyn Object>)>(64);
    let (tx, rx) = crossbeam_channel::bounded::<Msg>(32);
    let mut stats: HashMap<usize, ObjStats> = HashMap::new();
    let mut last_commit = Instant::now();

    std::thread::scope(|s| -> Result<(), StoreError> {
        s.spawn(move || {
            for (i, o) in work.into_iter().enumerate() {
                if work_tx.send((i, o)).is_err() {
                    break;
                }
            }
        });
        for _ in 0..opts.decoders.unwrap_or(opts.threads).max(1) {
            let work_rx = work_rx.clone();
            let tx = tx.clone();
            let fields = &fields;
            let origins = &origins;
            let limits = opts.limits;
            let hash = opts.hash;
            s.spawn(move || {
                for (i, o) in work_rx {
                    let location = o.meta().location.clone();
                    if decode_object(
                        i,
                        o,
                        &location,
                        origins[i].account.as_deref(),
                        fields,
                        limits,
                        hash,
                        ingested,
                        inspect,
                        &tx,
                    )
                    .is_err()
                    {
                        break; // the writer is gone
                    }
                }
            });
        }
        drop(tx);
        drop(work_rx);

        let result = (|| {
            for msg in &rx {
                match msg {
                    Msg::Events(obj, docs) => {
                        let st = stats.entry(obj).or_default();
                        let delivered = origins[obj].delivered;
                        for mut d in docs {
                            st.newest = Some(st.newest.map_or(d.time, |t| t.max(d.time)));
                            st.oldest = Some(st.oldest.map_or(d.time, |t| t.min(d.time)));
                            if let Some(at) = delivered {
                                crate::health::count_lag(&mut st.lag, at - d.time);
                            }
                            let note = d.note.take();
                            let repairs = d.repairs;
                            if writer.add(d)? {
                                for name in repairs.names() {
                                    *report.events_repaired.entry(name.into()).or_default() += 1;
                                }
                                if let (Some(n), Some(sink)) = (note, sink.as_deref_mut()) {
                                    sink.added(n);
                                }
                                st.events += 1;
                                progress.events.fetch_add(1, Ordering::Relaxed);
                            } else {
                                st.duplicates += 1;
                                progress.duplicates.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    Msg::RecordError(obj, e) => {
                        *report.records_failed.entry(e.reason().into()).or_default() += 1;
                        let st = stats.entry(obj).or_default();
                        if st.errors.len() < MAX_ERRORS_PER_OBJECT {
                            st.errors.push(e.to_string());
                        }
                    }
                    Msg::Done {
                        obj,
                        bytes,
                        fatal,
                        sha256,
                    } => {
                        let st = stats.remove(&obj).unwrap_or_default();
                        let meta = &metas[obj];
                        let mut errors = st.errors;
                        if let Some(f) = fatal {
                            errors.push(f);
                        }
                        report.objects_read += 1;
                        report.events_indexed += st.events;
                        report.duplicates_dropped += st.duplicates;
                        report.bytes_read += bytes;
                        progress.objects_done.fetch_add(1, Ordering::Relaxed);
                        progress
                            .bytes_done
                            .fetch_add(meta.size.unwrap_or(bytes), Ordering::Relaxed);
                        let status = if errors.is_empty() {
                            Status::Ok
                        } else {
                            Status::Failed
                        };
                        report
                            .outcomes
                            .push((meta.location.clone(), status == Status::Ok));
                        let o = &origins[obj];
                        if let (Some(a), Some(r), Some(newest)) = (&o.account, &o.region, st.newest)
                        {
                            let p = report.partitions.entry((a.clone(), r.clone())).or_default();
                            p.newest = p.newest.max(newest);
                            if let (Some(d), Some(old)) = (o.delivered, st.oldest) {
                                p.delivered = p.delivered.max(d);
                                p.lag_max = p.lag_max.max(d - old);
                            }
                        }
                        if status == Status::Failed {
                            report.objects_failed += 1;
                            for e in &errors {
                                tracing::warn!(object = %meta.location, error = %e, "input error");
                            }
                            report.failures.push(Failure {
                                object: meta.location.clone(),
                                errors: errors.clone(),
                                events: st.events,
                            });
                        }
                        writer.record(Entry {
                            object: meta.location.clone(),
                            version: meta.version.clone(),
                            status,
                            events: st.events,
                            duplicates: st.duplicates,
                            errors,
                            at: ingested.unix_timestamp(),
                            account: origins[obj].account.clone(),
                            region: origins[obj].region.clone(),
                            delivered: origins[obj].delivered,
                            newest: st.newest,
                            oldest: st.oldest,
                            lag: st.lag,
                            sha256,
                        });
                    }
                }
                if writer.uncommitted() >= opts.commit_every
                    || last_commit.elapsed() >= opts.commit_interval
                {
                    writer.commit_with(
                        sink.as_deref_mut().map(|s| s as &mut dyn crate::CommitHook),
                    )?;
                    last_commit = Instant::now();
                }
            }
            Ok(())
        })();
        // On a writer error, stop the workers: dropping the receiver makes their sends fail.
        drop(rx);
        result
    })?;

    writer.finish_with(sink.map(|s| s as &mut dyn crate::CommitHook))?;
    report.elapsed_seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Decodes one object on a worker thread. Errs only when the writer has gone away.
#[allow(clippy::too_many_arguments)]
fn decode_object(
    i: usize,
    o: Box<dyn Object>,
    location: &str,
    account: Option<&str>,
    fields: &crate::Fields,
    limits: Limits,
    hash: bool,
    ingested: OffsetDateTime,
    inspect: Option<&Inspect<'_>>,
    tx: &crossbeam_channel::Sender<Msg>,
) -> Result<(), crossbeam_channel::SendError<Msg>> {
    let send_err = |e: crossbeam_channel::SendError<Msg>| e;
    let reader = match o.open() {
        Ok(r) => r,
        Err(e) => {
            return tx.send(Msg::Done {
                obj: i,
                bytes: 0,
                fatal: Some(format!("cannot open: {e}")),
                sha256: None,
            });
        }
    };
    // The hash of what was read, for log-file validation against digests.
    let mut records = match Records::new(reader, limits) {
        Ok(r) if hash => r.hashing(),
        Ok(r) => r,
        Err(e) => {
            return tx.send(Msg::Done {
                obj: i,
                bytes: 0,
                fatal: Some(format!("cannot read: {e}")),
                sha256: None,
            });
        }
    };
    let mut batch = Vec::with_capacity(BATCH);
    let mut fatal = None;
    for item in records.by_ref() {
        match item {
            Ok(event) => {
                let note = inspect.and_then(|f| f(&event.value));
                let mut d = doc::build(fields, event, location, account, ingested);
                d.note = note;
                batch.push(d);
                if batch.len() == BATCH {
                    tx.send(Msg::Events(
                        i,
                        std::mem::replace(&mut batch, Vec::with_capacity(BATCH)),
                    ))
                    .map_err(send_err)?;
                }
            }
            Err(e) if e.is_fatal() => fatal = Some(e.to_string()),
            Err(e) => tx.send(Msg::RecordError(i, e))?,
        }
    }
    if !batch.is_empty() {
        tx.send(Msg::Events(i, batch))?;
    }
    tx.send(Msg::Done {
        obj: i,
        bytes: records.bytes_read(),
        sha256: if fatal.is_none() {
            records.sha256()
        } else {
            None
        },
        fatal,
    })
}
