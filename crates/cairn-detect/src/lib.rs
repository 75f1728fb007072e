//! Watching the trail: Sigma detection and correlation rules, heartbeat monitors, the alerts
//! they raise, and the notifiers that tell people.
//!
//! ```text
//!  decode worker ──► Detector::inspect (stateless Sigma match) ──► writer: new events only
//!                                                                     │
//!        Recorder: correlations, suppression ──► alerts (staged) ─────┤ committed with the index
//!                                                                     ▼
//!                                                   alerts.jsonl ──► Dispatcher ──► channels
//! ```
//!
//! An event is evaluated once: on its way into the store, and only if the store did not hold
//! it yet. The alerts and correlation state of a batch are staged before the index commits and
//! applied after it, so a crash at any point neither loses nor repeats an alert.

pub mod alert;
pub mod engine;
pub mod legacy;
pub mod monitor;
pub mod notify;
pub mod recorder;
pub mod rules;

pub use alert::{Alert, AlertKind, Severity};
pub use engine::{Alerter, Detector, Finding};
pub use recorder::{Recorder, detect_dir, read_alerts};
pub use rules::{RuleError, RuleInfo, RuleSet};
