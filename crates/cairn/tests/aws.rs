//! S3 and SQS ingest against a real AWS-API server (moto_server on 127.0.0.1), driven by the
//! AWS CLI: S3 equals local, incremental runs, every notification shape, faults, a killed
//! follower, Nagios checks and the metrics endpoint.

#[path = "common/aws.rs"]
mod aws;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws::{FaultProxy, Faults, Moto, files, wait_for};
use serde_json::Value;

fn cairn(data: &Path, moto: &Moto) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cairn"));
    c.arg("--data-dir")
        .arg(data)
        .env("NO_COLOR", "1")
        .env_remove("CAIRN_CONFIG")
        .current_dir(std::env::temp_dir())
        .env_remove("CAIRN_DATA")
        .envs(moto.aws_env())
        .stdin(Stdio::null());
    c
}

fn run(mut c: Command) -> Output {
    c.output().expect("cairn runs")
}

fn ok(c: Command) -> String {
    let dbg = format!("{c:?}");
    let out = run(c);
    assert!(
        out.status.success(),
        "{dbg} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn ingest_json(data: &Path, moto: &Moto, args: &[&str]) -> Value {
    let mut c = cairn(data, moto);
    c.arg("ingest").args(args).args(["--format", "json"]);
    serde_json::from_str(&ok(c)).unwrap()
}

fn generate(dir: &Path, extra: &[&str]) -> Value {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cairn"));
    c.args(["generate", "--out"]).arg(dir).args(extra);
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// Every eventID in the store.
fn event_ids(data: &Path, moto: &Moto) -> BTreeSet<String> {
    let mut c = cairn(data, moto);
    c.args([
        "search", "", "--format", "csv", "--fields", "eventID", "--limit", "10000000",
    ]);
    ok(c).lines().skip(1).map(str::to_string).collect()
}

fn count(data: &Path, moto: &Moto, q: &str) -> u64 {
    let mut c = cairn(data, moto);
    c.args(["search", q, "--count"]);
    ok(c).trim().parse().unwrap()
}

#[test]
fn s3_ingest_equals_local_and_reads_only_what_is_new() {
    let moto = Moto::start();
    let t = tempfile::tempdir().unwrap();
    let trail = t.path().join("trail");
    let m = generate(
        &trail,
        &[
            "--events",
            "4000",
            "--accounts",
            "2",
            "--regions",
            "2",
            "--days",
            "2",
            "--org",
            "o-abc123def4",
            "--prefix",
            "logs/org",
            "--end",
            "2025-06-01T00:00:00Z",
        ],
    );
    moto.aws(&["s3", "mb", "s3://trail"]);
    moto.aws(&[
        "s3",
        "sync",
        "--quiet",
        trail.join("logs").to_str().unwrap(),
        "s3://trail/logs",
    ]);
    // Something that is not a CloudTrail log, beside the trail.
    let empty = t.path().join("empty");
    std::fs::write(&empty, b"").unwrap();
    moto.aws(&[
        "s3api",
        "put-object",
        "--bucket",
        "trail",
        "--key",
        "logs/org/AWSLogs/o-abc123def4/111111111111/CloudTrail-Digest/x.json.gz",
        "--body",
        empty.to_str().unwrap(),
    ]);

    // And a note at the top of the prefix, outside the layout: not JSON, not read.
    moto.aws(&[
        "s3api",
        "put-object",
        "--bucket",
        "trail",
        "--key",
        "logs/README.txt",
        "--body",
        empty.to_str().unwrap(),
    ]);

    // An Insights file (events in the same shape) is read too: a copy of a log file, so its
    // events are all duplicates.
    let acct = m["per_account"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    // From the same account and region, so that the filtered run below counts the same.
    let a_log = files(&trail.join("logs"))
        .into_iter()
        .find(|p| {
            p.to_str()
                .unwrap()
                .contains(&format!("/{acct}/CloudTrail/us-east-1/"))
        })
        .unwrap();
    moto.aws(&[
        "s3api",
        "put-object",
        "--bucket",
        "trail",
        "--key",
        &format!(
            "logs/org/AWSLogs/o-abc123def4/{acct}/CloudTrail-Insight/us-east-1/2025/05/31/{acct}_CloudTrail-Insight_us-east-1_20250531T2355Z_insight1.json.gz"
        ),
        "--body",
        trail.join("logs").join(&a_log).to_str().unwrap(),
    ]);

    let local = t.path().join("local");
    let r = ingest_json(&local, &moto, &[trail.join("logs").to_str().unwrap()]);
    assert_eq!(r["events_indexed"], m["unique_events"]);

    let s3 = t.path().join("s3");
    let r = ingest_json(&s3, &moto, &["s3://trail/logs/"]);
    assert_eq!(r["events_indexed"], m["unique_events"], "{r}");
    assert_eq!(
        r["objects_read"],
        m["files"].as_u64().unwrap() + 1,
        "the Insights file too: {r}"
    );
    assert_eq!(r["objects_failed"], 0, "{r}");
    assert_eq!(event_ids(&s3, &moto), event_ids(&local, &moto));
    // A second run lists a little and fetches nothing.
    let again = ingest_json(&s3, &moto, &["s3://trail/logs/"]);
    assert_eq!(again["objects_read"], 0, "{again}");
    assert_eq!(again["events_indexed"], 0, "{again}");

    // A later day arrives, and an object stored with Content-Encoding: gzip.
    let later = t.path().join("later");
    let m2 = generate(
        &later,
        &[
            "--events",
            "300",
            "--accounts",
            "2",
            "--regions",
            "2",
            "--days",
            "1",
            "--seed",
            "2",
            "--org",
            "o-abc123def4",
            "--prefix",
            "logs/org",
            "--end",
            "2025-06-02T00:00:00Z",
            "--duplicate-rate",
            "0",
        ],
    );
    let new_files = files(&later.join("logs"));
    let (first, rest) = new_files.split_first().unwrap();
    moto.aws(&[
        "s3api",
        "put-object",
        "--bucket",
        "trail",
        "--key",
        &format!("logs/{}", first.display()),
        "--body",
        later.join("logs").join(first).to_str().unwrap(),
        "--content-encoding",
        "gzip",
        "--content-type",
        "application/json",
    ]);
    std::fs::remove_file(later.join("logs").join(first)).unwrap();
    moto.aws(&[
        "s3",
        "sync",
        "--quiet",
        later.join("logs").to_str().unwrap(),
        "s3://trail/logs",
    ]);
    assert!(!rest.is_empty());
    let third = ingest_json(&s3, &moto, &["s3://trail/logs/"]);
    assert_eq!(third["objects_read"], new_files.len() as u64, "{third}");
    assert_eq!(third["events_indexed"], m2["unique_events"], "{third}");
    assert!(
        third["keys_listed"].as_u64().unwrap() < m["files"].as_u64().unwrap() / 4,
        "the third listing looked at what is new, not at the bucket: {third}"
    );

    // A straggler: a file arriving late with a name older than the partition's newest key
    // (within the lookback) is found by the next run through the ledger.
    let newest = rest.iter().max().unwrap();
    let name = newest.file_name().unwrap().to_str().unwrap();
    let ts_end = name.find("Z_").unwrap() + 2;
    let straggler = newest.with_file_name(format!("{}0000straggler.json.gz", &name[..ts_end]));
    assert!(straggler < *newest);
    moto.aws(&[
        "s3",
        "cp",
        "--quiet",
        later.join("logs").join(newest).to_str().unwrap(),
        &format!("s3://trail/logs/{}", straggler.display()),
    ]);
    let fourth = ingest_json(&s3, &moto, &["s3://trail/logs/"]);
    assert_eq!(fourth["objects_read"], 1, "{fourth}");
    assert!(
        fourth["duplicates_dropped"].as_u64().unwrap() > 0,
        "its events were already stored: {fourth}"
    );

    // Filters: one account of one region, read through an assumed role.
    let one = t.path().join("one");
    let acct = m["per_account"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let r = ingest_json(
        &one,
        &moto,
        &[
            "s3://trail/logs/",
            "--account",
            &acct,
            "--region",
            "us-east-1",
            "--role-arn",
            "arn:aws:iam::123456789012:role/cairn-reader",
        ],
    );
    let key = format!("{acct}/us-east-1");
    let want = m["per_account_region"][&key].as_u64().unwrap()
        + m2["per_account_region"][&key].as_u64().unwrap_or(0);
    assert_eq!(r["events_indexed"].as_u64().unwrap(), want, "{r}");
}

/// Publishes an SNS message (raw JSON string) to `topic`.
fn publish(moto: &Moto, topic: &str, message: &str) {
    moto.aws(&["sns", "publish", "--topic-arn", topic, "--message", message]);
}

/// A queue, a bucket with the generated trail's files (not yet announced), and their keys.
fn queue_and_bucket(moto: &Moto, trail: &Path, events: &str) -> (String, Vec<String>) {
    generate(
        trail,
        &[
            "--events",
            events,
            "--accounts",
            "2",
            "--regions",
            "1",
            "--days",
            "1",
            "--end",
            "2025-06-01T00:00:00Z",
            "--duplicate-rate",
            "0",
        ],
    );
    moto.aws(&["s3", "mb", "s3://trail"]);
    let url = moto.create_queue("notifications", 6);
    let keys: Vec<String> = files(&trail.join("AWSLogs"))
        .into_iter()
        .map(|p| format!("AWSLogs/{}", p.display()))
        .collect();
    (url, keys)
}

fn upload(moto: &Moto, trail: &Path, key: &str) {
    moto.aws(&[
        "s3",
        "cp",
        "--quiet",
        trail.join(key).to_str().unwrap(),
        &format!("s3://trail/{key}"),
    ]);
}

/// Uploads the whole trail with one CLI call.
fn sync(moto: &Moto, trail: &Path) {
    moto.aws(&[
        "s3",
        "sync",
        "--quiet",
        trail.join("AWSLogs").to_str().unwrap(),
        "s3://trail/AWSLogs",
    ]);
}

#[test]
fn one_queue_with_every_notification_shape() {
    let moto = Moto::start();
    let t = tempfile::tempdir().unwrap();
    let trail = t.path().join("trail");
    let (url, keys) = queue_and_bucket(&moto, &trail, "3000");
    assert!(keys.len() >= 7, "{keys:?}");
    sync(&moto, &trail);
    let arn = moto.queue_arn(&url);
    let topic = moto.aws_json(&["sns", "create-topic", "--name", "trail"])["TopicArn"]
        .as_str()
        .unwrap()
        .to_string();
    moto.aws(&[
        "sns",
        "subscribe",
        "--topic-arn",
        &topic,
        "--protocol",
        "sqs",
        "--notification-endpoint",
        &arn,
    ]);

    // 1. S3 to SQS directly: configuring it sends the test event; then a re-upload of key 0.
    moto.notify_queue("trail", &url);
    upload(&moto, &trail, &keys[0]);
    // 2. An S3 event wrapped by SNS.
    let s3_event = |key: &str| {
        serde_json::json!({"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",
            "eventTime":"2025-06-01T00:00:00.000Z","eventName":"ObjectCreated:Put",
            "s3":{"s3SchemaVersion":"1.0","bucket":{"name":"trail","arn":"arn:aws:s3:::trail"},
            "object":{"key": key.replace('/', "%2F"),"sequencer":"0A1B"}}}]})
        .to_string()
    };
    publish(&moto, &topic, &s3_event(&keys[1]));
    // 3. CloudTrail's own SNS notification, naming several files.
    publish(
        &moto,
        &topic,
        &serde_json::json!({"s3Bucket":"trail","s3ObjectKey":[&keys[2], &keys[3], &keys[4]]})
            .to_string(),
    );
    // 4. EventBridge, straight to the queue.
    let eb = serde_json::json!({"version":"0","id":"e1","detail-type":"Object Created","source":"aws.s3",
        "account":"123456789012","time":"2025-06-01T00:00:00Z","region":"us-east-1",
        "resources":["arn:aws:s3:::trail"],
        "detail":{"version":"0","bucket":{"name":"trail"},"object":{"key":&keys[5],"size":1},
        "request-id":"r","requester":"123456789012","reason":"PutObject"}});
    moto.aws(&[
        "sqs",
        "send-message",
        "--queue-url",
        &url,
        "--message-body",
        &eb.to_string(),
    ]);
    // 5. Garbage.
    let garbage = moto.aws_json(&[
        "sqs",
        "send-message",
        "--queue-url",
        &url,
        "--message-body",
        "this is not a notification",
    ])["MessageId"]
        .as_str()
        .unwrap()
        .to_string();

    let data = t.path().join("data");
    let mut c = cairn(&data, &moto);
    c.args(["ingest", &format!("sqs://{url}"), "--format", "json"]);
    let out = run(c);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&garbage) && stderr.contains("not a notification"),
        "the garbage message is named: {stderr}"
    );
    assert!(stderr.contains("test event"), "{stderr}");

    // Exactly the events of keys 0..=5.
    let want = t.path().join("want");
    let mut c = cairn(&want, &moto);
    c.arg("ingest");
    for k in &keys[..6] {
        c.arg(trail.join(k));
    }
    ok(c);
    assert_eq!(event_ids(&data, &moto), event_ids(&want, &moto));
    // The queue holds only the garbage (hidden for a while, then back for the redrive policy).
    assert_eq!(moto.queue_counts(&url), (0, 1));
}

#[test]
fn faults_between_cairn_and_s3_still_give_the_exact_set() {
    let moto = Moto::start();
    let t = tempfile::tempdir().unwrap();
    let trail = t.path().join("trail");
    let m = generate(
        &trail,
        &[
            "--events",
            "4000",
            "--accounts",
            "2",
            "--regions",
            "2",
            "--days",
            "2",
            "--end",
            "2025-06-01T00:00:00Z",
        ],
    );
    moto.aws(&["s3", "mb", "s3://trail"]);
    moto.aws(&[
        "s3",
        "sync",
        "--quiet",
        trail.join("AWSLogs").to_str().unwrap(),
        "s3://trail/AWSLogs",
    ]);
    let proxy = FaultProxy::start(
        &moto.endpoint,
        Faults {
            error_every: 5,
            slow_every: 7,
            slow_ms: 300,
            drop_every: 6,
        },
    );
    let data = t.path().join("data");
    let mut c = cairn(&data, &moto);
    c.env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .args(["ingest", "s3://trail/", "--format", "json"]);
    let r: Value = serde_json::from_str(&ok(c)).unwrap();
    assert_eq!(r["events_indexed"], m["unique_events"], "{r}");
    assert_eq!(r["objects_failed"], 0, "{r}");
    let s = &proxy.stats;
    use std::sync::atomic::Ordering::Relaxed;
    assert!(
        s.errors.load(Relaxed) > 10 && s.dropped.load(Relaxed) > 10 && s.slowed.load(Relaxed) > 5,
        "faults were injected: {s:?}"
    );
}

#[test]
fn a_killed_follower_loses_and_doubles_nothing() {
    let moto = Moto::start();
    let t = tempfile::tempdir().unwrap();
    let trail = t.path().join("trail");
    let (url, keys) = queue_and_bucket(&moto, &trail, "20000");
    moto.notify_queue("trail", &url);
    sync(&moto, &trail);
    let data = t.path().join("data");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let follow = |data: &Path| {
        let mut c = cairn(data, &moto);
        c.args([
            "ingest",
            "--follow",
            &format!("sqs://{url}"),
            "--batch",
            "3",
            "--metrics-addr",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        c.spawn().unwrap()
    };
    let ledger = data.join("ledger.jsonl");
    let lines = || {
        std::fs::read_to_string(&ledger)
            .map(|s| s.lines().filter(|l| l.contains("\"ok\"")).count())
            .unwrap_or(0)
    };
    let mut child = follow(&data);
    wait_for("a first commit", Duration::from_secs(60), || lines() >= 4);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(lines() < keys.len(), "killed before the end");

    let mut child = follow(&data);
    wait_for("every object", Duration::from_secs(120), || {
        lines() >= keys.len() && moto.queue_counts(&url) == (0, 0)
    });
    // The metrics endpoint speaks the Prometheus text format.
    let (status, headers, body) =
        aws::http("GET", &format!("http://127.0.0.1:{port}/metrics"), &[], b"");
    assert_eq!(status, 200);
    assert!(
        aws::header(&headers, "content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = String::from_utf8(body).unwrap();
    let parsed = parse_prometheus(&text);
    assert!(parsed.contains_key("cairn_events_total"), "{text}");
    assert!(parsed.contains_key("cairn_queue_messages"), "{text}");

    // SIGTERM stops it cleanly.
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");

    let all = t.path().join("all");
    let mut c = cairn(&all, &moto);
    c.arg("ingest").arg(trail.join("AWSLogs"));
    ok(c);
    let got = event_ids(&data, &moto);
    assert_eq!(got, event_ids(&all, &moto));
    assert_eq!(
        count(&data, &moto, ""),
        got.len() as u64,
        "no event stored twice"
    );
}

/// Parses metrics with the Prometheus project's own Python parser: family name → samples.
fn parse_prometheus(text: &str) -> BTreeMap<String, u64> {
    let venv = std::env::var("CAIRN_VENV").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv"),
        PathBuf::from,
    );
    let script = "import sys, json\nfrom prometheus_client.parser import text_string_to_metric_families\nprint(json.dumps({f.name: len(f.samples) for f in text_string_to_metric_families(sys.stdin.read())}))";
    let mut child = Command::new(venv.join("bin/python"))
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client rejects the metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: BTreeMap<String, u64> = serde_json::from_slice(&out.stdout).unwrap();
    // prometheus_client names counter families without their _total suffix.
    v.into_iter()
        .map(|(k, n)| {
            let k = if text.contains(&format!("# TYPE {k}_total counter")) {
                format!("{k}_total")
            } else {
                k
            };
            (k, n)
        })
        .collect()
}

fn check(data: &Path, moto: &Moto, args: &[&str]) -> (i32, String) {
    let mut c = cairn(data, moto);
    c.arg("check").args(args);
    let out = run(c);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one status line: {text}");
    (out.status.code().unwrap(), text.trim().to_string())
}

#[test]
fn nagios_checks_say_ok_warning_critical_and_unknown() {
    let moto = Moto::start();
    let t = tempfile::tempdir().unwrap();
    let trail = t.path().join("trail");
    // A trail whose newest events are minutes old.
    let now = time::OffsetDateTime::now_utc();
    let end = now
        .replace_second(0)
        .unwrap()
        .replace_nanosecond(0)
        .unwrap();
    let end = end
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    generate(
        &trail,
        &[
            "--events",
            "3000",
            "--accounts",
            "1",
            "--regions",
            "1",
            "--days",
            "1",
            "--end",
            &end,
        ],
    );
    let data = t.path().join("data");
    let mut c = cairn(&data, &moto);
    c.arg("ingest").arg(trail.join("AWSLogs"));
    ok(c);
    let n = count(&data, &moto, "eventName:GetTrailStatus");
    // The last hour holds only part of it: count the window itself.
    let mut c = cairn(&data, &moto);
    c.args([
        "search",
        "eventName:GetTrailStatus",
        "--since",
        "24h",
        "--count",
    ]);
    let day: u64 = ok(c).trim().parse().unwrap();
    assert_eq!(n, day);
    let q = "eventName:GetTrailStatus";
    let w = |below: u64| below.to_string();
    let (code, line) = check(
        &data,
        &moto,
        &[
            "count",
            "--query",
            q,
            "--window",
            "24h",
            "--warn-below",
            &w(n),
            "--crit-below",
            &w(n / 2),
        ],
    );
    assert_eq!(code, 0, "{line}");
    assert!(
        line.starts_with("CAIRN COUNT OK - ") && line.contains(&format!("| count={n};{n}:;")),
        "{line}"
    );
    let (code, line) = check(
        &data,
        &moto,
        &[
            "count",
            "--query",
            q,
            "--window",
            "24h",
            "--warn-below",
            &w(n + 1),
            "--crit-below",
            &w(n / 2),
        ],
    );
    assert_eq!(code, 1, "{line}");
    assert!(line.starts_with("CAIRN COUNT WARNING - "), "{line}");
    let (code, line) = check(
        &data,
        &moto,
        &[
            "count",
            "--query",
            q,
            "--window",
            "24h",
            "--warn-below",
            &w(n + 2),
            "--crit-below",
            &w(n + 1),
        ],
    );
    assert_eq!(code, 2, "{line}");
    assert!(line.starts_with("CAIRN COUNT CRITICAL - "), "{line}");
    let (code, line) = check(
        &data,
        &moto,
        &["count", "--query", "eventName:(", "--warn-below", "1"],
    );
    assert_eq!(code, 3, "{line}");
    assert!(line.starts_with("CAIRN COUNT UNKNOWN - "), "{line}");
    let (code, line) = check(
        &t.path().join("nothing"),
        &moto,
        &["count", "--warn-below", "1"],
    );
    assert_eq!(code, 3, "{line}");

    // Lag: the newest event is minutes old.
    let (code, line) = check(&data, &moto, &["lag", "--warn", "2h", "--crit", "3h"]);
    assert_eq!(code, 0, "{line}");
    assert!(line.contains("| '"), "{line}");
    let (code, line) = check(&data, &moto, &["lag", "--warn", "1s", "--crit", "3h"]);
    assert_eq!(code, 1, "{line}");
    let (code, line) = check(&data, &moto, &["lag", "--warn", "1s", "--crit", "2s"]);
    assert_eq!(code, 2, "{line}");
    let (code, line) = check(
        &data,
        &moto,
        &[
            "lag",
            "--warn",
            "1s",
            "--crit",
            "2s",
            "--account",
            "999999999999",
        ],
    );
    assert_eq!(code, 3, "{line}");

    // Trail status from the server's CloudTrail API.
    moto.aws(&["s3", "mb", "s3://trail-bucket"]);
    moto.aws(&[
        "cloudtrail",
        "create-trail",
        "--name",
        "main",
        "--s3-bucket-name",
        "trail-bucket",
    ]);
    let (code, line) = check(
        &data,
        &moto,
        &["trail", "--name", "main", "--region", "us-east-1"],
    );
    assert_eq!(code, 2, "a new trail does not log yet: {line}");
    assert!(line.contains("not logging"), "{line}");
    moto.aws(&["cloudtrail", "start-logging", "--name", "main"]);
    let (code, line) = check(
        &data,
        &moto,
        &["trail", "--name", "main", "--region", "us-east-1"],
    );
    assert_eq!(code, 0, "{line}");
    let (code, line) = check(
        &data,
        &moto,
        &["trail", "--name", "nope", "--region", "us-east-1"],
    );
    assert_eq!(code, 3, "{line}");
    assert!(line.contains("nope"), "{line}");
}

#[test]
fn health_reports_deliveries_per_account_and_region() {
    let moto = Moto::start();
    let t = tempfile::tempdir().unwrap();
    let trail = t.path().join("trail");
    let m = generate(
        &trail,
        &[
            "--events",
            "2000",
            "--accounts",
            "2",
            "--regions",
            "2",
            "--days",
            "1",
            "--end",
            "2025-06-01T00:00:00Z",
        ],
    );
    let data = t.path().join("data");
    let mut c = cairn(&data, &moto);
    c.arg("ingest").arg(trail.join("AWSLogs"));
    ok(c);
    let mut c = cairn(&data, &moto);
    c.args(["health", "--format", "json", "--window", "100000d"]);
    let h: Value = serde_json::from_str(&ok(c)).unwrap();
    let parts = h["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 4, "{h}");
    let events: u64 = parts.iter().map(|p| p["events"].as_u64().unwrap()).sum();
    assert_eq!(events, m["unique_events"].as_u64().unwrap());
    for p in parts {
        assert!(p["lag_p95_seconds"].as_i64().unwrap() > 0, "{p}");
        assert_eq!(p["status"], "silent", "the trail ended a while ago: {p}");
    }
}

#[test]
fn following_an_s3_prefix_picks_up_new_files_and_stops_on_sigterm() {
    let moto = Moto::start();
    let t = tempfile::tempdir().unwrap();
    let trail = t.path().join("trail");
    let (_, keys) = queue_and_bucket(&moto, &trail, "500");
    let (last, first) = keys.split_last().unwrap();
    std::fs::rename(trail.join(last), t.path().join("held-back")).unwrap();
    sync(&moto, &trail);
    let data = t.path().join("data");
    let mut c = cairn(&data, &moto);
    c.args(["ingest", "--follow", "s3://trail/", "--interval", "1s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let ledger = data.join("ledger.jsonl");
    let has = |key: &str| {
        std::fs::read_to_string(&ledger)
            .map(|s| s.contains(key))
            .unwrap_or(false)
    };
    wait_for("the first pass", Duration::from_secs(60), || {
        first.iter().all(|k| has(k))
    });
    moto.aws(&[
        "s3",
        "cp",
        "--quiet",
        t.path().join("held-back").to_str().unwrap(),
        &format!("s3://trail/{last}"),
    ]);
    wait_for("the new file", Duration::from_secs(60), || has(last));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn config_check_names_the_line_of_an_error() {
    let moto = Moto::start();
    let t = tempfile::tempdir().unwrap();
    let good = t.path().join("good.toml");
    std::fs::write(
        &good,
        "[aws]\nregion = \"us-east-1\"\n\n[[source]]\nname = \"org\"\nurl = \"s3://trail/logs\"\naccounts = [\"111111111111\"]\n\n[[source]]\nurl = \"sqs://notifications\"\n",
    )
    .unwrap();
    let mut c = cairn(t.path(), &moto);
    c.arg("--config").arg(&good).args(["config", "check"]);
    assert!(ok(c).contains("ok (2 sources, "));
    let bad = t.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[source]]\nurl = \"s3://trail\"\nsince = \"last week\"\n",
    )
    .unwrap();
    let mut c = cairn(t.path(), &moto);
    c.arg("--config").arg(&bad).args(["config", "check"]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:3:9: not a duration"), "{err}");
}

#[test]
fn messages_stay_hidden_while_a_slow_batch_is_in_work() {
    let moto = Moto::start();
    let t = tempfile::tempdir().unwrap();
    let trail = t.path().join("trail");
    let (url, keys) = queue_and_bucket(&moto, &trail, "300");
    moto.aws(&[
        "sqs",
        "set-queue-attributes",
        "--queue-url",
        &url,
        "--attributes",
        "VisibilityTimeout=2",
    ]);
    moto.notify_queue("trail", &url);
    let objects = &keys[..4];
    for k in objects {
        upload(&moto, &trail, k);
    }
    // Every S3 request takes 1.5 s: four objects read one at a time outlast the 2 s
    // visibility timeout twice over. SQS is reached directly.
    let proxy = FaultProxy::start(
        &moto.endpoint,
        Faults {
            slow_every: 1,
            slow_ms: 1500,
            ..Faults::default()
        },
    );
    let data = t.path().join("data");
    let mut c = cairn(&data, &moto);
    c.env_remove("AWS_ENDPOINT_URL")
        .env("AWS_ENDPOINT_URL_S3", &proxy.endpoint)
        .env("AWS_ENDPOINT_URL_SQS", &moto.endpoint)
        .args([
            "ingest",
            "--follow",
            &format!("sqs://{url}"),
            "--concurrency",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let ledger = data.join("ledger.jsonl");
    let done = || {
        let l = std::fs::read_to_string(&ledger).unwrap_or_default();
        objects.iter().all(|k| l.contains(k.as_str()))
    };
    let mut in_work_since = None;
    let mut reappeared = 0;
    wait_for("the slow batch", Duration::from_secs(120), || {
        let (visible, in_flight) = moto.queue_counts(&url);
        if in_flight > 0 && in_work_since.is_none() {
            in_work_since = Some(Instant::now());
        }
        if in_work_since.is_some() {
            reappeared = reappeared.max(visible);
        }
        done()
    });
    let in_work = in_work_since
        .expect("the messages were seen in flight")
        .elapsed();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert!(
        in_work >= Duration::from_secs(4),
        "the batch outlasted the visibility timeout twice ({in_work:?})"
    );
    assert_eq!(reappeared, 0, "no message became visible while in work");
    wait_for("the queue to empty", Duration::from_secs(30), || {
        moto.queue_counts(&url) == (0, 0)
    });
}

#[test]
fn following_through_faults_on_sqs_and_s3_gives_the_exact_set() {
    let moto = Moto::start();
    let t = tempfile::tempdir().unwrap();
    let trail = t.path().join("trail");
    let (url, keys) = queue_and_bucket(&moto, &trail, "3000");
    moto.aws(&[
        "sqs",
        "set-queue-attributes",
        "--queue-url",
        &url,
        "--attributes",
        "VisibilityTimeout=3",
    ]);
    moto.notify_queue("trail", &url);
    sync(&moto, &trail);
    // Every request of cairn, to SQS and to S3, goes through the faults.
    let proxy = FaultProxy::start(
        &moto.endpoint,
        Faults {
            error_every: 5,
            slow_every: 7,
            slow_ms: 300,
            drop_every: 6,
        },
    );
    let data = t.path().join("data");
    let mut c = cairn(&data, &moto);
    c.env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .args([
            "ingest",
            "--follow",
            &format!("sqs://{url}"),
            "--batch",
            "20",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let ledger = data.join("ledger.jsonl");
    wait_for(
        "every object through the faults",
        Duration::from_secs(240),
        || {
            let l = std::fs::read_to_string(&ledger).unwrap_or_default();
            keys.iter().all(|k| l.contains(k.as_str())) && moto.queue_counts(&url) == (0, 0)
        },
    );
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let all = t.path().join("all");
    let mut c = cairn(&all, &moto);
    c.arg("ingest").arg(trail.join("AWSLogs"));
    ok(c);
    let got = event_ids(&data, &moto);
    assert_eq!(got, event_ids(&all, &moto));
    assert_eq!(
        count(&data, &moto, ""),
        got.len() as u64,
        "no event stored twice"
    );
    use std::sync::atomic::Ordering::Relaxed;
    let s = &proxy.stats;
    assert!(
        s.errors.load(Relaxed) > 5 && s.dropped.load(Relaxed) > 5,
        "faults were injected: {s:?}"
    );
}
