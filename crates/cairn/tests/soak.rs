//! The soak: `cairn serve --follow` on moto_server for `CAIRN_SOAK_MINUTES` (default 3) while
//!
//! - a feeder puts a generated trail's files into the bucket one by one, in time order, over the
//!   first 70% of the run (the bucket notifies the queue of each), puts some of them a second
//!   time (a second notification of the same object) and sends junk messages now and then (cairn
//!   leaves them for the queue's redrive policy, which moves them to a dead-letter queue);
//! - every request cairn makes to S3 and SQS goes through a proxy that injects throttling
//!   errors, delays and truncated responses;
//! - the server is killed with SIGKILL every `CAIRN_SOAK_KILL_SECS` (default 40, ±25%) and
//!   started again at once;
//! - a client keeps asking the API (count, search, facets, LookupEvents) and checks that the
//!   count of stored events never goes down;
//! - the server's memory and open file descriptors are sampled every second.
//!
//! At the end the store must hold exactly the trail's events, each once (compared with a plain
//! `cairn ingest` of the same files), the alerts must cover the same events per rule as that
//! reference with no event in two alerts of one rule, every notification must have been
//! deleted and the junk kept (still queued, or in the dead-letter queue), and memory and descriptors must have stayed flat. The samples, an SVG plot
//! of them and a report go to `CAIRN_SOAK_OUT` (default `target/soak`).
//!
//! Ignored by `cargo test`: `scripts/soak.sh [MINUTES]` runs it.

#[path = "common/aws.rs"]
mod aws;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use aws::{FaultProxy, Faults, Moto, UNCHECKED_AUTH, files, try_http, wait_for};
use serde_json::Value;

const FROM: &str = "2025-05-01T00:00:00Z";
const TO: &str = "2025-06-02T00:00:00Z";
const LOOKUP_TARGET: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents";

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        })
        .unwrap_or(default)
}

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
    let out = c.output().expect("cairn runs");
    assert!(
        out.status.success(),
        "{dbg} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every file under `dir`, relative to it, in the order CloudTrail would deliver them: by the
/// time in their names.
fn trail_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = files(dir);
    let time = |p: &PathBuf| {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        (name.split('_').nth(3).unwrap_or("").to_string(), name)
    };
    out.sort_by_key(time);
    out
}

fn event_ids(data: &Path) -> BTreeSet<String> {
    let mut c = cairn(data);
    c.args([
        "search", "", "--format", "csv", "--fields", "eventID", "--limit", "10000000",
    ]);
    ok(c).lines().skip(1).map(str::to_string).collect()
}

fn stored(data: &Path) -> u64 {
    let mut c = cairn(data);
    c.args(["search", "", "--count"]);
    ok(c).trim().parse().unwrap()
}

/// Per rule: how many times each event appears in its alerts, and how many alerts it has.
type AlertEvents = BTreeMap<String, (BTreeMap<String, u32>, usize)>;

fn alert_events(data: &Path) -> AlertEvents {
    let mut c = cairn(data);
    c.args(["alerts", "--format", "json", "--limit", "1000000"]);
    let alerts: Vec<Value> = serde_json::from_str(&ok(c)).unwrap();
    let mut out = AlertEvents::new();
    for a in alerts {
        let rule = a["rule_id"].as_str().unwrap_or("?").to_string();
        let entry = out.entry(rule).or_default();
        entry.1 += 1;
        for id in a["event_ids"].as_array().into_iter().flatten() {
            *entry.0.entry(id.as_str().unwrap().to_string()).or_default() += 1;
        }
    }
    out
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A small deterministic generator (xorshift), for the kill schedule.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in [lo, hi).
    fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next() % 1_000_000) as f64 / 1_000_000.0 * (hi - lo)
    }
}

#[derive(Clone, Copy)]
struct Sample {
    t: f64,
    pid: u32,
    rss_kib: u64,
    anon_kib: u64,
    fds: u64,
}

fn sample(pid: u32, t: f64) -> Option<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some(Sample {
        t,
        pid,
        rss_kib: kib("VmRSS:")?,
        anon_kib: kib("RssAnon:")?,
        fds,
    })
}

/// What the API client saw.
#[derive(Default)]
struct Asked {
    ok: AtomicU64,
    refused: AtomicU64,
    unavailable: AtomicU64,
    other: Mutex<Vec<String>>,
    /// The count of stored events went down between two answers.
    regressions: Mutex<Vec<String>>,
    max_ms: AtomicU64,
    last_count: AtomicU64,
}

fn ask_forever(port: u16, stop: &AtomicBool, asked: &Asked) {
    let base = format!("http://127.0.0.1:{port}");
    let names = [
        "ConsoleLogin",
        "AssumeRole",
        "GetObject",
        "DescribeInstances",
    ];
    let mut i = 0usize;
    while !stop.load(Relaxed) {
        let name = names[i % names.len()];
        let range = format!("from={FROM}&to={TO}");
        let asked_at = Instant::now();
        let (kind, result) = match i % 4 {
            0 => (
                "count",
                try_http("GET", &format!("{base}/api/count?q=&{range}"), &[], b""),
            ),
            1 => (
                "search",
                try_http(
                    "GET",
                    &format!("{base}/api/search?q=eventName:{name}&{range}&limit=20"),
                    &[],
                    b"",
                ),
            ),
            2 => (
                "facets",
                try_http(
                    "GET",
                    &format!("{base}/api/facets?q=&{range}&fields=eventName,sourceIPAddress&n=5"),
                    &[],
                    b"",
                ),
            ),
            _ => (
                "lookup",
                try_http(
                    "POST",
                    &format!("{base}/"),
                    &[
                        ("X-Amz-Target", LOOKUP_TARGET),
                        ("Content-Type", "application/x-amz-json-1.1"),
                    ],
                    format!(
                        r#"{{"LookupAttributes":[{{"AttributeKey":"EventName","AttributeValue":"{name}"}}],"MaxResults":20}}"#
                    )
                    .as_bytes(),
                ),
            ),
        };
        match result {
            Ok((200, _, body)) => {
                asked.ok.fetch_add(1, Relaxed);
                asked
                    .max_ms
                    .fetch_max(asked_at.elapsed().as_millis() as u64, Relaxed);
                if kind == "count" {
                    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    if let Some(n) = v["count"].as_u64() {
                        let before = asked.last_count.fetch_max(n, Relaxed);
                        if n < before {
                            asked
                                .regressions
                                .lock()
                                .unwrap()
                                .push(format!("count {n} after {before}"));
                        }
                    }
                }
            }
            Ok((503, _, _)) => {
                asked.unavailable.fetch_add(1, Relaxed);
            }
            Ok((status, _, body)) => asked.other.lock().unwrap().push(format!(
                "{kind}: {status} {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            )),
            // Refused while the server is down, or cut off by its kill.
            Err(_) => {
                asked.refused.fetch_add(1, Relaxed);
                thread::sleep(Duration::from_millis(100));
            }
        }
        i += 1;
        thread::sleep(Duration::from_millis(20));
    }
}

/// A line of the plot: its name, its colour and its value in a sample.
type Series = (&'static str, &'static str, fn(&Sample) -> f64);

/// The samples as an SVG: resident and anonymous memory (MiB) above, open descriptors below,
/// with a red line at each kill.
fn plot(samples: &[Sample], kills: &[f64], end: f64) -> String {
    let (w, h, left, top, panel, gap) = (960.0, 560.0, 70.0, 30.0, 220.0, 50.0);
    let right = w - 20.0;
    let x = |t: f64| left + t / end.max(1.0) * (right - left);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">
<rect width="{w}" height="{h}" fill="white"/>
"#
    );
    let panels: [(&str, f64, Vec<Series>); 2] = [
        (
            "memory of cairn serve (MiB)",
            top,
            vec![
                ("VmRSS", "#1f77b4", |s| s.rss_kib as f64 / 1024.0),
                ("RssAnon", "#ff7f0e", |s| s.anon_kib as f64 / 1024.0),
            ],
        ),
        (
            "open file descriptors",
            top + panel + gap,
            vec![("fds", "#2ca02c", |s| s.fds as f64)],
        ),
    ];
    for (title, y0, series) in panels {
        let max = samples
            .iter()
            .flat_map(|s| series.iter().map(move |(_, _, f)| f(s)))
            .fold(1.0f64, f64::max)
            * 1.1;
        let y = |v: f64| y0 + panel - v / max * panel;
        let _ = writeln!(
            svg,
            r##"<rect x="{left}" y="{y0}" width="{}" height="{panel}" fill="none" stroke="#999"/>
<text x="{left}" y="{}">{title}</text>
<text x="{}" y="{}" text-anchor="end">{max:.0}</text>
<text x="{}" y="{}" text-anchor="end">0</text>"##,
            right - left,
            y0 - 6.0,
            left - 4.0,
            y0 + 10.0,
            left - 4.0,
            y0 + panel
        );
        for k in kills {
            let _ = writeln!(
                svg,
                r##"<line x1="{0:.1}" x2="{0:.1}" y1="{y0}" y2="{1}" stroke="#d62728" stroke-opacity="0.35"/>"##,
                x(*k),
                y0 + panel
            );
        }
        for (i, (name, colour, f)) in series.iter().enumerate() {
            // One polyline per process, so that a restart is not drawn as a slope.
            let mut by_pid: Vec<(u32, String)> = Vec::new();
            for s in samples {
                if by_pid.last().is_none_or(|(p, _)| *p != s.pid) {
                    by_pid.push((s.pid, String::new()));
                }
                let pts = &mut by_pid.last_mut().unwrap().1;
                let _ = write!(pts, "{:.1},{:.1} ", x(s.t), y(f(s)));
            }
            for (_, pts) in by_pid {
                let _ = writeln!(
                    svg,
                    r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{pts}"/>"#
                );
            }
            let _ = writeln!(
                svg,
                r#"<text x="{}" y="{}" fill="{colour}">{name}</text>"#,
                right - 160.0 + i as f64 * 70.0,
                y0 - 6.0
            );
        }
    }
    let axis = top + 2.0 * panel + gap + 30.0;
    let _ = writeln!(
        svg,
        r#"<text x="{left}" y="{axis}">0 s</text><text x="{right}" y="{axis}" text-anchor="end">{end:.0} s (red: SIGKILL)</text>
</svg>"#
    );
    svg
}

/// Max of `f` over the samples in [from, to) of the run's seconds.
fn max_in(samples: &[Sample], from: f64, to: f64, f: impl Fn(&Sample) -> u64) -> u64 {
    samples
        .iter()
        .filter(|s| s.t >= from && s.t < to)
        .map(f)
        .max()
        .unwrap_or(0)
}

#[test]
#[ignore = "minutes long: run by scripts/soak.sh"]
fn soak() {
    let minutes = env_f64("CAIRN_SOAK_MINUTES", 3.0);
    let kill_secs = env_f64("CAIRN_SOAK_KILL_SECS", 40.0);
    let total = Duration::from_secs_f64(minutes * 60.0);
    let out = std::env::var_os("CAIRN_SOAK_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/soak"));
    std::fs::create_dir_all(&out).unwrap();

    let moto = Moto::start();
    let t = tempfile::tempdir().unwrap();
    let trail = t.path().join("trail");
    let events = ((minutes * 2500.0) as u64).max(3000).to_string();
    ok({
        let mut c = cairn(&t.path().join("unused"));
        c.args(["generate", "--out"]).arg(&trail).args([
            "--events",
            &events,
            "--accounts",
            "2",
            "--regions",
            "2",
            "--days",
            "1",
            "--stories",
            "--org",
            "o-soak0000001",
            "--seed",
            "7",
            "--end",
            "2025-06-01T00:00:00Z",
        ]);
        c
    });
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(trail.join("manifest.json")).unwrap()).unwrap();
    let unique = manifest["unique_events"].as_u64().unwrap();
    let files = trail_files(&trail.join("AWSLogs"));

    // The bucket notifies the queue; the queue gives up on a message after 10 receives (a SIGKILL
    // counts against every message of the batch in work, so a low count dead-letters good ones).
    moto.aws(&["s3", "mb", "s3://trail"]);
    let dlq = moto.create_queue("notifications-dlq", 30);
    let url = moto.create_queue("notifications", 5);
    let redrive = format!(
        r#"{{"RedrivePolicy":"{{\"deadLetterTargetArn\":\"{}\",\"maxReceiveCount\":\"10\"}}"}}"#,
        moto.queue_arn(&dlq)
    );
    moto.aws(&[
        "sqs",
        "set-queue-attributes",
        "--queue-url",
        &url,
        "--attributes",
        &redrive,
    ]);
    moto.notify_queue("trail", &url);

    let proxy = FaultProxy::start(
        &moto.endpoint,
        Faults {
            error_every: 9,
            slow_every: 11,
            slow_ms: 700,
            drop_every: 13,
        },
    );
    let data = t.path().join("data");
    let port = free_port();
    let log_path = out.join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let serve = || -> Child {
        let mut c = cairn(&data);
        c.envs(moto.aws_env())
            .env("AWS_ENDPOINT_URL", &proxy.endpoint)
            .args([
                "serve",
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--no-auth",
                "--follow",
                &format!("sqs://{url}"),
            ])
            .stdout(Stdio::null())
            .stderr(log.try_clone().unwrap());
        c.spawn().expect("cairn serve starts")
    };

    let started = Instant::now();
    let secs = move || started.elapsed().as_secs_f64();
    let stop = Arc::new(AtomicBool::new(false));
    let pid = Arc::new(AtomicU32::new(0));
    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let asked = Arc::new(Asked::default());

    let sampler = {
        let (stop, pid, samples) = (stop.clone(), pid.clone(), samples.clone());
        thread::spawn(move || {
            while !stop.load(Relaxed) {
                if let Some(s) = sample(pid.load(Relaxed), secs()) {
                    samples.lock().unwrap().push(s);
                }
                thread::sleep(Duration::from_secs(1));
            }
        })
    };
    let client = {
        let (stop, asked) = (stop.clone(), asked.clone());
        thread::spawn(move || ask_forever(port, &stop, &asked))
    };

    // The feeder: every file once, in time order, over 70% of the run; every 40th file a
    // second time; a junk message after every 150th.
    let fed = Arc::new(AtomicBool::new(false));
    let junk = Arc::new(AtomicU64::new(0));
    let feeder = {
        let (fed, junk) = (fed.clone(), junk.clone());
        let root = trail.join("AWSLogs");
        let endpoint = moto.endpoint.clone();
        let files = files.clone();
        let url = url.clone();
        let moto_env = moto.aws_env();
        let feed_time = total.mul_f64(0.7);
        thread::spawn(move || {
            let gap = feed_time.div_f64(files.len() as f64);
            let put = |key: &Path| {
                let body = std::fs::read(root.join(key)).unwrap();
                let target = format!("{endpoint}/trail/AWSLogs/{}", key.display());
                for _ in 0..5 {
                    if let Ok((200, _, _)) = try_http("PUT", &target, &[UNCHECKED_AUTH], &body) {
                        return;
                    }
                    thread::sleep(Duration::from_millis(200));
                }
                panic!("could not put {target}");
            };
            for (i, key) in files.iter().enumerate() {
                let due = started + gap.mul_f64(i as f64);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    thread::sleep(wait);
                }
                put(key);
                if i % 40 == 39 {
                    put(&files[i / 2]);
                }
                if i % 150 == 149 {
                    let n = junk.fetch_add(1, Relaxed);
                    let status = Command::new(aws::venv().join("bin/aws"))
                        .envs(moto_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                        .args([
                            "--endpoint-url",
                            &endpoint,
                            "sqs",
                            "send-message",
                            "--queue-url",
                            &url,
                            "--message-body",
                            &format!("junk {n}: not a notification {{"),
                        ])
                        .stdout(Stdio::null())
                        .status()
                        .unwrap();
                    assert!(status.success(), "send junk");
                }
            }
            fed.store(true, Relaxed);
        })
    };

    // Kill and restart until the feed is done and the run's time is up.
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut kills = Vec::new();
    let mut child = serve();
    pid.store(child.id(), Relaxed);
    while !(fed.load(Relaxed) && started.elapsed() >= total.mul_f64(0.75)) {
        let next = Instant::now() + Duration::from_secs_f64(rng.between(0.75, 1.25) * kill_secs);
        while Instant::now() < next && !fed.load(Relaxed) {
            thread::sleep(Duration::from_millis(200));
        }
        if fed.load(Relaxed) {
            break;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kills.push(secs());
        child = serve();
        pid.store(child.id(), Relaxed);
    }
    feeder.join().expect("the feeder finished");

    // Let it drain: every file in the ledger, and nothing queued but the junk, which comes back
    // later each time (30 s, 60 s, ...) until the redrive policy moves it.
    let keys: Vec<String> = files
        .iter()
        .map(|k| format!("AWSLogs/{}", k.display()))
        .collect();
    let ledger = data.join("ledger.jsonl");
    let messages = |url: &str| {
        let (visible, in_flight) = moto.queue_counts(url);
        visible + in_flight
    };
    wait_for(
        "every object, and nothing queued but the junk",
        total.max(Duration::from_secs(300)),
        || {
            let l = std::fs::read_to_string(&ledger).unwrap_or_default();
            keys.iter().all(|k| l.contains(k.as_str()))
                && messages(&url) + messages(&dlq) == junk.load(Relaxed)
        },
    );
    let drained = secs();
    // Quiet time at the end, still sampled and asked.
    let calm = total
        .saturating_sub(started.elapsed())
        .max(Duration::from_secs(10));
    thread::sleep(calm);
    stop.store(true, Relaxed);
    sampler.join().unwrap();
    client.join().unwrap();
    let end = secs();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();

    // The reference: the same files, ingested once, without faults.
    let reference = t.path().join("reference");
    ok({
        let mut c = cairn(&reference);
        c.arg("ingest").arg(trail.join("AWSLogs")).arg("-q");
        c
    });
    let got = event_ids(&data);
    let want = event_ids(&reference);
    let stored_count = stored(&data);
    let soak_alerts = alert_events(&data);
    let ref_alerts = alert_events(&reference);
    let (queued, dead) = (messages(&url), messages(&dlq));
    let junk = junk.load(Relaxed);

    let samples = samples.lock().unwrap().clone();
    // Flat: the last third of the run against the first (after a 20-second start).
    let third = end / 3.0;
    let first = |f: fn(&Sample) -> u64| max_in(&samples, 20.0, third, f);
    let last = |f: fn(&Sample) -> u64| max_in(&samples, 2.0 * third, end + 1.0, f);
    let anon = (first(|s| s.anon_kib), last(|s| s.anon_kib));
    let rss = (first(|s| s.rss_kib), last(|s| s.rss_kib));
    let fds = (first(|s| s.fds), last(|s| s.fds));

    let s = &proxy.stats;
    let regressions = asked.regressions.lock().unwrap().clone();
    let other = asked.other.lock().unwrap().clone();
    let mut failures = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            failures.push(what.clone());
        }
        format!("- [{}] {what}", if ok { "x" } else { " " })
    };
    let mut dup_alerts = Vec::new();
    for (rule, (events, _)) in &soak_alerts {
        for (id, n) in events {
            if *n > 1 {
                dup_alerts.push(format!("{rule}: {id} in {n} alerts"));
            }
        }
    }
    let events_of = |a: &AlertEvents| -> BTreeMap<String, BTreeSet<String>> {
        a.iter()
            .map(|(r, (e, _))| (r.clone(), e.keys().cloned().collect()))
            .collect()
    };
    let alerts_total = |a: &AlertEvents| a.values().map(|(_, n)| n).sum::<usize>();
    let checks = [
        check(
            got == want && got.len() as u64 == unique,
            format!(
                "the store holds exactly the trail's events: {} stored ids, {} in the reference, {unique} in the manifest ({} missing, {} extra)",
                got.len(),
                want.len(),
                want.difference(&got).count(),
                got.difference(&want).count()
            ),
        ),
        check(
            stored_count == got.len() as u64,
            format!(
                "each event once: {stored_count} stored events, {} distinct ids",
                got.len()
            ),
        ),
        check(
            events_of(&soak_alerts) == events_of(&ref_alerts),
            format!(
                "no alert lost: the same events per rule as the reference ({} rules, {} alerts here, {} in the reference)",
                soak_alerts.len(),
                alerts_total(&soak_alerts),
                alerts_total(&ref_alerts)
            ),
        ),
        check(
            dup_alerts.is_empty(),
            format!(
                "no alert duplicated: {} events in two alerts of one rule {:?}",
                dup_alerts.len(),
                &dup_alerts[..dup_alerts.len().min(5)]
            ),
        ),
        check(
            queued + dead == junk,
            format!(
                "every notification deleted, the {junk} junk messages kept: {queued} still queued, {dead} in the dead-letter queue"
            ),
        ),
        check(
            regressions.is_empty(),
            format!("the API's count never went down: {regressions:?}"),
        ),
        check(
            other.is_empty(),
            format!("every API answer was 200 or 503: {other:?}"),
        ),
        check(
            anon.1 <= anon.0 + anon.0 / 2 + 64 * 1024,
            format!(
                "anonymous memory flat: max {} MiB in the first third, {} MiB in the last",
                anon.0 / 1024,
                anon.1 / 1024
            ),
        ),
        check(
            fds.1 <= fds.0 + 32,
            format!(
                "open descriptors flat: max {} in the first third, {} in the last",
                fds.0, fds.1
            ),
        ),
        check(
            status.success(),
            format!("SIGTERM stopped the last server cleanly: {status}"),
        ),
        check(
            s.errors.load(Relaxed) > 0 && s.dropped.load(Relaxed) > 0 && !kills.is_empty(),
            format!("faults happened: {} kills, proxy {:?}", kills.len(), s),
        ),
    ];

    let mut csv = String::from("seconds,pid,vmrss_kib,rssanon_kib,fds\n");
    for s in &samples {
        let _ = writeln!(
            csv,
            "{:.1},{},{},{},{}",
            s.t, s.pid, s.rss_kib, s.anon_kib, s.fds
        );
    }
    std::fs::write(out.join("samples.csv"), csv).unwrap();
    std::fs::write(out.join("soak.svg"), plot(&samples, &kills, end)).unwrap();
    let report = format!(
        "# Soak: {minutes} minutes of `cairn serve --follow` under faults\n\n\
         - Trail: {unique} unique events in {} files (2 accounts, 2 regions, 1 day, the demo's stories); \
           fed over {:.0} s, every 40th file twice, {junk} junk messages.\n\
         - Faults (proxy in front of S3 and SQS): {} requests, {} answered 503, {} slowed by 700 ms, {} cut short.\n\
         - {} SIGKILLs, at {:?} s; drained at {drained:.0} s; ended at {end:.0} s.\n\
         - API client: {} answers 200, {} 503, {} refused or cut (server down); slowest 200 in {} ms.\n\
         - Memory (max, MiB): VmRSS {} in the first third, {} in the last; RssAnon {} and {}. \
           Open descriptors (max): {} and {}. Samples: samples.csv, plot: soak.svg.\n\n\
         Checks:\n\n{}\n",
        files.len(),
        total.as_secs_f64() * 0.7,
        s.requests.load(Relaxed),
        s.errors.load(Relaxed),
        s.slowed.load(Relaxed),
        s.dropped.load(Relaxed),
        kills.len(),
        kills.iter().map(|k| k.round() as u64).collect::<Vec<_>>(),
        asked.ok.load(Relaxed),
        asked.unavailable.load(Relaxed),
        asked.refused.load(Relaxed),
        asked.max_ms.load(Relaxed),
        rss.0 / 1024,
        rss.1 / 1024,
        anon.0 / 1024,
        anon.1 / 1024,
        fds.0,
        fds.1,
        checks.join("\n"),
    );
    std::fs::write(out.join("report.md"), &report).unwrap();
    println!("{report}");
    println!("output in {}", out.display());
    assert!(
        failures.is_empty(),
        "soak failed: {failures:#?}\n(server log: {})",
        log_path.display()
    );
}
