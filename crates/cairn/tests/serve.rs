//! `cairn serve` with the real AWS CLI and boto3 as clients of its LookupEvents API.

#[path = "common/aws.rs"]
mod aws;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn cairn() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cairn"));
    c.env("NO_COLOR", "1").stdin(Stdio::null());
    c
}

struct Server {
    child: Child,
    url: String,
    /// Everything it wrote on stderr so far.
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(data: &Path) -> Server {
    serve_with(data, &["--no-auth"])
}

fn serve_with(data: &Path, extra: &[&str]) -> Server {
    let port = free_port();
    let mut child = cairn()
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            let mut s = sink.lock().unwrap();
            s.push_str(&l);
            s.push('\n');
        }
    });
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "serve did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
        log,
    }
}

fn aws(s: &Server, args: &[&str]) -> (bool, String, String) {
    let o = aws::venv_command("aws")
        .args([
            "--endpoint-url",
            &s.url,
            "--output",
            "json",
            "cloudtrail",
            "lookup-events",
        ])
        .args(args)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

fn events(out: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"));
    v["Events"].as_array().cloned().unwrap_or_default()
}

/// A store of a generated trail, and its records by eventID.
fn store(dir: &Path) -> (PathBuf, Vec<serde_json::Value>) {
    let trail = dir.join("trail");
    let o = cairn()
        .args(["generate", "--out"])
        .arg(&trail)
        .args([
            "--events",
            "3000",
            "--accounts",
            "2",
            "--regions",
            "2",
            "--days",
            "2",
        ])
        .args(["--end", "2025-06-01", "--duplicate-rate", "0"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let data = dir.join("data");
    let o = cairn()
        .arg("--data-dir")
        .arg(&data)
        .args(["ingest", "--no-rules"])
        .arg(trail.join("AWSLogs"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = cairn()
        .arg("--data-dir")
        .arg(&data)
        .args(["search", "*", "--format", "jsonl", "--limit", "10000"])
        .output()
        .unwrap();
    let records = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (data, records)
}

#[test]
fn the_aws_cli_looks_up_events_by_every_attribute() {
    let dir = tempfile::tempdir().unwrap();
    let (data, records) = store(dir.path());
    assert_eq!(records.len(), 3000);
    let s = serve(&data);
    // One record with an access key and resources, to look each attribute up by.
    let r = records
        .iter()
        .find(|r| {
            r["userIdentity"]["accessKeyId"].is_string()
                && r["resources"][0]["ARN"].is_string()
                && r["userIdentity"]["userName"].is_string()
        })
        .expect("a record with a key, a user name and resources");
    let id = r["eventID"].as_str().unwrap();
    let count = |f: &dyn Fn(&serde_json::Value) -> bool| records.iter().filter(|r| f(r)).count();
    let s_of = |r: &serde_json::Value, p: &str| -> String {
        p.split('.')
            .fold(r.clone(), |v, k| v[k].clone())
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let cases: Vec<(&str, String, usize)> = vec![
        ("EventId", id.to_string(), 1),
        (
            "EventName",
            s_of(r, "eventName"),
            count(&|x| x["eventName"] == r["eventName"]),
        ),
        (
            "EventSource",
            s_of(r, "eventSource"),
            count(&|x| x["eventSource"] == r["eventSource"]),
        ),
        (
            "AccessKeyId",
            s_of(r, "userIdentity.accessKeyId"),
            count(&|x| x["userIdentity"]["accessKeyId"] == r["userIdentity"]["accessKeyId"]),
        ),
        (
            "ReadOnly",
            "false".to_string(),
            count(&|x| x["readOnly"] == serde_json::Value::Bool(false)),
        ),
        (
            "ResourceType",
            s_of(&r["resources"][0], "type"),
            count(&|x| {
                x["resources"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|e| e["type"] == r["resources"][0]["type"]))
            }),
        ),
    ];
    for (key, value, want) in &cases {
        let (ok, out, err) = aws(
            &s,
            &[
                "--lookup-attributes",
                &format!("AttributeKey={key},AttributeValue={value}"),
            ],
        );
        assert!(ok, "{key}: {err}");
        let got = events(&out);
        assert_eq!(got.len(), *want, "{key}={value}");
        // The CLI pages through everything: newest first, each event in Event history's shape.
        for w in got.windows(2) {
            assert!(w[0]["EventTime"].as_f64() >= w[1]["EventTime"].as_f64());
        }
    }
    let (_, out, _) = aws(
        &s,
        &[
            "--lookup-attributes",
            &format!("AttributeKey=EventId,AttributeValue={id}"),
        ],
    );
    let e = &events(&out)[0];
    assert_eq!(e["EventId"], id);
    let inner: serde_json::Value =
        serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap();
    assert_eq!(&inner, r, "CloudTrailEvent is the record, as a string");
    assert_eq!(e["AccessKeyId"], r["userIdentity"]["accessKeyId"]);
    assert_eq!(e["Resources"][0]["ResourceName"], r["resources"][0]["ARN"]);
    // Username and ResourceName find that record too.
    for (key, value) in [
        ("Username", e["Username"].as_str().unwrap().to_string()),
        ("ResourceName", s_of(&r["resources"][0], "ARN")),
    ] {
        let (ok, out, err) = aws(
            &s,
            &[
                "--lookup-attributes",
                &format!("AttributeKey={key},AttributeValue={value}"),
            ],
        );
        assert!(ok, "{err}");
        assert!(
            events(&out).iter().any(|x| x["EventId"] == id),
            "{key}={value}"
        );
    }
}

#[test]
fn time_ranges_paging_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (data, records) = store(dir.path());
    let s = serve(&data);
    // A time range: the CLI takes text times and sends epoch seconds.
    let (ok, out, err) = aws(
        &s,
        &[
            "--start-time",
            "2025-05-31T00:00:00Z",
            "--end-time",
            "2025-05-31T06:00:00Z",
        ],
    );
    assert!(ok, "{err}");
    let want = records
        .iter()
        .filter(|r| {
            let t = r["eventTime"].as_str().unwrap();
            ("2025-05-31T00:00:00Z"..="2025-05-31T06:00:00Z").contains(&t)
        })
        .count();
    let got = events(&out);
    assert_eq!(got.len(), want);
    // Paging: 3000 events in pages of 50 through NextToken, each exactly once.
    let (ok, out, err) = aws(&s, &[]);
    assert!(ok, "{err}");
    let all = events(&out);
    assert_eq!(all.len(), records.len());
    let ids: std::collections::BTreeSet<_> = all
        .iter()
        .map(|e| e["EventId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), records.len());
    // --max-items resumes with a token the CLI wraps and sends again later.
    let (ok, out, _) = aws(&s, &["--max-items", "70"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["Events"].as_array().unwrap().len(), 70);
    let token = v["NextToken"].as_str().unwrap().to_string();
    let (ok, out, err) = aws(&s, &["--max-items", "70", "--starting-token", &token]);
    assert!(ok, "{err}");
    let second = events(&out);
    assert_eq!(second.len(), 70);
    assert_eq!(second[0]["EventId"], all[70]["EventId"]);
    // Each documented error, by name.
    for (args, error) in [
        (
            vec!["--lookup-attributes", "AttributeKey=Nope,AttributeValue=x"],
            "InvalidLookupAttributesException",
        ),
        (
            vec![
                "--start-time",
                "2025-05-31T06:00:00Z",
                "--end-time",
                "2025-05-31T00:00:00Z",
            ],
            "InvalidTimeRangeException",
        ),
        (
            vec!["--max-results", "51", "--no-paginate"],
            "InvalidMaxResultsException",
        ),
        (
            vec![
                "--event-category",
                "insight",
                "--next-token",
                "forged",
                "--no-paginate",
            ],
            "InvalidNextTokenException",
        ),
    ] {
        let (ok, _, err) = aws(&s, &args);
        assert!(!ok && err.contains(error), "{args:?}: {err}");
    }
    // boto3's paginator, in pages of 25.
    let script = format!(
        "import boto3\nc = boto3.client('cloudtrail', endpoint_url='{}', region_name='us-east-1')\n\
         p = c.get_paginator('lookup_events')\nn = 0\npages = 0\n\
         for page in p.paginate(LookupAttributes=[{{'AttributeKey': 'ReadOnly', 'AttributeValue': 'true'}}], PaginationConfig={{'PageSize': 25}}):\n    pages += 1\n    n += len(page['Events'])\nprint(n, pages)\n",
        s.url
    );
    let o = aws::venv_command("python")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let read_only = records
        .iter()
        .filter(|r| r["readOnly"] == serde_json::Value::Bool(true))
        .count();
    assert_eq!(
        out.trim(),
        format!("{read_only} {}", read_only.div_ceil(25))
    );
}

#[test]
fn serving_without_auth_is_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let o = cairn()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--no-auth", "--addr", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("loopback"));
    let o = cairn()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// With authentication on, the AWS CLI's SigV4 signature is checked against cairn's tokens.
#[test]
fn sigv4_with_a_valid_an_invalid_and_a_revoked_secret() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = store(dir.path());
    let o = cairn()
        .arg("--data-dir")
        .arg(&data)
        .args(["serve"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "no token yet");
    assert!(String::from_utf8_lossy(&o.stderr).contains("tokens create"));
    let o = cairn()
        .arg("--data-dir")
        .arg(&data)
        .args(["tokens", "create", "--name", "ci"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .trim()
            .to_string()
    };
    let (id, secret) = (field("access key id:"), field("secret:"));
    assert!(id.starts_with("CKIA") && secret.len() == 40);
    let s = serve_with(&data, &[]);
    let call = |key: &str, secret: &str| {
        let o = aws::venv_command("aws")
            .env("AWS_ACCESS_KEY_ID", key)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .args([
                "--endpoint-url",
                &s.url,
                "--output",
                "json",
                "cloudtrail",
                "lookup-events",
            ])
            .args(["--max-results", "5", "--no-paginate"])
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stderr).to_string(),
            String::from_utf8_lossy(&o.stdout).to_string(),
        )
    };
    let (ok, err, out) = call(&id, &secret);
    assert!(ok, "{err}");
    assert_eq!(events(&out).len(), 5);
    let (ok, err, _) = call(&id, "wrong-secret-wrong-secret-wrong-secret-00");
    assert!(!ok && err.contains("InvalidSignatureException"), "{err}");
    let (ok, err, _) = call("CKIAUNKNOWNUNKNOWN00", &secret);
    assert!(!ok && err.contains("UnrecognizedClientException"), "{err}");
    // The JSON API takes the same signature (curl --aws-sigv4; curl 7.88 signs the query as
    // sent, so this one needs no encoding); without one, 403.
    let o = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{}/api/search?q=*", s.url),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "401");
    let o = Command::new("curl")
        .args([
            "-s",
            "--aws-sigv4",
            "aws:amz:us-east-1:cairn",
            "--user",
            &format!("{id}:{secret}"),
        ])
        .arg(format!("{}/api/search?limit=2&q=AssumeRole", s.url))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)));
    assert_eq!(v["hits"].as_array().map(Vec::len), Some(2), "{v}");
    // Revoked: refused at once, the server still running.
    let o = cairn()
        .arg("--data-dir")
        .arg(&data)
        .args(["tokens", "revoke", &id])
        .output()
        .unwrap();
    assert!(o.status.success());
    let (ok, err, _) = call(&id, &secret);
    assert!(!ok && err.contains("UnrecognizedClientException"), "{err}");
    // Secrets never appear in the listing.
    let o = cairn()
        .arg("--data-dir")
        .arg(&data)
        .args(["tokens", "list"])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&o.stdout);
    assert!(listing.contains(&id) && !listing.contains(&secret));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("auth/tokens.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// Creates a token and returns its access key id and secret.
fn token(data: &Path, args: &[&str]) -> (String, String) {
    let o = cairn()
        .arg("--data-dir")
        .arg(data)
        .args(["tokens", "create"])
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .trim()
            .to_string()
    };
    (field("access key id:"), field("secret:"))
}

/// A token limited to one account sees, through the AWS CLI and boto3, only that account's
/// events: another account's event looked up by its id does not exist.
#[test]
fn a_scoped_token_sees_only_its_account_through_lookup_events() {
    let dir = tempfile::tempdir().unwrap();
    let (data, records) = store(dir.path());
    let account = |r: &serde_json::Value| r["recipientAccountId"].as_str().unwrap().to_string();
    let mine = account(&records[0]);
    let theirs = records
        .iter()
        .find(|r| account(r) != mine)
        .expect("two accounts");
    let own = records.iter().filter(|r| account(r) == mine).count();
    let (id, secret) = token(
        &data,
        &["--name", "team-a", "--role", "viewer", "--accounts", &mine],
    );
    let s = serve_with(&data, &[]);
    let cli = |args: &[&str]| {
        let o = aws::venv_command("aws")
            .env("AWS_ACCESS_KEY_ID", &id)
            .env("AWS_SECRET_ACCESS_KEY", &secret)
            .args([
                "--endpoint-url",
                &s.url,
                "--output",
                "json",
                "cloudtrail",
                "lookup-events",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        events(&String::from_utf8_lossy(&o.stdout))
    };
    // Every page, all of them this account's.
    let all = cli(&["--start-time", "2000-01-01T00:00:00Z"]);
    assert_eq!(all.len(), own);
    for e in &all {
        let rec: serde_json::Value =
            serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap();
        assert_eq!(account(&rec), mine);
    }
    let other_id = theirs["eventID"].as_str().unwrap();
    let found = cli(&[
        "--lookup-attributes",
        &format!("AttributeKey=EventId,AttributeValue={other_id}"),
    ]);
    assert!(found.is_empty(), "{found:?}");
    // boto3's paginator, signed with the same token.
    let script = format!(
        r#"
import boto3
c = boto3.client("cloudtrail", endpoint_url="{url}", region_name="us-east-1",
                 aws_access_key_id="{id}", aws_secret_access_key="{secret}")
n = 0
accounts = set()
import json
for page in c.get_paginator("lookup_events").paginate(StartTime="2000-01-01T00:00:00Z", PaginationConfig={{"PageSize": 50}}):
    for e in page["Events"]:
        n += 1
        accounts.add(json.loads(e["CloudTrailEvent"])["recipientAccountId"])
print(n, ",".join(sorted(accounts)))
"#,
        url = s.url
    );
    let o = aws::venv_command("python")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("{own} {mine}")
    );
    // The JSON API with the same token as a bearer: the other account's event is not found.
    let o = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H"])
        .arg(format!("Authorization: Bearer {id}:{secret}"))
        .arg(format!("{}/api/events/{other_id}", s.url))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "404");
    // /metrics: refused to the viewer, parsed by the Prometheus project's own parser for an
    // admin token; it counted the requests above per route.
    let metrics = |bearer: &str| {
        Command::new("curl")
            .args(["-s", "-w", "\n%{http_code}", "-H"])
            .arg(format!("Authorization: Bearer {bearer}"))
            .arg(format!("{}/metrics", s.url))
            .output()
            .unwrap()
    };
    let o = metrics(&format!("{id}:{secret}"));
    assert!(String::from_utf8_lossy(&o.stdout).ends_with("403"));
    let (admin_id, admin_secret) = token(&data, &["--name", "prometheus", "--role", "admin"]);
    let o = metrics(&format!("{admin_id}:{admin_secret}"));
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let text = text.strip_suffix("\n200").expect("200").to_string();
    let parse = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
seen = {}
for f in text_string_to_metric_families(sys.stdin.read()):
    for s in f.samples:
        if s.name == "cairn_http_requests_total":
            seen[(s.labels["route"], s.labels["status"])] = s.value
print(int(seen[("/", "200")]), int(seen[("/api/events/{id}", "404")]))
"#;
    let mut py = aws::venv_command("python")
        .args(["-c", parse])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    py.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let o = py.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "{}: {text}",
        String::from_utf8_lossy(&o.stderr)
    );
    let counts: Vec<u64> = String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    assert!(counts[0] >= 2 && counts[1] == 1, "{counts:?}");
    // No secret in the server's log.
    let log = s.log.lock().unwrap().clone();
    assert!(
        !log.contains(&secret) && !log.contains(&admin_secret),
        "{log}"
    );
}

/// HTTPS with --tls-cert/--tls-key (rustls); the session cookie is Secure there.
#[test]
fn tls_with_a_certificate_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = store(dir.path());
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let o = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut add = cairn()
        .arg("--data-dir")
        .arg(&data)
        .args([
            "users",
            "add",
            "alice",
            "--role",
            "analyst",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    add.stdin
        .take()
        .unwrap()
        .write_all(b"correct horse battery staple\n")
        .unwrap();
    assert!(add.wait().unwrap().success());
    let s = serve_with(
        &data,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let url = s.url.replace("http://", "https://");
    let o = Command::new("curl")
        .args(["-s", "--cacert"])
        .arg(&cert)
        .arg(format!("{url}/healthz"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "ok\n");
    let o = Command::new("curl")
        .args(["-s", "-i", "--cacert"])
        .arg(&cert)
        .args([
            "-H",
            "Content-Type: application/json",
            "--data",
            r#"{"username":"alice","password":"correct horse battery staple"}"#,
        ])
        .arg(format!("{url}/api/login"))
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&o.stdout).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let cookie = head.lines().find(|l| l.starts_with("set-cookie:")).unwrap();
    assert!(
        cookie.contains("secure") && cookie.contains("httponly"),
        "{cookie}"
    );
    assert!(head.contains("strict-transport-security"));
    // Plain HTTP on the TLS port gets no answer.
    let o = Command::new("curl")
        .args(["-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("{}/healthz", s.url))
        .output()
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&o.stdout), "200");
    assert!(!s.log.lock().unwrap().contains("correct horse"));
}

/// `serve --follow SOURCE` ingests in the same process while answering.
#[test]
fn serve_follows_a_source_in_the_same_process() {
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail");
    let o = cairn()
        .args(["generate", "--out"])
        .arg(&trail)
        .args(["--events", "500", "--days", "1", "--duplicate-rate", "0"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let data = dir.path().join("data");
    let s = serve_with(
        &data,
        &[
            "--no-auth",
            "--log-json",
            "--follow",
            trail.join("AWSLogs").to_str().unwrap(),
        ],
    );
    let start = Instant::now();
    loop {
        let o = Command::new("curl")
            .args(["-s", &format!("{}/api/stats", s.url)])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        if v["events"] == 500 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "not ingested: {v} {}",
            s.log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // The access log: one JSON object per request, with the route and status, without the
    // query string.
    let o = Command::new("curl")
        .args(["-s", "-o", "/dev/null"])
        .arg(format!("{}/api/search?q=needle-in-the-query", s.url))
        .output()
        .unwrap();
    assert!(o.status.success());
    std::thread::sleep(Duration::from_millis(300));
    let log = s.log.lock().unwrap().clone();
    let line = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["fields"]["route"] == "/api/search")
        .unwrap_or_else(|| panic!("no access log line: {log}"));
    assert_eq!(line["fields"]["status"], 200, "{line}");
    assert_eq!(line["fields"]["client"], "127.0.0.1", "{line}");
    assert!(line["timestamp"].is_string(), "{line}");
    assert!(!log.contains("needle-in-the-query"), "{log}");
}
