//! Detection end to end: the demo's stories raise their alerts, a crash repeats none, the
//! heartbeat fires and resolves at the right checks, and the rules commands.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

fn cairn(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cairn"));
    c.arg("--data-dir")
        .arg(data)
        .env("NO_COLOR", "1")
        .env_remove("CAIRN_DATA")
        .env_remove("CAIRN_CONFIG");
    c
}

fn run(mut c: Command) -> Output {
    c.output().expect("cairn runs")
}

fn ok(c: Command) -> String {
    let desc = format!("{c:?}");
    let out = run(c);
    assert!(
        out.status.success(),
        "{desc} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn alerts(data: &Path) -> Vec<Value> {
    let mut c = cairn(data);
    c.args(["alerts", "--format", "json", "--limit", "100000"]);
    serde_json::from_str(&ok(c)).unwrap()
}

/// A generated organization trail with the demo's planted stories.
fn story_trail(dir: &Path, events: &str, seed: &str) -> Value {
    let mut c = cairn(&dir.join("unused"));
    c.args(["generate", "--out"])
        .arg(dir)
        .args([
            "--end",
            "2025-06-01T00:00:00Z",
            "--stories",
            "--org",
            "o-testorg12345",
        ])
        .args([
            "--events",
            events,
            "--seed",
            seed,
            "--accounts",
            "4",
            "--regions",
            "3",
        ]);
    ok(c);
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// The rule each story must raise.
const STORY_RULES: &[(&str, &str)] = &[
    (
        "root-console-login-without-mfa",
        "root-console-login-without-mfa",
    ),
    (
        "security-group-opened-to-world",
        "security-group-ingress-opened-then-revoked",
    ),
    ("cloudtrail-logging-stopped", "cloudtrail-logging-stopped"),
    ("access-denied-burst", "access-denied-burst"),
    (
        "access-key-created-for-another-user",
        "access-key-created-for-another-user",
    ),
];

fn rule_names(data: &Path) -> BTreeMap<String, String> {
    let mut c = cairn(data);
    c.args(["rules", "list", "--format", "jsonl"]);
    ok(c)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["id"].as_str().unwrap().to_string(),
                v["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Checks the stories' alerts; returns, per rule name, the alerts' event-id sets.
fn check_stories(data: &Path, manifest: &Value) -> BTreeMap<String, Vec<BTreeSet<String>>> {
    let names = rule_names(data);
    let all = alerts(data);
    let mut by_rule: BTreeMap<String, Vec<BTreeSet<String>>> = BTreeMap::new();
    let mut story_events: BTreeSet<String> = BTreeSet::new();
    for s in manifest["stories"].as_array().unwrap() {
        story_events.extend(
            s["event_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap().to_string()),
        );
    }
    let mut ids = BTreeSet::new();
    for a in &all {
        assert!(
            ids.insert(a["id"].as_str().unwrap().to_string()),
            "alert listed twice: {a:#}"
        );
        let name = names
            .get(a["rule_id"].as_str().unwrap())
            .cloned()
            .unwrap_or_default();
        let events: BTreeSet<String> = a["event_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .collect();
        // Nothing in the background noise is high or critical.
        if matches!(a["severity"].as_str(), Some("high" | "critical")) {
            assert!(
                events.iter().all(|e| story_events.contains(e)),
                "a high-severity alert on background noise: {a:#}"
            );
        }
        by_rule.entry(name).or_default().push(events);
    }
    for (story, rule) in STORY_RULES {
        let s = manifest["stories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == *story)
            .unwrap_or_else(|| panic!("story {story} planted"));
        let planted: BTreeSet<String> = s["event_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .collect();
        let raised = by_rule.get(*rule).cloned().unwrap_or_default();
        let hit: Vec<_> = raised.iter().filter(|e| !e.is_disjoint(&planted)).collect();
        assert_eq!(
            hit.len(),
            1,
            "story {story}: exactly one {rule} alert holds its events; alerts of the rule: {raised:?}"
        );
    }
    by_rule
}

#[test]
fn the_stories_raise_their_alerts_and_the_noise_raises_nothing_serious() {
    // `cairn demo` itself (smaller than its default): its trail, its ingest, its alerts.
    let t = tempfile::tempdir().unwrap();
    let demo = t.path().join("demo");
    let mut c = cairn(&t.path().join("unused"));
    c.args(["demo", "--events", "120000", "--dir"]).arg(&demo);
    let out = ok(c);
    assert!(out.contains("The built-in rules raised"), "{out}");
    let trail = demo.join("trail");
    let data = demo.join("data");
    let m: Value =
        serde_json::from_slice(&std::fs::read(trail.join("manifest.json")).unwrap()).unwrap();
    check_stories(&data, &m);

    // Alerts of one rule, by the name `rules list` shows.
    let mut c = cairn(&data);
    c.args([
        "alerts",
        "--rule",
        "cloudtrail-logging-stopped",
        "--format",
        "json",
    ]);
    let one: Vec<Value> = serde_json::from_str(&ok(c)).unwrap();
    assert_eq!(one.len(), 1, "{one:#?}");
    assert_eq!(one[0]["event_name"], "StopLogging");

    // From an alert to its events in one command.
    let stop = alerts(&data)
        .into_iter()
        .find(|a| a["event_name"] == "StopLogging")
        .expect("a StopLogging alert");
    let mut c = cairn(&data);
    c.args(["alerts", "show", &stop["id"].as_str().unwrap()[..8]]);
    let shown = ok(c);
    assert!(shown.contains("StopLogging"), "{shown}");
    let first = stop["event_ids"][0].as_str().unwrap();
    assert!(shown.contains(first), "the event is listed: {shown}");
    let mut c = cairn(&data);
    c.args([
        "alerts",
        "show",
        stop["id"].as_str().unwrap(),
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&ok(c)).unwrap();
    assert_eq!(v["events"][0]["eventID"], first);

    // A second run over the same trail reads nothing new and raises nothing.
    let before = alerts(&data).len();
    let mut c = cairn(&data);
    c.arg("ingest").arg(trail.join("AWSLogs")).arg("-q");
    ok(c);
    assert_eq!(alerts(&data).len(), before);

    // The backtest over the stored history finds the same rules firing, and notifies no one.
    let mut c = cairn(&data);
    c.args([
        "rules",
        "backtest",
        "--from",
        "2025-01-01T00:00:00Z",
        "--format",
        "json",
    ]);
    let bt: Value = serde_json::from_str(&ok(c)).unwrap();
    let names = rule_names(&data);
    let fired: BTreeSet<String> = bt["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| names[r["rule"].as_str().unwrap()].clone())
        .collect();
    for (_, rule) in STORY_RULES {
        assert!(fired.contains(*rule), "backtest finds {rule}: {bt:#}");
    }
    assert_eq!(alerts(&data).len(), before, "a backtest raises no alert");
}

#[test]
fn killed_ingests_leave_every_alert_exactly_once() {
    let t = tempfile::tempdir().unwrap();
    let trail = t.path().join("trail");
    let m = story_trail(&trail, "60000", "3");

    let clean = t.path().join("clean");
    let mut c = cairn(&clean);
    c.arg("ingest")
        .arg(trail.join("AWSLogs"))
        .args(["-q", "--commit-every", "3000"]);
    ok(c);
    let expected = check_stories(&clean, &m);

    let crashed = t.path().join("crashed");
    for delay_ms in [300, 700, 1200, 1800, 2600] {
        let mut c = cairn(&crashed);
        c.arg("ingest")
            .arg(trail.join("AWSLogs"))
            .args(["--commit-every", "3000", "-q"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = c.spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    let mut c = cairn(&crashed);
    c.arg("ingest")
        .arg(trail.join("AWSLogs"))
        .args(["-q", "--commit-every", "3000"]);
    ok(c);
    let got = check_stories(&crashed, &m);
    // Detection alerts are per event, so they must be the same alerts; correlation windows
    // may be cut differently at the commits a crash forces, so their events may differ, but
    // every story's alert is there exactly once (checked above).
    let detections = |by: &BTreeMap<String, Vec<BTreeSet<String>>>| -> BTreeSet<String> {
        by.iter()
            .filter(|(rule, _)| !rule.contains("then") && !rule.contains("burst"))
            .flat_map(|(rule, sets)| sets.iter().flatten().map(move |e| format!("{rule} {e}")))
            .collect()
    };
    assert_eq!(detections(&got), detections(&expected));
}

/// A canary trail: `GetTrailStatus` by IAM user `monitor` every five minutes from 00:00 to
/// 06:00 and again from 08:00 to 12:00 on 2026-01-01.
fn canary_trail(path: &Path) -> Vec<i64> {
    let base = 1_767_225_600; // 2026-01-01T00:00:00Z
    let mut times = Vec::new();
    let mut records = Vec::new();
    let mut t = base;
    while t < base + 12 * 3600 {
        let stopped = t >= base + 6 * 3600 && t < base + 8 * 3600;
        if !stopped {
            times.push(t);
            let when = time::OffsetDateTime::from_unix_timestamp(t)
                .unwrap()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
            records.push(json!({
                "eventVersion": "1.08",
                "userIdentity": {
                    "type": "IAMUser", "principalId": "AIDAEXAMPLEMONITOR",
                    "arn": "arn:aws:iam::111122223333:user/monitor",
                    "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLEMONITOR",
                    "userName": "monitor"
                },
                "eventTime": when.replace(".000", ""),
                "eventSource": "cloudtrail.amazonaws.com",
                "eventName": "GetTrailStatus",
                "awsRegion": "us-east-1",
                "sourceIPAddress": "198.51.100.7",
                "userAgent": "aws-cli/2.15.0",
                "requestParameters": {"name": "org-trail"},
                "responseElements": null,
                "requestID": format!("req-{t}"),
                "eventID": format!("00000000-0000-4000-8000-{t:012}"),
                "readOnly": true,
                "eventType": "AwsApiCall",
                "managementEvent": true,
                "recipientAccountId": "111122223333",
                "eventCategory": "Management"
            }));
        }
        t += 300;
    }
    std::fs::write(path, json!({ "Records": records }).to_string()).unwrap();
    times
}

#[test]
fn the_heartbeat_fires_when_the_canary_stops_and_resolves_when_it_resumes() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let times = canary_trail(&t.path().join("canary.json"));
    let notified = t.path().join("notified.jsonl");
    let config = t.path().join("cairn.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[monitor]]
name = "canary"
query = 'eventName:GetTrailStatus AND userIdentity.userName:monitor'
window = "1h"
min_count = 10
every = "5m"
delay = "15m"

[[channel]]
name = "log"
type = "file"
path = "{}"
"#,
            notified.display()
        ),
    )
    .unwrap();
    let mut c = cairn(&data);
    c.arg("--config")
        .arg(&config)
        .arg("ingest")
        .arg(t.path().join("canary.json"))
        .arg("-q");
    ok(c);

    // Independently: the expected status at each check, from the canary's own times.
    let base = 1_767_225_600;
    let mut transitions = Vec::new();
    let mut last: Option<bool> = None;
    for k in 0..=((10 * 3600) / 300) {
        let now = base + 2 * 3600 + k * 300;
        let (from, to) = (now - 15 * 60 - 3600, now - 15 * 60);
        let n = times.iter().filter(|t| **t >= from && **t < to).count();
        let firing = n < 10;
        let when = time::OffsetDateTime::from_unix_timestamp(now)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let mut c = cairn(&data);
        c.arg("--config")
            .arg(&config)
            .args(["monitors", "run", "--at", &when, "--format", "json"]);
        let out = run(c);
        assert_eq!(
            out.status.code(),
            Some(if firing { 1 } else { 0 }),
            "{when}"
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v[0]["count"], n as u64, "count at {when}");
        assert_eq!(
            v[0]["status"],
            if firing { "FIRING" } else { "OK" },
            "{when}"
        );
        let changed = last.is_some_and(|l| l != firing) || (last.is_none() && firing);
        assert_eq!(v[0]["changed"], changed, "{when}");
        if changed {
            transitions.push((when.clone(), firing));
        }
        last = Some(firing);
    }
    // The canary stopped at 06:00: the window (an hour, ending 15 minutes before the check)
    // first holds fewer than 10 events at 06:30; it resumed at 08:00 and holds 10 again at 09:05.
    assert_eq!(
        transitions,
        vec![
            ("2026-01-01T06:30:00Z".to_string(), true),
            ("2026-01-01T09:05:00Z".to_string(), false)
        ]
    );
    // Both transitions were notified, and are alerts.
    let lines: Vec<Value> = std::fs::read_to_string(&notified)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert_eq!(lines[0]["alert"]["kind"], "monitor_firing");
    assert_eq!(lines[1]["alert"]["kind"], "monitor_resolved");
    let kinds: Vec<String> = alerts(&data)
        .iter()
        .map(|a| a["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds.iter().filter(|k| k.starts_with("monitor")).count(), 2);
}

#[test]
fn monitors_run_on_a_timer_while_following() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let dir = t.path().join("in");
    std::fs::create_dir_all(&dir).unwrap();
    canary_trail(&dir.join("canary.json"));
    let config = t.path().join("cairn.toml");
    std::fs::write(
        &config,
        "[[monitor]]\nname = \"canary\"\nquery = 'eventName:GetTrailStatus'\nwindow = \"1h\"\n\
         min_count = 10\nevery = \"1s\"\n",
    )
    .unwrap();
    let mut c = cairn(&data);
    c.arg("--config")
        .arg(&config)
        .arg("ingest")
        .arg(&dir)
        .args(["--follow", "--interval", "1s", "-q"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let state = data.join("detect").join("monitors.json");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut seen = None;
    while std::time::Instant::now() < deadline {
        if let Ok(b) = std::fs::read(&state)
            && let Ok(v) = serde_json::from_slice::<Value>(&b)
        {
            seen = Some(v);
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
    // The canary's last event is long past: following now, the monitor fires.
    let v = seen.expect("the monitor was checked while following");
    assert_eq!(v["canary"]["status"], "FIRING", "{v:#}");
}

fn write_lines(path: &Path, events: &[Value]) {
    let mut f = std::fs::File::create(path).unwrap();
    for e in events {
        writeln!(f, "{e}").unwrap();
    }
}

/// The 57 SigmaHQ CloudTrail rules of the shared corpus (CI has it beside the clone).
fn corpus() -> PathBuf {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/sigma-cloudtrail-rules");
    assert!(p.is_dir(), "the test corpus is missing: {}", p.display());
    p
}

#[test]
fn rules_check_test_and_list() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");

    // A rule directory with a good rule, a broken one and a Windows rule.
    let rules = t.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(
        rules.join("good.yml"),
        "title: Bucket policy deleted\nid: 5f0c6a8e-1111-4c3b-9a57-3c4f3c1d2e01\nstatus: test\n\
         logsource: {product: aws, service: cloudtrail}\ndetection:\n  sel:\n    \
         eventSource: s3.amazonaws.com\n    eventName: DeleteBucketPolicy\n  condition: sel\n\
         level: medium\n",
    )
    .unwrap();
    std::fs::write(
        rules.join("broken.yml"),
        "title: Broken\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel:\n    \
         eventName: X\n  condition: sel and missing\n",
    )
    .unwrap();
    std::fs::write(
        rules.join("windows.yml"),
        "title: W\nlogsource: {product: windows, category: process_creation}\ndetection:\n  \
         sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel\n",
    )
    .unwrap();
    let mut c = cairn(&data);
    c.args(["rules", "check"]).arg(&rules);
    let out = run(c);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("broken.yml") && stderr.contains("\"Broken\""),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1 CloudTrail rules compiled") && stdout.contains("1 failed"),
        "{stdout}"
    );
    assert!(stdout.contains("1 skipped"), "{stdout}");

    // The built-in pack and a directory, listed together.
    let mut c = cairn(&data);
    c.args(["rules", "list", "--format", "jsonl", "--rules"])
        .arg(rules.join("good.yml"));
    let listed = ok(c);
    assert!(listed.contains("Bucket policy deleted"));
    assert!(listed.contains("root-console-login-without-mfa"));

    // `rules test`: the eventID of each match and why.
    let ev = |id: &str, name: &str| {
        json!({"eventVersion": "1.08", "eventTime": "2026-01-01T00:00:00Z", "eventID": id,
               "eventSource": "s3.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
               "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/a",
                                "accountId": "111122223333", "userName": "a"},
               "recipientAccountId": "111122223333"})
    };
    let events = t.path().join("events.jsonl");
    write_lines(
        &events,
        &[
            ev("e-1", "DeleteBucketPolicy"),
            ev("e-2", "GetBucketPolicy"),
        ],
    );
    let mut c = cairn(&data);
    c.args(["rules", "test", "Bucket policy deleted"])
        .arg(&events)
        .arg("--rules")
        .arg(rules.join("good.yml"));
    let out = ok(c);
    assert!(
        out.contains("e-1") && out.contains("eventName=DeleteBucketPolicy"),
        "{out}"
    );
    assert!(!out.contains("e-2"), "{out}");
    let mut c = cairn(&data);
    write_lines(&events, &[ev("e-2", "GetBucketPolicy")]);
    c.args(["rules", "test", "Bucket policy deleted"])
        .arg(&events)
        .arg("--rules")
        .arg(rules.join("good.yml"));
    assert_eq!(run(c).status.code(), Some(1), "no match exits 1, like grep");
}

#[test]
fn every_sigmahq_cloudtrail_rule_parses_and_compiles() {
    let dir = corpus();
    let mut c = cairn(Path::new("unused"));
    c.args(["rules", "check"]).arg(&dir);
    let out = ok(c);
    assert!(out.contains(" 0 failed"), "{out}");
    let n: u64 = out
        .split(" CloudTrail rules compiled")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    assert_eq!(n, 57, "{out}");
}

fn fixture(rule: &str, file: &str) -> Vec<Value> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cairn-detect/tests/fixtures/rules")
        .join(rule)
        .join(file);
    std::fs::read_to_string(&p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn correlation_windows_survive_a_restart_storms_are_suppressed_and_alerts_are_delivered() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let delivered = t.path().join("delivered.jsonl");
    let config = t.path().join("cairn.toml");
    std::fs::write(
        &config,
        format!(
            "[[channel]]\nname = \"archive\"\ntype = \"file\"\npath = \"{}\"\nmin_severity = \"informational\"\n",
            delivered.display()
        ),
    )
    .unwrap();
    let ingest = |file: &Path| {
        let mut c = cairn(&data);
        c.arg("--config")
            .arg(&config)
            .arg("ingest")
            .arg(file)
            .arg("-q");
        ok(c);
    };

    // A burst of 20 denials, read by two separate runs: 10 and 10.
    let burst = fixture("access-denied-burst", "fires-leaked-key.jsonl");
    assert_eq!(burst.len(), 21);
    let (a, b) = burst.split_at(11);
    write_lines(&t.path().join("a.jsonl"), a);
    write_lines(&t.path().join("b.jsonl"), b);
    ingest(&t.path().join("a.jsonl"));
    assert!(alerts(&data).is_empty(), "ten denials are not a burst yet");
    ingest(&t.path().join("b.jsonl"));
    let after = alerts(&data);
    let bursts: Vec<&Value> = after
        .iter()
        .filter(|x| x["rule"] == "Burst of Access Denied Errors From One Principal")
        .collect();
    assert_eq!(
        bursts.len(),
        1,
        "the window carried over the restart: {after:#?}"
    );
    assert!(
        bursts[0]["event_ids"].as_array().unwrap().len() >= 20,
        "{:#}",
        bursts[0]
    );

    // Five security groups created by one principal within minutes: one alert, count 5; one
    // by somebody else: its own alert.
    let one = &fixture("security-group-created", "fires.jsonl")[0];
    let mut storm = Vec::new();
    for i in 0..6 {
        let mut e = one.clone();
        e["eventID"] = json!(format!("5e5e5e5e-0000-4000-8000-00000000000{i}"));
        e["eventTime"] = json!(format!("2026-11-20T10:0{i}:00Z"));
        if i == 5 {
            e["userIdentity"]["arn"] = json!("arn:aws:iam::111122223333:user/someone-else");
        }
        storm.push(e);
    }
    write_lines(&t.path().join("storm.jsonl"), &storm);
    ingest(&t.path().join("storm.jsonl"));
    let sg: Vec<Value> = alerts(&data)
        .into_iter()
        .filter(|x| x["rule"] == "Security Group Created")
        .collect();
    let mut counts: Vec<u64> = sg.iter().map(|x| x["count"].as_u64().unwrap()).collect();
    counts.sort();
    assert_eq!(counts, vec![1, 5], "{sg:#?}");

    // Every alert went to the channel once, and the alert says so.
    let lines = std::fs::read_to_string(&delivered).unwrap();
    let sent: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let all = alerts(&data);
    assert_eq!(sent.len(), all.len(), "{lines}");
    for a in &all {
        assert_eq!(a["deliveries"][0]["channel"], "archive", "{a:#}");
        assert_eq!(a["deliveries"][0]["ok"], true, "{a:#}");
    }
    assert!(
        sent[0]["text"].as_str().unwrap().contains("alerts show"),
        "{:#}",
        sent[0]
    );
}

/// rsigma's correlation windows assume events come in time order. A backfill reads many
/// partitions; read one after the other, a principal's denials of one day sat in the window
/// when those of the day before came from another region, and twelve and twelve made a false
/// burst of twenty-four. Files are read in delivery-time order, whatever their key order.
#[test]
fn a_backfill_across_regions_raises_no_burst_from_days_apart() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let denial = fixture("access-denied-burst", "fires-leaked-key.jsonl")
        .into_iter()
        .find(|e| e.get("errorCode").is_some())
        .expect("the fixture has denials");
    let principal = "arn:aws:iam::111122223333:user/svc-reporting";
    let mut n = 0;
    let mut event = |arn: &str, time: String| {
        n += 1;
        let mut e = denial.clone();
        e["eventID"] = json!(format!("dddddddd-0000-4000-8000-{n:012}"));
        e["eventTime"] = json!(time);
        e["userIdentity"]["arn"] = json!(arn);
        e
    };
    // eu-west-1 sorts before us-east-1 but holds the later day: twelve denials by the
    // principal, then more than a feed chunk of single denials by others, so that the
    // principal's twelve are in the windows before the other region's file is read.
    let mut later: Vec<Value> = (0..12)
        .map(|i| event(principal, format!("2026-11-21T10:00:{:02}Z", i * 4)))
        .collect();
    for i in 0..4200 {
        later.push(event(
            &format!("arn:aws:iam::111122223333:user/other-{i}"),
            format!("2026-11-21T11:{:02}:{:02}Z", i / 60 % 60, i % 60),
        ));
    }
    let earlier: Vec<Value> = (0..12)
        .map(|i| event(principal, format!("2026-11-20T10:00:{:02}Z", i * 4)))
        .collect();
    let root = t.path().join("trail/AWSLogs/111122223333/CloudTrail");
    for (region, day, events) in [("eu-west-1", "21", &later), ("us-east-1", "20", &earlier)] {
        let dir = root.join(region).join("2026/11").join(day);
        std::fs::create_dir_all(&dir).unwrap();
        let name =
            format!("111122223333_CloudTrail_{region}_202611{day}T1105Z_AbCdEf0123456789.json");
        std::fs::write(dir.join(name), json!({ "Records": events }).to_string()).unwrap();
    }
    let mut c = cairn(&data);
    c.arg("ingest")
        .arg(t.path().join("trail"))
        .args(["--threads", "1", "-q"]);
    ok(c);
    let bursts: Vec<Value> = alerts(&data)
        .into_iter()
        .filter(|a| a["rule"] == "Burst of Access Denied Errors From One Principal")
        .collect();
    assert!(bursts.is_empty(), "no burst happened: {bursts:#?}");
}
