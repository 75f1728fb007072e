//! Test support for integration tests that talk to a real AWS-API server.
//!
//! [`Moto`] runs `moto_server` from the workspace's `.venv` (installed by `scripts/test.sh`) on
//! a free port of 127.0.0.1 and drives it with the real AWS CLI. [`FaultProxy`] sits in front of
//! it and injects throttling errors, delays and truncated responses. [`http`] is a minimal
//! HTTP/1.1 client for poking at endpoints directly (a `/metrics` page, a proxied object).
//!
//! Only std, `serde_json` and `tempfile` are used, so any test file can include this module with
//! `#[path = "common/aws.rs"] mod aws;`.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The region every test uses.
pub const REGION: &str = "us-east-1";

/// Static test credentials, plus settings that keep the CLI and the SDKs away from the
/// developer's own AWS configuration and from the instance metadata service.
const CREDENTIALS_ENV: [(&str, &str); 6] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_DEFAULT_REGION", REGION),
    ("AWS_CONFIG_FILE", "/dev/null"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

/// An `Authorization` header for [`http`] requests to moto, which checks no signatures but
/// treats a request without one as anonymous (and denies it private objects).
pub const UNCHECKED_AUTH: (&str, &str) = (
    "Authorization",
    "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/s3/aws4_request, \
     SignedHeaders=host, Signature=0000",
);

/// How long any socket read may block: generous, but a wedged peer fails the test.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// The Python venv the tests use: `$CAIRN_VENV`, else `.venv` at the workspace root.
pub fn venv() -> PathBuf {
    match std::env::var_os("CAIRN_VENV") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv"),
    }
}

/// A program of the venv (`python`, `aws`), with the test credentials and region and no
/// endpoint of its own.
pub fn venv_command(program: &str) -> Command {
    let mut cmd = Command::new(venv().join("bin").join(program));
    cmd.envs(CREDENTIALS_ENV)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
        .stdin(Stdio::null());
    cmd
}

/// A `moto_server` on a free port of 127.0.0.1, killed when dropped.
pub struct Moto {
    pub port: u16,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    /// The server's stdout and stderr.
    pub log: PathBuf,
    venv: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Moto {
    /// Starts `moto_server` and waits (up to 30 s) until it answers HTTP.
    ///
    /// The venv is `$CAIRN_VENV`, else `.venv` at the workspace root.
    pub fn start() -> Moto {
        let venv = venv();
        let server = venv.join("bin/moto_server");
        if !server.exists() {
            panic!(
                "moto_server not found in {}: run ./scripts/test.sh, which installs \
                 moto[server], awscli and boto3 into .venv",
                venv.display()
            );
        }
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let log = dir.path().join("moto.log");
        // The port is free when probed, but another process may take it before moto binds it;
        // moto then exits at once, and a fresh port almost surely works.
        for attempt in 1..=3 {
            let port = free_port();
            let endpoint = format!("http://127.0.0.1:{port}");
            let out = File::create(&log).expect("create moto.log");
            let err = out.try_clone().expect("clone the moto.log handle");
            let mut child = Command::new(&server)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {e}", server.display()));
            match wait_ready(&mut child, &endpoint, Duration::from_secs(30)) {
                Ok(()) => {
                    return Moto {
                        port,
                        endpoint,
                        log,
                        venv,
                        child,
                        _dir: dir,
                    };
                }
                Err(why) => {
                    let exited = matches!(child.try_wait(), Ok(Some(_)));
                    let _ = child.kill();
                    let _ = child.wait();
                    if exited && attempt < 3 {
                        eprintln!("moto_server on port {port} {why}; retrying");
                        continue;
                    }
                    panic!("moto_server on port {port} {why}:\n{}", tail(&log));
                }
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// A program of the venv (`python`, `aws`), with the test credentials and region.
    pub fn venv_command(&self, program: &str) -> Command {
        venv_command(program)
    }

    /// The last lines of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }

    /// Clears every bucket, queue and trail (`POST /moto-api/reset`).
    pub fn reset(&self) {
        let (status, _, body) = http(
            "POST",
            &format!("{}/moto-api/reset", self.endpoint),
            &[],
            b"",
        );
        assert_eq!(
            status,
            200,
            "moto reset: {}",
            String::from_utf8_lossy(&body)
        );
    }

    /// An `aws` command aimed at `endpoint` (this server, or a [`FaultProxy`] in front of it)
    /// with the test credentials, [`REGION`] and JSON output; append the subcommand's args.
    pub fn aws_command(&self, endpoint: &str) -> Command {
        let mut cmd = Command::new(self.venv.join("bin/aws"));
        cmd.args([
            "--endpoint-url",
            endpoint,
            "--region",
            REGION,
            "--output",
            "json",
        ])
        .envs(CREDENTIALS_ENV)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .stdin(Stdio::null());
        cmd
    }

    /// Runs `aws ARGS` against this server and returns its stdout; panics with stderr on failure.
    pub fn aws(&self, args: &[&str]) -> String {
        self.aws_at(&self.endpoint, args)
    }

    /// Like [`Moto::aws`], against another endpoint such as a [`FaultProxy`].
    pub fn aws_at(&self, endpoint: &str, args: &[&str]) -> String {
        let out = self
            .aws_command(endpoint)
            .args(args)
            .output()
            .expect("run the aws CLI");
        assert!(
            out.status.success(),
            "aws {} failed ({}):\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("aws prints UTF-8")
    }

    /// Runs `aws ARGS` against this server and parses its JSON output (`Null` if it printed none).
    pub fn aws_json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.aws(args);
        if out.trim().is_empty() {
            return serde_json::Value::Null;
        }
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("aws {}: {e}:\n{out}", args.join(" ")))
    }

    /// The environment that points an AWS SDK (e.g. the cairn binary) at this server with the
    /// test credentials: [`Moto::aws`]'s variables plus `AWS_ENDPOINT_URL`.
    pub fn aws_env(&self) -> Vec<(String, String)> {
        CREDENTIALS_ENV
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain([("AWS_ENDPOINT_URL".to_string(), self.endpoint.clone())])
            .collect()
    }

    /// Creates an SQS queue with this visibility timeout (seconds); its URL.
    pub fn create_queue(&self, name: &str, visibility_timeout: u32) -> String {
        self.aws_json(&[
            "sqs",
            "create-queue",
            "--queue-name",
            name,
            "--attributes",
            &format!("VisibilityTimeout={visibility_timeout}"),
        ])["QueueUrl"]
            .as_str()
            .expect("a queue URL")
            .to_string()
    }

    pub fn queue_arn(&self, url: &str) -> String {
        self.aws_json(&[
            "sqs",
            "get-queue-attributes",
            "--queue-url",
            url,
            "--attribute-names",
            "QueueArn",
        ])["Attributes"]["QueueArn"]
            .as_str()
            .expect("a queue ARN")
            .to_string()
    }

    /// Makes `bucket` send its S3 event notifications for new objects to the queue at `url`
    /// (moto sends the test event at once).
    pub fn notify_queue(&self, bucket: &str, url: &str) {
        let arn = self.queue_arn(url);
        self.aws(&[
            "s3api",
            "put-bucket-notification-configuration",
            "--bucket",
            bucket,
            "--notification-configuration",
            &format!(
                r#"{{"QueueConfigurations":[{{"QueueArn":"{arn}","Events":["s3:ObjectCreated:*"]}}]}}"#
            ),
        ]);
    }

    /// The queue's visible and in-flight message counts.
    pub fn queue_counts(&self, url: &str) -> (u64, u64) {
        let a = self.aws_json(&[
            "sqs",
            "get-queue-attributes",
            "--queue-url",
            url,
            "--attribute-names",
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
        ]);
        let get = |k: &str| {
            a["Attributes"][k]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{k} in {a}"))
        };
        (
            get("ApproximateNumberOfMessages"),
            get("ApproximateNumberOfMessagesNotVisible"),
        )
    }
}

/// Every file under `dir`, as keys relative to it.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Polls `f` every 250 ms until it holds; panics after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(250));
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls until the server at `endpoint` answers any HTTP status; `Err` says why it never did.
fn wait_ready(child: &mut Child, endpoint: &str, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let url = format!("{endpoint}/moto-api/");
    loop {
        if try_http("GET", &url, &[], b"").is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited ({status}) before answering"));
        }
        if Instant::now() > deadline {
            return Err(format!("did not answer within {timeout:?}"));
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// The last 40 lines of a log file.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// A port of 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// What [`http`] returns: the status, the headers in order and the body.
pub type Response = (u16, Vec<(String, String)>, Vec<u8>);

/// Sends one HTTP/1.1 request to `url` (`http://HOST:PORT/path?query`) and returns the status,
/// the response headers in order and the body, read until the peer closes.
///
/// `Host` and `Connection: close` are always sent; `Content-Length` too, unless `headers`
/// already frame the body or the method carries none. A body shorter than its `Content-Length`
/// is returned as it is, so tests can see truncated responses. Panics on I/O errors.
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    try_http(method, url, headers, body).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// The first value of header `name` (case-insensitive).
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// [`http`], with I/O errors (a refused connection, say) returned.
pub fn try_http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Response> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| invalid(format!("not http: {url}")))?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let stream = TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;

    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (name, value) in headers {
        write!(head, "{name}: {value}\r\n").unwrap();
    }
    let framed = headers.iter().any(|(n, _)| {
        n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("transfer-encoding")
    });
    if !framed && (!body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH")) {
        write!(head, "Content-Length: {}\r\n", body.len()).unwrap();
    }
    head.push_str("\r\n");
    (&stream).write_all(head.as_bytes())?;
    (&stream).write_all(body)?;

    let mut reader = BufReader::new(&stream);
    // Interim responses (`100 Continue`) precede the real one.
    let (status, response) = loop {
        let response = read_head(&mut reader)?.ok_or_else(|| eof("no response"))?;
        let status = response
            .start
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| invalid(format!("bad status line {:?}", response.start)))?;
        if !(100..200).contains(&status) || status == 101 {
            break (status, response);
        }
    };
    let body = if method == "HEAD" || status == 204 || status == 304 {
        Vec::new()
    } else {
        read_body(&mut reader, &response.headers, true)?
    };
    Ok((status, response.headers, body))
}

/// What [`FaultProxy`] does to the requests it relays, by their number (1, 2, 3, … across all
/// connections). `0` disables a fault. An error takes precedence; slow and drop can combine.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// Every Nth request is answered `503 Slow Down` (S3's throttling error) without reaching
    /// the server.
    pub error_every: u32,
    /// Every Nth response is held back for `slow_ms` milliseconds.
    pub slow_every: u32,
    pub slow_ms: u64,
    /// Every Nth response loses the second half of its body: the headers and half the body
    /// bytes are sent, then the connection is closed. (An empty body stays complete.)
    pub drop_every: u32,
}

/// Counts of what a [`FaultProxy`] did.
#[derive(Debug, Default)]
pub struct FaultStats {
    pub requests: AtomicU64,
    pub errors: AtomicU64,
    pub slowed: AtomicU64,
    pub dropped: AtomicU64,
}

/// An HTTP/1.1 proxy on 127.0.0.1 that relays each request to an upstream server, injecting
/// [`Faults`]. Each client connection carries one request and is closed after the response
/// (which says `Connection: close`), so clients reconnect for the next. Stops when dropped.
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`: use it as the endpoint URL of the client under test.
    pub endpoint: String,
    pub stats: Arc<FaultStats>,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts relaying to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str, faults: Faults) -> FaultProxy {
        let upstream = upstream
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("upstream must be http://HOST:PORT, not {upstream}"))
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let stats = Arc::new(FaultStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (stats, stop) = (stats.clone(), stop.clone());
            thread::spawn(move || {
                for client in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    let (upstream, stats) = (upstream.clone(), stats.clone());
                    // A client that hangs up mid-request is no concern of the test.
                    thread::spawn(move || relay(&client, &upstream, faults, &stats).ok());
                }
            })
        };
        FaultProxy {
            endpoint: format!("http://{addr}"),
            stats,
            addr,
            stop,
            accept: Some(accept),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// Request headers not passed upstream: hop-by-hop ones, and the framing, which is redone.
const NOT_FORWARDED: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "expect",
    "transfer-encoding",
    "content-length",
];

/// Relays the one request on `client`, applying the faults its number selects, then closes.
fn relay(client: &TcpStream, upstream: &str, faults: Faults, stats: &FaultStats) -> io::Result<()> {
    client.set_read_timeout(Some(IO_TIMEOUT))?;
    let mut reader = BufReader::new(client);
    let Some(request) = read_head(&mut reader)? else {
        return Ok(());
    };
    if header(&request.headers, "expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        (&*client).write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let body = read_body(&mut reader, &request.headers, false)?;
    let is_head = request.start.starts_with("HEAD ");

    let n = stats.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let every = |k: u32| k != 0 && n.is_multiple_of(u64::from(k));
    if every(faults.error_every) {
        stats.errors.fetch_add(1, Ordering::SeqCst);
        return respond(
            client,
            503,
            "Slow Down",
            "application/xml",
            SLOW_DOWN,
            is_head,
        );
    }
    let raw = match forward(upstream, &request, &body) {
        Ok(raw) => raw,
        Err(e) => {
            return respond(
                client,
                502,
                "Bad Gateway",
                "text/plain",
                &e.to_string(),
                is_head,
            );
        }
    };
    let Some((head, body)) = close_response(&raw) else {
        return respond(
            client,
            502,
            "Bad Gateway",
            "text/plain",
            "bad upstream response",
            is_head,
        );
    };
    if every(faults.slow_every) {
        stats.slowed.fetch_add(1, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(faults.slow_ms));
    }
    let body = if every(faults.drop_every) {
        stats.dropped.fetch_add(1, Ordering::SeqCst);
        &body[..body.len() / 2]
    } else {
        body
    };
    (&*client).write_all(&head)?;
    (&*client).write_all(body)?;
    client.shutdown(Shutdown::Both)
}

/// S3's throttling error body.
const SLOW_DOWN: &str =
    "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";

/// Answers with a complete response of the proxy's own and closes the connection.
fn respond(
    client: &TcpStream,
    status: u16,
    reason: &str,
    content_type: &str,
    body: &str,
    is_head: bool,
) -> io::Result<()> {
    let mut response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if !is_head {
        response.push_str(body);
    }
    (&*client).write_all(response.as_bytes())?;
    client.shutdown(Shutdown::Both)
}

/// Sends the request upstream on a fresh connection, with `Connection: close` and a
/// `Content-Length` body, and returns the raw response read to EOF.
fn forward(upstream: &str, request: &Head, body: &[u8]) -> io::Result<Vec<u8>> {
    let stream = TcpStream::connect(upstream)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    let mut head = format!("{}\r\n", request.start);
    for (name, value) in &request.headers {
        if !NOT_FORWARDED.iter().any(|h| name.eq_ignore_ascii_case(h)) {
            write!(head, "{name}: {value}\r\n").unwrap();
        }
    }
    let has_body = header(&request.headers, "content-length").is_some()
        || header(&request.headers, "transfer-encoding").is_some();
    if has_body {
        write!(head, "Content-Length: {}\r\n", body.len()).unwrap();
    }
    head.push_str("Connection: close\r\n\r\n");
    (&stream).write_all(head.as_bytes())?;
    (&stream).write_all(body)?;
    let mut raw = Vec::new();
    (&stream).read_to_end(&mut raw)?;
    Ok(raw)
}

/// Splits a raw response into its head, rewritten to carry exactly one `Connection: close`, and
/// its body bytes, untouched. `None` if the head never ends.
fn close_response(raw: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let mut out = format!("{}\r\n", lines.next()?);
    for line in lines {
        let name = line.split(':').next().unwrap_or_default().trim();
        if !name.eq_ignore_ascii_case("connection") && !name.eq_ignore_ascii_case("keep-alive") {
            write!(out, "{line}\r\n").unwrap();
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    Some((out.into_bytes(), &raw[end + 4..]))
}

/// A request or response head: the start line and the header fields in order.
struct Head {
    start: String,
    headers: Vec<(String, String)>,
}

/// Reads a message head; `None` if the peer closed before sending anything.
fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut start = String::new();
    if reader.read_line(&mut start)? == 0 {
        return Ok(None);
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(eof("headers cut short"));
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid(format!("bad header {line:?}")))?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let start = start.trim_end().to_string();
    Ok(Some(Head { start, headers }))
}

/// Reads a body framed by `Transfer-Encoding: chunked` (returned de-chunked, trailers dropped)
/// or by `Content-Length`. Without either, a request has no body and a response runs to EOF. A
/// response shorter than its `Content-Length` is returned as far as it goes.
fn read_body(
    reader: &mut impl BufRead,
    headers: &[(String, String)],
    is_response: bool,
) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if header(headers, "transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"))
    {
        return read_chunked(reader);
    }
    match header(headers, "content-length") {
        Some(len) => {
            let len: u64 = len
                .parse()
                .map_err(|_| invalid(format!("bad Content-Length {len}")))?;
            reader.take(len).read_to_end(&mut body)?;
            if !is_response && body.len() as u64 != len {
                return Err(eof("request body cut short"));
            }
        }
        None if is_response => {
            reader.read_to_end(&mut body)?;
        }
        None => {}
    }
    Ok(body)
}

fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(eof("chunked body cut short"));
        }
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| invalid(format!("bad chunk size line {line:?}")))?;
        if size == 0 {
            // Skip the trailer fields up to the final empty line.
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0; 2];
        reader.read_exact(&mut crlf)?;
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

fn eof(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, msg)
}
