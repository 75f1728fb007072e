//! The Parquet lake, read back by real engines: DuckDB and Spark (PyPI, in the test venv) run
//! the DDL `cairn lake ddl` prints over lakes written by `ingest --lake` (with and without the
//! index) and by `export --lake`, and `tests/lake/check_lake.py` compares what they read with
//! the generator's manifest and the trail's own records. Three `cairn worker`s share one queue
//! on moto_server, with and without one of them killed by SIGKILL; a lake in moto's S3 is read
//! by DuckDB's S3 support.

#[path = "common/aws.rs"]
mod aws;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws::{Moto, venv, venv_command};
use serde_json::Value;

fn cairn(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cairn"));
    c.arg("--data-dir")
        .arg(data)
        .env("NO_COLOR", "1")
        .env_remove("CAIRN_CONFIG")
        .env_remove("CAIRN_DATA")
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null());
    c
}

fn ok(mut c: Command) -> String {
    let dbg = format!("{c:?}");
    let out: Output = c.output().expect("runs");
    assert!(
        out.status.success(),
        "{dbg} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(c: Command) -> Value {
    let s = ok(c);
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

fn generate(dir: &Path, events: &str, extra: &[&str]) -> Value {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cairn"));
    c.args(["generate", "--out"]).arg(dir).args([
        "--events",
        events,
        "--end",
        "2025-06-01T00:00:00Z",
        "--seed",
        "11",
    ]);
    c.args(extra);
    ok(c);
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

fn ddl(engine: &str, location: &str, out: &Path) -> PathBuf {
    let mut c = cairn(Path::new("unused"));
    c.args(["lake", "ddl", "--engine", engine, "--location", location]);
    let path = out.join(format!("{engine}.sql"));
    std::fs::write(&path, ok(c)).unwrap();
    path
}

/// Runs the checker with one engine; panics with its complaint.
fn check(engine: &str, ddl: &Path, trail: &Path, s3: Option<&str>, cwd: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lake/check_lake.py");
    let mut c = venv_command("python");
    c.arg(script)
        .args(["--engine", engine, "--ddl"])
        .arg(ddl)
        .arg("--trail")
        .arg(trail)
        .current_dir(cwd)
        .env("PYSPARK_PYTHON", venv().join("bin/python"))
        .env("SPARK_LOCAL_IP", "127.0.0.1");
    if let Some(e) = s3 {
        c.args(["--s3-endpoint", e]);
    }
    let out = c.output().expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{engine}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap()
}

fn compact(lake: &str, envs: &[(String, String)]) -> Value {
    let mut c = cairn(Path::new("unused"));
    c.args(["lake", "compact", lake, "--format", "json"])
        .envs(envs.iter().cloned());
    json(c)
}

#[test]
fn engines_read_what_ingest_and_export_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    let trail = tmp.path().join("trail");
    let m = generate(
        &trail,
        "20000",
        &["--accounts", "2", "--regions", "2", "--days", "2"],
    );
    let unique = m["unique_events"].as_u64().unwrap();
    assert!(
        m["duplicate_records"].as_u64().unwrap() > 0,
        "the trail must hold re-deliveries"
    );
    let logs = trail.join("AWSLogs");

    // 1. While indexing: every record read goes to the lake, duplicates too; compaction
    //    leaves the unique events.
    let data = tmp.path().join("data");
    let lake = tmp.path().join("lake");
    let mut c = cairn(&data);
    c.arg("ingest")
        .arg(&logs)
        .args(["--no-rules", "--format", "json", "--lake"])
        .arg(&lake)
        .args(["--lake-buffer-mib", "8"]);
    let r = json(c);
    assert_eq!(r["events_indexed"].as_u64(), Some(unique), "{r}");
    assert_eq!(
        r["lake_events"].as_u64(),
        m["records_written"].as_u64(),
        "{r}"
    );
    let c1 = compact(lake.to_str().unwrap(), &[]);
    assert_eq!(c1["events_after"].as_u64(), Some(unique), "{c1}");
    assert!(c1["duplicates"].as_u64().unwrap() > 0, "{c1}");
    // Nothing to do the second time.
    let c2 = compact(lake.to_str().unwrap(), &[]);
    assert_eq!(c2["partitions"].as_u64(), Some(0), "{c2}");

    let loc = lake.to_str().unwrap();
    let duck = check(
        "duckdb",
        &ddl("duckdb", loc, tmp.path()),
        &trail,
        None,
        tmp.path(),
    );
    assert_eq!(duck["events"].as_u64(), Some(unique), "{duck}");
    let spark = check(
        "spark",
        &ddl("spark", loc, tmp.path()),
        &trail,
        None,
        tmp.path(),
    );
    assert_eq!(spark["events"].as_u64(), Some(unique), "{spark}");

    // 2. Exported from the store (which holds each event once): no compaction needed.
    let exported = tmp.path().join("exported");
    let mut c = cairn(&data);
    c.args(["export", "--format", "json", "--lake"])
        .arg(&exported);
    let e = json(c);
    assert_eq!(e["events"].as_u64(), Some(unique), "{e}");
    check(
        "duckdb",
        &ddl("duckdb", exported.to_str().unwrap(), tmp.path()),
        &trail,
        None,
        tmp.path(),
    );

    // A query and a range export only what they match.
    let mut c = cairn(&data);
    c.args([
        "export",
        "eventName:ConsoleLogin",
        "--format",
        "json",
        "--lake",
    ])
    .arg(tmp.path().join("logins"));
    let e = json(c);
    assert_eq!(
        e["events"].as_u64(),
        m["per_event_name"]["ConsoleLogin"].as_u64().or(Some(0)),
        "{e}"
    );

    // 3. Without the index: the lake only, the store stays empty.
    let data2 = tmp.path().join("data2");
    let lake2 = tmp.path().join("lake2");
    let mut c = cairn(&data2);
    c.arg("ingest")
        .arg(&logs)
        .args(["--no-index", "--format", "json", "--lake"])
        .arg(&lake2);
    let r = json(c);
    assert_eq!(r["events_indexed"].as_u64(), Some(0), "{r}");
    assert_eq!(
        r["lake_events"].as_u64(),
        m["records_written"].as_u64(),
        "{r}"
    );
    compact(lake2.to_str().unwrap(), &[]);
    check(
        "duckdb",
        &ddl("duckdb", lake2.to_str().unwrap(), tmp.path()),
        &trail,
        None,
        tmp.path(),
    );
    let mut c = cairn(&data2);
    c.args(["stats", "--format", "json"]);
    assert_eq!(json(c)["events"].as_u64(), Some(0));
}

#[test]
fn ddl_for_every_engine() {
    let tmp = tempfile::tempdir().unwrap();
    for engine in ["athena", "trino", "spark", "duckdb"] {
        let mut c = cairn(tmp.path());
        c.args([
            "lake",
            "ddl",
            "--engine",
            engine,
            "--location",
            "s3://lake-bucket/cloudtrail",
            "--accounts",
            "111111111111,222222222222",
        ]);
        let sql = ok(c);
        assert!(
            sql.contains("s3://lake-bucket/cloudtrail"),
            "{engine}: {sql}"
        );
        if engine != "duckdb" {
            for col in [
                "eventtime",
                "useridentity",
                "resources",
                "requestparameters",
            ] {
                assert!(
                    sql.to_lowercase().contains(col),
                    "{engine} lacks {col}: {sql}"
                );
            }
        }
        if engine == "athena" {
            assert!(sql.contains("'projection.enabled' = 'true'"), "{sql}");
            assert!(sql.contains("111111111111,222222222222"), "{sql}");
        }
    }
    // A location with a quote would break out of the statement.
    let mut c = cairn(tmp.path());
    c.args([
        "lake",
        "ddl",
        "--engine",
        "duckdb",
        "--location",
        "x'); DROP TABLE t; --",
    ]);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A bucket `trail` whose new objects are announced on a queue; the trail uploaded to it.
fn announced_trail(moto: &Moto, trail: &Path) -> String {
    moto.aws(&["s3", "mb", "s3://trail"]);
    let url = moto.create_queue("notifications", 10);
    moto.notify_queue("trail", &url);
    moto.aws(&[
        "s3",
        "sync",
        "--quiet",
        trail.join("AWSLogs").to_str().unwrap(),
        "s3://trail/AWSLogs",
    ]);
    url
}

fn worker(moto: &Moto, url: &str, lake: &str, log: &Path) -> Child {
    let mut c = cairn(Path::new("unused"));
    c.args([
        "worker", "--sqs", url, "--lake", lake, "--drain", "--batch", "20",
    ])
    .envs(moto.aws_env())
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(log).unwrap());
    c.spawn().expect("worker starts")
}

fn wait_all(children: Vec<Child>, logs: &[PathBuf]) {
    for (mut ch, log) in children.into_iter().zip(logs) {
        let st = ch.wait().unwrap();
        assert!(
            st.success(),
            "worker failed: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }
}

/// Rows and distinct eventIDs of a lake, as DuckDB reads it.
fn duckdb_counts(lake: &str, s3: Option<&str>) -> (u64, u64) {
    let secret = s3.map(|e| {
        format!(
            "import os, sysconfig; con = duckdb.connect(config={{'extension_directory': os.path.join(sysconfig.get_paths()['purelib'], 'duckdb_ext', 'extensions')}}); con.execute(\"LOAD httpfs\"); con.execute(\"CREATE SECRET s (TYPE s3, KEY_ID 'testing', SECRET 'testing', REGION 'us-east-1', ENDPOINT '{}', URL_STYLE 'path', USE_SSL false)\");",
            e.trim_start_matches("http://")
        )
    });
    let py = format!(
        "import duckdb; con = duckdb.connect(); {} print(*con.execute(\"SELECT count(*), count(DISTINCT eventID) FROM read_parquet('{lake}/*/*/*/*.parquet', hive_partitioning = true)\").fetchone())",
        secret.unwrap_or_default()
    );
    let out = venv_command("python").args(["-c", &py]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8(out.stdout).unwrap();
    let mut it = s.split_whitespace().map(|n| n.parse::<u64>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

#[test]
fn three_workers_share_a_queue_even_when_one_is_killed() {
    let tmp = tempfile::tempdir().unwrap();
    let trail = tmp.path().join("trail");
    // 576 files: enough for three workers to share the queue for a while and for the kill to
    // land in the middle (the cost is per file: each one is a PUT, a notification and a GET).
    let m = generate(
        &trail,
        "30000",
        &["--accounts", "2", "--regions", "1", "--days", "1"],
    );
    let unique = m["unique_events"].as_u64().unwrap();
    let moto = Moto::start();
    let url = announced_trail(&moto, &trail);

    // Round 1: three workers drain the queue into a local lake.
    let lake = tmp.path().join("lake");
    let logs: Vec<PathBuf> = (0..3)
        .map(|i| tmp.path().join(format!("w{i}.log")))
        .collect();
    let ws = logs
        .iter()
        .map(|l| worker(&moto, &url, lake.to_str().unwrap(), l))
        .collect();
    wait_all(ws, &logs);
    let (rows, distinct) = duckdb_counts(lake.to_str().unwrap(), None);
    assert_eq!(distinct, unique, "every event is in the lake");
    assert!(rows >= unique);
    let c = compact(lake.to_str().unwrap(), &[]);
    assert_eq!(c["events_after"].as_u64(), Some(unique), "{c}");
    assert_eq!(
        duckdb_counts(lake.to_str().unwrap(), None),
        (unique, unique)
    );

    // Round 2: the same trail announced again; one worker is killed halfway and restarted.
    moto.aws(&["s3", "rm", "--quiet", "--recursive", "s3://trail/AWSLogs"]);
    moto.aws(&[
        "s3",
        "sync",
        "--quiet",
        trail.join("AWSLogs").to_str().unwrap(),
        "s3://trail/AWSLogs",
    ]);
    let lake = tmp.path().join("lake-killed");
    let lake_s = lake.to_str().unwrap().to_string();
    let mut ws: Vec<Child> = logs
        .iter()
        .map(|l| worker(&moto, &url, &lake_s, l))
        .collect();
    // Halfway: once about half the events are in committed files.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(120) {
        let n: u64 = walk_parquet(&lake).len() as u64;
        if n > 0 && duckdb_counts(&lake_s, None).0 >= unique / 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    ws[0].kill().unwrap(); // SIGKILL
    ws[0].wait().unwrap();
    let restart_log = tmp.path().join("w0-restarted.log");
    ws[0] = worker(&moto, &url, &lake_s, &restart_log);
    let logs2 = vec![restart_log, logs[1].clone(), logs[2].clone()];
    wait_all(ws, &logs2);
    // Messages the killed worker held come back after their visibility timeout (10 s):
    // drain again until the queue holds nothing, visible or not.
    let started = Instant::now();
    let mut round = 0;
    loop {
        let a = moto.aws_json(&[
            "sqs",
            "get-queue-attributes",
            "--queue-url",
            &url,
            "--attribute-names",
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
        ]);
        let n = |k: &str| -> u64 { a["Attributes"][k].as_str().unwrap().parse().unwrap() };
        if n("ApproximateNumberOfMessages") + n("ApproximateNumberOfMessagesNotVisible") == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the queue does not empty: {a}"
        );
        round += 1;
        let log = tmp.path().join(format!("w-again-{round}.log"));
        wait_all(
            vec![worker(&moto, &url, &lake_s, &log)],
            std::slice::from_ref(&log),
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    let (_, distinct) = duckdb_counts(&lake_s, None);
    assert_eq!(distinct, unique, "no event lost to the kill");
    compact(&lake_s, &[]);
    assert_eq!(duckdb_counts(&lake_s, None), (unique, unique));
    // Every visible file is a whole Parquet file: magic at both ends (a partial file would
    // lack the footer).
    for f in walk_parquet(&lake) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"),
            "partial file visible: {}",
            f.display()
        );
    }
}

fn walk_parquet(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn a_lake_in_s3_is_read_by_duckdb() {
    let tmp = tempfile::tempdir().unwrap();
    let trail = tmp.path().join("trail");
    let m = generate(
        &trail,
        "5000",
        &["--accounts", "2", "--regions", "1", "--days", "1"],
    );
    let unique = m["unique_events"].as_u64().unwrap();
    let moto = Moto::start();
    moto.aws(&["s3", "mb", "s3://lake"]);
    let data = tmp.path().join("data");
    let mut c = cairn(&data);
    c.arg("ingest")
        .arg(trail.join("AWSLogs"))
        .args([
            "--no-rules",
            "--format",
            "json",
            "--lake",
            "s3://lake/cloudtrail",
            "--lake-buffer-mib",
            "4",
        ])
        .envs(moto.aws_env());
    json(c);
    let c = compact("s3://lake/cloudtrail", &moto.aws_env());
    assert_eq!(c["events_after"].as_u64(), Some(unique), "{c}");
    // Compaction replaced the files: the listing holds only the new ones.
    let listed = moto.aws(&["s3", "ls", "--recursive", "s3://lake/cloudtrail/"]);
    assert_eq!(
        listed.lines().count() as u64,
        c["files_after"].as_u64().unwrap(),
        "{listed}"
    );
    let out = check(
        "duckdb",
        &ddl("duckdb", "s3://lake/cloudtrail", tmp.path()),
        &trail,
        Some(&moto.endpoint),
        tmp.path(),
    );
    assert_eq!(out["events"].as_u64(), Some(unique), "{out}");
}
