//! The audit log: one JSON line per login, logout, query and administrative action, appended to
//! `audit.jsonl` in the data directory. Secrets (passwords, session ids, token secrets) are never
//! written; a query's text is, since what was searched is what an audit is for.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;

/// One line of the audit log.
#[derive(Debug, Clone, Serialize)]
pub struct Event<'a> {
    /// RFC 3339, UTC.
    pub time: String,
    /// The user, `token:NAME`, `anonymous`, or what a failed login claimed to be.
    pub actor: &'a str,
    /// The client address, or `cli` for the command line.
    pub client: &'a str,
    /// `login`, `login_failed`, `login_limited`, `logout`, `search`, `lookup_events`, `event`,
    /// `alert_ack`, `user_add`, `token_create`, ...
    pub action: &'a str,
    /// What it acted on, or the query.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub detail: Value,
    /// `ok`, `denied` or `error`.
    pub outcome: &'a str,
}

/// The audit log of a data directory.
pub struct Audit {
    path: PathBuf,
    file: Mutex<Option<File>>,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit").field("path", &self.path).finish()
    }
}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("audit.jsonl")
}

/// The current time as the log writes it.
pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Audit {
    pub fn new(data_dir: &Path) -> Audit {
        Audit {
            path: path(data_dir),
            file: Mutex::new(None),
        }
    }

    /// Appends one event. A failure to write is logged, never hidden and never fatal to the
    /// request.
    pub fn record(&self, e: &Event<'_>) {
        let mut line = serde_json::to_vec(e).expect("audit events serialize");
        line.push(b'\n');
        let mut f = self.file.lock().expect("audit lock");
        if f.is_none() {
            match open_append(&self.path) {
                Ok(file) => *f = Some(file),
                Err(err) => {
                    tracing::error!("audit log {}: {err}", self.path.display());
                    return;
                }
            }
        }
        if let Some(file) = f.as_mut()
            && let Err(err) = file.write_all(&line)
        {
            tracing::error!("audit log {}: {err}", self.path.display());
            *f = None;
        }
    }

    /// The last `limit` events, newest first.
    pub fn tail(&self, limit: usize) -> std::io::Result<Vec<Value>> {
        tail(&self.path, limit)
    }
}

fn open_append(p: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(p)
}

/// Appends one event from the command line (user and token administration).
pub fn record_cli(data_dir: &Path, action: &str, detail: Value) -> std::io::Result<()> {
    let actor = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let e = Event {
        time: now(),
        actor: &actor,
        client: "cli",
        action,
        detail,
        outcome: "ok",
    };
    let mut line = serde_json::to_vec(&e).expect("audit events serialize");
    line.push(b'\n');
    std::fs::create_dir_all(data_dir)?;
    open_append(&path(data_dir))?.write_all(&line)
}

/// The last `limit` lines of an audit log, newest first.
pub fn tail(p: &Path, limit: usize) -> std::io::Result<Vec<Value>> {
    let f = match File::open(p) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut last = std::collections::VecDeque::with_capacity(limit.min(10_000));
    for line in BufReader::new(f).lines() {
        let line = line?;
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if last.len() == limit {
            last.pop_front();
        }
        if limit > 0 {
            last.push_back(v);
        }
    }
    Ok(last.into_iter().rev().collect())
}
