//! Notifiers against real receivers, all on 127.0.0.1: HTTP servers in this process (webhook,
//! Slack, failing and slow ones), aiosmtpd with and without STARTTLS, SNS on moto_server with an
//! SQS subscription read back by the AWS CLI, and commands run by `sh`.
//!
//! The SMTP and SNS tests need the Python venv that `scripts/test.sh` installs (`$CAIRN_VENV`,
//! else `.venv` at the workspace root).

#[path = "common/aws.rs"]
mod aws;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cairn_detect::alert::Delivery;
use cairn_detect::notify::{
    ChannelConfig, ChannelKind, DeliveryRecord, Dispatcher, Notifiers, ShowFn, SnsContext,
    read_deliveries, render,
};
use cairn_detect::{Alert, AlertKind, Severity};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

// ---------------------------------------------------------------------------------------------
// Fixtures

fn alert(id: &str) -> Alert {
    Alert {
        id: id.to_string(),
        kind: AlertKind::Detection,
        rule_id: "0f6a4b1c-7f2e-4b8e-9a11-c1d2e3f4a5b6".into(),
        rule: "Console login without MFA".into(),
        severity: Severity::High,
        tags: vec!["attack.initial_access".into(), "attack.t1078".into()],
        first_seen: "2025-03-01T10:00:00Z".into(),
        last_seen: "2025-03-01T10:05:00Z".into(),
        count: 3,
        account: Some("123456789012".into()),
        region: Some("eu-west-1".into()),
        principal: Some("arn:aws:iam::123456789012:user/alice".into()),
        event_name: Some("ConsoleLogin".into()),
        source_ip: Some("203.0.113.9".into()),
        event_ids: vec!["e1".into(), "e2".into(), "e3".into()],
        group: vec![],
        summary: "alice signed in to the console without MFA from 203.0.113.9".into(),
        raised: 1_740_823_500,
        deliveries: vec![],
    }
}

fn show_command(alert: &Alert) -> String {
    format!("cairn alerts show {}", alert.id)
}

fn show() -> ShowFn {
    Arc::new(show_command)
}

fn channel(name: &str, kind: ChannelKind) -> ChannelConfig {
    let mut config = ChannelConfig::new(name, kind);
    config.backoff_ms = Some(20);
    config
}

/// A dispatcher over `channels` logging to `dir/deliveries.jsonl`.
fn dispatcher(dir: &Path, channels: Vec<ChannelConfig>) -> (Dispatcher, PathBuf) {
    let log = dir.join("deliveries.jsonl");
    let notifiers = Notifiers::new(channels, None).expect("channels build");
    (Dispatcher::start(notifiers, log.clone(), show()), log)
}

/// The one record of `channel` in the log.
fn record(log: &Path, channel: &str) -> Delivery {
    let records: Vec<DeliveryRecord> = read_deliveries(log)
        .unwrap()
        .into_iter()
        .filter(|r| r.delivery.channel == channel)
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    records[0].delivery.clone()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn venv() -> PathBuf {
    std::env::var_os("CAIRN_VENV").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv"),
        PathBuf::from,
    )
}

/// A port of 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------------------------------------
// An HTTP/1.1 receiver

/// One request as the receiver read it off the socket.
#[derive(Debug, Clone)]
struct Request {
    /// `POST /path?query HTTP/1.1`
    start: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        aws::header(&self.headers, name)
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

/// How a [`Receiver`] answers.
#[derive(Clone, Copy)]
struct Answer {
    status: u16,
    body: &'static str,
    delay: Duration,
}

const OK: Answer = Answer {
    status: 200,
    body: "ok",
    delay: Duration::ZERO,
};

/// An HTTP server on 127.0.0.1 that records every request and answers each the same way, on a
/// connection of its own. Stops when dropped.
struct Receiver {
    /// `http://127.0.0.1:PORT`
    base: String,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl Receiver {
    fn start(answer: Answer) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (requests, stop) = (requests.clone(), stop.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let requests = requests.clone();
                    thread::spawn(move || serve(stream, answer, &requests));
                }
            });
        }
        Receiver {
            base: format!("http://127.0.0.1:{port}"),
            requests,
            stop,
            port,
        }
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Reads one request (a `Content-Length` body), records it, answers, closes.
fn serve(stream: TcpStream, answer: Answer, requests: &Mutex<Vec<Request>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(&stream);
    let mut start = String::new();
    if reader.read_line(&mut start).unwrap_or(0) == 0 {
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').expect("a header line");
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let length: u64 = aws::header(&headers, "content-length").map_or(0, |n| n.parse().unwrap());
    let mut body = Vec::new();
    reader.take(length).read_to_end(&mut body).unwrap();
    requests.lock().unwrap().push(Request {
        start: start.trim_end().to_string(),
        headers,
        body,
    });
    thread::sleep(answer.delay);
    let response = format!(
        "HTTP/1.1 {} Whatever\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{}",
        answer.status,
        answer.body.len(),
        answer.body
    );
    let _ = (&stream).write_all(response.as_bytes());
    let _ = stream.shutdown(Shutdown::Both);
}

/// HMAC-SHA256(secret, "<timestamp>.<body>") as cairn documents it, checked in constant time.
fn signature_valid(secret: &[u8], request: &Request) -> bool {
    let timestamp = request.header("x-cairn-timestamp").expect("a timestamp");
    let signature = request.header("x-cairn-signature").expect("a signature");
    let Some(hex) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Some(code) = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&request.body);
    mac.verify_slice(&code).is_ok()
}

// ---------------------------------------------------------------------------------------------
// Webhook and Slack

#[test]
fn webhook_posts_signed_json() {
    let receiver = Receiver::start(OK);
    let dir = tempfile::tempdir().unwrap();
    let hook = channel(
        "hook",
        ChannelKind::Webhook {
            url: format!("{}/hooks/cairn?source=test", receiver.base),
            secret: Some("correct horse battery staple".into()),
            secret_env: None,
            headers: BTreeMap::from([("Authorization".into(), "Bearer abc123".into())]),
        },
    );
    let (dispatcher, log) = dispatcher(dir.path(), vec![hook]);
    let a = alert("a-webhook");
    dispatcher.send(&a);
    assert_eq!(dispatcher.drain(Duration::from_secs(30)), 0);

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.start, "POST /hooks/cairn?source=test HTTP/1.1");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.header("user-agent"),
        Some(concat!("cairn/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(r.header("authorization"), Some("Bearer abc123"));
    let timestamp: i64 = r.header("x-cairn-timestamp").unwrap().parse().unwrap();
    assert!((timestamp - unix_now()).abs() < 60, "{timestamp}");

    assert!(signature_valid(b"correct horse battery staple", r));
    assert!(!signature_valid(b"wrong secret", r));
    let mut tampered = r.clone();
    tampered.body.extend_from_slice(b" ");
    assert!(!signature_valid(b"correct horse battery staple", &tampered));

    let body = r.json();
    let rendered = render(&a, &show_command(&a));
    assert_eq!(
        serde_json::from_value::<Alert>(body["alert"].clone()).unwrap(),
        a
    );
    assert_eq!(body["subject"], rendered.subject.as_str());
    assert_eq!(body["text"], rendered.text.as_str());
    assert!(rendered.text.contains("cairn alerts show a-webhook"));

    let delivery = record(&log, "hook");
    assert!(delivery.ok && delivery.attempts == 1 && delivery.error.is_none());
    assert!((delivery.at - unix_now()).abs() < 60);
}

#[test]
fn webhook_without_secret_is_unsigned() {
    let receiver = Receiver::start(OK);
    let config = channel(
        "plain",
        ChannelKind::Webhook {
            url: format!("{}/in", receiver.base),
            secret: None,
            secret_env: None,
            headers: BTreeMap::new(),
        },
    );
    let notifiers = Notifiers::new(vec![config], None).unwrap();
    let delivery = notifiers.deliver("plain", &alert("a"), "show").unwrap();
    assert!(delivery.ok, "{delivery:?}");
    let r = &receiver.requests()[0];
    assert!(r.header("x-cairn-signature").is_none() && r.header("x-cairn-timestamp").is_none());
}

#[test]
fn a_missing_secret_variable_is_a_config_error() {
    let config = channel(
        "hook",
        ChannelKind::Webhook {
            url: "http://127.0.0.1:9/".into(),
            secret: None,
            secret_env: Some("CAIRN_TEST_NO_SUCH_VARIABLE".into()),
            headers: BTreeMap::new(),
        },
    );
    let err = Notifiers::new(vec![config], None).unwrap_err().to_string();
    assert!(
        err.contains("\"hook\"") && err.contains("CAIRN_TEST_NO_SUCH_VARIABLE"),
        "{err}"
    );
}

#[test]
fn slack_gets_text_it_can_show() {
    let receiver = Receiver::start(OK);
    let dir = tempfile::tempdir().unwrap();
    let slack = channel(
        "slack",
        ChannelKind::Slack {
            url: format!("{}/services/T000/B000/XXXXSECRET", receiver.base),
        },
    );
    let (dispatcher, log) = dispatcher(dir.path(), vec![slack]);
    dispatcher.send(&alert("a-slack"));
    assert_eq!(dispatcher.drain(Duration::from_secs(30)), 0);

    let r = &receiver.requests()[0];
    assert_eq!(r.start, "POST /services/T000/B000/XXXXSECRET HTTP/1.1");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("x-cairn-signature").is_none());
    let body = r.json();
    let object = body.as_object().unwrap();
    assert_eq!(object.keys().collect::<Vec<_>>(), ["text"], "{body}");
    let text = body["text"].as_str().unwrap();
    assert!(
        text.starts_with("*[HIGH] Console login without MFA*\n"),
        "{text}"
    );
    for want in [
        "123456789012",
        "eu-west-1",
        "arn:aws:iam::123456789012:user/alice",
        "`cairn alerts show a-slack`",
    ] {
        assert!(text.contains(want), "{want} not in {text}");
    }
    assert!(record(&log, "slack").ok);
}

// ---------------------------------------------------------------------------------------------
// Failing and slow receivers

#[test]
fn a_failing_receiver_is_retried_then_recorded() {
    let receiver = Receiver::start(Answer {
        status: 500,
        body: "upstream exploded\nwhile thinking",
        delay: Duration::ZERO,
    });
    let dir = tempfile::tempdir().unwrap();
    let mut hook = channel(
        "hook",
        ChannelKind::Webhook {
            url: format!("{}/hook/s3cr3t-path?token=t0k3n", receiver.base),
            secret: Some("k".into()),
            secret_env: None,
            headers: BTreeMap::new(),
        },
    );
    hook.attempts = Some(3);
    let (dispatcher, log) = dispatcher(dir.path(), vec![hook]);
    dispatcher.send(&alert("a-fail"));
    assert_eq!(dispatcher.drain(Duration::from_secs(30)), 0);

    assert_eq!(receiver.requests().len(), 3, "one request per attempt");
    let delivery = record(&log, "hook");
    assert!(!delivery.ok);
    assert_eq!(delivery.attempts, 3);
    let error = delivery.error.unwrap();
    for want in [
        "\"hook\"",
        &format!("{}/", receiver.base),
        "500",
        "upstream exploded while thinking",
    ] {
        assert!(error.contains(want), "{want:?} not in {error}");
    }
    assert!(
        !error.contains("s3cr3t") && !error.contains("t0k3n"),
        "{error}"
    );
    let records = read_deliveries(&log).unwrap();
    assert_eq!(records[0].alert, "a-fail");
}

#[test]
fn a_closed_port_fails_without_showing_the_url() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut slack = channel(
        "slack",
        ChannelKind::Slack {
            url: format!("http://127.0.0.1:{port}/services/T000/B000/XXXXSECRET"),
        },
    );
    slack.attempts = Some(2);
    let (dispatcher, log) = dispatcher(dir.path(), vec![slack]);
    dispatcher.send(&alert("a-closed"));
    assert_eq!(dispatcher.drain(Duration::from_secs(30)), 0);

    let delivery = record(&log, "slack");
    assert!(!delivery.ok);
    assert_eq!(delivery.attempts, 2);
    let error = delivery.error.unwrap();
    assert!(error.to_lowercase().contains("refused"), "{error}");
    assert!(
        error.contains(&format!("http://127.0.0.1:{port}/")),
        "{error}"
    );
    assert!(
        !error.contains("XXXXSECRET") && !error.contains("/services"),
        "{error}"
    );
}

#[test]
fn a_slow_receiver_does_not_hold_up_the_sender() {
    let receiver = Receiver::start(Answer {
        delay: Duration::from_secs(3),
        ..OK
    });
    let dir = tempfile::tempdir().unwrap();
    let hook = channel(
        "slow",
        ChannelKind::Webhook {
            url: format!("{}/slow", receiver.base),
            secret: None,
            secret_env: None,
            headers: BTreeMap::new(),
        },
    );
    let (dispatcher, log) = dispatcher(dir.path(), vec![hook]);

    let started = Instant::now();
    for i in 0..10 {
        dispatcher.send(&alert(&format!("a-slow-{i}")));
    }
    let queuing = started.elapsed();
    assert!(
        queuing < Duration::from_millis(100),
        "queuing took {queuing:?}"
    );
    assert!(
        dispatcher.drain(Duration::from_millis(50)) > 0,
        "still busy"
    );

    assert_eq!(dispatcher.drain(Duration::from_secs(120)), 0);
    assert!(
        started.elapsed() >= Duration::from_secs(30),
        "one at a time"
    );
    assert_eq!(receiver.requests().len(), 10);
    let records = read_deliveries(&log).unwrap();
    assert_eq!(records.len(), 10);
    assert!(records.iter().all(|r| r.delivery.ok), "{records:?}");
    let order: Vec<&str> = records.iter().map(|r| r.alert.as_str()).collect();
    let want: Vec<String> = (0..10).map(|i| format!("a-slow-{i}")).collect();
    assert_eq!(order, want, "in the order sent");
}

// ---------------------------------------------------------------------------------------------
// Command and file

fn command(name: &str, script: &str) -> ChannelConfig {
    let mut config = channel(
        name,
        ChannelKind::Command {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
        },
    );
    config.attempts = Some(1);
    config
}

#[test]
fn a_command_gets_the_json_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("got.json");
    let (dispatcher, log) = dispatcher(
        dir.path(),
        vec![command("cat", &format!("cat > '{}'", out.display()))],
    );
    let a = alert("a-cmd");
    dispatcher.send(&a);
    assert_eq!(dispatcher.drain(Duration::from_secs(30)), 0);
    assert!(record(&log, "cat").ok);
    let got: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(got["alert"]["id"], "a-cmd");
    assert_eq!(
        got["subject"],
        render(&a, &show_command(&a)).subject.as_str()
    );
    assert!(
        got["text"]
            .as_str()
            .unwrap()
            .contains("cairn alerts show a-cmd")
    );
}

#[test]
fn a_failing_command_reports_its_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let (dispatcher, log) = dispatcher(
        dir.path(),
        vec![
            command(
                "fails",
                "cat > /dev/null; echo 'pager: no route to host' >&2; exit 1",
            ),
            {
                let mut c = command("hangs", "exec sleep 30");
                c.timeout_secs = Some(1);
                c
            },
            command("missing", "exec /nonexistent/notifier"),
        ],
    );
    let started = Instant::now();
    dispatcher.send(&alert("a-cmd-fail"));
    assert_eq!(dispatcher.drain(Duration::from_secs(30)), 0);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the hung one was killed"
    );

    let fails = record(&log, "fails");
    assert!(!fails.ok);
    let error = fails.error.unwrap();
    assert!(
        error.contains("\"fails\"")
            && error.contains("exit status: 1")
            && error.contains("pager: no route to host"),
        "{error}"
    );
    let hangs = record(&log, "hangs").error.unwrap();
    assert!(hangs.contains("killed"), "{hangs}");
    let missing = record(&log, "missing").error.unwrap();
    assert!(missing.contains("exit status: 127"), "{missing}");
}

#[test]
fn a_file_gets_one_line_per_alert() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.jsonl");
    let (dispatcher, log) = dispatcher(
        dir.path(),
        vec![channel("file", ChannelKind::File { path: path.clone() })],
    );
    dispatcher.send(&alert("a1"));
    dispatcher.send(&alert("a2"));
    assert_eq!(dispatcher.drain(Duration::from_secs(30)), 0);
    let text = std::fs::read_to_string(&path).unwrap();
    let ids: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["alert"]["id"].to_string())
        .collect();
    assert_eq!(ids, ["\"a1\"", "\"a2\""]);
    assert_eq!(read_deliveries(&log).unwrap().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// cairn.toml

#[test]
fn channels_read_from_toml() {
    #[derive(serde::Deserialize)]
    struct File {
        channel: Vec<ChannelConfig>,
    }
    let file: File = toml::from_str(
        r#"
        [[channel]]
        name = "soc-mail"
        type = "smtp"
        host = "smtp.example.com"
        username = "cairn"
        password_env = "CAIRN_SMTP_PASSWORD"
        from = "cairn <cairn@example.com>"
        to = ["soc@example.com", "oncall@example.com"]
        min_severity = "medium"
        rules = ["*root*", "1234abcd-*"]
        attempts = 3

        [[channel]]
        name = "chat"
        type = "slack"
        url = "https://hooks.slack.com/services/T0/B0/abc"
        tags = ["attack.*"]
        kinds = ["detection", "correlation"]
        "#,
    )
    .unwrap();
    assert_eq!(file.channel.len(), 2);
    assert_eq!(file.channel[0].type_name(), "smtp");
    assert_eq!(file.channel[0].route.min_severity, Severity::Medium);
    assert_eq!(file.channel[0].attempts(), 3);
    assert_eq!(file.channel[1].route.kinds.len(), 2);
    let a = alert("a");
    assert!(!file.channel[0].route.matches(&a), "no rule matches");
    assert!(file.channel[1].route.matches(&a));

    let err = toml::from_str::<File>(
        r#"
        [[channel]]
        name = "chat"
        type = "slack"
        url = "https://hooks.slack.com/services/T0/B0/abc"
        min_severty = "high"
        "#,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("min_severty"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// SMTP on aiosmtpd

/// Runs an aiosmtpd server on 127.0.0.1 that saves each message it receives as a JSON file in
/// its directory: argv `DIR PORT MODE`, MODE `plain`, `starttls` or `tls`. The last two make a
/// self-signed certificate (SAN IP:127.0.0.1, DNS:localhost) as `DIR/cert.pem`. `starttls`
/// requires STARTTLS before MAIL and accepts AUTH only as user `cairn` with the password in
/// `$SMTP_PASSWORD`; `tls` speaks TLS from the first byte.
const SMTP_SERVER: &str = r#"
import datetime, email, email.policy, ipaddress, json, os, ssl, sys, threading
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

out, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]

class Save:
    count = 0
    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        Save.count += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(message["subject"]),
            "from": str(message["from"]),
            "to": str(message["to"]),
            "content_type": message.get_content_type(),
            "body": message.get_content().replace("\r\n", "\n"),
            "tls": session.ssl is not None
                   or server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
        }
        path = os.path.join(out, f"message-{Save.count}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 OK"

def self_signed(cert_path, key_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))

def authenticate(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"cairn"
          and auth_data.password == os.environb[b"SMTP_PASSWORD"])
    return AuthResult(success=ok)

settings = {}
if mode in ("starttls", "tls"):
    cert, key = os.path.join(out, "cert.pem"), os.path.join(out, "key.pem")
    self_signed(cert, key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
if mode == "starttls":
    settings = dict(tls_context=context, require_starttls=True,
                    authenticator=authenticate, auth_require_tls=True)
elif mode == "tls":
    settings = dict(ssl_context=context)
controller = Controller(Save(), hostname="127.0.0.1", port=port, **settings)
controller.start()
print("ready", flush=True)
threading.Event().wait()
"#;

/// An aiosmtpd process, killed when dropped.
struct SmtpServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl SmtpServer {
    fn start(mode: &str, password: &str) -> SmtpServer {
        let python = venv().join("bin/python");
        assert!(
            python.exists(),
            "{} not found: run ./scripts/test.sh, which installs aiosmtpd into the venv",
            python.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("smtp_server.py");
        std::fs::write(&script, SMTP_SERVER).unwrap();
        // The port is free when probed but may be taken before the server binds it: retry.
        for attempt in 1..=3 {
            let port = free_port();
            let mut child = Command::new(&python)
                .arg(&script)
                .arg(dir.path())
                .arg(port.to_string())
                .arg(mode)
                .env("SMTP_PASSWORD", password)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut line = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            if line.trim() == "ready" {
                return SmtpServer { port, dir, child };
            }
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            if attempt == 3 {
                panic!(
                    "aiosmtpd ({mode}) did not start: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        unreachable!()
    }

    fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// The messages received so far, in order.
    fn messages(&self) -> Vec<Value> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn smtp(name: &str, port: u16, starttls: bool, ca_file: Option<PathBuf>) -> ChannelConfig {
    let mut config = channel(
        name,
        ChannelKind::Smtp {
            host: "127.0.0.1".into(),
            port: Some(port),
            starttls,
            tls: false,
            username: None,
            password_env: None,
            from: "cairn <cairn@example.com>".into(),
            to: vec!["soc@example.com".into(), "oncall@example.com".into()],
            ca_file,
        },
    );
    config.attempts = Some(1);
    config
}

fn assert_mail(message: &Value, a: &Alert) {
    let rendered = render(a, &show_command(a));
    assert_eq!(message["mail_from"], "cairn@example.com");
    assert_eq!(
        message["rcpt_tos"],
        serde_json::json!(["soc@example.com", "oncall@example.com"])
    );
    assert_eq!(message["subject"], rendered.subject.as_str());
    assert_eq!(message["content_type"], "text/plain");
    assert_eq!(
        message["body"].as_str().unwrap().trim_end(),
        rendered.text.trim_end()
    );
}

#[test]
fn smtp_plain() {
    let server = SmtpServer::start("plain", "");
    let dir = tempfile::tempdir().unwrap();
    let (dispatcher, log) = dispatcher(dir.path(), vec![smtp("mail", server.port, false, None)]);
    let a = alert("a-mail");
    dispatcher.send(&a);
    assert_eq!(dispatcher.drain(Duration::from_secs(60)), 0);
    let delivery = record(&log, "mail");
    assert!(delivery.ok, "{delivery:?}");
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    assert_mail(&messages[0], &a);
    assert_eq!(messages[0]["tls"], false);
}

#[test]
fn smtp_starttls_with_a_private_ca_and_a_password() {
    // The test cannot set environment variables (that needs `unsafe`), so the password is one
    // the process already has.
    let password = std::env::var("PATH").expect("PATH is set");
    let server = SmtpServer::start("starttls", &password);
    let dir = tempfile::tempdir().unwrap();
    let mut mail = smtp("mail", server.port, true, Some(server.cert()));
    if let ChannelKind::Smtp {
        username,
        password_env,
        ..
    } = &mut mail.kind
    {
        *username = Some("cairn".into());
        *password_env = Some("PATH".into());
    }
    // The same server, its certificate not trusted.
    let untrusted = smtp("untrusted", server.port, true, None);
    let (dispatcher, log) = dispatcher(dir.path(), vec![mail, untrusted]);
    let a = alert("a-tls");
    dispatcher.send(&a);
    assert_eq!(dispatcher.drain(Duration::from_secs(60)), 0);

    let delivery = record(&log, "mail");
    assert!(delivery.ok, "{delivery:?}");
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_mail(&messages[0], &a);
    assert_eq!(messages[0]["tls"], true);
    assert_eq!(messages[0]["authenticated"], true);

    let untrusted = record(&log, "untrusted");
    assert!(!untrusted.ok);
    let error = untrusted.error.unwrap();
    assert!(
        error.contains("\"untrusted\"") && error.to_lowercase().contains("certificate"),
        "{error}"
    );
}

#[test]
fn smtp_implicit_tls() {
    let server = SmtpServer::start("tls", "");
    let dir = tempfile::tempdir().unwrap();
    let mut mail = smtp("mail", server.port, true, Some(server.cert()));
    if let ChannelKind::Smtp { tls, .. } = &mut mail.kind {
        *tls = true;
    }
    let (dispatcher, log) = dispatcher(dir.path(), vec![mail]);
    let a = alert("a-implicit-tls");
    dispatcher.send(&a);
    assert_eq!(dispatcher.drain(Duration::from_secs(60)), 0);
    let delivery = record(&log, "mail");
    assert!(delivery.ok, "{delivery:?}");
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_mail(&messages[0], &a);
    assert_eq!(messages[0]["tls"], true);
}

#[test]
fn smtp_requires_starttls_when_asked() {
    let server = SmtpServer::start("plain", "");
    let dir = tempfile::tempdir().unwrap();
    let (dispatcher, log) = dispatcher(dir.path(), vec![smtp("mail", server.port, true, None)]);
    dispatcher.send(&alert("a-no-tls"));
    assert_eq!(dispatcher.drain(Duration::from_secs(60)), 0);
    let delivery = record(&log, "mail");
    assert!(!delivery.ok);
    let error = delivery.error.unwrap();
    assert!(
        error.contains("\"mail\"") && error.contains(&format!("127.0.0.1:{}", server.port)),
        "{error}"
    );
    assert!(server.messages().is_empty(), "nothing sent in the clear");
}

// ---------------------------------------------------------------------------------------------
// SNS on moto

#[test]
fn sns_publishes_to_a_topic() {
    let moto = aws::Moto::start();
    let topic = moto.aws_json(&["sns", "create-topic", "--name", "cairn-alerts"])["TopicArn"]
        .as_str()
        .unwrap()
        .to_string();
    let queue = moto.aws_json(&["sqs", "create-queue", "--queue-name", "alerts"])["QueueUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let queue_arn = moto.aws_json(&[
        "sqs",
        "get-queue-attributes",
        "--queue-url",
        &queue,
        "--attribute-names",
        "QueueArn",
    ])["Attributes"]["QueueArn"]
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
        &queue_arn,
    ]);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let config = aws_sdk_sns::Config::builder()
        .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
        .http_client(cairn_source::aws::https_client())
        .region(aws_sdk_sns::config::Region::new(aws::REGION))
        .endpoint_url(&moto.endpoint)
        .credentials_provider(aws_sdk_sns::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .build();
    let context = SnsContext {
        client: aws_sdk_sns::Client::from_conf(config),
        handle: runtime.handle().clone(),
    };
    let mut missing = channel(
        "missing",
        ChannelKind::Sns {
            topic_arn: topic.replace("cairn-alerts", "no-such-topic"),
        },
    );
    missing.attempts = Some(1);
    let channels = vec![
        channel(
            "topic",
            ChannelKind::Sns {
                topic_arn: topic.clone(),
            },
        ),
        missing,
    ];
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("deliveries.jsonl");
    let dispatcher = Dispatcher::start(
        Notifiers::new(channels, Some(context)).unwrap(),
        log.clone(),
        show(),
    );
    let a = alert("a-sns");
    dispatcher.send(&a);
    assert_eq!(dispatcher.drain(Duration::from_secs(60)), 0);
    drop(dispatcher);

    let delivery = record(&log, "topic");
    assert!(delivery.ok, "{delivery:?}\n{}", moto.log_tail());
    let missing = record(&log, "missing").error.unwrap();
    assert!(
        missing.contains("\"missing\"") && missing.contains("no-such-topic"),
        "{missing}"
    );

    let received = moto.aws_json(&[
        "sqs",
        "receive-message",
        "--queue-url",
        &queue,
        "--wait-time-seconds",
        "5",
        "--max-number-of-messages",
        "10",
    ]);
    let messages = received["Messages"].as_array().expect("a message");
    assert_eq!(messages.len(), 1, "{received}");
    let envelope: Value =
        serde_json::from_str(messages[0]["Body"].as_str().unwrap()).expect("an SNS envelope");
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["TopicArn"], topic.as_str());
    let rendered = render(&a, &show_command(&a));
    assert_eq!(envelope["Message"], rendered.text.as_str());
    // The subject is longer than SNS allows: cut to 99 characters.
    let subject = envelope["Subject"].as_str().unwrap();
    assert_eq!(subject.len(), 99, "{subject}");
    let kept = subject.strip_suffix("...").unwrap();
    assert!(rendered.subject.starts_with(kept), "{subject}");
    assert_eq!(
        envelope["MessageAttributes"]["severity"],
        serde_json::json!({"Type": "String", "Value": "high"})
    );
}
