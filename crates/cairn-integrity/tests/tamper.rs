//! Signed trails written by the generator with cairn's test keys, verified intact and then
//! after each kind of tampering; every case must be detected and named.

use std::path::{Path, PathBuf};

use cairn_gen::digests::{self, DigestConfig, SigningKey, Tamper, sign_trail};
use cairn_integrity::{
    Finding, LocalBucket, Observer, Options, Problem, PublicKeys, Subject, Summary, Verdict, verify,
};
use time::macros::datetime;

struct Trail {
    _dir: tempfile::TempDir,
    root: PathBuf,
    keys: PublicKeys,
}

fn trail(rotate: bool) -> Trail {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let mut g = cairn_gen::GenConfig::new(&root);
    g.events = 4_000;
    g.accounts = 2;
    g.regions = 2;
    g.days = 2;
    g.org = Some("o-abcdefghij".into());
    g.end = datetime!(2025-06-01 00:00 UTC);
    cairn_gen::generate_with_threads(&g, 2).unwrap();
    let mut d = DigestConfig::new(&root, "trail-bucket");
    if rotate {
        d.keys
            .push(SigningKey::test(1, datetime!(2025-05-31 06:00 UTC)));
    }
    let m = sign_trail(&d).unwrap();
    Trail {
        _dir: dir,
        root,
        keys: m.public_keys,
    }
}

#[derive(Default)]
struct Collect(Vec<Finding>);
impl Observer for Collect {
    fn finding(&mut self, f: &Finding) {
        self.0.push(f.clone());
    }
}

fn run(t: &Trail) -> (Summary, Vec<Finding>) {
    let mut opts = Options::new("trail-bucket");
    opts.signatures_required = false;
    opts.threads = 4;
    let mut c = Collect::default();
    let s = verify(&LocalBucket::new(&t.root), &t.keys, &opts, &mut c).unwrap();
    (s, c.0)
}

fn invalid(findings: &[Finding]) -> Vec<(Subject, Problem, String)> {
    findings
        .iter()
        .filter(|f| f.verdict == Verdict::Invalid)
        .map(|f| (f.subject, f.problem.unwrap(), f.key.clone()))
        .collect()
}

fn digests(t: &Trail) -> Vec<String> {
    digests::chain_digests(&t.root).unwrap()
}

fn walk(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push(rel);
            }
        }
    }
    out
}

fn digest_json(t: &Trail, key: &str) -> serde_json::Value {
    serde_json::from_slice(&digests::gunzip(&t.root.join(key)).unwrap()).unwrap()
}

/// Applies a case; returns the keys it touched.
fn tamper(t: &Trail, case: Tamper) -> Vec<String> {
    digests::tamper(&t.root, case).unwrap()
}

#[test]
fn an_intact_multi_day_multi_region_organization_trail_verifies_clean() {
    let t = trail(false);
    let (s, findings) = run(&t);
    assert!(invalid(&findings).is_empty(), "{:?}", invalid(&findings));
    assert!(!s.any_invalid());
    // 2 accounts x 2 regions x ~49 hours.
    assert!(s.digests_valid > 150, "{s:?}");
    assert!(s.logs_valid > 500, "{s:?}");
    assert_eq!(s.logs_unverified + s.digests_unverified, 0);
    let regions: std::collections::BTreeSet<_> = findings.iter().map(|f| &f.region).collect();
    assert_eq!(regions.len(), 2);
    assert!(
        findings
            .iter()
            .all(|f| f.key.starts_with("AWSLogs/o-abcdefghij/"))
    );
    assert!(
        s.text()
            .contains(&format!("{0}/{0} digest files valid", s.digests_valid))
    );
}

#[test]
fn key_rotation_mid_range_verifies_with_both_keys() {
    let t = trail(true);
    assert_eq!(t.keys.len(), 2);
    let (s, findings) = run(&t);
    assert!(invalid(&findings).is_empty(), "{:?}", invalid(&findings));
    let fps: std::collections::BTreeSet<String> = digests(&t)
        .iter()
        .map(|d| {
            digest_json(&t, d)["digestPublicKeyFingerprint"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(fps.len(), 2, "both keys signed");
    assert!(s.digests_valid > 150);
    // Without the second key, the digests it signed fail by name.
    let only_first = PublicKeys::new(t.keys.iter().take(1).cloned());
    let t2 = Trail {
        keys: only_first,
        ..t
    };
    let (_, findings) = run(&t2);
    assert!(
        invalid(&findings)
            .iter()
            .all(|(s, p, _)| *s == Subject::Digest && *p == Problem::PublicKeyNotFound)
    );
    assert!(!invalid(&findings).is_empty());
}

#[test]
fn a_modified_log_file_is_named() {
    let t = trail(false);
    let log = tamper(&t, Tamper::ModifyLog).remove(0);
    let (s, f) = run(&t);
    assert_eq!(
        invalid(&f),
        vec![(Subject::Log, Problem::HashMismatch, log)]
    );
    assert_eq!(s.logs_invalid, 1);
    assert!(s.text().contains(", 1/"));
}

#[test]
fn a_deleted_log_file_is_named() {
    let t = trail(false);
    let log = tamper(&t, Tamper::DeleteLog).remove(0);
    let (_, f) = run(&t);
    assert_eq!(invalid(&f), vec![(Subject::Log, Problem::NotFound, log)]);
}

#[test]
fn a_deleted_digest_is_named() {
    let t = trail(false);
    let gone = tamper(&t, Tamper::DeleteDigest).remove(0);
    let (s, f) = run(&t);
    assert_eq!(
        invalid(&f),
        vec![(Subject::Digest, Problem::NotFound, gone)]
    );
    assert_eq!(s.digests_invalid, 1);
}

#[test]
fn two_consecutive_deleted_digests_are_both_counted() {
    let t = trail(false);
    let gone = tamper(&t, Tamper::DeleteTwoDigests);
    let (s, f) = run(&t);
    let bad = invalid(&f);
    assert_eq!(bad.len(), 2, "{bad:?}");
    // The walk goes newest to oldest: the newer of the two is the one the chain names.
    assert_eq!(
        bad[0],
        (Subject::Digest, Problem::NotFound, gone[1].clone())
    );
    assert_eq!(bad[1].0, Subject::Chain);
    assert_eq!(bad[1].1, Problem::ConsecutiveDigestsMissing);
    let chain = f.iter().find(|f| f.subject == Subject::Chain).unwrap();
    assert!(
        chain
            .detail
            .starts_with("2 consecutive digest files not found"),
        "{}",
        chain.detail
    );
    assert_eq!(s.digests_invalid, 2);
}

#[test]
fn a_moved_digest_is_named() {
    let t = trail(false);
    let moved = tamper(&t, Tamper::MoveDigest);
    let (_, f) = run(&t);
    assert_eq!(
        invalid(&f),
        vec![
            (Subject::Digest, Problem::NotFound, moved[0].clone()),
            (Subject::Digest, Problem::Moved, moved[1].clone())
        ]
    );
}

#[test]
fn a_forged_signature_is_named() {
    let t = trail(false);
    let key = tamper(&t, Tamper::ForgeSignature).remove(0);
    let (_, f) = run(&t);
    assert_eq!(
        invalid(&f),
        vec![(Subject::Digest, Problem::SignatureFailed, key)]
    );
}

#[test]
fn a_forged_digest_is_named_even_without_its_signature_file() {
    // Offline, the signature then comes from the next digest: a changed digest still fails.
    let t = trail(false);
    let ds = digests(&t);
    let key = &ds[ds.len() / 2];
    let mut v = digest_json(&t, key);
    v["logFiles"] = serde_json::json!([]);
    std::fs::write(
        t.root.join(key),
        digests::gzip(&serde_json::to_vec(&v).unwrap()),
    )
    .unwrap();
    std::fs::remove_file(t.root.join(format!("{key}.signature"))).unwrap();
    let (_, f) = run(&t);
    let bad = invalid(&f);
    assert!(
        bad.contains(&(Subject::Digest, Problem::SignatureFailed, key.clone())),
        "{bad:?}"
    );
}

#[test]
fn a_digest_signed_by_an_unknown_key_is_named() {
    let t = trail(false);
    let key = tamper(&t, Tamper::UnknownKey).remove(0);
    let unknown = SigningKey::test(2, datetime!(2000-01-01 00:00 UTC));
    let (_, f) = run(&t);
    let bad = invalid(&f);
    assert_eq!(
        bad,
        vec![(Subject::Digest, Problem::PublicKeyNotFound, key)]
    );
    let line = f
        .iter()
        .find(|f| f.verdict == Verdict::Invalid)
        .unwrap()
        .line();
    assert!(line.contains(&format!(
        "INVALID: public key not found in region us-east-1 for fingerprint {}",
        unknown.public().fingerprint
    )));
}

#[test]
fn an_injected_unlisted_log_file_is_named() {
    let t = trail(false);
    let injected = tamper(&t, Tamper::InjectLog).remove(0);
    let (s, f) = run(&t);
    assert_eq!(
        invalid(&f),
        vec![(Subject::Log, Problem::NotListed, injected)]
    );
    assert_eq!(s.logs_not_listed, 1);
    assert!(s.any_invalid());
}

#[test]
fn trailing_bytes_after_the_gzip_member_are_named() {
    // A second member: `zcat` would read the injected records; the digest covers only the first.
    let t = trail(false);
    let log = tamper(&t, Tamper::TrailingBytes).remove(0);
    let (_, f) = run(&t);
    assert_eq!(
        invalid(&f),
        vec![(Subject::Log, Problem::TrailingBytes, log)]
    );
}

#[test]
fn a_digest_listing_another_accounts_file_is_named() {
    let t = trail(false);
    let ds = digests(&t);
    // The newest digest: no later one recorded its hash.
    let key = ds.last().unwrap().clone();
    let account = key.split('/').nth(2).unwrap().to_string();
    let other_log = walk(&t.root)
        .into_iter()
        .find(|k| k.contains("/CloudTrail/") && !k.contains(&account))
        .unwrap();
    let hash =
        cairn_integrity::digest::sha256_hex(&digests::gunzip(&t.root.join(&other_log)).unwrap());
    // Only a holder of the trail's key could write this; the check must not trust it either.
    let signer = SigningKey::test(0, datetime!(2000-01-01 00:00 UTC));
    digests::resign(&t.root, &key, &signer, |v| {
        v["logFiles"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "s3Bucket": "trail-bucket", "s3Object": other_log, "hashValue": hash,
                "hashAlgorithm": "SHA-256"
            }));
    })
    .unwrap();
    let (_, f) = run(&t);
    let bad = invalid(&f);
    assert_eq!(
        bad,
        vec![(Subject::Log, Problem::OutsideDigestScope, other_log)]
    );
    // A digest in the middle, re-signed, no longer matches what the next one recorded of it.
    let middle = ds[ds.len() / 2].clone();
    digests::resign(&t.root, &middle, &signer, |v| {
        v["logFiles"] = serde_json::json!([])
    })
    .unwrap();
    let (_, f) = run(&t);
    assert!(
        invalid(&f).contains(&(Subject::Digest, Problem::ChainMismatch, middle)),
        "{:?}",
        invalid(&f)
    );
}

#[test]
fn the_newest_digest_without_a_signature_file_is_unverified_not_invalid() {
    let t = trail(false);
    let ds = digests(&t);
    let newest = ds.last().unwrap();
    std::fs::remove_file(t.root.join(format!("{newest}.signature"))).unwrap();
    let (s, f) = run(&t);
    assert!(invalid(&f).is_empty());
    assert_eq!(s.digests_unverified, 1);
    assert!(!s.any_invalid());
    // Every other digest of the chain is proved by the signature the next one recorded.
    for d in &ds[..ds.len() - 1] {
        std::fs::remove_file(t.root.join(format!("{d}.signature"))).unwrap();
    }
    let (s2, f2) = run(&t);
    assert!(invalid(&f2).is_empty());
    assert_eq!(s2.digests_unverified, 1);
    assert_eq!(s2.digests_valid, s.digests_valid);
}

#[test]
fn a_time_range_selects_digests_like_the_aws_cli() {
    let t = trail(false);
    let mut opts = Options::new("trail-bucket");
    opts.signatures_required = false;
    opts.from = Some(datetime!(2025-05-31 00:00 UTC));
    opts.to = Some(datetime!(2025-05-31 06:00 UTC));
    opts.accounts = vec![digests(&t)[0].split('/').nth(2).unwrap().to_string()];
    opts.regions = vec!["us-east-1".into()];
    let mut c = Collect::default();
    let s = verify(&LocalBucket::new(&t.root), &t.keys, &opts, &mut c).unwrap();
    assert!(invalid(&c.0).is_empty(), "{:?}", invalid(&c.0));
    // Digests ending 00:01:31 .. 07:01:31, and the one ending before the start covers it.
    assert!((7..=8).contains(&s.digests_valid), "{s:?}");
    assert_eq!(s.found_from, opts.from);
}
