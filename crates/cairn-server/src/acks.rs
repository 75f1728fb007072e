//! Acknowledged alerts: `detect/acks.jsonl`, one line per acknowledgement, beside the alerts.
//! A separate file, so that the pipeline appending alerts and the server recording who looked
//! at them never write the same file.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Who acknowledged an alert, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub id: String,
    pub by: String,
    /// RFC 3339, UTC.
    pub at: String,
}

fn path(data_dir: &Path) -> PathBuf {
    cairn_detect::recorder::detect_dir(data_dir).join("acks.jsonl")
}

/// Records an acknowledgement (the first one of an alert is the one shown).
pub fn append(data_dir: &Path, id: &str, by: &str) -> std::io::Result<()> {
    let p = path(data_dir);
    std::fs::create_dir_all(p.parent().expect("a parent"))?;
    let mut line = b"\n".to_vec();
    serde_json::to_writer(
        &mut line,
        &Ack {
            id: id.to_string(),
            by: by.to_string(),
            at: crate::audit::now(),
        },
    )?;
    line.push(b'\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&p)?;
    f.write_all(&line)?;
    f.sync_data()
}

/// The first acknowledgement of each alert.
pub fn read(data_dir: &Path) -> std::io::Result<HashMap<String, Ack>> {
    let f = match std::fs::File::open(path(data_dir)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(e),
    };
    let mut out = HashMap::new();
    for line in BufReader::new(f).lines() {
        if let Ok(a) = serde_json::from_str::<Ack>(&line?) {
            out.entry(a.id.clone()).or_insert(a);
        }
    }
    Ok(out)
}
