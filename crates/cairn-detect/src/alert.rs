//! Alerts: what a rule or monitor raised, kept in the data directory.

use serde::{Deserialize, Serialize};

/// Sigma's levels, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "informational" | "info" => Severity::Informational,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => {
                return Err(format!(
                    "unknown severity {s:?} (informational, low, medium, high, critical)"
                ));
            }
        })
    }
}

/// What raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A Sigma detection rule matched an event.
    Detection,
    /// A Sigma correlation rule's condition was met.
    Correlation,
    /// A heartbeat monitor found too few events in its window.
    MonitorFiring,
    /// A heartbeat monitor that was firing found enough events again.
    MonitorResolved,
}

/// The outcome of sending an alert to one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub channel: String,
    pub ok: bool,
    pub attempts: u32,
    /// The last error, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Unix seconds of the last attempt.
    pub at: i64,
}

/// An alert. Its `id` is derived from the rule, the group and the first event, so that
/// evaluating the same events again yields the same id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: String,
    pub kind: AlertKind,
    pub rule_id: String,
    pub rule: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Event time of the first and last event it holds (RFC 3339, UTC).
    pub first_seen: String,
    pub last_seen: String,
    /// Events it stands for: more than `event_ids.len()` when a storm was suppressed into it.
    pub count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    /// The `eventID`s of the events it holds, oldest first (capped).
    pub event_ids: Vec<String>,
    /// The correlation or suppression group: field and value pairs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group: Vec<(String, String)>,
    /// One sentence a person can act on: who did what, where, when.
    pub summary: String,
    /// Unix seconds when cairn raised it.
    pub raised: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<Delivery>,
}

/// Most event ids kept on one alert.
pub const MAX_EVENT_IDS: usize = 100;
