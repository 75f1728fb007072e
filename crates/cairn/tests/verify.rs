//! `cairn verify` end to end: signed trails written by `cairn generate --digests` (cairn's test
//! keys, the real signing string), verified offline and from the local AWS-API server, and
//! compared with the real `aws cloudtrail validate-logs` on every tamper case.
//!
//! The AWS CLI talks to moto for S3 and to `scripts/support/cloudtrail_standin.py` for
//! `ListPublicKeys`, `DescribeTrails` and Organizations' `DescribeOrganization`, which moto
//! does not implement for this purpose.

#[path = "common/aws.rs"]
mod aws;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use aws::Moto;

const ORG: &str = "o-abcdefghij";
const TRAIL_ARN: &str = "arn:aws:cloudtrail:us-east-1:111111111111:trail/cairn";

fn cairn() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cairn"));
    c.env_remove("AWS_ENDPOINT_URL").env("NO_COLOR", "1");
    c
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("run")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Writes a signed organization trail; `tamper` then breaks it.
fn fixture(dir: &Path, bucket: &str, tamper: Option<&str>, big: bool) -> PathBuf {
    fixture_tampered(dir, bucket, tamper, big).0
}

/// [`fixture`], with the keys the tampering touched (as `generate` names them).
fn fixture_tampered(
    dir: &Path,
    bucket: &str,
    tamper: Option<&str>,
    big: bool,
) -> (PathBuf, Vec<String>) {
    let out = dir.join(bucket);
    let mut c = cairn();
    c.args(["generate", "--out"]).arg(&out).args([
        "--org",
        ORG,
        "--end",
        "2025-06-01",
        "--digests",
        "--bucket",
        bucket,
    ]);
    if big {
        c.args([
            "--events",
            "6000",
            "--accounts",
            "2",
            "--regions",
            "2",
            "--days",
            "2",
            "--backfill",
            "--rotate-key-at",
            "2025-05-30T12:00:00Z",
        ]);
    } else {
        c.args([
            "--events",
            "1500",
            "--accounts",
            "1",
            "--regions",
            "2",
            "--days",
            "1",
        ]);
    }
    if let Some(t) = tamper {
        c.args(["--tamper", t]);
    }
    let o = run(&mut c);
    assert!(o.status.success(), "generate: {}", text(&o));
    let touched = String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.starts_with("tampered ("))
        .filter_map(|l| l.split_once("): ").map(|(_, k)| k.to_string()))
        .collect();
    (out, touched)
}

/// `kind<TAB>s3://url` -> verdict, from the lines validate-logs and cairn print.
fn verdicts(output: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for line in output.lines() {
        let parts: Vec<&str> = line.splitn(3, '\t').collect();
        if parts.len() == 3
            && matches!(
                parts[0],
                "Digest file" | "(backfill) Digest file" | "Log file"
            )
        {
            m.insert(format!("{}\t{}", parts[0], parts[1]), parts[2].to_string());
        }
    }
    m
}

/// At most three entries, for failure messages.
fn some<K: std::fmt::Debug, V: std::fmt::Debug>(it: impl IntoIterator<Item = (K, V)>) -> String {
    let v: Vec<_> = it.into_iter().collect();
    let n = v.len();
    format!(
        "{n} entries: {:?}",
        v.into_iter().take(3).collect::<Vec<_>>()
    )
}

/// The last lines of a command's output, for failure messages.
fn tail(o: &Output) -> String {
    let t = text(o);
    let lines: Vec<&str> = t.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}

fn in_region(m: &BTreeMap<String, String>, region: &str) -> BTreeMap<String, String> {
    let digest = format!("/CloudTrail-Digest/{region}/");
    let log = format!("/CloudTrail/{region}/");
    m.iter()
        .filter(|(k, _)| k.contains(&digest) || k.contains(&log))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

struct Standin {
    port: u16,
    child: Child,
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The stand-in for one bucket: `DescribeTrails` names it, as validate-logs reads the bucket
/// of an organization trail from there.
fn standin(moto: &Moto, keys: &Path, bucket: &str) -> Standin {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/support/cloudtrail_standin.py");
    let mut child = moto
        .venv_command("python")
        .arg(script)
        .arg("--keys")
        .arg(keys)
        .args(["--bucket", bucket, "--trail-arn", TRAIL_ARN, "--org", ORG])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the stand-in");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("stand-in said {line:?}"));
    Standin { port, child }
}

fn upload(moto: &Moto, dir: &Path, bucket: &str) {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/support/upload_trail.py");
    let o = run(moto
        .venv_command("python")
        .arg(script)
        .args(["--endpoint", &moto.endpoint])
        .arg(dir)
        .arg(bucket));
    assert!(o.status.success(), "upload: {}", text(&o));
}

fn online(moto: &Moto, s: &Standin, bucket: &str, extra: &[&str]) -> Output {
    let mut c = cairn();
    for (k, v) in moto.aws_env() {
        if k != "AWS_ENDPOINT_URL" {
            c.env(k, v);
        }
    }
    c.env("AWS_ENDPOINT_URL_S3", &moto.endpoint)
        .env(
            "AWS_ENDPOINT_URL_CLOUDTRAIL",
            format!("http://127.0.0.1:{}", s.port),
        )
        .args(["verify", &format!("s3://{bucket}"), "--show-valid"])
        .args(extra);
    run(&mut c)
}

fn offline(dir: &Path, extra: &[&str]) -> Output {
    run(cairn()
        .arg("verify")
        .arg(dir)
        .arg("--public-keys")
        .arg(dir.join("public-keys.json"))
        .arg("--show-valid")
        .args(extra))
}

/// `aws cloudtrail validate-logs --verbose` for one member account and region.
fn cli(moto: &Moto, s: &Standin, account: &str, region: &str) -> Output {
    run(moto
        .venv_command("aws")
        .env("AWS_ENDPOINT_URL_S3", &moto.endpoint)
        .env(
            "AWS_ENDPOINT_URL_CLOUDTRAIL",
            format!("http://127.0.0.1:{}", s.port),
        )
        .env(
            "AWS_ENDPOINT_URL_ORGANIZATIONS",
            format!("http://127.0.0.1:{}", s.port),
        )
        .args([
            "cloudtrail",
            "validate-logs",
            "--trail-arn",
            TRAIL_ARN,
            "--account-id",
            account,
            "--start-time",
            "2025-05-25T00:00:00Z",
            "--end-time",
            "2025-06-01T06:00:00Z",
            "--verbose",
            "--region",
            region,
        ]))
}

fn folders(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    v.sort();
    v
}

fn accounts_and_regions(trail: &Path) -> Vec<(String, String)> {
    let org = trail.join("AWSLogs").join(ORG);
    let mut out = Vec::new();
    for a in folders(&org) {
        for r in folders(&org.join(&a).join("CloudTrail-Digest")) {
            out.push((a.clone(), r));
        }
    }
    out
}

#[test]
fn offline_output_and_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let trail = fixture(dir.path(), "b-intact", None, false);
    let o = offline(&trail, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("Results found for"), "{out}");
    assert!(out.contains("digest files valid") && out.contains("log files valid"));
    assert!(!out.contains("INVALID"));
    let valid = verdicts(&out);
    assert!(valid.len() > 50 && valid.values().all(|v| v == "valid"));

    // JSON: every finding, and the summary.
    let o = offline(&trail, &["--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["valid"], true);
    assert_eq!(doc["findings"].as_array().unwrap().len(), valid.len());
    assert!(doc["summary"]["digests_valid"].as_u64().unwrap() > 20);

    // Tampered: exit 1, the line names the object and the problem.
    let bad = fixture(dir.path(), "b-modified", Some("modify-log"), false);
    let o = offline(&bad, &[]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o);
    assert!(
        out.lines()
            .any(|l| l.starts_with("Log file\ts3://b-modified/AWSLogs/")
                && l.ends_with("\tINVALID: hash value doesn't match")),
        "{out}"
    );
    assert!(out.contains("log files INVALID"), "{out}");

    // Usage errors.
    let o = run(cairn().args(["verify"]).arg(&trail));
    assert_eq!(o.status.code(), Some(2), "no keys offline: {}", text(&o));
    assert!(text(&o).contains("--public-keys"));
    let o = run(cairn().args(["verify", "/no/such/dir", "--public-keys", "x"]));
    assert_eq!(o.status.code(), Some(2));
}

/// Every tamper case: offline and online give the same verdicts, and the AWS CLI agrees on
/// everything it checks. The cases only cairn catches are listed here.
#[test]
fn online_offline_and_the_aws_cli_agree_on_every_tamper_case() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    // The intact trail: multi-day, multi-region, two accounts, a key rotation, a backfill.
    let intact = fixture(dir.path(), "case-intact", None, true);
    let keys = intact.join("public-keys.json");
    let mut cases: Vec<(String, PathBuf)> = vec![("intact".into(), intact)];
    for case in cairn_gen::digests::Tamper::ALL {
        let name = case.name();
        cases.push((
            name.to_string(),
            fixture(dir.path(), &format!("case-{name}"), Some(name), false),
        ));
    }
    let mut failures = Vec::new();
    for (name, trail) in &cases {
        let bucket = trail.file_name().unwrap().to_string_lossy().to_string();
        upload(&moto, trail, &bucket);
        let s = standin(&moto, &keys, &bucket);
        let off = offline(trail, &[]);
        let on = online(&moto, &s, &bucket, &[]);
        let (off_v, on_v) = (verdicts(&text(&off)), verdicts(&text(&on)));
        let expect_ok = name == "intact";
        if off.status.code() != Some(if expect_ok { 0 } else { 1 }) {
            failures.push(format!(
                "{name}: offline exit {:?}:\n{}",
                off.status,
                text(&off)
            ));
        }
        if on.status.code() != off.status.code() || on_v != off_v {
            failures.push(format!(
                "{name}: online differs from offline:\n{}\n--- offline ---\n{}",
                text(&on),
                text(&off)
            ));
        }
        if !expect_ok
            && !off_v.values().any(|v| v.starts_with("INVALID"))
            && name != "delete-two-digests"
        {
            failures.push(format!("{name}: nothing INVALID:\n{}", tail(&off)));
        }
        for (account, region) in accounts_and_regions(trail) {
            let c = cli(&moto, &s, &account, &region);
            let cli_v = verdicts(&text(&c));
            // cairn, run per account and region as the CLI is.
            let ours = online(
                &moto,
                &s,
                &bucket,
                &["--account", &account, "--region", &region],
            );
            let ours_v = in_region(&verdicts(&text(&ours)), &region);
            assert_eq!(
                ours_v,
                in_region(&on_v, &region)
                    .into_iter()
                    .filter(|(k, _)| k.contains(&account))
                    .collect()
            );
            let only_cairn: BTreeMap<String, String> = ours_v
                .iter()
                .filter(|(k, v)| cli_v.get(*k) != Some(v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let only_cli: Vec<_> = cli_v
                .iter()
                .filter(|(k, v)| ours_v.get(*k) != Some(v))
                .collect();
            if !only_cli.is_empty() {
                failures.push(format!(
                    "{name} {account} {region}: the AWS CLI says what cairn does not: {}\n{}",
                    some(only_cli),
                    tail(&c)
                ));
            }
            // What only cairn reports.
            let allowed: &[&str] = match name.as_str() {
                // validate-logs never lists the bucket's log files, only the digests' lists.
                "inject-log" => &["INVALID: not listed in any digest"],
                _ => &[],
            };
            if only_cairn.values().any(|v| !allowed.contains(&v.as_str())) {
                failures.push(format!(
                    "{name} {account} {region}: cairn differs from the AWS CLI: {}\n{}",
                    some(&only_cairn),
                    tail(&c)
                ));
            }
            if name == "inject-log" && only_cairn.is_empty() && region == "us-east-1" {
                failures.push(format!("{name}: cairn did not name the injected file"));
            }
            let cli_ok = c.status.success();
            if cli_ok != ours.status.success() && name != "inject-log" {
                failures.push(format!(
                    "{name} {account} {region}: exit status differs: cli {:?}, cairn {:?}",
                    c.status, ours.status
                ));
            }
        }
        if name == "intact" || name == "inject-log" {
            // Ingesting the bucket verifies it through ListPublicKeys, without reading a file twice.
            let data = dir.path().join(format!("data-{name}"));
            let mut c = cairn();
            for (k, v) in moto.aws_env() {
                if k != "AWS_ENDPOINT_URL" {
                    c.env(k, v);
                }
            }
            let o = run(c
                .env("AWS_ENDPOINT_URL_S3", &moto.endpoint)
                .env(
                    "AWS_ENDPOINT_URL_CLOUDTRAIL",
                    format!("http://127.0.0.1:{}", s.port),
                )
                .arg("--data-dir")
                .arg(&data)
                .args([
                    "ingest",
                    &format!("s3://{bucket}"),
                    "--no-rules",
                    "--format",
                    "json",
                ]));
            let v: serde_json::Value =
                serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
            let want_failed = u64::from(name == "inject-log");
            if v["integrity"]["failed"] != want_failed
                || v["integrity"]["verified"].as_u64().unwrap_or(0) < 100
            {
                failures.push(format!(
                    "{name}: ingest s3:// integrity {}: {}",
                    v["integrity"],
                    tail(&o)
                ));
            }
        }
        if name == "delete-two-digests" {
            // The AWS CLI names only the first of two consecutive missing digests; cairn
            // counts both.
            let out = text(&off);
            if !out.lines().any(|l| {
                l.starts_with("Digest files\t")
                    && l.contains("INVALID: 2 consecutive digest files not found")
            }) || !out.contains(", 2/")
            {
                failures.push(format!("{name}: cairn did not count both:\n{out}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The real digest and public key kept in the corpus parse, and the key's fingerprint is the
/// MD5 of its DER bytes.
#[test]
fn the_real_digest_and_public_key_parse() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let (digests_dir, keys_dir) = (
        corpus.join("llm-guard-real-digest"),
        corpus.join("aws-cli-digest-reference"),
    );
    assert!(
        digests_dir.is_dir() && keys_dir.is_dir(),
        "the test corpus is missing at {} (CI has it beside the clone)",
        corpus.display()
    );
    let mut files = Vec::new();
    let mut stack = vec![digests_dir.clone(), keys_dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                files.push(e.path());
            }
        }
    }
    let (mut digests, mut keys) = (0, 0);
    for f in &files {
        let raw = std::fs::read(f).unwrap();
        let json = if raw.starts_with(&[0x1f, 0x8b]) {
            match cairn_gen::digests::gunzip(f) {
                Ok(j) => j,
                Err(_) => continue,
            }
        } else {
            raw
        };
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&json) else {
            continue;
        };
        if v.get("digestStartTime").is_some() {
            let d = cairn_integrity::Digest::parse(&json)
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            assert_eq!(
                d.digest_signature_algorithm.as_deref(),
                Some("SHA256withRSA")
            );
            // What the corpus README says of the one real digest.
            assert_eq!(d.aws_account_id, "327878933619");
            assert_eq!(
                d.digest_public_key_fingerprint,
                "be2f0b997552f44942837300ba1aba9d"
            );
            assert_eq!(d.log_files.len(), 5);
            assert!(d.previous_digest_signature.is_some());
            assert!(d.previous_digest_hash_value.is_some());
            digests += 1;
        }
        // Keys: a ListPublicKeys response, or any object with Value and Fingerprint.
        let mut stack = vec![&v];
        while let Some(x) = stack.pop() {
            match x {
                serde_json::Value::Object(o) => {
                    if let (Some(val), Some(fp)) = (
                        o.get("Value").and_then(|v| v.as_str()),
                        o.get("Fingerprint").and_then(|v| v.as_str()),
                    ) {
                        let list = serde_json::json!({"PublicKeyList": [{"Value": val, "Fingerprint": fp}]});
                        let parsed = cairn_integrity::PublicKeys::from_list_json(
                            list.to_string().as_bytes(),
                        )
                        .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
                        assert!(parsed.get(fp).is_some());
                        keys += 1;
                    }
                    stack.extend(o.values());
                }
                serde_json::Value::Array(a) => stack.extend(a.iter()),
                _ => {}
            }
        }
    }
    // Keys kept as text: a base64 DER blob whose MD5 is named somewhere in the reference.
    if keys == 0 {
        let texts: Vec<String> = files
            .iter()
            .filter_map(|f| std::fs::read(f).ok())
            .map(|b| String::from_utf8_lossy(&b).to_string())
            .collect();
        let all = texts.join("\n").to_ascii_lowercase();
        for t in &texts {
            for word in t.split(|c: char| c.is_whitespace() || c == '"' || c == ',' || c == ':') {
                if word.len() < 200 {
                    continue;
                }
                let list = serde_json::json!({"PublicKeyList": [{"Value": word}]});
                if let Ok(parsed) =
                    cairn_integrity::PublicKeys::from_list_json(list.to_string().as_bytes())
                    && let Some(k) = parsed.iter().next()
                    && all.contains(&k.fingerprint)
                {
                    keys += 1;
                }
            }
        }
    }
    assert_eq!(digests, 1, "the one real digest, among {files:?}");
    assert_eq!(
        keys, 1,
        "the one real public key (7f3f4014...), among {files:?}"
    );
}

fn count(data: &Path, q: &str) -> u64 {
    let o = run(cairn()
        .arg("--data-dir")
        .arg(data)
        .args(["search", q, "--count"]));
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8_lossy(&o.stdout)
        .trim()
        .replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("count of {q}: {}", text(&o)))
}

fn ingest(data: &Path, args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let o = run(cairn()
        .arg("--data-dir")
        .arg(data)
        .arg("ingest")
        .args(args)
        .args(["--format", "json"]));
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)))
}

/// Ingest verifies the digests against the hashes it computed while reading, marks every
/// event, and raises the built-in alert once per failed file.
#[test]
fn events_carry_their_files_verification_state() {
    let dir = tempfile::tempdir().unwrap();
    let (trail, touched) = fixture_tampered(dir.path(), "b-store", Some("modify-log"), false);
    let tampered = touched[0].clone();
    let data = dir.path().join("data");
    let keys = trail.join("public-keys.json");
    let logs = trail.join("AWSLogs");
    let s = ingest(
        &data,
        &[logs.as_os_str(), "--public-keys".as_ref(), keys.as_os_str()],
    );
    let i = &s["integrity"];
    assert_eq!(i["failed"], 1, "{s}");
    assert_eq!(i["newly_failed"], 1);
    let total = s["events_indexed"].as_u64().unwrap();
    let (verified, failed, unverified) = (
        count(&data, "cairn.integrity:verified"),
        count(&data, "cairn.integrity:failed"),
        count(&data, "cairn.integrity:unverified"),
    );
    assert!(
        failed > 0 && verified > 0,
        "{verified} {failed} {unverified}"
    );
    assert_eq!(verified + failed + unverified, total);
    // Exactly the events of the tampered file.
    let o = run(cairn().arg("--data-dir").arg(&data).args([
        "search",
        "cairn.integrity:failed",
        "--fields",
        "cairn.object,cairn.integrity",
        "--format",
        "csv",
        "--limit",
        "10000",
    ]));
    let rows: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect();
    assert_eq!(rows.len() as u64, failed);
    assert!(
        rows.iter()
            .all(|r| r.contains(&tampered) && r.ends_with(",failed")),
        "{rows:?}"
    );
    // `show` says so even into a pipe.
    let o = run(cairn().arg("--data-dir").arg(&data).args([
        "search",
        "cairn.integrity:failed",
        "--fields",
        "eventID",
        "--format",
        "csv",
        "--limit",
        "1",
    ]));
    let id = String::from_utf8_lossy(&o.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    let o = run(cairn().arg("--data-dir").arg(&data).args(["show", &id]));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("integrity: failed: hash value doesn't match"),
        "{}",
        text(&o)
    );
    // The built-in rule alerted, once.
    let alerts = || {
        let o = run(cairn().arg("--data-dir").arg(&data).args([
            "alerts",
            "--rule",
            "log-file-integrity-failed",
            "--format",
            "json",
        ]));
        let v: serde_json::Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
        v.as_array().unwrap().len()
    };
    assert_eq!(alerts(), 1);
    let again = ingest(
        &data,
        &[logs.as_os_str(), "--public-keys".as_ref(), keys.as_os_str()],
    );
    assert_eq!(again["integrity"]["newly_failed"], 0, "{again}");
    assert_eq!(alerts(), 1);
    assert_eq!(count(&data, "cairn.integrity:failed"), failed);
    // Without keys, nothing is verified, and nothing claims to be.
    let plain = dir.path().join("plain");
    let s = ingest(&plain, &[logs.as_os_str()]);
    assert!(s.get("integrity").is_none(), "{s}");
    assert_eq!(count(&plain, "cairn.integrity:unverified"), total);
    assert_eq!(count(&plain, "cairn.integrity:verified"), 0);
}

/// Following a directory, digests that arrive later verify the events already in the store.
#[test]
fn following_verifies_digests_as_they_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let trail = fixture(dir.path(), "b-follow", None, false);
    // Hold the digests back.
    let held = dir.path().join("held");
    let digests = trail.join("AWSLogs").join(ORG);
    let account = folders(&digests).remove(0);
    std::fs::create_dir_all(&held).unwrap();
    std::fs::rename(
        digests.join(&account).join("CloudTrail-Digest"),
        held.join("CloudTrail-Digest"),
    )
    .unwrap();
    let data = dir.path().join("data");
    let mut child = cairn()
        .arg("--data-dir")
        .arg(&data)
        .arg("ingest")
        .arg(trail.join("AWSLogs"))
        .arg("--public-keys")
        .arg(trail.join("public-keys.json"))
        .args(["--follow", "--interval", "1s", "--no-rules"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let wait = |what: &str, f: &dyn Fn() -> bool| {
        let start = std::time::Instant::now();
        while !f() {
            assert!(
                start.elapsed().as_secs() < 60,
                "timed out waiting for {what}"
            );
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
    };
    let events = |q: &str| {
        let o = run(cairn()
            .arg("--data-dir")
            .arg(&data)
            .args(["search", q, "--count"]));
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .replace(',', "")
            .parse::<u64>()
            .unwrap_or(0)
    };
    wait("the events", &|| events("*") > 1000);
    assert_eq!(events("cairn.integrity:verified"), 0);
    std::fs::rename(
        held.join("CloudTrail-Digest"),
        digests.join(&account).join("CloudTrail-Digest"),
    )
    .unwrap();
    wait("the digests to verify the events", &|| {
        events("cairn.integrity:verified") == events("*")
    });
    let _ = child.kill();
    let _ = child.wait();
}
