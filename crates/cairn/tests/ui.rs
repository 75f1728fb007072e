//! The web UI in a real browser: `cairn serve` over a generated trail with alerts and one
//! tampered log file, driven by `tests/ui/flows.py` (Playwright with the system's Chromium,
//! from the workspace's `.venv`).
//!
//! Both come from `scripts/test.sh`, which installs Chromium and Playwright; when either is
//! missing this test fails and says so rather than skipping, so that CI cannot pass without
//! running the browser. Screenshots of every step go to `target/ui-screenshots/`.

#[path = "common/aws.rs"]
mod aws;

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where `scripts/test.sh` installs Chromium (Debian's package).
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long all the flows together may take.
const FLOWS_TIMEOUT: Duration = Duration::from_secs(600);

fn cairn() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cairn"));
    c.env("NO_COLOR", "1").stdin(Stdio::null());
    c
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn add_user(data: &Path, name: &str, role: &str, password: &str) {
    let mut child = cairn()
        .arg("--data-dir")
        .arg(data)
        .args(["users", "add", name, "--role", role, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cairn users add");
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "users add {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `cairn serve` on a free port of 127.0.0.1, killed when dropped.
struct Server {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(data: &Path, log: PathBuf) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let out = File::create(&log).unwrap();
        let mut child = cairn()
            .arg("--data-dir")
            .arg(data)
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("spawn cairn serve");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("serve exited ({status}):\n{}", tail(&log));
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "serve did not start:\n{}",
                tail(&log)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        }
    }
}

fn tail(path: &Path) -> String {
    let Ok(f) = File::open(path) else {
        return String::new();
    };
    let lines: Vec<String> = BufReader::new(f).lines().map_while(Result::ok).collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// `target/ui-screenshots`, next to the binaries under test (so `CARGO_TARGET_DIR` is honoured).
fn screenshots_dir() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_cairn"));
    let target = bin
        .parent()
        .and_then(Path::parent)
        .expect("the binary lives in <target>/<profile>/");
    target.join("ui-screenshots")
}

#[test]
fn the_web_ui_works_in_a_real_browser() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the web UI tests drive a real Chromium. Run ./scripts/test.sh, \
         which installs it (apt-get install chromium)"
    );
    let python = aws::venv().join("bin/python");
    let has_playwright = Command::new(&python)
        .args(["-c", "import playwright.sync_api"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        has_playwright,
        "Playwright is missing from {}: run ./scripts/test.sh, which installs it into the venv",
        aws::venv().display()
    );

    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail");
    let data = dir.path().join("data");
    run(
        cairn()
            .args(["generate", "--out"])
            .arg(&trail)
            .args(["--events", "5000", "--stories", "--digests"])
            .args(["--tamper", "modify-log"]),
        "generate",
    );
    // Rules run while ingesting: the stories raise alerts. The digests verify every file but
    // the tampered one, whose events the UI shows as failed.
    let out = run(
        cairn()
            .arg("--data-dir")
            .arg(&data)
            .arg("ingest")
            .arg("--public-keys")
            .arg(trail.join("public-keys.json"))
            .arg(trail.join("AWSLogs")),
        "ingest",
    );
    let alerts = run(
        cairn()
            .arg("--data-dir")
            .arg(&data)
            .args(["alerts", "--format", "json"]),
        "alerts",
    );
    let alerts: serde_json::Value = serde_json::from_str(&alerts).unwrap();
    assert!(
        alerts.as_array().is_some_and(|a| !a.is_empty()),
        "the stories raised no alerts:\n{out}"
    );
    let password = "a long test password, 1";
    add_user(&data, "alice", "analyst", password);
    add_user(&data, "victor", "viewer", password);

    let server = Server::start(&data, dir.path().join("serve.log"));
    let shots = screenshots_dir();
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    let flows = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui/flows.py");
    let stdout_path = dir.path().join("flows.out");
    let stderr_path = dir.path().join("flows.err");
    let mut child = aws::venv_command("python")
        .arg(&flows)
        .args([
            "--url",
            &server.url,
            "--user",
            "alice",
            "--password",
            password,
        ])
        .args(["--viewer-user", "victor", "--viewer-password", password])
        .arg("--expect-failed-integrity")
        .arg("--screenshots")
        .arg(&shots)
        .stdout(File::create(&stdout_path).unwrap())
        .stderr(File::create(&stderr_path).unwrap())
        .spawn()
        .expect("run flows.py with the venv's python");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > FLOWS_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    // The benchmark line and the steps, for `cargo test -- --nocapture` and for failures.
    print!("{stdout}");
    eprint!("{stderr}");
    let status = status.unwrap_or_else(|| {
        panic!(
            "flows.py did not finish within {FLOWS_TIMEOUT:?}\n{stderr}\nserve's log:\n{}",
            tail(&server.log)
        )
    });
    assert!(
        status.success(),
        "flows.py failed ({status}); screenshots in {}\n{stderr}\nserve's log:\n{}",
        shots.display(),
        tail(&server.log)
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("\"ui_time_to_results_visible_ms\"")),
        "flows.py printed no timing:\n{stdout}"
    );
}
