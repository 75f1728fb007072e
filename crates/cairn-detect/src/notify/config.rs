//! `[[channel]]` settings: where alerts go, which alerts go there, how hard to try.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::NotifyError;
use crate::alert::{Alert, AlertKind, Severity};

/// Attempts per alert and channel unless `attempts` says otherwise.
pub const DEFAULT_ATTEMPTS: u32 = 5;
/// First retry delay unless `backoff_ms` says otherwise; it doubles for each further retry.
pub const DEFAULT_BACKOFF_MS: u64 = 1000;
/// Longest delay between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Time allowed for one attempt unless `timeout_secs` says otherwise.
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// One `[[channel]]` of cairn.toml:
///
/// ```toml
/// [[channel]]
/// name = "security-team"
/// type = "slack"                  # webhook, slack, sns, smtp, command, file
/// url = "https://hooks.slack.com/services/..."
/// min_severity = "high"           # the route: which alerts (see `Route`)
/// tags = ["attack.*"]
/// attempts = 5                    # retries, backoff and timeout
/// ```
///
/// Unknown keys are refused, as are keys of another channel type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct ChannelConfig {
    /// Names the channel in the delivery log, in errors and in `cairn alerts`; unique.
    pub name: String,
    /// Where alerts go, tagged by `type`.
    pub kind: ChannelKind,
    /// Which alerts go there.
    pub route: Route,
    /// Attempts per alert before giving up (default 5).
    pub attempts: Option<u32>,
    /// Delay before the first retry in milliseconds (default 1000), doubling for each further
    /// retry, at most 60 s.
    pub backoff_ms: Option<u64>,
    /// Time allowed for one attempt, in seconds (default 10).
    pub timeout_secs: Option<u64>,
}

/// Where a channel's alerts go: cairn.toml's `type` and the keys that go with it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum ChannelKind {
    /// POSTs `{"alert": .., "text": .., "subject": ..}` as JSON.
    Webhook {
        url: String,
        /// Signs each request with HMAC-SHA256 (see `X-Cairn-Signature`).
        #[serde(default)]
        secret: Option<String>,
        /// Like `secret`, read from this environment variable instead (preferred: keeps the
        /// secret out of the file).
        #[serde(default)]
        secret_env: Option<String>,
        /// Extra request headers, such as `Authorization`.
        #[serde(default)]
        headers: BTreeMap<String, String>,
    },
    /// A Slack (or compatible: Mattermost, Rocket.Chat) incoming webhook. The URL is a secret.
    Slack { url: String },
    /// Publishes to an SNS topic with the AWS access cairn already has.
    Sns { topic_arn: String },
    /// Sends e-mail through an SMTP server.
    Smtp {
        host: String,
        /// Default 465 with `tls`, else 587 with `starttls`, else 25.
        #[serde(default)]
        port: Option<u16>,
        /// Upgrade with STARTTLS and refuse to go on without it (default true).
        #[serde(default = "yes")]
        starttls: bool,
        /// TLS from the first byte (port 465 style); takes precedence over `starttls`.
        #[serde(default)]
        tls: bool,
        #[serde(default)]
        username: Option<String>,
        /// The environment variable holding the password for `username`.
        #[serde(default)]
        password_env: Option<String>,
        from: String,
        to: Vec<String>,
        /// A PEM certificate to trust besides the usual roots (a private CA, a self-signed
        /// server).
        #[serde(default)]
        ca_file: Option<PathBuf>,
    },
    /// Runs a program with the JSON document on its stdin; exit status 0 means delivered.
    Command {
        program: String,
        #[serde(default)]
        args: Vec<String>,
    },
    /// Appends the JSON document as one line to a file.
    File { path: PathBuf },
}

fn yes() -> bool {
    true
}

/// Which alerts a channel gets. Every condition must hold; an empty list holds for all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The least severity sent (default `low`).
    #[serde(default = "default_min_severity")]
    pub min_severity: Severity,
    /// Rule ids or titles; `*` matches any run of characters; case is ignored.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Tag patterns, as for `rules`; an alert matches when any of its tags matches any pattern.
    #[serde(default)]
    pub tags: Vec<String>,
    /// What raised the alert: `detection`, `correlation`, `monitor_firing`, `monitor_resolved`.
    #[serde(default)]
    pub kinds: Vec<AlertKind>,
}

fn default_min_severity() -> Severity {
    Severity::Low
}

impl Default for Route {
    fn default() -> Route {
        Route {
            min_severity: default_min_severity(),
            rules: Vec::new(),
            tags: Vec::new(),
            kinds: Vec::new(),
        }
    }
}

impl Route {
    /// True when `alert` should go to the channel.
    pub fn matches(&self, alert: &Alert) -> bool {
        alert.severity >= self.min_severity
            && (self.rules.is_empty()
                || self
                    .rules
                    .iter()
                    .any(|p| glob(p, &alert.rule_id) || glob(p, &alert.rule)))
            && (self.tags.is_empty()
                || self
                    .tags
                    .iter()
                    .any(|p| alert.tags.iter().any(|t| glob(p, t))))
            && (self.kinds.is_empty() || self.kinds.contains(&alert.kind))
    }
}

/// `*` matches any run of characters (also none), everything else itself, ignoring ASCII case.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let t: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and the text position it currently swallows up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            // Let the last `*` swallow one more character and try again.
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Keys that belong to the route rather than to the channel type.
const ROUTE_KEYS: [&str; 4] = ["min_severity", "rules", "tags", "kinds"];

/// cairn.toml keeps a channel flat (`name`, `type`, the type's keys, the route's keys and the
/// retry keys side by side). serde cannot refuse unknown keys across flattened parts, so the
/// table is split here: each part is then read strictly.
impl TryFrom<Map<String, Value>> for ChannelConfig {
    type Error = String;

    fn try_from(mut table: Map<String, Value>) -> Result<ChannelConfig, String> {
        let name = match table.remove("name") {
            Some(Value::String(name)) => name,
            Some(_) => return Err("channel `name` must be a string".into()),
            None => return Err("a channel needs a `name`".into()),
        };
        let context = |e: serde_json::Error| format!("channel {name:?}: {e}");
        let mut route = Map::new();
        for key in ROUTE_KEYS {
            if let Some(value) = table.remove(key) {
                route.insert(key.to_string(), value);
            }
        }
        let route: Route = serde_json::from_value(Value::Object(route)).map_err(context)?;
        let attempts = take(&mut table, "attempts").map_err(context)?;
        let backoff_ms = take(&mut table, "backoff_ms").map_err(context)?;
        let timeout_secs = take(&mut table, "timeout_secs").map_err(context)?;
        let kind: ChannelKind = serde_json::from_value(Value::Object(table)).map_err(context)?;
        let config = ChannelConfig {
            name,
            kind,
            route,
            attempts,
            backoff_ms,
            timeout_secs,
        };
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }
}

/// Removes `key` from `table` and reads it, if it is there.
fn take<T: serde::de::DeserializeOwned>(
    table: &mut Map<String, Value>,
    key: &str,
) -> Result<Option<T>, serde_json::Error> {
    table
        .remove(key)
        .map(|value| {
            serde_json::from_value(value)
                .map_err(|e| serde::de::Error::custom(format_args!("`{key}`: {e}")))
        })
        .transpose()
}

impl ChannelConfig {
    /// A channel of `kind` that takes every alert, with the default retry settings.
    pub fn new(name: impl Into<String>, kind: ChannelKind) -> ChannelConfig {
        ChannelConfig {
            name: name.into(),
            kind,
            route: Route::default(),
            attempts: None,
            backoff_ms: None,
            timeout_secs: None,
        }
    }

    /// Attempts per alert.
    pub fn attempts(&self) -> u32 {
        self.attempts.unwrap_or(DEFAULT_ATTEMPTS)
    }

    /// The delay after failed attempt number `failed` (1 for the first).
    pub fn backoff(&self, failed: u32) -> Duration {
        let first = self.backoff_ms.unwrap_or(DEFAULT_BACKOFF_MS);
        let factor = 1u64
            .checked_shl(failed.saturating_sub(1))
            .unwrap_or(u64::MAX);
        Duration::from_millis(first.saturating_mul(factor)).min(MAX_BACKOFF)
    }

    /// Time allowed for one attempt.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS))
    }

    /// The `type` of the channel, as cairn.toml spells it.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            ChannelKind::Webhook { .. } => "webhook",
            ChannelKind::Slack { .. } => "slack",
            ChannelKind::Sns { .. } => "sns",
            ChannelKind::Smtp { .. } => "smtp",
            ChannelKind::Command { .. } => "command",
            ChannelKind::File { .. } => "file",
        }
    }

    /// Checks what can be checked without the environment or the file system.
    pub fn validate(&self) -> Result<(), NotifyError> {
        let fail = |reason: String| NotifyError::Config {
            channel: self.name.clone(),
            reason,
        };
        if self.name.trim().is_empty() || self.name.chars().any(char::is_control) {
            return Err(fail(
                "a channel name must be printable and not blank".into(),
            ));
        }
        if self.attempts == Some(0) {
            return Err(fail("`attempts` must be at least 1".into()));
        }
        if self.timeout_secs == Some(0) {
            return Err(fail("`timeout_secs` must be at least 1".into()));
        }
        match &self.kind {
            ChannelKind::Webhook {
                url,
                secret,
                secret_env,
                headers,
            } => {
                super::http::origin(url).map_err(fail)?;
                if secret.is_some() && secret_env.is_some() {
                    return Err(fail("give `secret` or `secret_env`, not both".into()));
                }
                if secret.as_deref() == Some("") {
                    return Err(fail("`secret` is empty".into()));
                }
                super::http::check_headers(headers).map_err(fail)?;
            }
            ChannelKind::Slack { url } => {
                super::http::origin(url).map_err(fail)?;
            }
            ChannelKind::Sns { topic_arn } => {
                if !topic_arn.starts_with("arn:") {
                    return Err(fail(format!("`topic_arn` {topic_arn:?} is not an ARN")));
                }
            }
            ChannelKind::Smtp {
                host,
                to,
                username,
                password_env,
                ..
            } => {
                if host.trim().is_empty() {
                    return Err(fail("`host` is empty".into()));
                }
                if to.is_empty() {
                    return Err(fail("`to` names no recipient".into()));
                }
                if username.is_some() != password_env.is_some() {
                    return Err(fail(
                        "give `username` and `password_env` together, or neither".into(),
                    ));
                }
            }
            ChannelKind::Command { program, .. } => {
                if program.is_empty() {
                    return Err(fail("`program` is empty".into()));
                }
            }
            ChannelKind::File { path } => {
                if path.as_os_str().is_empty() {
                    return Err(fail("`path` is empty".into()));
                }
            }
        }
        Ok(())
    }
}

/// Shows no secret: a URL only as its origin, a signing secret and header values not at all.
impl fmt::Debug for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = |url: &str| super::http::origin(url).unwrap_or_else(|_| "<invalid>".into());
        match self {
            ChannelKind::Webhook {
                url,
                secret,
                secret_env,
                headers,
            } => f
                .debug_struct("Webhook")
                .field("url", &origin(url))
                .field("secret", &secret.as_ref().map(|_| "<redacted>"))
                .field("secret_env", secret_env)
                .field("headers", &headers.keys().collect::<Vec<_>>())
                .finish(),
            ChannelKind::Slack { url } => {
                f.debug_struct("Slack").field("url", &origin(url)).finish()
            }
            ChannelKind::Sns { topic_arn } => {
                f.debug_struct("Sns").field("topic_arn", topic_arn).finish()
            }
            ChannelKind::Smtp {
                host,
                port,
                starttls,
                tls,
                username,
                password_env,
                from,
                to,
                ca_file,
            } => f
                .debug_struct("Smtp")
                .field("host", host)
                .field("port", port)
                .field("starttls", starttls)
                .field("tls", tls)
                .field("username", username)
                .field("password_env", password_env)
                .field("from", from)
                .field("to", to)
                .field("ca_file", ca_file)
                .finish(),
            ChannelKind::Command { program, args } => f
                .debug_struct("Command")
                .field("program", program)
                .field("args", args)
                .finish(),
            ChannelKind::File { path } => f.debug_struct("File").field("path", path).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::tests::alert;

    fn parse(json: serde_json::Value) -> Result<ChannelConfig, String> {
        serde_json::from_value(json).map_err(|e| e.to_string())
    }

    #[test]
    fn glob_patterns() {
        let cases = [
            ("*", "", true),
            ("*", "anything", true),
            ("abc", "abc", true),
            ("abc", "ABC", true),
            ("abc", "abcd", false),
            ("a*", "abc", true),
            ("*c", "abc", true),
            ("a*c", "abbbc", true),
            ("a*c", "abbbd", false),
            ("*login*", "Console login without MFA", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXcYb", false),
            ("attack.*", "attack.t1078", true),
            ("attack.*", "cve.2021", false),
            ("", "", true),
            ("", "x", false),
        ];
        for (pattern, text, want) in cases {
            assert_eq!(glob(pattern, text), want, "{pattern:?} vs {text:?}");
        }
    }

    #[test]
    fn route_severity_threshold() {
        let mut a = alert("a");
        let route = Route {
            min_severity: Severity::High,
            ..Route::default()
        };
        for (severity, want) in [
            (Severity::Informational, false),
            (Severity::Low, false),
            (Severity::Medium, false),
            (Severity::High, true),
            (Severity::Critical, true),
        ] {
            a.severity = severity;
            assert_eq!(route.matches(&a), want, "{severity}");
        }
        // The default takes low and up, not informational.
        a.severity = Severity::Informational;
        assert!(!Route::default().matches(&a));
        a.severity = Severity::Low;
        assert!(Route::default().matches(&a));
    }

    #[test]
    fn route_rules_by_id_or_title() {
        let a = alert("a");
        let with = |rules: &[&str]| Route {
            rules: rules.iter().map(|r| r.to_string()).collect(),
            ..Route::default()
        };
        assert!(with(&[]).matches(&a), "no rules = all rules");
        assert!(with(&["0f6a4b1c-7f2e-4b8e-9a11-c1d2e3f4a5b6"]).matches(&a));
        assert!(with(&["0f6a4b1c-*"]).matches(&a));
        assert!(with(&["console login without mfa"]).matches(&a));
        assert!(with(&["other", "*without MFA"]).matches(&a));
        assert!(!with(&["other", "0f6a4b1c"]).matches(&a));
    }

    #[test]
    fn route_tags_any_of() {
        let mut a = alert("a");
        let with = |tags: &[&str]| Route {
            tags: tags.iter().map(|r| r.to_string()).collect(),
            ..Route::default()
        };
        assert!(with(&[]).matches(&a));
        assert!(with(&["attack.t1078"]).matches(&a));
        assert!(with(&["cve.*", "attack.*"]).matches(&a));
        assert!(!with(&["cve.*"]).matches(&a));
        a.tags.clear();
        assert!(!with(&["attack.*"]).matches(&a), "an untagged alert");
        assert!(with(&[]).matches(&a));
    }

    #[test]
    fn route_kinds_and_all_conditions() {
        let mut a = alert("a");
        let route = Route {
            min_severity: Severity::Medium,
            rules: vec!["*MFA*".into()],
            tags: vec!["attack.*".into()],
            kinds: vec![AlertKind::Detection, AlertKind::Correlation],
        };
        assert!(route.matches(&a));
        a.kind = AlertKind::MonitorFiring;
        assert!(!route.matches(&a));
        a.kind = AlertKind::Correlation;
        a.severity = Severity::Low;
        assert!(!route.matches(&a), "all conditions must hold");
    }

    #[test]
    fn parses_a_flat_table() {
        let c = parse(serde_json::json!({
            "name": "mail",
            "type": "smtp",
            "host": "smtp.example.com",
            "from": "cairn@example.com",
            "to": ["soc@example.com"],
            "min_severity": "high",
            "tags": ["attack.*"],
            "attempts": 3,
            "timeout_secs": 5,
        }))
        .unwrap();
        assert_eq!(c.name, "mail");
        assert_eq!(c.route.min_severity, Severity::High);
        assert_eq!(c.route.tags, ["attack.*"]);
        assert_eq!(c.attempts(), 3);
        assert_eq!(c.timeout(), Duration::from_secs(5));
        let ChannelKind::Smtp {
            starttls,
            tls,
            port,
            ..
        } = c.kind
        else {
            panic!("{c:?}")
        };
        assert!(starttls && !tls && port.is_none());
    }

    #[test]
    fn refuses_unknown_and_foreign_keys() {
        let err = parse(serde_json::json!({
            "name": "hook", "type": "webhook", "url": "https://example.com/x", "secrt": "s"
        }))
        .unwrap_err();
        assert!(err.contains("secrt") && err.contains("\"hook\""), "{err}");
        // A key of another type.
        let err = parse(serde_json::json!({
            "name": "chat", "type": "slack", "url": "https://example.com/x", "topic_arn": "arn:x"
        }))
        .unwrap_err();
        assert!(err.contains("topic_arn"), "{err}");
        let err = parse(serde_json::json!({"name": "x", "type": "pager"})).unwrap_err();
        assert!(err.contains("pager"), "{err}");
        let err = parse(serde_json::json!({"type": "file", "path": "/tmp/x"})).unwrap_err();
        assert!(err.contains("name"), "{err}");
        let err = parse(serde_json::json!({
            "name": "x", "type": "file", "path": "/tmp/x", "min_severity": "urgent"
        }))
        .unwrap_err();
        assert!(err.contains("urgent"), "{err}");
        let err = parse(serde_json::json!({
            "name": "x", "type": "file", "path": "/tmp/x", "attempts": 0
        }))
        .unwrap_err();
        assert!(err.contains("attempts"), "{err}");
    }

    #[test]
    fn refuses_bad_settings() {
        let bad = [
            serde_json::json!({"name": "x", "type": "webhook", "url": "ftp://example.com/"}),
            serde_json::json!({"name": "x", "type": "webhook", "url": "https://example.com/",
                               "secret": "a", "secret_env": "B"}),
            serde_json::json!({"name": "x", "type": "webhook", "url": "https://example.com/",
                               "headers": {"Content-Type": "text/plain"}}),
            serde_json::json!({"name": "x", "type": "smtp", "host": "h", "from": "a@b", "to": []}),
            serde_json::json!({"name": "x", "type": "smtp", "host": "h", "from": "a@b",
                               "to": ["c@d"], "username": "u"}),
            serde_json::json!({"name": "x", "type": "sns", "topic_arn": "alerts"}),
            serde_json::json!({"name": " ", "type": "file", "path": "/tmp/x"}),
        ];
        for json in bad {
            assert!(parse(json.clone()).is_err(), "accepted {json}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let mut c = ChannelConfig::new("x", ChannelKind::File { path: "/x".into() });
        assert_eq!(c.backoff(1), Duration::from_secs(1));
        assert_eq!(c.backoff(2), Duration::from_secs(2));
        assert_eq!(c.backoff(4), Duration::from_secs(8));
        assert_eq!(c.backoff(7), MAX_BACKOFF);
        assert_eq!(c.backoff(200), MAX_BACKOFF);
        c.backoff_ms = Some(10);
        assert_eq!(c.backoff(3), Duration::from_millis(40));
        assert_eq!(c.attempts(), DEFAULT_ATTEMPTS);
    }

    #[test]
    fn debug_shows_no_secret() {
        let c = parse(serde_json::json!({
            "name": "x", "type": "webhook",
            "url": "https://user:pw@hooks.example.com:8443/T0/B0/tokentoken?key=k",
            "secret": "hunter2", "headers": {"Authorization": "Bearer abc"}
        }))
        .unwrap();
        let text = format!("{c:?}");
        for secret in ["tokentoken", "hunter2", "Bearer", "pw", "key=k"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("https://hooks.example.com:8443/"), "{text}");
    }
}
