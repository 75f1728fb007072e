//! The detection pipeline's side of a store commit, and the alerts it keeps.
//!
//! Files in `<data>/detect/`:
//!
//! | file | what |
//! |---|---|
//! | `alerts.jsonl` | every alert, appended; a later line with the same id is its newer form |
//! | `state.json` | correlation windows and open suppression groups, as of the last commit |
//! | `pending.json` | a batch staged before an index commit, until applied after it |
//! | `deliveries.jsonl` | the outcome of each notification |
//! | `monitors.json` | the state of each heartbeat monitor |
//!
//! The protocol, so that a crash anywhere neither loses nor repeats an alert: before the index
//! commits, the alerts and the new state of the batch are written to `pending.json`, and the
//! commit's payload carries the batch's sequence number. After the commit, the alerts are
//! appended and the state replaced, then `pending.json` removed. On start, a leftover
//! `pending.json` is applied if the index's last payload has its number (the events are in
//! the store and will not be read again) and dropped if not (they will be read again, and
//! raise the same alerts again).

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::alert::Alert;
use crate::engine::{Alerter, AlerterState, Finding};
use crate::rules::RuleSet;

/// The detection directory inside a data directory.
pub fn detect_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("detect")
}

/// Errors of the alert files, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct RecordError {
    pub path: PathBuf,
    pub message: String,
}

fn err(path: &Path, e: impl std::fmt::Display) -> RecordError {
    RecordError {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// The sequence number of the last batch applied.
    seq: u64,
    #[serde(flatten)]
    alerter: AlerterState,
}

#[derive(Debug, Serialize, Deserialize)]
struct Staged {
    seq: u64,
    alerts: Vec<Alert>,
    /// Ids of the alerts first raised in this batch (the others are updates).
    new: Vec<String>,
    state: State,
}

/// Findings fed to the correlations at once.
const FEED_CHUNK: usize = 4096;

/// The batch number a commit payload carries, if any.
fn payload_seq(payload: Option<&str>) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_str(payload?).ok()?;
    v.get("detect")?.as_u64()
}

/// What a recorder calls with each new alert once it is durable.
pub type OnAlert = Box<dyn FnMut(&Alert) + Send>;

/// Watches the events the store adds: correlations, alerts, and their commit protocol.
pub struct Recorder {
    dir: PathBuf,
    alerter: Alerter,
    findings: Vec<Finding>,
    /// Alerts raised or updated since the last commit, each in its latest form, and whether new.
    touched: Vec<(Alert, bool)>,
    at: HashMap<String, usize>,
    /// Whether findings changed the correlation state since the last commit.
    dirty: bool,
    seq: u64,
    staged: Option<Staged>,
    on_alert: Option<OnAlert>,
    /// Alerts raised (new, not updates) since this recorder opened.
    pub raised: u64,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("dir", &self.dir)
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// Opens the detection state in `dir`, finishing or dropping a batch a crash left staged
    /// according to the store's last commit payload.
    pub fn open(
        dir: &Path,
        rules: &RuleSet,
        committed: Option<&str>,
    ) -> Result<Recorder, RecordError> {
        fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
        let pending = dir.join("pending.json");
        if pending.exists() {
            let staged: Option<Staged> = fs::read(&pending)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            match staged {
                Some(s) if payload_seq(committed).is_some_and(|c| c >= s.seq) => {
                    tracing::info!(
                        batch = s.seq,
                        "applying the alerts of a batch committed before a crash"
                    );
                    apply(dir, &s)?;
                }
                _ => tracing::info!(
                    "dropping alerts staged for a commit that did not happen; their events will be read again"
                ),
            }
            fs::remove_file(&pending).map_err(|e| err(&pending, e))?;
        }
        let state_path = dir.join("state.json");
        let state: State = if state_path.exists() {
            let b = fs::read(&state_path).map_err(|e| err(&state_path, e))?;
            serde_json::from_slice(&b).map_err(|e| err(&state_path, e))?
        } else {
            State::default()
        };
        let mut alerter = Alerter::new(rules);
        let seq = state.seq;
        alerter.restore(state.alerter);
        Ok(Recorder {
            dir: dir.to_path_buf(),
            alerter,
            findings: Vec::new(),
            touched: Vec::new(),
            at: HashMap::new(),
            dirty: false,
            seq,
            staged: None,
            on_alert: None,
            raised: 0,
        })
    }

    /// Called with each new alert once it is durable (to queue its notifications).
    pub fn on_alert(&mut self, f: OnAlert) {
        self.on_alert = Some(f);
    }

    /// A finding on an event the store just added. Findings are fed to the correlations in
    /// event-time order a chunk at a time, so that a noisy rule holds memory by its alerts, not
    /// by its matched events.
    pub fn add(&mut self, f: Finding) {
        self.findings.push(f);
        if self.findings.len() >= FEED_CHUNK {
            self.feed();
        }
    }

    fn feed(&mut self) {
        if self.findings.is_empty() {
            return;
        }
        self.dirty = true;
        for (alert, new) in self.alerter.feed(std::mem::take(&mut self.findings)) {
            match self.at.get(&alert.id) {
                Some(&i) => {
                    let was_new = self.touched[i].1;
                    self.touched[i] = (alert, was_new || new);
                }
                None => {
                    self.at.insert(alert.id.clone(), self.touched.len());
                    self.touched.push((alert, new));
                }
            }
        }
    }

    /// Stages the batch's alerts; returns the payload for the index commit.
    pub fn prepare(&mut self, previous: Option<&str>) -> Result<String, RecordError> {
        let mut payload: serde_json::Map<String, serde_json::Value> = previous
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_default();
        self.feed();
        if !self.dirty {
            payload.insert("detect".into(), self.seq.into());
            return Ok(serde_json::Value::Object(payload).to_string());
        }
        self.at.clear();
        self.dirty = false;
        let touched = std::mem::take(&mut self.touched);
        let seq = self.seq + 1;
        let staged = Staged {
            seq,
            new: touched
                .iter()
                .filter(|(_, new)| *new)
                .map(|(a, _)| a.id.clone())
                .collect(),
            alerts: touched.into_iter().map(|(a, _)| a).collect(),
            state: State {
                seq,
                alerter: self.alerter.state(),
            },
        };
        let path = self.dir.join("pending.json");
        write_durably(
            &path,
            &serde_json::to_vec(&staged).map_err(|e| err(&path, e))?,
        )?;
        self.staged = Some(staged);
        payload.insert("detect".into(), seq.into());
        Ok(serde_json::Value::Object(payload).to_string())
    }

    /// Applies the staged batch after the index committed it.
    pub fn committed(&mut self) -> Result<(), RecordError> {
        let Some(s) = self.staged.take() else {
            return Ok(());
        };
        apply(&self.dir, &s)?;
        let pending = self.dir.join("pending.json");
        fs::remove_file(&pending).map_err(|e| err(&pending, e))?;
        self.seq = s.seq;
        for a in &s.alerts {
            if s.new.contains(&a.id) {
                self.raised += 1;
                if let Some(f) = self.on_alert.as_mut() {
                    f(a);
                }
            }
        }
        Ok(())
    }
}

impl cairn_store::CommitHook for Recorder {
    fn prepare(&mut self, previous: Option<&str>) -> Result<String, String> {
        Recorder::prepare(self, previous).map_err(|e| e.to_string())
    }
    fn committed(&mut self) -> Result<(), String> {
        Recorder::committed(self).map_err(|e| e.to_string())
    }
}

impl cairn_store::ingest::Sink for Recorder {
    fn added(&mut self, note: cairn_store::ingest::Note) {
        if let Ok(f) = note.downcast::<Finding>() {
            self.add(*f);
        }
    }
}

fn apply(dir: &Path, s: &Staged) -> Result<(), RecordError> {
    append_alerts(dir, &s.alerts)?;
    let path = dir.join("state.json");
    write_durably(
        &path,
        &serde_json::to_vec(&s.state).map_err(|e| err(&path, e))?,
    )
}

/// Appends alerts (new ones, or newer forms of old ones) to `alerts.jsonl`, durably.
pub fn append_alerts(dir: &Path, alerts: &[Alert]) -> Result<(), RecordError> {
    if alerts.is_empty() {
        return Ok(());
    }
    let path = dir.join("alerts.jsonl");
    // A torn line from an earlier crash must not glue itself to the first new line.
    let mut buf = vec![b'\n'];
    for a in alerts {
        serde_json::to_writer(&mut buf, a).map_err(|e| err(&path, e))?;
        buf.push(b'\n');
    }
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| err(&path, e))?;
    f.write_all(&buf).map_err(|e| err(&path, e))?;
    f.sync_data().map_err(|e| err(&path, e))
}

/// Every alert in its latest form, oldest first.
pub fn read_alerts(dir: &Path) -> Result<Vec<Alert>, RecordError> {
    let path = dir.join("alerts.jsonl");
    let f = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(err(&path, e)),
    };
    let mut order: Vec<Alert> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for line in BufReader::new(f).lines() {
        let line = line.map_err(|e| err(&path, e))?;
        // Blank separators, and the torn tail of a crashed write.
        let Ok(a) = serde_json::from_str::<Alert>(&line) else {
            continue;
        };
        match at.get(&a.id) {
            Some(&i) => order[i] = a,
            None => {
                at.insert(a.id.clone(), order.len());
                order.push(a);
            }
        }
    }
    Ok(order)
}

/// Writes a file whole or not at all.
pub(crate) fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), RecordError> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(|e| err(&tmp, e))?;
    f.write_all(bytes).map_err(|e| err(&tmp, e))?;
    f.sync_data().map_err(|e| err(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| err(path, e))?;
    if let Some(d) = path.parent()
        && let Ok(d) = File::open(d)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Detector;

    fn rules() -> RuleSet {
        let rule = "title: Key pair deleted\nid: 11111111-1111-1111-1111-111111111111\n\
            logsource: {product: aws, service: cloudtrail}\n\
            detection:\n  sel:\n    eventName: DeleteKeyPair\n  condition: sel\nlevel: low\n";
        let (set, errors) = RuleSet::from_texts(vec![("r.yml".into(), rule.into())]);
        assert!(errors.is_empty());
        set
    }

    fn finding(set: &RuleSet, id: &str) -> Finding {
        let ev = serde_json::json!({"eventID": id, "eventName": "DeleteKeyPair",
            "eventTime": "2026-01-01T00:00:00Z", "recipientAccountId": "111122223333"});
        Detector::new(set).inspect(&ev).expect("the rule matches")
    }

    #[test]
    fn a_batch_staged_for_a_commit_that_did_not_happen_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let set = rules();
        let mut r = Recorder::open(dir.path(), &set, None).unwrap();
        r.add(finding(&set, "e1"));
        let before = r.prepare(None).unwrap();
        assert!(dir.path().join("pending.json").exists());
        drop(r); // the crash: the index never committed `before`
        let r = Recorder::open(dir.path(), &set, None).unwrap();
        assert!(read_alerts(dir.path()).unwrap().is_empty());
        assert!(!dir.path().join("pending.json").exists());
        assert_eq!(r.seq, 0);
        let _ = before;
    }

    #[test]
    fn a_batch_the_index_committed_is_applied_once() {
        let dir = tempfile::tempdir().unwrap();
        let set = rules();
        let mut r = Recorder::open(dir.path(), &set, None).unwrap();
        r.add(finding(&set, "e1"));
        let payload = r.prepare(Some(r#"{"other":1}"#)).unwrap();
        assert_eq!(payload_seq(Some(&payload)), Some(1));
        assert!(
            payload.contains("\"other\":1"),
            "other payload keys are kept: {payload}"
        );
        drop(r); // the crash: after the index commit, before the alerts were applied
        let mut r = Recorder::open(dir.path(), &set, Some(&payload)).unwrap();
        assert_eq!(read_alerts(dir.path()).unwrap().len(), 1);
        // Applying again (a crash while applying) does not repeat it.
        r.add(finding(&set, "e2"));
        let p2 = r.prepare(Some(&payload)).unwrap();
        r.committed().unwrap();
        let _ = Recorder::open(dir.path(), &set, Some(&p2)).unwrap();
        let alerts = read_alerts(dir.path()).unwrap();
        assert_eq!(alerts.len(), 2, "{alerts:?}");
        assert_eq!(r.raised, 1);
    }
}
