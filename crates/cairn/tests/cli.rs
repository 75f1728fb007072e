//! The `cairn` binary end to end: generate, ingest, search, crash, bad input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

fn cairn(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cairn"));
    c.arg("--data-dir")
        .arg(data)
        .env("NO_COLOR", "1")
        .env_remove("CAIRN_DATA");
    c
}

fn ok(mut c: Command) -> String {
    let out = c.output().expect("cairn runs");
    assert!(
        out.status.success(),
        "{:?} failed: {}\n{}",
        c,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn run(mut c: Command) -> Output {
    c.output().expect("cairn runs")
}

fn generate(dir: &Path, extra: &[&str]) -> Value {
    let mut c = cairn(&dir.join("unused"));
    c.args(["generate", "--out"])
        .arg(dir)
        .args(["--end", "2025-06-01T00:00:00Z"])
        .args(extra);
    ok(c);
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

fn ingest_json(data: &Path, paths: &[&Path], extra: &[&str]) -> (Value, i32) {
    let mut c = cairn(data);
    c.arg("ingest")
        .args(paths)
        .args(["--format", "json"])
        .args(extra);
    let out = run(c);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out.status.code().unwrap_or(-1))
}

fn count(data: &Path, query: &str) -> u64 {
    let mut c = cairn(data);
    c.args(["search", query, "--count"]);
    ok(c).trim().parse().unwrap()
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn trail_root(dir: &Path) -> PathBuf {
    dir.join("AWSLogs")
}

#[test]
fn generated_organization_trail_matches_the_manifest() {
    let t = tmp();
    let trail = t.path().join("trail");
    let data = t.path().join("data");
    let m = generate(
        &trail,
        &[
            "--events",
            "30000",
            "--accounts",
            "3",
            "--regions",
            "2",
            "--days",
            "3",
            "--seed",
            "7",
            "--org",
            "o-abcdefghij",
            "--prefix",
            "logs/ct",
        ],
    );
    let root = trail.join("logs/ct");
    let (r, code) = ingest_json(&data, &[&root], &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["events_indexed"], m["unique_events"], "{r:#}");
    assert_eq!(r["duplicates_dropped"], m["duplicate_records"], "{r:#}");
    assert_eq!(r["objects_read"], m["files"], "{r:#}");
    assert_eq!(count(&data, "*"), m["unique_events"].as_u64().unwrap());

    // Per event name, from the index's columns.
    let mut c = cairn(&data);
    c.args(["top", "eventName", "-n", "1000", "--format", "json"]);
    let top: Vec<Value> = serde_json::from_str(&ok(c)).unwrap();
    let got: BTreeMap<String, u64> = top
        .iter()
        .map(|v| {
            (
                v["value"].as_str().unwrap().to_string(),
                v["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: BTreeMap<String, u64> = serde_json::from_value(m["per_event_name"].clone()).unwrap();
    assert_eq!(got, want);

    // Per account and region, through the query language.
    let per: BTreeMap<String, u64> =
        serde_json::from_value(m["per_account_region"].clone()).unwrap();
    for (key, n) in &per {
        let (acct, region) = key.split_once('/').unwrap();
        assert_eq!(
            count(
                &data,
                &format!("recipientAccountId:{acct} AND awsRegion:{region}")
            ),
            *n,
            "{key}"
        );
    }

    // Event-history user names.
    let users: BTreeMap<String, u64> = serde_json::from_value(m["per_username"].clone()).unwrap();
    for (user, n) in users.iter().take(12) {
        let mut c = cairn(&data);
        c.args(["lookup", "--username", user, "--count"]);
        assert_eq!(ok(c).trim().parse::<u64>().unwrap(), *n, "username {user}");
    }

    // The same ingest again adds nothing and reads nothing.
    let (r, code) = ingest_json(&data, &[&root], &[]);
    assert_eq!(code, 0);
    assert_eq!(
        (r["objects_read"].as_u64(), r["events_indexed"].as_u64()),
        (Some(0), Some(0)),
        "{r:#}"
    );
    assert_eq!(r["objects_unchanged"], m["files"]);
}

#[test]
fn search_show_top_timeline_stats() {
    let t = tmp();
    let trail = t.path().join("trail");
    let data = t.path().join("data");
    let m = generate(&trail, &["--events", "5000", "--seed", "3", "--stories"]);
    ok({
        let mut c = cairn(&data);
        c.arg("ingest").arg(trail_root(&trail));
        c
    });

    // Every planted story is found by its query.
    for story in m["stories"].as_array().unwrap() {
        let q = story["query"].as_str().unwrap();
        let mut c = cairn(&data);
        c.args(["search", q, "--format", "jsonl", "--limit", "1000"]);
        let ids: Vec<String> = ok(c)
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["eventID"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        for id in story["event_ids"].as_array().unwrap() {
            assert!(
                ids.contains(&id.as_str().unwrap().to_string()),
                "story {} misses {id}",
                story["name"]
            );
        }
    }

    // Formats.
    let mut c = cairn(&data);
    c.args([
        "search",
        "eventName:ConsoleLogin",
        "--format",
        "csv",
        "--fields",
        "eventTime,principal,eventName",
    ]);
    let csv = ok(c);
    assert!(csv.starts_with("eventTime,principal,eventName\n"), "{csv}");
    assert!(
        csv.lines().skip(1).all(|l| l.ends_with(",ConsoleLogin")),
        "{csv}"
    );
    let mut c = cairn(&data);
    c.args(["search", "", "--format", "json", "--limit", "3"]);
    let arr: Vec<Value> = serde_json::from_str(&ok(c)).unwrap();
    assert_eq!(arr.len(), 3);
    let times: Vec<&str> = arr
        .iter()
        .map(|v| v["eventTime"].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    let mut c = cairn(&data);
    c.args(["search", "*", "--limit", "5"]);
    let table = ok(c);
    assert!(table.starts_with("TIME"), "{table}");
    assert_eq!(table.lines().count(), 6);

    // show prints the record exactly as written, pretty.
    let id = arr[0]["eventID"].as_str().unwrap();
    let mut c = cairn(&data);
    c.args(["show", id, "--raw"]);
    let raw = ok(c);
    let mut c = cairn(&data);
    c.args(["show", id]);
    let pretty = ok(c);
    assert_eq!(
        serde_json::from_str::<Value>(&raw).unwrap(),
        serde_json::from_str::<Value>(&pretty).unwrap()
    );
    assert!(pretty.lines().count() > 10);
    let mut c = cairn(&data);
    c.args(["show", "00000000-0000-0000-0000-000000000000"]);
    assert_eq!(run(c).status.code(), Some(2));

    let mut c = cairn(&data);
    c.args(["top", "principal", "-n", "3"]);
    assert_eq!(ok(c).lines().count(), 4);
    let mut c = cairn(&data);
    c.args(["timeline", "--interval", "1d", "--format", "csv"]);
    let tl = ok(c);
    let total: u64 = tl
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, m["unique_events"].as_u64().unwrap());
    let mut c = cairn(&data);
    c.args(["stats", "--format", "json"]);
    let stats: Value = serde_json::from_str(&ok(c)).unwrap();
    assert_eq!(stats["events"], m["unique_events"]);

    // A bad query names the position; an unknown field warns.
    let mut c = cairn(&data);
    c.args(["search", "eventName:(CreateUser OR"]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains('^') && err.contains("hint"), "{err}");
    let mut c = cairn(&data);
    c.args(["search", "noSuchField:x", "--count"]);
    let out = run(c);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no event in the store has this field"));

    // Time flags.
    assert_eq!(count(&data, "*"), m["unique_events"].as_u64().unwrap());
    let mut c = cairn(&data);
    c.args([
        "search",
        "*",
        "--count",
        "--from",
        "2025-05-31",
        "--to",
        "2025-06-01",
    ]);
    let last_day: u64 = ok(c).trim().parse().unwrap();
    assert!(last_day > 0 && last_day < m["unique_events"].as_u64().unwrap());
    let mut c = cairn(&data);
    c.args(["search", "*", "--count", "--since", "1h"]);
    assert_eq!(ok(c).trim(), "0", "the trail ended in 2025");
}

#[test]
fn bad_input_is_named_and_the_rest_is_ingested() {
    let t = tmp();
    let trail = t.path().join("trail");
    let data = t.path().join("data");
    let m = generate(
        &trail,
        &["--events", "2000", "--seed", "5", "--duplicate-rate", "0"],
    );
    let bad = t.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    let good = std::fs::read(first_file(&trail_root(&trail))).unwrap();
    let mut truncated = good.clone();
    truncated.truncate(good.len() / 2);
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"garbage");
    let mut corrupt = good.clone();
    let mid = corrupt.len() / 2;
    corrupt[mid..mid + 16].iter_mut().for_each(|b| *b ^= 0xa5);
    for (name, bytes) in [
        ("truncated.json.gz", truncated),
        ("trailing.json.gz", trailing),
        ("corrupt.json.gz", corrupt),
        (
            "invalid.json",
            b"{\"Records\":[{\"eventID\":\"x\",}]}".to_vec(),
        ),
        (
            "noid.json",
            br#"{"Records":[{"eventTime":"2024-01-01T00:00:00Z","eventName":"X"}]}"#.to_vec(),
        ),
        ("empty.json", Vec::new()),
        ("nottrail.json", br#"{"hello":"world"}"#.to_vec()),
        (
            "huge.json",
            format!(
                r#"[{{"eventID":"big","eventTime":"2024-01-01T00:00:00Z","x":"{}"}}]"#,
                "a".repeat(300_000)
            )
            .into_bytes(),
        ),
    ] {
        std::fs::write(bad.join(name), bytes).unwrap();
    }
    let (r, code) = ingest_json(
        &data,
        &[&trail_root(&trail), &bad],
        &["--max-record-bytes", "100000"],
    );
    assert_eq!(code, 1, "some input failed: {r:#}");
    let failures: BTreeMap<String, String> = r["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let name = f["object"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string();
            (name, f["errors"].to_string())
        })
        .collect();
    for (name, reason) in [
        ("truncated.json.gz", "truncated"),
        ("trailing.json.gz", "trailing bytes"),
        ("corrupt.json.gz", ""),
        ("invalid.json", "invalid"),
        ("noid.json", "has no eventID"),
        ("empty.json", "empty file"),
        ("nottrail.json", "not a CloudTrail file"),
        ("huge.json", "max_record_bytes"),
    ] {
        let got = failures
            .get(name)
            .unwrap_or_else(|| panic!("{name} not reported: {failures:#?}"));
        assert!(got.contains(reason), "{name}: {got}");
    }
    // Every good event is in; the truncated copy's readable part only duplicates them.
    assert_eq!(count(&data, "*"), m["unique_events"].as_u64().unwrap());
    // The text summary names objects and reasons too.
    let mut c = cairn(&data);
    c.arg("ingest").arg(&bad);
    let out = run(c);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("nottrail.json: not a CloudTrail file"),
        "{text}"
    );
}

fn first_file(dir: &Path) -> PathBuf {
    let mut stack = vec![dir.to_path_buf()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    files.into_iter().next().unwrap()
}

#[test]
fn stdin_and_single_files() {
    let t = tmp();
    let trail = t.path().join("trail");
    let data = t.path().join("data");
    generate(
        &trail,
        &["--events", "500", "--seed", "9", "--duplicate-rate", "0"],
    );
    let file = first_file(&trail_root(&trail));
    let mut c = cairn(&data);
    c.args(["ingest", "-", "--format", "json"])
        .stdin(Stdio::from(std::fs::File::open(&file).unwrap()));
    let r: Value = serde_json::from_str(&ok(c)).unwrap();
    let n = r["events_indexed"].as_u64().unwrap();
    assert!(n > 0);
    // The same file by name: every event is a duplicate.
    let (r, _) = ingest_json(&data, &[&file], &[]);
    assert_eq!(r["duplicates_dropped"].as_u64(), Some(n));
}

#[test]
fn killed_ingest_resumes_to_exactly_the_unique_events() {
    let t = tmp();
    let trail = t.path().join("trail");
    let data = t.path().join("data");
    let m = generate(
        &trail,
        &["--events", "60000", "--seed", "11", "--accounts", "2"],
    );
    let unique = m["unique_events"].as_u64().unwrap();
    for delay_ms in [150, 400, 900, 1600] {
        let mut c = cairn(&data);
        c.arg("ingest")
            .arg(trail_root(&trail))
            .args(["--commit-every", "4000", "-q"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = c.spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    let (r, code) = ingest_json(&data, &[&trail_root(&trail)], &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(
        count(&data, "*"),
        unique,
        "exactly the unique events after kills and a rerun: {r:#}"
    );
    let (r, _) = ingest_json(&data, &[&trail_root(&trail)], &[]);
    assert_eq!(r["events_indexed"].as_u64(), Some(0));
}

#[test]
fn two_writers_at_once_wait_for_each_other() {
    let t = tmp();
    let trail = t.path().join("trail");
    let data = t.path().join("data");
    let m = generate(&trail, &["--events", "20000", "--seed", "13"]);
    let spawn = || {
        let mut c = cairn(&data);
        c.arg("ingest")
            .arg(trail_root(&trail))
            .arg("-q")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        c.spawn().unwrap()
    };
    let a = spawn();
    let b = spawn();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success(), "{a:?} {b:?}");
    assert_eq!(count(&data, "*"), m["unique_events"].as_u64().unwrap());
    // With --no-wait, a writer finding the lock held (here by the test) fails with a message.
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(data.join("writer.lock"))
        .unwrap();
    lock.lock().unwrap();
    let mut c = cairn(&data);
    c.arg("ingest").arg(trail_root(&trail)).arg("--no-wait");
    let out = run(c);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another cairn process"));
    drop(lock);
}

#[test]
fn the_corpus_decodes_when_present() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if !corpus.exists() {
        eprintln!("SKIPPED: no corpus at {} on this machine", corpus.display());
        return;
    }
    let t = tmp();
    let (r, _) = ingest_json(&t.path().join("data"), &[&corpus], &[]);
    // Every failure must be a named, expected one: listed files under the corpus whose
    // README marks them as broken on purpose, or non-CloudTrail data.
    for f in r["failures"].as_array().unwrap() {
        let errors = f["errors"].to_string();
        assert!(
            !errors.contains("read error") && !errors.is_empty(),
            "{}: unexpected error {errors}",
            f["object"]
        );
    }
    assert!(r["events_indexed"].as_u64().unwrap() > 0, "{r:#}");
}
