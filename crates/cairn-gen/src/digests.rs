//! Signed digest files for a trail on disk, as CloudTrail writes them when log-file
//! validation is on (CLOUDTRAIL.md §4).
//!
//! [`sign_trail`] reads the log files under a directory (a generated trail or any copy of a
//! bucket), and writes one digest per account, region and hour: the hex SHA-256 of each
//! uncompressed file delivered in the hour, the chain fields, and an RSA PKCS#1 v1.5 SHA-256
//! signature of the signing string. A copy loses S3 metadata, so the signature goes to a
//! `<digest key>.signature` file beside the digest (hex, as `x-amz-meta-signature` holds it).
//!
//! The keys in `keys/` are test keys, generated for cairn's tests and demo only: anything
//! they signed proves nothing about AWS.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use cairn_integrity::{PublicKey, PublicKeys, digest::hex};
use cairn_model::{ObjectKind, Route, route};
use ring::rand::SystemRandom;
use ring::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use time::{Duration, OffsetDateTime};

use crate::GenError;

/// The test keys (DER PKCS#1 `RSAPrivateKey`, 2048 bits). Never trust what they sign.
pub const TEST_KEYS: [&[u8]; 3] = [
    include_bytes!("../keys/test-key-a.der"),
    include_bytes!("../keys/test-key-b.der"),
    include_bytes!("../keys/test-key-c.der"),
];

/// A private key, and the time from which it signs (the latest key whose `from` is not after
/// a digest's end signs it).
#[derive(Clone)]
pub struct SigningKey {
    pair: std::sync::Arc<RsaKeyPair>,
    pub from: OffsetDateTime,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public().fingerprint)
    }
}

impl SigningKey {
    /// A key from DER bytes: PKCS#8, or PKCS#1 `RSAPrivateKey` (what `openssl genpkey
    /// -outform DER` writes for RSA).
    pub fn from_der(der: &[u8], from: OffsetDateTime) -> Result<SigningKey, GenError> {
        let pair = RsaKeyPair::from_pkcs8(der)
            .or_else(|_| RsaKeyPair::from_der(der))
            .map_err(|e| GenError::Config(format!("not an RSA private key: {e}")))?;
        Ok(SigningKey {
            pair: std::sync::Arc::new(pair),
            from,
        })
    }

    /// One of [`TEST_KEYS`].
    pub fn test(n: usize, from: OffsetDateTime) -> SigningKey {
        SigningKey::from_der(TEST_KEYS[n], from).expect("the test keys parse")
    }

    /// The public half, as `ListPublicKeys` gives it (validity not set).
    pub fn public(&self) -> PublicKey {
        PublicKey::from_der(self.pair.public_key().as_ref().to_vec())
    }

    /// Hex RSA PKCS#1 v1.5 SHA-256 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> String {
        let mut sig = vec![0u8; self.pair.public().modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig)
            .expect("signing with a valid key");
        hex(&sig)
    }
}

/// What to sign, and with what.
#[derive(Debug, Clone)]
pub struct DigestConfig {
    /// The directory holding `[<prefix>/]AWSLogs/...`.
    pub root: PathBuf,
    /// The bucket name digests record (`digestS3Bucket`, `s3Bucket`).
    pub bucket: String,
    pub trail: String,
    pub home_region: String,
    /// At least one; sorted by `from` here.
    pub keys: Vec<SigningKey>,
    /// Seconds past the hour at which digest windows start (CloudTrail's are not aligned).
    pub offset_secs: i64,
    /// Leave one file out of its hourly digest and list it in a `_backfill` digest instead.
    pub backfill: bool,
}

impl DigestConfig {
    /// The trail `cairn` in us-east-1, test key 0, windows starting 91 s past the hour.
    pub fn new(root: impl Into<PathBuf>, bucket: impl Into<String>) -> DigestConfig {
        DigestConfig {
            root: root.into(),
            bucket: bucket.into(),
            trail: "cairn".into(),
            home_region: "us-east-1".into(),
            keys: vec![SigningKey::test(0, OffsetDateTime::UNIX_EPOCH)],
            offset_secs: 91,
            backfill: false,
        }
    }
}

/// What [`sign_trail`] wrote.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DigestManifest {
    /// Digest keys and their hex signatures, oldest first per chain.
    pub digests: Vec<(String, String)>,
    pub log_files: u64,
    /// The keys' public halves with validity ranges: write
    /// [`PublicKeys::to_list_json`] to a file for `cairn verify --public-keys`.
    #[serde(skip)]
    pub public_keys: PublicKeys,
}

struct LogInfo {
    key: String,
    at: OffsetDateTime,
    sha256: String,
    oldest: Option<String>,
    newest: Option<String>,
}

/// Writes signed digests (and `.signature` files) for every log file under `cfg.root`.
pub fn sign_trail(cfg: &DigestConfig) -> Result<DigestManifest, GenError> {
    if cfg.keys.is_empty() {
        return Err(GenError::Config("at least one signing key".into()));
    }
    let mut keys = cfg.keys.clone();
    keys.sort_by_key(|k| k.from);
    // Logs by (base, account, region).
    let mut scopes: BTreeMap<(String, String, String), Vec<LogInfo>> = BTreeMap::new();
    let files = list_keys(&cfg.root)?;
    let mut manifest = DigestManifest::default();
    for key in files {
        let Route::CloudTrail(info) = route(&key) else {
            continue;
        };
        if info.kind != ObjectKind::Log {
            continue;
        }
        let Some(at) = info.delivered else { continue };
        let base = key[..key.find("/CloudTrail/").expect("a log key") + 1].to_string();
        let (sha256, oldest, newest) = read_log(&cfg.root.join(&key))?;
        manifest.log_files += 1;
        scopes
            .entry((base, info.account.clone(), info.region.clone()))
            .or_default()
            .push(LogInfo {
                key,
                at,
                sha256,
                oldest,
                newest,
            });
    }
    for ((base, account, region), mut logs) in scopes {
        logs.sort_by(|a, b| (a.at, &a.key).cmp(&(b.at, &b.key)));
        let first = logs.first().expect("non-empty").at;
        let last = logs.last().expect("non-empty").at;
        let offset = Duration::seconds(cfg.offset_secs);
        let mut start = floor_hour(first) + offset;
        if start > first {
            start -= Duration::hours(1);
        }
        let held_back = if cfg.backfill && logs.len() > 2 {
            Some(logs.len() / 2)
        } else {
            None
        };
        let mut previous: Option<(String, String, String)> = None; // key, sha256, signature
        let mut i = 0;
        while start <= last {
            let end = start + Duration::hours(1);
            let mut listed = Vec::new();
            while i < logs.len() && logs[i].at < end {
                if Some(i) != held_back {
                    listed.push(&logs[i]);
                }
                i += 1;
            }
            let key = digest_key(&base, &account, &region, cfg, end, false);
            let written = write_digest(
                cfg,
                &keys,
                &key,
                &account,
                start,
                end,
                &listed,
                previous.as_ref(),
            )?;
            manifest.digests.push((key.clone(), written.1.clone()));
            previous = Some((key, written.0, written.1));
            start = end;
        }
        if let Some(h) = held_back {
            // Written late, in a chain of its own.
            let end = floor_hour(last) + offset + Duration::hours(3);
            let key = digest_key(&base, &account, &region, cfg, end, true);
            let log = &logs[h];
            let written = write_digest(
                cfg,
                &keys,
                &key,
                &account,
                end - Duration::hours(1),
                end,
                &[log],
                None,
            )?;
            manifest.digests.push((key, written.1));
        }
    }
    // Validity: each key from its `from` to an hour after the next key takes over.
    let mut public = Vec::new();
    for (n, k) in keys.iter().enumerate() {
        let mut p = k.public();
        p.valid_from = Some(k.from);
        p.valid_to = keys.get(n + 1).map(|next| next.from + Duration::hours(1));
        public.push(p);
    }
    manifest.public_keys = PublicKeys::new(public);
    Ok(manifest)
}

/// `<base>CloudTrail-Digest/<region>/<Y>/<M>/<D>/<acct>_CloudTrail-Digest_<region>_<trail>_<home>_<stamp>[_backfill].json.gz`
fn digest_key(
    base: &str,
    account: &str,
    region: &str,
    cfg: &DigestConfig,
    end: OffsetDateTime,
    backfill: bool,
) -> String {
    format!(
        "{base}CloudTrail-Digest/{region}/{:04}/{:02}/{:02}/{account}_CloudTrail-Digest_{region}_{}_{}_{:04}{:02}{:02}T{:02}{:02}{:02}Z{}.json.gz",
        end.year(),
        u8::from(end.month()),
        end.day(),
        cfg.trail,
        cfg.home_region,
        end.year(),
        u8::from(end.month()),
        end.day(),
        end.hour(),
        end.minute(),
        end.second(),
        if backfill { "_backfill" } else { "" }
    )
}

/// Writes one digest and its signature file; returns its uncompressed SHA-256 and signature.
#[allow(clippy::too_many_arguments)]
fn write_digest(
    cfg: &DigestConfig,
    keys: &[SigningKey],
    key: &str,
    account: &str,
    start: OffsetDateTime,
    end: OffsetDateTime,
    logs: &[&LogInfo],
    previous: Option<&(String, String, String)>,
) -> Result<(String, String), GenError> {
    let signer = keys
        .iter()
        .rev()
        .find(|k| k.from <= end)
        .unwrap_or(&keys[0]);
    let newest = logs.iter().filter_map(|l| l.newest.clone()).max();
    let oldest = logs.iter().filter_map(|l| l.oldest.clone()).min();
    let log_files: Vec<serde_json::Value> = logs
        .iter()
        .map(|l| {
            json!({
                "s3Bucket": cfg.bucket,
                "s3Object": l.key,
                "hashValue": l.sha256,
                "hashAlgorithm": "SHA-256",
                "newestEventTime": l.newest,
                "oldestEventTime": l.oldest,
            })
        })
        .collect();
    let doc = json!({
        "awsAccountId": account,
        "digestStartTime": rfc3339(start),
        "digestEndTime": rfc3339(end),
        "digestS3Bucket": cfg.bucket,
        "digestS3Object": key,
        "digestPublicKeyFingerprint": signer.public().fingerprint,
        "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": newest,
        "oldestEventTime": oldest,
        "previousDigestS3Bucket": previous.map(|_| cfg.bucket.clone()),
        "previousDigestS3Object": previous.map(|p| p.0.clone()),
        "previousDigestHashValue": previous.map(|p| p.1.clone()),
        "previousDigestHashAlgorithm": previous.map(|_| "SHA-256"),
        "previousDigestSignature": previous.map(|p| p.2.clone()),
        "logFiles": log_files,
    });
    let bytes = serde_json::to_vec(&doc).expect("a digest serializes");
    let sha256 = hex(&Sha256::digest(&bytes));
    let parsed = cairn_integrity::Digest::parse(&bytes).expect("a written digest parses");
    let signature = signer.sign(parsed.string_to_sign(&sha256).as_bytes());
    let path = cfg.root.join(key);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| GenError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    write_file(&path, &gzip(&bytes))?;
    write_file(&sidecar(&path), signature.as_bytes())?;
    Ok((sha256, signature))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), GenError> {
    std::fs::write(path, bytes).map_err(|source| GenError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The uncompressed SHA-256 of a log file, and its oldest and newest `eventTime`.
fn read_log(path: &Path) -> Result<(String, Option<String>, Option<String>), GenError> {
    let io = |source| GenError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut records = cairn_model::Records::new(
        std::io::BufReader::new(file),
        cairn_model::Limits::default(),
    )
    .map_err(io)?
    .hashing();
    let (mut oldest, mut newest): (Option<OffsetDateTime>, Option<OffsetDateTime>) = (None, None);
    for e in records.by_ref().flatten() {
        oldest = Some(oldest.map_or(e.time, |o| o.min(e.time)));
        newest = Some(newest.map_or(e.time, |n| n.max(e.time)));
    }
    let sha256 = records
        .sha256()
        .ok_or_else(|| GenError::Config(format!("{}: not a readable log file", path.display())))?;
    Ok((sha256, oldest.map(rfc3339), newest.map(rfc3339)))
}

fn rfc3339(t: OffsetDateTime) -> String {
    cairn_integrity::report::display_time(t)
}

fn floor_hour(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_minute(0)
        .and_then(|t| t.replace_second(0))
        .and_then(|t| t.replace_nanosecond(0))
        .expect("valid time")
}

/// Every key under `root`, sorted (`.signature` files left out).
fn list_keys(root: &Path) -> Result<Vec<String>, GenError> {
    use cairn_integrity::Bucket as _;
    cairn_integrity::LocalBucket::new(root)
        .list("", None)
        .map_err(|e| GenError::Config(format!("listing {}: {e}", root.display())))
}

/// Ways to tamper with a signed trail, for tests and demos of verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tamper {
    /// Change one byte of a listed log file (re-compressed, so it still reads).
    ModifyLog,
    DeleteLog,
    DeleteDigest,
    DeleteTwoDigests,
    /// Rename a digest (and its signature file) to another key in its folder.
    MoveDigest,
    /// Change the signature of a digest.
    ForgeSignature,
    /// Re-sign a digest with a key no key list names.
    UnknownKey,
    /// Copy a log file under a new name that no digest lists.
    InjectLog,
    /// Append a second gzip member (records `zcat` would read) to a listed log file.
    TrailingBytes,
}

impl Tamper {
    pub const ALL: [Tamper; 9] = [
        Tamper::ModifyLog,
        Tamper::DeleteLog,
        Tamper::DeleteDigest,
        Tamper::DeleteTwoDigests,
        Tamper::MoveDigest,
        Tamper::ForgeSignature,
        Tamper::UnknownKey,
        Tamper::InjectLog,
        Tamper::TrailingBytes,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tamper::ModifyLog => "modify-log",
            Tamper::DeleteLog => "delete-log",
            Tamper::DeleteDigest => "delete-digest",
            Tamper::DeleteTwoDigests => "delete-two-digests",
            Tamper::MoveDigest => "move-digest",
            Tamper::ForgeSignature => "forge-signature",
            Tamper::UnknownKey => "unknown-key",
            Tamper::InjectLog => "inject-log",
            Tamper::TrailingBytes => "trailing-bytes",
        }
    }

    pub fn from_name(s: &str) -> Option<Tamper> {
        Tamper::ALL.into_iter().find(|t| t.name() == s)
    }
}

/// Applies `case` to the signed trail under `root`, in the first account's us-east-1 chain
/// (or its first region), around the middle of the chain. Returns the keys it touched: the
/// objects a verifier must name.
pub fn tamper(root: &Path, case: Tamper) -> Result<Vec<String>, GenError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| GenError::Io { path, source }
    };
    let ds = chain_digests(root)?;
    let mid = ds.len() / 2;
    let touched = match case {
        Tamper::ModifyLog | Tamper::DeleteLog | Tamper::InjectLog | Tamper::TrailingBytes => {
            let log = listed_log(root, &ds[mid..])?;
            let path = root.join(&log);
            match case {
                Tamper::ModifyLog => {
                    let mut body = gunzip(&path)?;
                    let at = body.windows(9).position(|w| w == b"eventName").unwrap_or(0) + 12;
                    body[at] ^= 0x01;
                    write_file(&path, &gzip(&body))?;
                    vec![log]
                }
                Tamper::DeleteLog => {
                    std::fs::remove_file(&path).map_err(io(&path))?;
                    vec![log]
                }
                Tamper::InjectLog => {
                    let (stem, _) = log.rsplit_once('_').expect("a log key");
                    let injected = format!("{stem}_INJECTED0000000A.json.gz");
                    std::fs::copy(&path, root.join(&injected)).map_err(io(&path))?;
                    vec![injected]
                }
                _ => {
                    let mut bytes = std::fs::read(&path).map_err(io(&path))?;
                    bytes.extend(gzip(br#"{"Records":[{"eventID":"injected"}]}"#));
                    write_file(&path, &bytes)?;
                    vec![log]
                }
            }
        }
        Tamper::DeleteDigest | Tamper::DeleteTwoDigests => {
            let n = if case == Tamper::DeleteDigest { 1 } else { 2 };
            for d in &ds[mid..mid + n] {
                let path = root.join(d);
                std::fs::remove_file(&path).map_err(io(&path))?;
                let _ = std::fs::remove_file(sidecar(&path));
            }
            ds[mid..mid + n].to_vec()
        }
        Tamper::MoveDigest => {
            let from = &ds[mid];
            // A minute earlier in the name: `...HHMMSSZ.json.gz`.
            let (stem, _) = from.rsplit_once('Z').expect("a digest key");
            let (head, stamp) = stem.split_at(stem.len() - 15);
            let minute: u32 = stamp[11..13].parse().expect("digits");
            let to = format!(
                "{head}{}{:02}{}Z.json.gz",
                &stamp[..11],
                (minute + 59) % 60,
                &stamp[13..]
            );
            let (a, b) = (root.join(from), root.join(&to));
            std::fs::rename(&a, &b).map_err(io(&a))?;
            std::fs::rename(sidecar(&a), sidecar(&b)).map_err(io(&a))?;
            vec![from.clone(), to]
        }
        Tamper::ForgeSignature => {
            let path = sidecar(&root.join(&ds[mid]));
            let mut sig = std::fs::read(&path).map_err(io(&path))?;
            sig[10] = if sig[10] == b'0' { b'1' } else { b'0' };
            write_file(&path, &sig)?;
            vec![ds[mid].clone()]
        }
        Tamper::UnknownKey => {
            let unknown = SigningKey::test(2, OffsetDateTime::UNIX_EPOCH);
            resign(root, &ds[mid], &unknown, |_| {})?;
            vec![ds[mid].clone()]
        }
    };
    Ok(touched)
}

/// Rewrites a digest's JSON with `edit`, names `signer`'s key in it and signs it with that
/// key (what only a holder of the key could do).
pub fn resign(
    root: &Path,
    key: &str,
    signer: &SigningKey,
    edit: impl FnOnce(&mut serde_json::Value),
) -> Result<(), GenError> {
    let path = root.join(key);
    let mut v: serde_json::Value = serde_json::from_slice(&gunzip(&path)?)
        .map_err(|e| GenError::Config(format!("{key}: {e}")))?;
    edit(&mut v);
    v["digestPublicKeyFingerprint"] = signer.public().fingerprint.into();
    let bytes = serde_json::to_vec(&v).expect("JSON serializes");
    let parsed = cairn_integrity::Digest::parse(&bytes)
        .map_err(|e| GenError::Config(format!("{key}: {e}")))?;
    let sig = signer.sign(
        parsed
            .string_to_sign(&hex(&Sha256::digest(&bytes)))
            .as_bytes(),
    );
    write_file(&path, &gzip(&bytes))?;
    write_file(&sidecar(&path), sig.as_bytes())
}

/// The digest keys of the first account's us-east-1 chain (or its first region), oldest
/// first, backfill digests left out.
pub fn chain_digests(root: &Path) -> Result<Vec<String>, GenError> {
    let mut digests: Vec<(String, String, String)> = list_keys(root)?
        .into_iter()
        .filter(|k| k.ends_with("Z.json.gz"))
        .filter_map(|k| match route(&k) {
            Route::CloudTrail(i) if i.kind == ObjectKind::Digest => {
                Some((i.account.clone(), i.region.clone(), k))
            }
            _ => None,
        })
        .collect();
    digests.sort();
    let Some(account) = digests.first().map(|d| d.0.clone()) else {
        return Err(GenError::Config("no digests to tamper with".into()));
    };
    let region = if digests.iter().any(|d| d.0 == account && d.1 == "us-east-1") {
        "us-east-1".to_string()
    } else {
        digests[0].1.clone()
    };
    let keys: Vec<String> = digests
        .into_iter()
        .filter(|d| d.0 == account && d.1 == region)
        .map(|d| d.2)
        .collect();
    if keys.len() < 4 {
        return Err(GenError::Config(
            "the chain is too short to tamper with".into(),
        ));
    }
    Ok(keys)
}

/// The first log file listed by one of `digests`.
fn listed_log(root: &Path, digests: &[String]) -> Result<String, GenError> {
    for d in digests {
        let v: serde_json::Value = serde_json::from_slice(&gunzip(&root.join(d))?)
            .map_err(|e| GenError::Config(format!("{d}: {e}")))?;
        if let Some(k) = v["logFiles"]
            .as_array()
            .and_then(|a| a.first())
            .and_then(|l| l["s3Object"].as_str())
        {
            return Ok(k.to_string());
        }
    }
    Err(GenError::Config("no digest lists a log file".into()))
}

fn sidecar(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(cairn_integrity::local::SIGNATURE_SUFFIX);
    PathBuf::from(s)
}

/// The first gzip member of a file, decompressed.
pub fn gunzip(path: &Path) -> Result<Vec<u8>, GenError> {
    let io = |source| GenError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let (out, _) =
        cairn_model::decode::first_member(std::io::BufReader::new(file), 1 << 30).map_err(io)?;
    Ok(out)
}

/// One gzip member holding `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).expect("writing to memory");
    gz.finish().expect("writing to memory")
}
