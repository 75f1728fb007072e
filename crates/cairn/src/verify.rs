//! `cairn verify`: log-file integrity validation of a bucket or of a local copy.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use cairn_integrity::report::display_time;
use cairn_integrity::{Finding, LocalBucket, Observer, Options, PublicKeys, Verdict};
use time::OffsetDateTime;

use crate::cli::{SummaryFormat, VerifyArgs};
use crate::{Outcome, UsageError};

pub fn run(a: &VerifyArgs) -> Result<Outcome> {
    let now = OffsetDateTime::now_utc();
    let time = |s: &Option<String>, flag: &str| -> Result<Option<OffsetDateTime>> {
        s.as_deref()
            .map(|s| cairn_query::time::parse_instant(s, now))
            .transpose()
            .map_err(|e| UsageError(format!("--{flag}: {e}")).into())
    };
    let from = time(&a.from, "from")?;
    let to = time(&a.to, "to")?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(UsageError("--from is after --to".into()).into());
    }
    let url = cairn_source::s3::S3Url::parse(&a.target);
    if url.is_none() && !Path::new(&a.target).is_dir() {
        return Err(UsageError(format!(
            "{} is neither s3://BUCKET[/PREFIX] nor a directory",
            a.target
        ))
        .into());
    }
    let file_keys = match &a.public_keys {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            let keys = PublicKeys::from_list_json(&bytes)
                .map_err(|e| UsageError(format!("{}: {e}", p.display())))?;
            if keys.is_empty() {
                return Err(UsageError(format!("{}: no public keys in it", p.display())).into());
            }
            Some(keys)
        }
        None => None,
    };
    let mut opts = Options::new(String::new());
    opts.from = from;
    opts.to = to;
    opts.accounts = a.account.clone();
    opts.regions = a.region.clone();
    opts.trail = a.trail.clone();
    opts.org = a.org.clone();
    opts.max_log_bytes = a.max_log_bytes;
    let json = a.format == SummaryFormat::Json;
    let mut out = Printer::new(a.show_valid, json);

    let summary = if let Some(url) = url {
        opts.bucket = url.bucket.clone();
        opts.prefix = url.prefix.trim_matches('/').to_string();
        opts.threads = a.threads.unwrap_or(16).max(1);
        opts.signatures_required = true;
        let rt = cairn_source::aws::runtime().context("starting the AWS runtime")?;
        let aws = a.aws.options(a.aws_region.clone());
        let mut conf = rt.block_on(cairn_source::aws::sdk_config(&aws));
        if conf.region().is_none() {
            conf = conf
                .to_builder()
                .region(aws_config::Region::new("us-east-1"))
                .build();
        }
        let client = cairn_source::aws::s3_client(&conf, &aws);
        let attempts = aws
            .max_attempts
            .unwrap_or(cairn_source::aws::DEFAULT_MAX_ATTEMPTS);
        let bucket = cairn_source::integrity::S3Bucket::new(
            client,
            rt.handle().clone(),
            &url.bucket,
            attempts,
        );
        out.header(&a.target, from, to);
        let online = cairn_source::integrity::CloudTrailKeys::new(conf, rt.handle().clone());
        match &file_keys {
            Some(k) => cairn_integrity::verify(&bucket, k, &opts, &mut out),
            None => cairn_integrity::verify(&bucket, &online, &opts, &mut out),
        }
    } else {
        let dir = PathBuf::from(&a.target);
        let Some(keys) = file_keys else {
            return Err(UsageError(
                "offline verification needs --public-keys FILE (the output of `aws cloudtrail list-public-keys`)".into(),
            )
            .into());
        };
        let (root, prefix) = bucket_root(&dir);
        opts.prefix = prefix;
        opts.threads = a
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
            .max(1);
        opts.signatures_required = false;
        opts.bucket = match &a.bucket {
            Some(b) => b.clone(),
            None => recorded_bucket(&root).unwrap_or_else(|| "bucket".into()),
        };
        out.header(&a.target, from, to);
        cairn_integrity::verify(&LocalBucket::new(root), &keys, &opts, &mut out)
    };
    let summary = summary.map_err(|e| anyhow::anyhow!(e))?;
    out.finish(&summary)?;
    Ok(if summary.any_invalid() {
        Outcome::InputFailed
    } else {
        Outcome::Ok
    })
}

/// Whether a local source holds digest files (a quick look: a `CloudTrail-Digest` folder).
pub fn has_digests(p: &Path) -> bool {
    p.is_dir() && recorded_bucket(p).is_some()
}

/// A local source as a bucket copy: its root, key prefix and bucket name. `None` for a file.
pub fn local_layout(p: &Path) -> Option<(PathBuf, String, String)> {
    if !p.is_dir() {
        return None;
    }
    let (root, prefix) = bucket_root(p);
    let bucket = recorded_bucket(&root)?;
    Some((root, prefix, bucket))
}

/// The directory that stands for the bucket's root, and the key prefix before `AWSLogs/`.
fn bucket_root(dir: &Path) -> (PathBuf, String) {
    // Given the AWSLogs folder itself (or one inside it), the root is above it.
    let parts: Vec<_> = dir.components().collect();
    if let Some(i) = parts.iter().rposition(|c| c.as_os_str() == "AWSLogs") {
        return (parts[..i].iter().collect(), String::new());
    }
    if dir.join("AWSLogs").is_dir() {
        return (dir.to_path_buf(), String::new());
    }
    // A prefix: the shallowest AWSLogs folder below, up to four levels down.
    let mut level = vec![dir.to_path_buf()];
    for _ in 0..4 {
        let mut next = Vec::new();
        for d in level {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            let mut subdirs: Vec<PathBuf> = entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .collect();
            subdirs.sort();
            for s in subdirs {
                if s.join("AWSLogs").is_dir() {
                    let prefix = s
                        .strip_prefix(dir)
                        .map(|p| p.to_string_lossy().replace('\\', "/"))
                        .unwrap_or_default();
                    return (dir.to_path_buf(), prefix);
                }
                next.push(s);
            }
        }
        level = next;
    }
    (dir.to_path_buf(), String::new())
}

/// The bucket name the first digest under `root` records.
fn recorded_bucket(root: &Path) -> Option<String> {
    fn find(dir: &Path, depth: u32) -> Option<PathBuf> {
        if depth > 12 {
            return None;
        }
        let mut entries: Vec<_> = std::fs::read_dir(dir).ok()?.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if e.file_type().ok()?.is_dir() {
                if let Some(f) = find(&p, depth + 1) {
                    return Some(f);
                }
            } else if name.contains("_CloudTrail-Digest_") && name.ends_with(".json.gz") {
                return Some(p);
            }
        }
        None
    }
    let path = find(root, 0)?;
    let file = std::fs::File::open(path).ok()?;
    let (json, _) =
        cairn_model::decode::first_member(std::io::BufReader::new(file), 64 << 20).ok()?;
    Some(cairn_integrity::Digest::parse(&json).ok()?.digest_s3_bucket)
}

/// Prints findings as they come (text), or keeps them for one JSON document; draws a
/// progress bar on a terminal.
struct Printer {
    verbose: bool,
    json: bool,
    findings: Vec<Finding>,
    bar: Option<indicatif::ProgressBar>,
    stdout: std::io::Stdout,
}

impl Printer {
    fn new(verbose: bool, json: bool) -> Printer {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(0),
                indicatif::ProgressDrawTarget::stderr(),
            );
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} objects checked",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar
        });
        Printer {
            verbose,
            json,
            findings: Vec::new(),
            bar,
            stdout: std::io::stdout(),
        }
    }

    fn line(&mut self, s: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| {
                let _ = writeln!(self.stdout, "{s}");
            }),
            None => {
                let _ = writeln!(self.stdout, "{s}");
            }
        }
    }

    fn header(&mut self, target: &str, from: Option<OffsetDateTime>, to: Option<OffsetDateTime>) {
        if self.json {
            return;
        }
        let show = |t: Option<OffsetDateTime>| t.map_or_else(|| "-".into(), display_time);
        let s = format!(
            "Validating log files in {target} between {} and {}\n",
            show(from),
            show(to)
        );
        self.line(&s);
    }

    fn finish(&mut self, summary: &cairn_integrity::Summary) -> Result<()> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let mut out = self.stdout.lock();
        if self.json {
            let doc = serde_json::json!({
                "summary": summary,
                "valid": !summary.any_invalid(),
                "findings": self.findings,
            });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        } else {
            writeln!(out)?;
            write!(out, "{}", summary.text())?;
        }
        out.flush()?;
        Ok(())
    }
}

impl Observer for Printer {
    fn planned(&mut self, digests: u64, logs: u64) {
        if let Some(bar) = &self.bar {
            bar.inc_length(digests + logs);
        }
    }

    fn finding(&mut self, f: &Finding) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        if self.json {
            self.findings.push(f.clone());
        } else if self.verbose || f.verdict != Verdict::Valid {
            let line = f.line();
            self.line(&line);
        }
    }
}

// --- the store's pass: events carry their verification state ------------------------------------

/// Ledger hashes by the key from `AWSLogs/` on, with the object location they belong to.
struct LedgerHashes {
    by_suffix: std::collections::HashMap<String, (String, Option<String>)>,
}

fn suffix(key: &str) -> Option<&str> {
    if key.starts_with("AWSLogs/") {
        return Some(key);
    }
    key.find("/AWSLogs/").map(|i| &key[i + 1..])
}

impl LedgerHashes {
    fn load(store: &cairn_store::Store) -> Result<LedgerHashes> {
        let ledger = store.ledger()?;
        let by_suffix = ledger
            .entries()
            .filter_map(|e| {
                let s = suffix(&e.object)?.to_string();
                Some((s, (e.object.clone(), e.sha256.clone())))
            })
            .collect();
        Ok(LedgerHashes { by_suffix })
    }

    fn location(&self, key: &str) -> Option<&str> {
        self.by_suffix.get(suffix(key)?).map(|(l, _)| l.as_str())
    }
}

impl cairn_integrity::LogHashes for LedgerHashes {
    fn sha256(&self, key: &str) -> Option<String> {
        self.by_suffix.get(suffix(key)?)?.1.clone()
    }
}

/// An object that newly failed verification.
#[derive(Debug, Clone)]
pub struct Failure {
    pub location: String,
    pub account: String,
    pub region: String,
    pub reason: String,
    pub digest: Option<String>,
}

/// What a store pass did.
#[derive(Debug, Clone, Default)]
pub struct StorePass {
    /// The end of the newest valid digest.
    pub newest: Option<OffsetDateTime>,
    pub verified: u64,
    pub failed: u64,
    pub newly_failed: Vec<Failure>,
}

/// Collects the log findings of a store pass.
struct Marks(Vec<Finding>);

impl Observer for Marks {
    fn finding(&mut self, f: &Finding) {
        if f.subject == cairn_integrity::Subject::Log {
            self.0.push(f.clone());
        }
    }
}

/// Verifies a source's digests against the hashes the store computed as it read each file,
/// and records every listed (or unlisted) object's state in `integrity.json`. Reads no log
/// file again.
pub fn store_pass(
    store: &cairn_store::Store,
    bucket: &dyn cairn_integrity::Bucket,
    keys: &dyn cairn_integrity::KeySource,
    opts: &Options,
) -> Result<StorePass> {
    use cairn_store::integrity::{Integrity, ObjectState, State};
    let hashes = LedgerHashes::load(store)?;
    let mut marks = Marks(Vec::new());
    let summary = cairn_integrity::verify_with(bucket, keys, opts, Some(&hashes), &mut marks)
        .map_err(|e| anyhow::anyhow!(e))?;
    let mut integrity = Integrity::load(store.dir())?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut pass = StorePass {
        newest: summary.found_to,
        ..StorePass::default()
    };
    for f in marks.0 {
        let Some(location) = hashes.location(&f.key) else {
            continue;
        };
        let state = match f.verdict {
            Verdict::Valid => State::Verified,
            Verdict::Invalid => State::Failed,
            _ => continue,
        };
        let was = integrity.state(location);
        if state == State::Failed && was != State::Failed {
            pass.newly_failed.push(Failure {
                location: location.to_string(),
                account: f.account.clone(),
                region: f.region.clone(),
                reason: f.detail.clone(),
                digest: f.digest.clone(),
            });
        }
        // A file once failed stays failed: a later digest cannot make it right.
        if was == State::Failed && state == State::Verified {
            continue;
        }
        integrity.objects.insert(
            location.to_string(),
            ObjectState {
                state,
                reason: f.detail,
                digest: f.digest,
                at: now,
            },
        );
    }
    let counts = integrity.counts();
    pass.verified = counts.get(&State::Verified).copied().unwrap_or(0);
    pass.failed = counts.get(&State::Failed).copied().unwrap_or(0);
    integrity.save(store.dir())?;
    Ok(pass)
}
