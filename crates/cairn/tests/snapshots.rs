//! What users read, pinned: CLI output on a deterministic generated trail. A change to a
//! format shows up here as a snapshot diff to review (`cargo insta review`).

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

fn cairn(data: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("CAIRN_DATA")
        .output()
        .expect("cairn runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// One store for every snapshot: a small trail with the stories, fixed seed and end.
fn store() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let trail = dir.path().join("trail");
        let data = dir.path().join("data");
        let t = trail.to_str().unwrap();
        cairn(
            &data,
            &[
                "generate",
                "--out",
                t,
                "--events",
                "3000",
                "--seed",
                "21",
                "--stories",
                "--end",
                "2025-06-01T00:00:00Z",
            ],
        );
        cairn(
            &data,
            &["ingest", trail.join("AWSLogs").to_str().unwrap(), "-q"],
        );
        dir
    })
    .path()
}

fn data() -> std::path::PathBuf {
    store().join("data")
}

#[test]
fn search_table() {
    insta::assert_snapshot!(cairn(
        &data(),
        &[
            "search",
            "eventName:StopLogging OR eventName:ConsoleLogin",
            "--limit",
            "5"
        ]
    ));
}

#[test]
fn search_csv_with_fields() {
    insta::assert_snapshot!(cairn(
        &data(),
        &[
            "search",
            "errorCode:AccessDenied",
            "--limit",
            "4",
            "--format",
            "csv",
            "--fields",
            "eventTime,principal,eventName,errorCode,sourceIPAddress"
        ]
    ));
}

#[test]
fn top_event_names() {
    insta::assert_snapshot!(cairn(&data(), &["top", "eventName", "-n", "8"]));
}

#[test]
fn timeline_per_day_json() {
    insta::assert_snapshot!(cairn(
        &data(),
        &["timeline", "--interval", "1d", "--format", "jsonl"]
    ));
}

#[test]
fn lookup_by_username() {
    insta::assert_snapshot!(cairn(
        &data(),
        &[
            "lookup",
            "--event-name",
            "CreateAccessKey",
            "--format",
            "jsonl",
            "--fields",
            "eventTime,username,requestParameters.userName"
        ]
    ));
}

#[test]
fn show_pretty() {
    let id = cairn(
        &data(),
        &[
            "search",
            "eventName:StopLogging",
            "--format",
            "jsonl",
            "--fields",
            "eventID",
        ],
    );
    let id: serde_json::Value = serde_json::from_str(id.trim()).unwrap();
    insta::assert_snapshot!(cairn(&data(), &["show", id["eventID"].as_str().unwrap()]));
}
