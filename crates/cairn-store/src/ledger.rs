//! The ledger of ingested objects: an append-only JSON-lines file in the data directory.
//!
//! A line is appended only after the index commit that holds the object's events, so a crash
//! between the two makes the next run read the object again, and deduplication by `eventID`
//! drops what was already committed. A torn last line (a crash mid-write) is ignored.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    /// Every record was read (duplicates dropped count as read).
    Ok,
    /// Some or all of it could not be read; retried by the next run.
    Failed,
    /// Not a file of events (a digest, another service's log): never read.
    Skipped,
}

/// One ledger line.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Entry {
    /// `s3://bucket/key`, or the path as given.
    pub object: String,
    /// What identifies this version of the object (size and mtime, or the ETag).
    pub version: String,
    pub status: Status,
    #[serde(default)]
    pub events: u64,
    #[serde(default)]
    pub duplicates: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Unix seconds.
    pub at: i64,
    /// Where the object's key says its events come from, and when it was delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Delivery time in the file name, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered: Option<i64>,
    /// Newest and oldest `eventTime` read from it, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest: Option<i64>,
    /// Delivery lag of its events (delivered minus `eventTime`), counted per
    /// [`crate::health::LAG_BUCKETS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lag: Vec<u32>,
    /// Hex SHA-256 of the decompressed bytes (a CloudTrail digest's `hashValue` for the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// The ledger, loaded, and open for appending.
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    entries: HashMap<String, Entry>,
    file: Option<File>,
}

impl Ledger {
    pub fn open(dir: &Path) -> Result<Ledger, StoreError> {
        let path = dir.join("ledger.jsonl");
        let mut entries = HashMap::new();
        if path.exists() {
            let f = File::open(&path).map_err(|e| StoreError::io(&path, e))?;
            for line in BufReader::new(f).lines() {
                let line = line.map_err(|e| StoreError::io(&path, e))?;
                // A line that does not parse is the torn tail of a crashed write.
                if let Ok(e) = serde_json::from_str::<Entry>(&line) {
                    entries.insert(e.object.clone(), e);
                }
            }
        }
        Ok(Ledger {
            path,
            entries,
            file: None,
        })
    }

    /// Whether this version of the object was already read completely (or skipped).
    pub fn is_done(&self, object: &str, version: &str) -> bool {
        !version.is_empty()
            && self
                .entries
                .get(object)
                .is_some_and(|e| e.version == version && e.status != Status::Failed)
    }

    pub fn get(&self, object: &str) -> Option<&Entry> {
        self.entries.get(object)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// Appends entries and makes them durable.
    pub fn append(&mut self, batch: Vec<Entry>) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        if self.file.is_none() {
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(|e| StoreError::io(&self.path, e))?;
            self.file = Some(f);
        }
        let mut buf = Vec::new();
        // A torn line from an earlier crash must not glue itself to the first new line.
        buf.push(b'\n');
        for e in &batch {
            serde_json::to_writer(&mut buf, e).expect("entry serializes");
            buf.push(b'\n');
        }
        let f = self.file.as_mut().expect("opened above");
        f.write_all(&buf)
            .map_err(|e| StoreError::io(&self.path, e))?;
        f.sync_data().map_err(|e| StoreError::io(&self.path, e))?;
        for e in batch {
            self.entries.insert(e.object.clone(), e);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(o: &str, v: &str, status: Status) -> Entry {
        Entry {
            object: o.into(),
            version: v.into(),
            status,
            events: 1,
            duplicates: 0,
            errors: vec![],
            at: 0,
            ..Entry::default()
        }
    }

    #[test]
    fn remembers_and_survives_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open(dir.path()).unwrap();
        l.append(vec![
            entry("a", "1", Status::Ok),
            entry("b", "1", Status::Failed),
        ])
        .unwrap();
        drop(l);
        std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("ledger.jsonl"))
            .unwrap()
            .write_all(b"{\"object\":\"c\",\"vers")
            .unwrap();
        let mut l = Ledger::open(dir.path()).unwrap();
        assert!(l.is_done("a", "1"));
        assert!(!l.is_done("a", "2"), "a changed object is read again");
        assert!(!l.is_done("b", "1"), "failed objects are retried");
        assert!(l.get("c").is_none());
        l.append(vec![entry("c", "1", Status::Ok)]).unwrap();
        let l = Ledger::open(dir.path()).unwrap();
        assert!(l.is_done("c", "1"));
        assert_eq!(l.len(), 3);
    }
}
