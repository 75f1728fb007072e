//! What a verification found, one finding per object, and the summary in the AWS CLI's words.

use serde::Serialize;
use time::OffsetDateTime;

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    Digest,
    BackfillDigest,
    Log,
    /// A stretch of a chain: consecutive digests missing, or the chain restarting.
    Chain,
}

/// The verdict on one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Valid,
    Invalid,
    /// Nothing contradicts it, but it could not be proved: a digest with no signature to check
    /// (an offline copy's newest digest without a `.signature` sidecar), or a log file listed
    /// only by such a digest.
    Unverified,
    /// Information, not a verdict: a chain restarting after validation was off.
    Notice,
}

/// Why an object is not valid. `Problem::cli_reports` tells the checks `aws cloudtrail
/// validate-logs` also makes from those only cairn makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    NotFound,
    InvalidFormat,
    SignatureFailed,
    Moved,
    PublicKeyNotFound,
    HashMismatch,
    TrailingBytes,
    /// The object could not be read for another reason (access denied, a network error).
    Unreadable,
    /// cairn only: two or more consecutive digests are missing.
    ConsecutiveDigestsMissing,
    /// cairn only: the next digest's `previousDigestHashValue` or `previousDigestSignature`
    /// is not this digest's.
    ChainMismatch,
    /// cairn only: a listed digest that the chain skips over.
    NotInChain,
    /// cairn only: a log file in the bucket that no digest lists.
    NotListed,
    /// cairn only: a digest lists a log file of another account or region.
    OutsideDigestScope,
    /// No signature available (offline copy, newest digest, no sidecar).
    NoSignature,
    /// Verifying a store: a log file listed by a digest that is not valid.
    DigestInvalid,
    /// Verifying a store: a listed log file the store has not read.
    NotIngested,
    /// A chain restarts: no log files were delivered (or validation was off) in between.
    ChainRestart,
}

impl Problem {
    /// Whether `aws cloudtrail validate-logs` reports this problem too.
    pub fn cli_reports(self) -> bool {
        matches!(
            self,
            Problem::NotFound
                | Problem::InvalidFormat
                | Problem::SignatureFailed
                | Problem::Moved
                | Problem::PublicKeyNotFound
                | Problem::HashMismatch
                | Problem::TrailingBytes
                | Problem::ChainRestart
        )
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub subject: Subject,
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
    /// The bucket and key (for a `chain` finding, the chain's digest folder).
    pub bucket: String,
    pub key: String,
    /// The reason, in the AWS CLI's words where it has them.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    pub account: String,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trail: Option<String>,
    /// For a log file: the digest that lists it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// For a log file: the hash the digest lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_sha256: Option<String>,
    /// For a chain finding: how many digests it stands for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

impl Finding {
    /// The line `aws cloudtrail validate-logs --verbose` prints for it (tab-separated).
    pub fn line(&self) -> String {
        let what = match self.subject {
            Subject::Digest => "Digest file",
            Subject::BackfillDigest => "(backfill) Digest file",
            Subject::Log => "Log file",
            Subject::Chain => {
                if self.problem == Some(Problem::ChainRestart) {
                    return self.detail.clone();
                }
                "Digest files"
            }
        };
        let verdict = match self.verdict {
            Verdict::Valid => "valid".to_string(),
            Verdict::Invalid => format!("INVALID: {}", self.detail),
            Verdict::Unverified => format!("unverified: {}", self.detail),
            Verdict::Notice => self.detail.clone(),
        };
        format!("{what}\ts3://{}/{}\t{verdict}", self.bucket, self.key)
    }
}

/// Counts over all findings, and the time range the valid digests cover.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub digests_valid: u64,
    pub digests_invalid: u64,
    pub digests_unverified: u64,
    pub backfill_valid: u64,
    pub backfill_invalid: u64,
    pub logs_valid: u64,
    pub logs_invalid: u64,
    pub logs_unverified: u64,
    /// Log files in the bucket that no digest lists (counted apart from the listed ones, as
    /// the AWS CLI never sees them).
    pub logs_not_listed: u64,
    /// Uncompressed log bytes hashed.
    pub log_bytes: u64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub requested_from: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub requested_to: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub found_from: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub found_to: Option<OffsetDateTime>,
}

impl Summary {
    /// Counts one finding.
    pub fn add(&mut self, f: &Finding) {
        let (valid, invalid, unverified) = match f.subject {
            Subject::Digest => (
                &mut self.digests_valid,
                &mut self.digests_invalid,
                Some(&mut self.digests_unverified),
            ),
            Subject::BackfillDigest => (&mut self.backfill_valid, &mut self.backfill_invalid, None),
            Subject::Log if f.problem == Some(Problem::NotListed) => {
                self.logs_not_listed += 1;
                return;
            }
            Subject::Log => (
                &mut self.logs_valid,
                &mut self.logs_invalid,
                Some(&mut self.logs_unverified),
            ),
            Subject::Chain => {
                if f.verdict == Verdict::Invalid {
                    self.digests_invalid += f.count.unwrap_or(1);
                }
                return;
            }
        };
        match f.verdict {
            Verdict::Valid => *valid += 1,
            Verdict::Invalid => *invalid += 1,
            Verdict::Unverified => {
                if let Some(u) = unverified {
                    *u += 1;
                }
            }
            Verdict::Notice => {}
        }
    }

    /// Widens the found range by a valid digest's window, clipped to the requested range.
    pub fn found(&mut self, start: OffsetDateTime, end: OffsetDateTime) {
        let start = self.requested_from.map_or(start, |f| start.max(f));
        let end = self.requested_to.map_or(end, |t| end.min(t));
        self.found_from = Some(self.found_from.map_or(start, |f| f.min(start)));
        self.found_to = Some(self.found_to.map_or(end, |t| t.max(end)));
    }

    /// Anything invalid: the exit status is 1.
    pub fn any_invalid(&self) -> bool {
        self.digests_invalid + self.backfill_invalid + self.logs_invalid + self.logs_not_listed > 0
    }

    /// The closing text of `aws cloudtrail validate-logs`, with cairn's extra counts after it.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let show = |t: Option<OffsetDateTime>| t.map_or_else(|| "-".to_string(), display_time);
        s.push_str(&format!(
            "Results requested for {} to {}\n",
            show(self.requested_from),
            show(self.requested_to)
        ));
        let digests = self.digests_valid
            + self.digests_invalid
            + self.digests_unverified
            + self.backfill_valid
            + self.backfill_invalid;
        if digests == 0 {
            s.push_str("No digests found\n");
            return s;
        }
        match (self.found_from, self.found_to) {
            (Some(f), Some(t)) => s.push_str(&format!(
                "Results found for {} to {}:\n",
                display_time(f),
                display_time(t)
            )),
            _ => s.push_str("No valid digests found in range\n"),
        }
        ratio(&mut s, self.digests_valid, self.digests_invalid, "digest");
        ratio(
            &mut s,
            self.backfill_valid,
            self.backfill_invalid,
            "backfill digest",
        );
        ratio(&mut s, self.logs_valid, self.logs_invalid, "log");
        s.push('\n');
        if self.digests_unverified > 0 {
            s.push_str(&format!(
                "{} digest files unverified (no signature: not in S3 metadata, no .signature file, no later digest)\n",
                self.digests_unverified
            ));
        }
        if self.logs_unverified > 0 {
            s.push_str(&format!(
                "{} log files unverified (listed only by an unverified digest)\n",
                self.logs_unverified
            ));
        }
        if self.logs_not_listed > 0 {
            s.push_str(&format!(
                "{} log files INVALID: not listed in any digest\n",
                self.logs_not_listed
            ));
        }
        s
    }
}

fn ratio(s: &mut String, valid: u64, invalid: u64, name: &str) {
    let total = valid + invalid;
    if total > 0 {
        s.push_str(&format!("\n{valid}/{total} {name} files valid"));
        if invalid > 0 {
            s.push_str(&format!(", {invalid}/{total} {name} files INVALID"));
        }
    }
}

/// `2024-03-05T12:05:12Z`, as the AWS CLI shows times.
pub fn display_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
