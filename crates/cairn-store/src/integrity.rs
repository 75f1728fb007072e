//! The verification state of each ingested object, from its trail's signed digests.
//!
//! An object is `verified` when a valid digest lists it with the hash the store computed as it
//! read it, `failed` when that hash differs, when only an invalid digest lists it, or when no
//! digest lists it though valid digests cover its delivery; and `unverified` otherwise (no
//! digest yet, or validation off). Its events carry its state: `cairn.integrity:failed`.
//!
//! The state lives beside the index, in `integrity.json`, rewritten whole (atomically) by each
//! verification pass; the index itself is never rewritten, so marking a million events costs
//! one small file, and a query on the state is a set of object terms.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::StoreError;

const FILE: &str = "integrity.json";

/// An event's, and its object's, verification state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Verified,
    Failed,
    Unverified,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Verified => "verified",
            State::Failed => "failed",
            State::Unverified => "unverified",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        match s.to_ascii_lowercase().as_str() {
            "verified" => Some(State::Verified),
            "failed" => Some(State::Failed),
            "unverified" => Some(State::Unverified),
            _ => None,
        }
    }
}

/// What the last verification said of one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectState {
    pub state: State,
    /// Why it failed (empty when verified).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// The digest that lists it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// When this was decided, Unix seconds.
    pub at: i64,
}

/// Every object's state, by the object's location as the ledger names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integrity {
    pub objects: BTreeMap<String, ObjectState>,
}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

impl Integrity {
    /// Loads the state of the store at `data_dir` (empty when never verified).
    pub fn load(data_dir: &Path) -> Result<Integrity, StoreError> {
        let p = path(data_dir);
        match std::fs::read(&p) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                StoreError::io(&p, std::io::Error::new(std::io::ErrorKind::InvalidData, e))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Integrity::default()),
            Err(e) => Err(StoreError::io(&p, e)),
        }
    }

    /// Replaces the file atomically.
    pub fn save(&self, data_dir: &Path) -> Result<(), StoreError> {
        let p = path(data_dir);
        let tmp = data_dir.join(format!(".{FILE}.tmp"));
        let bytes = serde_json::to_vec(self).expect("the state serializes");
        std::fs::write(&tmp, bytes).map_err(|e| StoreError::io(&tmp, e))?;
        std::fs::rename(&tmp, &p).map_err(|e| StoreError::io(&p, e))
    }

    /// The state of the object at `location` (`unverified` when none was recorded).
    pub fn state(&self, location: &str) -> State {
        self.objects
            .get(location)
            .map_or(State::Unverified, |o| o.state)
    }

    /// Objects recorded with `state`.
    pub fn objects_in(&self, state: State) -> impl Iterator<Item = &str> {
        self.objects
            .iter()
            .filter(move |(_, o)| o.state == state)
            .map(|(k, _)| k.as_str())
    }

    /// Counts per state over the recorded objects.
    pub fn counts(&self) -> BTreeMap<State, u64> {
        let mut m = BTreeMap::new();
        for o in self.objects.values() {
            *m.entry(o.state).or_default() += 1;
        }
        m
    }
}
