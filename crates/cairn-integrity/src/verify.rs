//! Walking a bucket's digest chains, checking signatures, continuity and every listed file.
//!
//! The walk follows `aws cloudtrail validate-logs`: per chain (account, region, trail), from
//! the newest digest back along `previousDigestS3Object`; a digest that is missing or invalid
//! sends the walk to the next older digest in the listing, and a chain that restarts
//! (`previous*` null) is a gap, not an error. On top of that it checks what the CLI does not:
//! each digest's hash and signature against what the next digest recorded, how many
//! consecutive digests are missing, listed digests the chain skips, log files the bucket
//! holds that no digest lists, and listed files outside the digest's account and region.
//!
//! Objects are fetched on a pool of threads, and log files are hashed as a stream, so memory
//! holds one chain's digests and a buffer per thread, whatever the size of the files.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, BufReader, Read};
use std::time::Duration;

use cairn_model::{KeyInfo, ObjectKind, Route, route};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use crate::digest::{Digest, hex, sha256_hex, unhex};
use crate::keys::{PublicKeys, verify_signature};
use crate::report::{Finding, Problem, Subject, Summary, Verdict, display_time};

/// Why an object could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BucketError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Other(String),
}

/// A digest object: its bytes as stored, and the signature S3 keeps beside it.
#[derive(Debug, Clone, Default)]
pub struct DigestObject {
    pub bytes: Vec<u8>,
    /// `x-amz-meta-signature` (hex), or an offline copy's `.signature` sidecar.
    pub signature: Option<String>,
    /// `x-amz-meta-signature-algorithm`.
    pub signature_algorithm: Option<String>,
}

/// Where the objects are: an S3 bucket, or a local copy of one.
pub trait Bucket: Sync {
    /// Folder names directly under `prefix` (which ends with `/`), without slashes.
    fn folders(&self, prefix: &str) -> Result<Vec<String>, BucketError>;
    /// Every key under `prefix`, sorted, only those after `start_after` when given.
    fn list(&self, prefix: &str, start_after: Option<&str>) -> Result<Vec<String>, BucketError>;
    /// A digest and its signature.
    fn digest(&self, key: &str) -> Result<DigestObject, BucketError>;
    /// Opens a log file, to be read once.
    fn open(&self, key: &str) -> Result<Box<dyn Read + Send + '_>, BucketError>;
}

/// Where public keys come from: CloudTrail's `ListPublicKeys` in the region, or a file.
pub trait KeySource: Sync {
    fn keys(
        &self,
        region: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<PublicKeys, String>;
}

/// Hashes a store already computed as it read each file, so that verifying against it reads
/// no log file again.
pub trait LogHashes: Sync {
    /// The SHA-256 the store computed for the file at `key` (its key in the bucket), or
    /// `None` when the store has not read it (the file is then `unverified`, not invalid).
    fn sha256(&self, key: &str) -> Option<String>;
}

/// A fixed key list (`--public-keys FILE`) serves every region.
impl KeySource for PublicKeys {
    fn keys(&self, _: &str, _: OffsetDateTime, _: OffsetDateTime) -> Result<PublicKeys, String> {
        Ok(self.clone())
    }
}

/// What to verify, and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The bucket's name, as lines show it (`s3://NAME/key`) and as digests record it.
    pub bucket: String,
    /// Key prefix before `AWSLogs/`, without slashes at the ends ("" for none).
    pub prefix: String,
    /// Digests ending from `from` up to an hour after `to` (as the AWS CLI chooses them).
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    /// A trail name (or ARN: its last part is used).
    pub trail: Option<String>,
    pub org: Option<String>,
    /// Whether a digest without a signature is invalid (online, where S3 metadata must carry
    /// it) or unverified (an offline copy, which loses metadata).
    pub signatures_required: bool,
    /// Threads fetching and hashing.
    pub threads: usize,
    /// Most decompressed bytes of one log file, and of one digest.
    pub max_log_bytes: u64,
    pub max_digest_bytes: u64,
    /// A log file delivered this long before the newest digest's end and listed by none is
    /// reported; newer ones may still be listed by a digest not yet written.
    pub unlisted_grace: Duration,
}

impl Options {
    pub fn new(bucket: impl Into<String>) -> Options {
        Options {
            bucket: bucket.into(),
            prefix: String::new(),
            from: None,
            to: None,
            accounts: Vec::new(),
            regions: Vec::new(),
            trail: None,
            org: None,
            signatures_required: true,
            threads: 8,
            max_log_bytes: cairn_model::Limits::default().max_object_bytes,
            max_digest_bytes: 256 << 20,
            unlisted_grace: Duration::from_secs(15 * 60),
        }
    }
}

/// Told about the work as it goes.
pub trait Observer {
    /// More objects to check were planned.
    fn planned(&mut self, _digests: u64, _logs: u64) {}
    /// One finding, in the order they are made.
    fn finding(&mut self, f: &Finding);
}

/// Why a verification could not run at all (as opposed to what it found).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("listing s3://{bucket}/{prefix}: {reason}")]
    List {
        bucket: String,
        prefix: String,
        reason: String,
    },
    #[error("public keys for {region}: {reason}")]
    Keys { region: String, reason: String },
}

/// Verifies everything `opts` selects in `bucket`.
pub fn verify(
    bucket: &dyn Bucket,
    keys: &dyn KeySource,
    opts: &Options,
    observer: &mut dyn Observer,
) -> Result<Summary, VerifyError> {
    verify_with(bucket, keys, opts, None, observer)
}

/// [`verify`], taking log-file hashes from `hashes` instead of reading the files. Log files
/// listed by an invalid digest are then reported too (as invalid: nothing proves them), since
/// a store must mark them.
pub fn verify_with(
    bucket: &dyn Bucket,
    keys: &dyn KeySource,
    opts: &Options,
    hashes: Option<&dyn LogHashes>,
    observer: &mut dyn Observer,
) -> Result<Summary, VerifyError> {
    let mut run = Run {
        bucket,
        keys,
        opts,
        hashes,
        observer,
        summary: Summary {
            requested_from: opts.from,
            requested_to: opts.to,
            ..Summary::default()
        },
        key_cache: HashMap::new(),
    };
    let scopes = run.discover()?;
    let listings = par_map(opts.threads, scopes, |scope| {
        let digests = list_folder(bucket, opts, &scope, "CloudTrail-Digest");
        let logs = list_folder(bucket, opts, &scope, "CloudTrail");
        (scope, digests, logs)
    });
    let mut listed = Vec::with_capacity(listings.len());
    for (scope, digests, logs) in listings {
        listed.push((scope, digests?, logs?));
    }
    listed.sort_by(|a, b| a.0.cmp(&b.0));
    for (scope, digests, logs) in listed {
        run.scope(&scope, digests, logs)?;
    }
    Ok(run.summary)
}

/// One account and region: `<prefix>/AWSLogs/[<org>/]<account>/` and the region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Scope {
    base: String,
    account: String,
    region: String,
}

struct Run<'a> {
    bucket: &'a dyn Bucket,
    keys: &'a dyn KeySource,
    opts: &'a Options,
    hashes: Option<&'a dyn LogHashes>,
    observer: &'a mut dyn Observer,
    summary: Summary,
    key_cache: HashMap<String, PublicKeys>,
}

/// A listed digest: its name's time, key and what the key says.
type Listed = (OffsetDateTime, String, KeyInfo);

/// A digest as fetched and checked for format.
struct Fetched {
    key: String,
    info: KeyInfo,
    /// The name's time (the digest's end).
    at: OffsetDateTime,
    outcome: Result<Loaded, (Problem, String)>,
}

struct Loaded {
    digest: Digest,
    sha256: String,
    signature: Option<String>,
    signature_algorithm: Option<String>,
}

/// What the newer digest that points at this one recorded about it.
#[derive(Clone)]
struct Child {
    hash: Option<String>,
    signature: Option<String>,
}

/// A log file to hash, and what listed it.
struct LogJob {
    key: String,
    expected: String,
    digest: String,
    trail: String,
    verdict_if_ok: Verdict,
    scope_problem: Option<String>,
    other_bucket: Option<String>,
}

impl Run<'_> {
    fn emit(&mut self, f: Finding) {
        self.summary.add(&f);
        self.observer.finding(&f);
    }

    fn list_error(&self, prefix: &str, e: BucketError) -> VerifyError {
        VerifyError::List {
            bucket: self.opts.bucket.clone(),
            prefix: prefix.to_string(),
            reason: e.to_string(),
        }
    }

    /// The account folders under `AWSLogs/` (and organization folders), filtered, with the
    /// regions that have digests.
    fn discover(&mut self) -> Result<Vec<Scope>, VerifyError> {
        let opts = self.opts;
        let prefix = opts.prefix.trim_matches('/');
        let root = if prefix.is_empty() {
            "AWSLogs/".to_string()
        } else {
            format!("{prefix}/AWSLogs/")
        };
        let folders = self
            .bucket
            .folders(&root)
            .map_err(|e| self.list_error(&root, e))?;
        let mut bases = Vec::new();
        for f in folders {
            if f.starts_with("o-") {
                if opts.org.as_ref().is_some_and(|o| *o != f) {
                    continue;
                }
                let org_root = format!("{root}{f}/");
                let accounts = self
                    .bucket
                    .folders(&org_root)
                    .map_err(|e| self.list_error(&org_root, e))?;
                for a in accounts.into_iter().filter(|a| is_account(a)) {
                    bases.push((format!("{org_root}{a}/"), a));
                }
            } else if is_account(&f) && opts.org.is_none() {
                bases.push((format!("{root}{f}/"), f));
            }
        }
        bases.retain(|(_, a)| opts.accounts.is_empty() || opts.accounts.contains(a));
        let mut scopes = Vec::new();
        for (base, account) in bases {
            let digests = format!("{base}CloudTrail-Digest/");
            let regions = self
                .bucket
                .folders(&digests)
                .map_err(|e| self.list_error(&digests, e))?;
            for region in regions {
                if opts.regions.is_empty() || opts.regions.contains(&region) {
                    scopes.push(Scope {
                        base: base.clone(),
                        account: account.clone(),
                        region,
                    });
                }
            }
        }
        Ok(scopes)
    }

    fn scope(
        &mut self,
        scope: &Scope,
        digest_keys: Vec<String>,
        log_keys: Vec<String>,
    ) -> Result<(), VerifyError> {
        let opts = self.opts;
        let trail = opts
            .trail
            .as_deref()
            .map(|t| t.rsplit('/').next().unwrap_or(t));
        // Chains: (trail, home region, backfill) -> keys in time order.
        let mut chains: BTreeMap<(String, String, bool), Vec<Listed>> = BTreeMap::new();
        for key in digest_keys {
            let Route::CloudTrail(info) = route(&key) else {
                continue;
            };
            let (Some(t), Some(home), Some(at)) =
                (info.trail.clone(), info.home_region.clone(), info.delivered)
            else {
                continue;
            };
            if info.kind != ObjectKind::Digest || info.region != scope.region {
                continue;
            }
            if trail.is_some_and(|want| want != t) {
                continue;
            }
            if opts.from.is_some_and(|f| at < f)
                || opts.to.is_some_and(|to| at > to + time::Duration::hours(1))
            {
                continue;
            }
            chains
                .entry((t, home, info.backfill))
                .or_default()
                .push((at, key, info));
        }
        let mut listed_logs: HashSet<String> = HashSet::new();
        let mut coverage: Vec<(OffsetDateTime, OffsetDateTime)> = Vec::new();
        let mut jobs = Vec::new();
        for ((trail, home, backfill), mut keys) in chains {
            keys.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
            self.observer.planned(keys.len() as u64, 0);
            let fetched = self.fetch_digests(keys);
            for f in &fetched {
                if let Ok(l) = &f.outcome {
                    listed_logs.extend(l.digest.log_files.iter().map(|x| x.s3_object.clone()));
                }
            }
            let subject = if backfill {
                Subject::BackfillDigest
            } else {
                Subject::Digest
            };
            coverage.extend(self.walk_chain(scope, &trail, &home, subject, fetched, &mut jobs)?);
        }
        self.observer.planned(0, jobs.len() as u64);
        self.hash_logs(scope, jobs);
        self.unlisted(scope, &log_keys, &listed_logs, &coverage);
        Ok(())
    }

    fn fetch_digests(&self, keys: Vec<Listed>) -> Vec<Fetched> {
        let bucket = self.bucket;
        let max = self.opts.max_digest_bytes;
        par_map(self.opts.threads, keys, |(at, key, info)| {
            let outcome = load_digest(bucket, &key, max);
            Fetched {
                key,
                info,
                at,
                outcome,
            }
        })
    }

    fn public_keys(
        &mut self,
        region: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<PublicKeys, VerifyError> {
        if let Some(k) = self.key_cache.get(region) {
            return Ok(k.clone());
        }
        let keys = self
            .keys
            .keys(region, from, to)
            .map_err(|reason| VerifyError::Keys {
                region: region.to_string(),
                reason,
            })?;
        self.key_cache.insert(region.to_string(), keys.clone());
        Ok(keys)
    }

    /// Walks one chain newest to oldest; returns the windows of its valid digests.
    fn walk_chain(
        &mut self,
        scope: &Scope,
        trail: &str,
        home: &str,
        subject: Subject,
        mut fetched: Vec<Fetched>,
        jobs: &mut Vec<LogJob>,
    ) -> Result<Vec<(OffsetDateTime, OffsetDateTime)>, VerifyError> {
        fetched.sort_by(|a, b| (a.at, &a.key).cmp(&(b.at, &b.key)));
        let (Some(oldest), Some(newest)) = (fetched.first(), fetched.last()) else {
            return Ok(Vec::new());
        };
        let keys = self.public_keys(
            &scope.region,
            oldest.at - time::Duration::hours(2),
            newest.at + time::Duration::hours(2),
        )?;
        let index: HashMap<String, usize> = fetched
            .iter()
            .enumerate()
            .map(|(i, f)| (f.key.clone(), i))
            .collect();
        let mut visited = vec![false; fetched.len()];
        let next_older = |visited: &[bool], before: OffsetDateTime| -> Option<usize> {
            (0..fetched.len())
                .rev()
                .find(|&i| !visited[i] && fetched[i].at < before)
        };
        let mut covered: Vec<(OffsetDateTime, OffsetDateTime)> = Vec::new();
        let base = Finding {
            subject,
            verdict: Verdict::Valid,
            problem: None,
            bucket: self.opts.bucket.clone(),
            key: String::new(),
            detail: String::new(),
            account: scope.account.clone(),
            region: scope.region.clone(),
            trail: Some(trail.to_string()),
            digest: None,
            expected_sha256: None,
            count: None,
        };
        // The cursor: a key to look at, and what the newer digest said about it.
        let mut cursor: Option<(String, Option<Child>)> = Some((newest.key.clone(), None));
        while let Some((key, child)) = cursor.take() {
            let Some(&i) = index.get(&key) else {
                // Named by the newer digest, absent from the bucket.
                let missing_at = digest_time(&key);
                self.emit(Finding {
                    key: key.clone(),
                    verdict: Verdict::Invalid,
                    problem: Some(Problem::NotFound),
                    detail: "not found".into(),
                    ..base.clone()
                });
                let next = missing_at.and_then(|t| next_older(&visited, t));
                if let (Some(n), Some(missing_end)) = (next, missing_at)
                    && let Ok(l) = &fetched[n].outcome
                    && let Ok(older_end) = l.digest.end()
                {
                    let hours = ((missing_end - older_end).as_seconds_f64() / 3600.0).round();
                    if hours >= 2.0 {
                        self.emit(Finding {
                            subject: Subject::Chain,
                            key: digest_folder(&key),
                            verdict: Verdict::Invalid,
                            problem: Some(Problem::ConsecutiveDigestsMissing),
                            detail: format!(
                                "{} consecutive digest files not found between {} and {} (the AWS CLI reports only the first)",
                                hours as u64,
                                display_time(older_end),
                                display_time(missing_end)
                            ),
                            count: Some(hours as u64 - 1),
                            ..base.clone()
                        });
                    }
                }
                if let Some(t) = missing_at
                    && self.opts.from.is_some_and(|f| t < f)
                {
                    break;
                }
                cursor = next.map(|n| (fetched[n].key.clone(), None));
                continue;
            };
            visited[i] = true;
            let f = &fetched[i];
            let checked = check_digest(
                f,
                &self.opts.bucket,
                &keys,
                home,
                child.as_ref(),
                self.opts.signatures_required,
            );
            let mut finding = Finding {
                key: f.key.clone(),
                ..base.clone()
            };
            let start = f.outcome.as_ref().ok().and_then(|l| l.digest.start().ok());
            match checked {
                Ok(verdict) => {
                    let l = f.outcome.as_ref().expect("checked digests are loaded");
                    finding.verdict = verdict;
                    if verdict == Verdict::Unverified {
                        finding.problem = Some(Problem::NoSignature);
                        finding.detail = "no signature to check (no S3 metadata, no .signature file, no later digest)".into();
                    }
                    let (s, e) = (
                        l.digest.start().expect("parsed"),
                        l.digest.end().expect("parsed"),
                    );
                    if verdict == Verdict::Valid {
                        self.summary.found(s, e);
                        covered.push((s, e));
                    }
                    self.emit(finding);
                    let log_verdict = if verdict == Verdict::Valid {
                        Verdict::Valid
                    } else {
                        Verdict::Unverified
                    };
                    for lf in &l.digest.log_files {
                        jobs.push(LogJob {
                            key: lf.s3_object.clone(),
                            expected: lf.hash_value.to_ascii_lowercase(),
                            digest: f.key.clone(),
                            trail: trail.to_string(),
                            verdict_if_ok: log_verdict,
                            scope_problem: scope_problem(&l.digest, &scope.region, &lf.s3_object),
                            other_bucket: (lf.s3_bucket != self.opts.bucket)
                                .then(|| lf.s3_bucket.clone()),
                        });
                    }
                    if l.digest.starts_chain() {
                        let next = next_older(&visited, f.at);
                        if let Some(n) = next {
                            let next_end = fetched[n]
                                .outcome
                                .as_ref()
                                .ok()
                                .and_then(|x| x.digest.end().ok())
                                .unwrap_or(fetched[n].at);
                            self.emit(Finding {
                                subject: Subject::Chain,
                                key: digest_folder(&f.key),
                                verdict: Verdict::Notice,
                                problem: Some(Problem::ChainRestart),
                                detail: format!(
                                    "{}No log files were delivered by CloudTrail between {} and {}",
                                    if subject == Subject::BackfillDigest {
                                        "(backfill) "
                                    } else {
                                        ""
                                    },
                                    display_time(next_end),
                                    display_time(s)
                                ),
                                ..base.clone()
                            });
                        }
                        cursor = next.map(|n| (fetched[n].key.clone(), None));
                    } else {
                        let prev = l
                            .digest
                            .previous_digest_s3_object
                            .clone()
                            .expect("not first");
                        cursor = Some((
                            prev,
                            Some(Child {
                                hash: l.digest.previous_digest_hash_value.clone(),
                                signature: l.digest.previous_digest_signature.clone(),
                            }),
                        ));
                    }
                }
                Err((problem, detail)) => {
                    finding.verdict = Verdict::Invalid;
                    finding.problem = Some(problem);
                    finding.detail = detail.clone();
                    self.emit(finding);
                    if self.hashes.is_some()
                        && let Ok(l) = &f.outcome
                    {
                        for lf in &l.digest.log_files {
                            self.emit(Finding {
                                subject: Subject::Log,
                                verdict: Verdict::Invalid,
                                problem: Some(Problem::DigestInvalid),
                                key: lf.s3_object.clone(),
                                detail: format!("listed by an invalid digest ({detail})"),
                                digest: Some(f.key.clone()),
                                expected_sha256: Some(lf.hash_value.clone()),
                                ..base.clone()
                            });
                        }
                    }
                    let next = next_older(&visited, f.at);
                    cursor = next.map(|n| (fetched[n].key.clone(), None));
                }
            }
            if let Some(from) = self.opts.from
                && start.unwrap_or(f.at) < from
            {
                break;
            }
        }
        // Listed digests the walk never reached: the chain skips them.
        let from = self.opts.from;
        for (i, f) in fetched.iter().enumerate() {
            if visited[i] || from.is_some_and(|from| f.at < from + time::Duration::hours(1)) {
                continue;
            }
            let mut finding = Finding {
                key: f.key.clone(),
                verdict: Verdict::Invalid,
                ..base.clone()
            };
            match check_digest(
                f,
                &self.opts.bucket,
                &keys,
                home,
                None,
                self.opts.signatures_required,
            ) {
                Ok(_) => {
                    finding.problem = Some(Problem::NotInChain);
                    finding.detail = "not part of the chain: no later digest refers to it".into();
                }
                Err((problem, detail)) => {
                    finding.problem = Some(problem);
                    finding.detail = detail;
                }
            }
            self.emit(finding);
        }
        Ok(covered)
    }

    fn hash_logs(&mut self, scope: &Scope, jobs: Vec<LogJob>) {
        let bucket = self.bucket;
        let max = self.opts.max_log_bytes;
        let known = self.hashes;
        let results = par_map(self.opts.threads, jobs, |job| {
            let result = if job.other_bucket.is_some() {
                None
            } else if let Some(h) = known {
                Some(
                    h.sha256(&job.key)
                        .map(|h| (h, 0))
                        .ok_or((Problem::NotIngested, "not in the store (yet)".to_string())),
                )
            } else {
                Some(hash_log(bucket, &job.key, max))
            };
            (job, result)
        });
        for (job, result) in results {
            let mut f = Finding {
                subject: Subject::Log,
                verdict: job.verdict_if_ok,
                problem: None,
                bucket: job
                    .other_bucket
                    .clone()
                    .unwrap_or_else(|| self.opts.bucket.clone()),
                key: job.key.clone(),
                detail: String::new(),
                account: scope.account.clone(),
                region: scope.region.clone(),
                trail: Some(job.trail.clone()),
                digest: Some(job.digest.clone()),
                expected_sha256: Some(job.expected.clone()),
                count: None,
            };
            match result {
                None => {
                    f.verdict = Verdict::Unverified;
                    f.detail = "in another bucket, not checked".into();
                }
                Some(Ok((hash, bytes))) => {
                    self.summary.log_bytes += bytes;
                    if hash != job.expected {
                        f.verdict = Verdict::Invalid;
                        f.problem = Some(Problem::HashMismatch);
                        f.detail = "hash value doesn't match".into();
                    } else if let Some(why) = job.scope_problem {
                        f.verdict = Verdict::Invalid;
                        f.problem = Some(Problem::OutsideDigestScope);
                        f.detail = why;
                    } else if f.verdict == Verdict::Unverified {
                        f.detail = "listed only by an unverified digest".into();
                    }
                }
                Some(Err((Problem::NotIngested, detail))) => {
                    f.verdict = Verdict::Unverified;
                    f.problem = Some(Problem::NotIngested);
                    f.detail = detail;
                }
                Some(Err((problem, detail))) => {
                    f.verdict = Verdict::Invalid;
                    f.problem = Some(problem);
                    f.detail = detail;
                }
            }
            self.emit(f);
        }
    }

    /// Log files of this account and region that no digest lists, though valid digests cover
    /// their delivery time and the grace period after it (a file named just before a window
    /// ends may be listed by the next digest).
    fn unlisted(
        &mut self,
        scope: &Scope,
        log_keys: &[String],
        listed: &HashSet<String>,
        windows: &[(OffsetDateTime, OffsetDateTime)],
    ) {
        let grace = self.opts.unlisted_grace;
        let covered = |t: OffsetDateTime| windows.iter().any(|(s, e)| *s <= t && t < *e);
        for key in log_keys {
            if listed.contains(key) {
                continue;
            }
            let Route::CloudTrail(info) = route(key) else {
                continue;
            };
            if info.kind != ObjectKind::Log || info.region != scope.region {
                continue;
            }
            let Some(at) = info.delivered else { continue };
            if !covered(at) || !covered(at + grace) {
                continue;
            }
            self.emit(Finding {
                subject: Subject::Log,
                verdict: Verdict::Invalid,
                problem: Some(Problem::NotListed),
                bucket: self.opts.bucket.clone(),
                key: key.clone(),
                detail: "not listed in any digest".into(),
                account: scope.account.clone(),
                region: scope.region.clone(),
                trail: None,
                digest: None,
                expected_sha256: None,
                count: None,
            });
        }
    }
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Keys under `<base><service>/<region>/`, from a day before `from` on.
fn list_folder(
    bucket: &dyn Bucket,
    opts: &Options,
    scope: &Scope,
    service: &str,
) -> Result<Vec<String>, VerifyError> {
    let prefix = format!("{}{service}/{}/", scope.base, scope.region);
    let start_after = opts.from.map(|f| {
        let d = (f - time::Duration::days(1)).date();
        format!(
            "{prefix}{:04}/{:02}/{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        )
    });
    bucket
        .list(&prefix, start_after.as_deref())
        .map_err(|e| VerifyError::List {
            bucket: opts.bucket.clone(),
            prefix,
            reason: e.to_string(),
        })
}

/// The time in a digest key's name.
fn digest_time(key: &str) -> Option<OffsetDateTime> {
    match route(key) {
        Route::CloudTrail(info) => info.delivered,
        _ => None,
    }
}

/// The folder a digest key is in (`.../CloudTrail-Digest/<region>/`).
fn digest_folder(key: &str) -> String {
    match key.find("/CloudTrail-Digest/") {
        Some(i) => {
            let rest = &key[i + "/CloudTrail-Digest/".len()..];
            let region = rest.split('/').next().unwrap_or("");
            format!("{}/CloudTrail-Digest/{region}/", &key[..i])
        }
        None => key.to_string(),
    }
}

/// A listed log file outside the digest's account or region.
fn scope_problem(digest: &Digest, region: &str, log_key: &str) -> Option<String> {
    match route(log_key) {
        Route::CloudTrail(info) if info.kind == ObjectKind::Log => {
            if info.account != digest.aws_account_id || info.region != region {
                Some(format!(
                    "listed by a digest of account {} in {region}, but it is a file of account {} in {}",
                    digest.aws_account_id, info.account, info.region
                ))
            } else {
                None
            }
        }
        _ => Some(format!(
            "listed by a digest of account {} in {region}, but it is not a CloudTrail log file key",
            digest.aws_account_id
        )),
    }
}

fn load_digest(bucket: &dyn Bucket, key: &str, max: u64) -> Result<Loaded, (Problem, String)> {
    let obj = match bucket.digest(key) {
        Ok(o) => o,
        Err(BucketError::NotFound) => return Err((Problem::NotFound, "not found".into())),
        Err(BucketError::Other(e)) => {
            return Err((Problem::Unreadable, format!("cannot read: {e}")));
        }
    };
    let invalid = || (Problem::InvalidFormat, "invalid format".to_string());
    let (json, trailing) =
        cairn_model::decode::first_member(obj.bytes.as_slice(), max).map_err(|_| invalid())?;
    if trailing > 0 {
        return Err(invalid());
    }
    let digest = Digest::parse(&json).map_err(|_| invalid())?;
    Ok(Loaded {
        sha256: sha256_hex(&json),
        digest,
        signature: obj.signature,
        signature_algorithm: obj.signature_algorithm,
    })
}

/// The checks on one digest, in the order the AWS CLI makes them, then cairn's own.
fn check_digest(
    f: &Fetched,
    bucket: &str,
    keys: &PublicKeys,
    home: &str,
    child: Option<&Child>,
    signatures_required: bool,
) -> Result<Verdict, (Problem, String)> {
    let l = f.outcome.as_ref().map_err(|e| e.clone())?;
    let d = &l.digest;
    if d.digest_s3_bucket != bucket || d.digest_s3_object != f.key {
        return Err((
            Problem::Moved,
            "has been moved from its original location".into(),
        ));
    }
    if d.aws_account_id != f.info.account {
        return Err((
            Problem::Moved,
            format!(
                "has been moved from its original location (it is a digest of account {})",
                d.aws_account_id
            ),
        ));
    }
    let fp = &d.digest_public_key_fingerprint;
    let Some(key) = keys.get(fp) else {
        return Err((
            Problem::PublicKeyNotFound,
            format!("public key not found in region {home} for fingerprint {fp}"),
        ));
    };
    // The signature: S3 metadata or a sidecar; offline, what the next digest recorded. That
    // need not be trusted: it is checked with the key below, and forging it would take
    // CloudTrail's private key.
    let from_child = child.and_then(|c| c.signature.clone());
    let signature = match (&l.signature, &from_child) {
        (Some(s), _) => Some(s.clone()),
        (None, Some(s)) if !signatures_required => Some(s.clone()),
        _ => None,
    };
    let verdict = match signature {
        None if signatures_required => {
            return Err((
                Problem::SignatureFailed,
                "signature verification failed".into(),
            ));
        }
        None => Verdict::Unverified,
        Some(sig) => {
            if l.signature_algorithm
                .as_deref()
                .is_some_and(|a| a != "SHA256withRSA")
            {
                return Err((
                    Problem::SignatureFailed,
                    "signature verification failed".into(),
                ));
            }
            let ok = unhex(&sig).is_some_and(|bytes| {
                verify_signature(&key.der, d.string_to_sign(&l.sha256).as_bytes(), &bytes)
            });
            if !ok {
                return Err((
                    Problem::SignatureFailed,
                    "signature verification failed".into(),
                ));
            }
            Verdict::Valid
        }
    };
    // Continuity with the newer digest.
    if let Some(c) = child {
        if c.hash
            .as_ref()
            .is_some_and(|h| !h.eq_ignore_ascii_case(&l.sha256))
        {
            return Err((
                Problem::ChainMismatch,
                "hash value doesn't match the next digest's previousDigestHashValue".into(),
            ));
        }
        if let (Some(recorded), Some(own)) = (&c.signature, &l.signature)
            && !recorded.eq_ignore_ascii_case(own)
        {
            return Err((
                Problem::ChainMismatch,
                "signature doesn't match the next digest's previousDigestSignature".into(),
            ));
        }
    }
    Ok(verdict)
}

/// Hashes a log file's first gzip member as a stream: its SHA-256 and uncompressed size.
pub fn hash_log(
    bucket: &dyn Bucket,
    key: &str,
    max: u64,
) -> Result<(String, u64), (Problem, String)> {
    let reader = match bucket.open(key) {
        Ok(r) => r,
        Err(BucketError::NotFound) => return Err((Problem::NotFound, "not found".into())),
        Err(BucketError::Other(e)) => {
            return Err((Problem::Unreadable, format!("cannot read: {e}")));
        }
    };
    hash_stream(reader, max)
}

/// [`hash_log`] over any reader.
pub fn hash_stream(reader: impl Read, max: u64) -> Result<(String, u64), (Problem, String)> {
    let invalid = || (Problem::InvalidFormat, "invalid format".to_string());
    let mut member =
        cairn_model::decode::FirstMember::new(BufReader::with_capacity(64 << 10, reader), max)
            .map_err(|_| invalid())?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    let mut total = 0u64;
    loop {
        match member.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if cairn_model::decode::is_cap_exceeded(&e) => {
                return Err((
                    Problem::InvalidFormat,
                    format!("invalid format: more than {max} decompressed bytes"),
                ));
            }
            Err(_) => return Err(invalid()),
        }
    }
    if member.trailing(1).map_err(|_| invalid())? > 0 {
        return Err((
            Problem::TrailingBytes,
            "unexpected data after end of compressed stream".into(),
        ));
    }
    Ok((hex(&hasher.finalize()), total))
}

/// Runs `f` over `items` on up to `threads` threads; results in input order.
fn par_map<T: Send, R: Send>(threads: usize, items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let n = items.len();
    if n == 0 {
        return Vec::new();
    }
    let threads = threads.clamp(1, n);
    if threads == 1 {
        return items.into_iter().map(f).collect();
    }
    let (tx, rx) = crossbeam_channel::bounded::<(usize, T)>(threads * 2);
    let (rtx, rrx) = crossbeam_channel::unbounded::<(usize, R)>();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let rx = rx.clone();
            let rtx = rtx.clone();
            let f = &f;
            s.spawn(move || {
                for (i, item) in rx {
                    if rtx.send((i, f(item))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(rtx);
        for pair in items.into_iter().enumerate() {
            if tx.send(pair).is_err() {
                break;
            }
        }
        drop(tx);
    });
    let mut out: Vec<Option<R>> = (0..n).map(|_| None).collect();
    for (i, r) in rrx {
        out[i] = Some(r);
    }
    out.into_iter()
        .map(|r| r.expect("every item mapped"))
        .collect()
}
