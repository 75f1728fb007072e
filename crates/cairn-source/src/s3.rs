//! S3 as a source: discovers the CloudTrail layout with delimiter listings instead of listing
//! the whole bucket, remembers how far each partition was read, and streams objects with
//! retries.
//!
//! ```text
//! s3://bucket/prefix/
//!   AWSLogs/ [o-org/] ACCOUNT/ CloudTrail/ REGION/ YYYY/ MM/ DD/ ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_x.json.gz
//!            ^accounts filtered   ^this and CloudTrail-Insight/  ^regions  ^dates pruned by --from/--to and the watermark
//! ```
//!
//! Incremental runs: for every `CloudTrail/REGION/` partition the newest key below which
//! everything was ingested is kept in `s3-watermarks.json` in the data directory. The next run
//! lists only the days from that key's day on, and in that day only the keys after the
//! watermark minus a lookback (an hour by default): a straggler that arrives late with an
//! older name is still found, and the ledger drops what was already read.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use cairn_model::key::{is_account, is_org_id};
use cairn_model::{Object, ObjectMeta, Route, route};
use time::{Date, OffsetDateTime};
use tokio::runtime::Handle;

use crate::aws::describe;
use crate::{Listing, SourceError};

/// `s3://bucket[/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    /// Empty, or ends with `/` unless it names a single object.
    pub prefix: String,
}

impl S3Url {
    pub fn parse(s: &str) -> Option<S3Url> {
        let rest = s.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return None;
        }
        Some(S3Url {
            bucket: bucket.into(),
            prefix: prefix.into(),
        })
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// Which partitions to read.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    /// Files delivered before this hold only older events: not listed.
    pub from: Option<OffsetDateTime>,
    /// Files delivered more than [`TO_SLACK`] after this are not listed.
    pub to: Option<OffsetDateTime>,
}

/// CloudTrail delivers a file up to about 15 minutes after its events; an hour of slack after
/// `--to` keeps the last events of the range.
pub const TO_SLACK: time::Duration = time::Duration::hours(1);

impl Filter {
    fn account(&self, a: &str) -> bool {
        self.accounts.is_empty() || self.accounts.iter().any(|x| x == a)
    }
    fn region(&self, r: &str) -> bool {
        self.regions.is_empty() || self.regions.iter().any(|x| x == r)
    }
    fn delivered(&self, t: OffsetDateTime) -> bool {
        self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|to| t <= to + TO_SLACK)
    }
}

/// Listing work done, to show that listing scales with what is new.
#[derive(Debug, Default)]
pub struct ListStats {
    pub requests: AtomicU64,
    pub keys_listed: AtomicU64,
}

/// How far each partition was read: partition prefix → newest key with every key at or below
/// it ingested.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Watermarks(BTreeMap<String, String>);

/// Tuning of the S3 source.
#[derive(Debug, Clone)]
pub struct S3Options {
    /// Listed again behind each watermark, for files that arrive late with older names.
    pub lookback: time::Duration,
    /// Attempts to resume a body whose connection dropped, from the byte where it broke.
    pub body_attempts: u32,
}

impl Default for S3Options {
    fn default() -> Self {
        S3Options {
            lookback: time::Duration::hours(1),
            body_attempts: 8,
        }
    }
}

/// An S3 prefix to ingest.
pub struct S3Source {
    client: Client,
    rt: Handle,
    url: S3Url,
    filter: Filter,
    opts: S3Options,
    state: Option<PathBuf>,
    watermarks: Watermarks,
    /// What the last listing found, per partition: (key, location), for
    /// [`S3Source::advance`].
    listed: BTreeMap<String, Vec<(String, String)>>,
    pub stats: Arc<ListStats>,
}

impl std::fmt::Debug for S3Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Source").field("url", &self.url).finish()
    }
}

/// What a common prefix in the layout is, by its position after `AWSLogs/`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Level {
    /// Before the anchor: a user's prefix.
    Free,
    /// `AWSLogs/` itself, or an organization id under it: accounts follow.
    Accounts,
    /// `ACCOUNT/`: services follow.
    Services { account: String },
    /// `ACCOUNT/CloudTrail/` (or `CloudTrail-Insight/`): regions follow.
    Regions { account: String, folder: String },
    /// `.../REGION/` and its year and month folders.
    Dates {
        partition: String,
        /// How the partition's file names start: `ACCOUNT_CloudTrail_REGION_`.
        stem: String,
        parts: Vec<u32>,
    },
}

impl S3Source {
    /// `state_dir` keeps the watermarks (the data directory); `None` lists everything.
    pub fn new(
        client: Client,
        rt: Handle,
        url: S3Url,
        filter: Filter,
        opts: S3Options,
        state_dir: Option<&Path>,
    ) -> Result<S3Source, SourceError> {
        let state = state_dir.map(|d| d.join("s3-watermarks.json"));
        let watermarks = match &state {
            Some(p) if p.exists() => {
                let bytes = std::fs::read(p).map_err(|e| SourceError::io(p, e))?;
                serde_json::from_slice(&bytes).map_err(|e| SourceError::State {
                    path: p.clone(),
                    reason: e.to_string(),
                })?
            }
            _ => Watermarks::default(),
        };
        Ok(S3Source {
            client,
            rt,
            url,
            filter,
            opts,
            state,
            watermarks,
            listed: BTreeMap::new(),
            stats: Arc::default(),
        })
    }

    pub fn url(&self) -> &S3Url {
        &self.url
    }

    /// Lists the objects to read.
    pub fn list(&mut self) -> Result<Listing, SourceError> {
        self.listed.clear();
        let rt = self.rt.clone();
        rt.block_on(self.discover())
    }

    /// Moves each partition's watermark past the keys of the last listing that `done` says
    /// were ingested, stopping at the first that was not, and saves the watermarks.
    pub fn advance(&mut self, done: impl Fn(&str) -> bool) -> Result<(), SourceError> {
        for (partition, keys) in &mut self.listed {
            keys.sort();
            let mut mark = None;
            for (key, location) in keys.iter() {
                if !done(location) {
                    break;
                }
                mark = Some(key);
            }
            if let Some(k) = mark {
                let wm = self.watermarks.0.entry(partition.clone()).or_default();
                if k.as_str() > wm.as_str() {
                    *wm = k.clone();
                }
            }
        }
        let Some(path) = &self.state else {
            return Ok(());
        };
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(&self.watermarks).expect("serializes");
        std::fs::write(&tmp, bytes).map_err(|e| SourceError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| SourceError::io(path, e))
    }

    async fn discover(&mut self) -> Result<Listing, SourceError> {
        let mut listing = Listing::default();
        let start = self.url.prefix.clone();
        // A prefix that names one object (no trailing slash, not a folder) is read as is.
        let mut stack = vec![(start.clone(), self.level_of(&start))];
        while let Some((prefix, level)) = stack.pop() {
            let at_day = matches!(&level, Level::Dates { parts, .. } if parts.len() == 3);
            if at_day {
                self.list_day(&prefix, &level, &mut listing).await?;
                continue;
            }
            let (dirs, objects) = self.list_pages(&prefix, true, None).await?;
            for o in objects {
                self.push_object(&mut listing, None, o.key, o.size, o.etag);
            }
            // Depth first, in key order: pushed in reverse.
            for dir in dirs.into_iter().rev() {
                let seg = dir[prefix.len()..].trim_end_matches('/').to_string();
                if let Some(child) = self.child(&level, &dir, &seg) {
                    stack.push((dir, child));
                }
            }
        }
        Ok(listing)
    }

    /// The level of a prefix given by the user (which may start anywhere in the layout).
    fn level_of(&self, prefix: &str) -> Level {
        let segs: Vec<&str> = prefix.split('/').filter(|s| !s.is_empty()).collect();
        let mut level = Level::Free;
        let mut path = String::new();
        for seg in segs {
            path.push_str(seg);
            path.push('/');
            level = match self.child(&level, &path, seg) {
                Some(l) => l,
                // Outside the filter or the layout: list it as a plain prefix.
                None => return Level::Free,
            };
        }
        level
    }

    /// Whether to descend into the folder `seg` (full prefix `dir`) below `level`, and as what.
    fn child(&self, level: &Level, dir: &str, seg: &str) -> Option<Level> {
        match level {
            Level::Free if seg == "AWSLogs" => Some(Level::Accounts),
            Level::Free => Some(Level::Free),
            Level::Accounts if is_org_id(seg) => Some(Level::Accounts),
            Level::Accounts if is_account(seg) => {
                self.filter.account(seg).then(|| Level::Services {
                    account: seg.into(),
                })
            }
            // Anything else under AWSLogs/ is another service's or a marker.
            Level::Accounts => None,
            // Events and Insights events; digests are not events.
            Level::Services { account } => (seg == "CloudTrail" || seg == "CloudTrail-Insight")
                .then(|| Level::Regions {
                    account: account.clone(),
                    folder: seg.to_string(),
                }),
            Level::Regions { account, folder } => {
                let region = seg.replace('_', "-");
                self.filter.region(&region).then(|| Level::Dates {
                    partition: format!("{}/{dir}", self.url.bucket),
                    stem: format!("{account}_{folder}_{region}_"),
                    parts: vec![],
                })
            }
            Level::Dates {
                partition,
                stem,
                parts,
            } if parts.len() < 3 => {
                let n: u32 = seg.parse().ok()?;
                let mut parts = parts.clone();
                parts.push(n);
                self.date_overlaps(partition, &parts).then(|| Level::Dates {
                    partition: partition.clone(),
                    stem: stem.clone(),
                    parts,
                })
            }
            Level::Dates { .. } => None,
        }
    }

    /// The first day a partition still needs: the later of `--from` and the watermark's
    /// time less the lookback.
    fn first_time(&self, partition: &str) -> Option<OffsetDateTime> {
        let wm = self
            .watermarks
            .0
            .get(partition)
            .and_then(|k| key_time(k))
            .map(|t| t - self.opts.lookback);
        match (wm, self.filter.from) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the year, year/month or year/month/day `parts` can hold wanted files.
    fn date_overlaps(&self, partition: &str, parts: &[u32]) -> bool {
        let first = self.first_time(partition).map(|t| t.date());
        let last = self.filter.to.map(|t| (t + TO_SLACK).date());
        let as_tuple = |d: Date| {
            let full = [d.year() as u32, d.month() as u32, u32::from(d.day())];
            full[..parts.len()].to_vec()
        };
        first.is_none_or(|f| parts >= as_tuple(f).as_slice())
            && last.is_none_or(|l| parts <= as_tuple(l).as_slice())
    }

    async fn list_day(
        &mut self,
        prefix: &str,
        level: &Level,
        listing: &mut Listing,
    ) -> Result<(), SourceError> {
        let Level::Dates {
            partition, stem, ..
        } = level
        else {
            unreachable!("list_day is called on day folders");
        };
        // Within the first day, start after the file name of the first time wanted.
        let start_after = self.first_time(partition).and_then(|t| {
            let day = format!("{:04}/{:02}/{:02}/", t.year(), t.month() as u8, t.day());
            prefix.ends_with(&day).then(|| {
                format!(
                    "{prefix}{stem}{:04}{:02}{:02}T{:02}{:02}Z",
                    t.year(),
                    t.month() as u8,
                    t.day(),
                    t.hour(),
                    t.minute()
                )
            })
        });
        let (_, objects) = self
            .list_pages(prefix, false, start_after.as_deref())
            .await?;
        for o in objects {
            self.push_object(listing, Some(partition), o.key, o.size, o.etag);
        }
        Ok(())
    }

    /// Every page of one listing of `prefix`: its folders (with `delimiter`) and objects.
    async fn list_pages(
        &self,
        prefix: &str,
        delimiter: bool,
        start_after: Option<&str>,
    ) -> Result<(Vec<String>, Vec<Listed>), SourceError> {
        let mut dirs = Vec::new();
        let mut objects = Vec::new();
        let mut token = None;
        loop {
            let req = self
                .client
                .list_objects_v2()
                .bucket(&self.url.bucket)
                .prefix(prefix)
                .set_delimiter(delimiter.then(|| "/".to_string()))
                .set_start_after(start_after.map(str::to_string))
                .set_continuation_token(token.take());
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let out = req.send().await.map_err(|e| SourceError::List {
                url: format!("s3://{}/{prefix}", self.url.bucket),
                reason: describe(&e),
            })?;
            dirs.extend(
                out.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_string)),
            );
            objects.extend(out.contents().iter().filter_map(|o| {
                Some(Listed {
                    key: o.key()?.to_string(),
                    size: o.size().map(|s| s as u64),
                    etag: o.e_tag().map(|e| e.trim_matches('"').to_string()),
                })
            }));
            match out.next_continuation_token() {
                Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        dirs.sort();
        Ok((dirs, objects))
    }

    fn push_object(
        &mut self,
        listing: &mut Listing,
        partition: Option<&String>,
        key: String,
        size: Option<u64>,
        etag: Option<String>,
    ) {
        self.stats.keys_listed.fetch_add(1, Ordering::Relaxed);
        if key.ends_with('/') {
            return; // a folder marker
        }
        match route(&key) {
            Route::CloudTrail(k) if k.delivered.is_some_and(|t| !self.filter.delivered(t)) => {
                *listing
                    .skipped
                    .entry("outside --from/--to".into())
                    .or_default() += 1;
                return;
            }
            // Outside the layout, as in a directory walk, only JSON file names are read.
            Route::Loose if !crate::looks_like_json(std::path::Path::new(&key)) => {
                *listing
                    .skipped
                    .entry("not a .json/.json.gz file".into())
                    .or_default() += 1;
                return;
            }
            _ => {}
        }
        let location = format!("s3://{}/{key}", self.url.bucket);
        if let Some(p) = partition {
            self.listed
                .entry(p.clone())
                .or_default()
                .push((key.clone(), location.clone()));
        }
        listing.objects.push(Box::new(S3Object::new(
            self.client.clone(),
            self.rt.clone(),
            &self.url.bucket,
            key,
            size,
            etag.unwrap_or_default(),
            self.opts.body_attempts,
        )));
    }
}

impl crate::Source for S3Source {
    fn list(&mut self) -> Result<Listing, SourceError> {
        S3Source::list(self)
    }
}

/// The delivery time in a CloudTrail file name (`..._20240101T0005Z_...`).
fn key_time(key: &str) -> Option<OffsetDateTime> {
    match route(key) {
        Route::CloudTrail(k) => k.delivered,
        _ => None,
    }
}

/// One key of a listing.
struct Listed {
    key: String,
    size: Option<u64>,
    etag: Option<String>,
}

/// One S3 object, fetched when opened.
pub struct S3Object {
    meta: ObjectMeta,
    client: Client,
    rt: Handle,
    bucket: String,
    attempts: u32,
}

impl S3Object {
    /// `version` is the ETag when known (it makes the ledger notice a rewritten object).
    pub fn new(
        client: Client,
        rt: Handle,
        bucket: &str,
        key: String,
        size: Option<u64>,
        version: String,
        attempts: u32,
    ) -> S3Object {
        S3Object {
            meta: ObjectMeta {
                location: format!("s3://{bucket}/{key}"),
                key,
                size,
                version,
            },
            client,
            rt,
            bucket: bucket.into(),
            attempts,
        }
    }
}

impl Object for S3Object {
    fn meta(&self) -> &ObjectMeta {
        &self.meta
    }

    fn open(self: Box<Self>) -> std::io::Result<Box<dyn Read + Send>> {
        let mut r = Body {
            client: self.client,
            rt: self.rt,
            bucket: self.bucket,
            key: self.meta.key,
            etag: (!self.meta.version.is_empty()).then_some(self.meta.version),
            size: None,
            pos: 0,
            stream: None,
            pending: None,
            attempts_left: self.attempts,
        };
        r.request()?;
        Ok(Box::new(r))
    }
}

/// A streaming object body that resumes with a ranged GET where a connection broke.
///
/// The bytes are the stored bytes: the SDK does not undo a `Content-Encoding: gzip`, and the
/// decoder sniffs gzip by its magic number, so an object stored gzipped with that header is
/// decompressed once, not twice.
struct Body {
    client: Client,
    rt: Handle,
    bucket: String,
    key: String,
    /// Resumed reads must see the same version.
    etag: Option<String>,
    size: Option<u64>,
    pos: u64,
    stream: Option<aws_sdk_s3::primitives::ByteStream>,
    pending: Option<bytes::Bytes>,
    attempts_left: u32,
}

impl Body {
    /// (Re)issues the GET from `pos`.
    fn request(&mut self) -> std::io::Result<()> {
        let mut req = self.client.get_object().bucket(&self.bucket).key(&self.key);
        if self.pos > 0 {
            req = req.range(format!("bytes={}-", self.pos));
        }
        if let Some(e) = &self.etag {
            req = req.if_match(format!("\"{e}\""));
        }
        let out = self.rt.block_on(req.send()).map_err(|e| {
            let kind = match e.as_service_error().map(|s| s.code()) {
                Some(Some("NoSuchKey")) => std::io::ErrorKind::NotFound,
                Some(Some("AccessDenied")) => std::io::ErrorKind::PermissionDenied,
                _ => std::io::ErrorKind::Other,
            };
            std::io::Error::new(kind, get_error(&describe(&e)))
        })?;
        if self.etag.is_none() {
            self.etag = out.e_tag().map(|e| e.trim_matches('"').to_string());
        }
        if self.size.is_none() {
            self.size = out.content_length().map(|l| l as u64 + self.pos);
        }
        self.stream = Some(out.body);
        Ok(())
    }

    fn next_chunk(&mut self) -> std::io::Result<Option<bytes::Bytes>> {
        loop {
            let Some(stream) = self.stream.as_mut() else {
                return Ok(None);
            };
            match self.rt.block_on(stream.next()) {
                Some(Ok(b)) => return Ok(Some(b)),
                None if self.size.is_none_or(|s| self.pos >= s) => return Ok(None),
                // The connection ended early, or broke: resume where it stopped.
                end => {
                    let why = match end {
                        Some(Err(e)) => e.to_string(),
                        _ => "connection closed before the end of the body".into(),
                    };
                    if self.attempts_left <= 1 {
                        return Err(std::io::Error::other(format!(
                            "body broke at byte {} and could not be resumed: {why}",
                            self.pos
                        )));
                    }
                    self.attempts_left -= 1;
                    tracing::debug!(key = %self.key, pos = self.pos, %why, "resuming S3 body");
                    let backoff = Duration::from_millis(100 << (8 - self.attempts_left.min(8)));
                    std::thread::sleep(backoff.min(Duration::from_secs(5)));
                    self.request()?;
                }
            }
        }
    }
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if let Some(c) = self.pending.as_mut()
                && !c.is_empty()
            {
                let n = c.len().min(buf.len());
                buf[..n].copy_from_slice(&c[..n]);
                bytes::Buf::advance(c, n);
                self.pos += n as u64;
                return Ok(n);
            }
            match self.next_chunk()? {
                Some(b) => self.pending = Some(b),
                None => return Ok(0),
            }
        }
    }
}

/// A GET error in words a person can act on.
fn get_error(detail: &str) -> String {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("kms") || lower.contains("ciphertext") || lower.contains("master key") {
        format!(
            "access denied by KMS (403): the reader needs kms:Decrypt on the key that encrypts \
             this trail ({detail})"
        )
    } else if lower.starts_with("accessdenied") {
        format!("access denied (403): the reader needs s3:GetObject on this object ({detail})")
    } else if lower.starts_with("nosuchkey") {
        format!("not found (404): deleted after it was listed or notified ({detail})")
    } else if lower.starts_with("preconditionfailed") {
        format!("changed while it was read (412): read again next run ({detail})")
    } else {
        format!("GET failed: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_s3_urls() {
        let u = S3Url::parse("s3://b/p/AWSLogs/").unwrap();
        assert_eq!((u.bucket.as_str(), u.prefix.as_str()), ("b", "p/AWSLogs/"));
        assert_eq!(S3Url::parse("s3://b").unwrap().prefix, "");
        assert!(S3Url::parse("s3:///x").is_none());
        assert!(S3Url::parse("/tmp").is_none());
    }

    #[test]
    fn names_kms_and_permission_errors() {
        let kms = get_error(
            "AccessDenied: User: arn:aws:iam::1:user/x is not authorized to perform: kms:Decrypt",
        );
        assert!(kms.contains("kms:Decrypt on the key"), "{kms}");
        let s3 = get_error("AccessDenied: Access Denied");
        assert!(s3.contains("s3:GetObject"), "{s3}");
        assert!(get_error("NoSuchKey: gone").contains("404"));
    }
}
