//! Notifiers: telling people about alerts through webhooks, Slack, SNS, e-mail, a command or a
//! file.
//!
//! ```text
//!  cairn.toml [[channel]] ──► ChannelConfig ──► Notifiers::new (checks, reads secrets, builds)
//!                                                   │
//!  alert ──► Dispatcher::send ──► one queue and worker thread per routed channel
//!                                   │  Notifier::send, retried with backoff
//!                                   ▼
//!                               delivery log (JSON lines of DeliveryRecord, fsynced)
//! ```
//!
//! Whoever raises alerts never waits on a receiver: [`Dispatcher::send`] only queues. Every
//! outcome, success or failure after the last attempt, is appended to the delivery log, so that
//! after a crash [`pending`] finds the alerts a channel never got, and nothing is lost silently.
//!
//! Secrets (a webhook's signing key, an SMTP password, a Slack URL, which carries its token in
//! its path) never appear in errors, logs or `Debug` output: a URL is shown as its origin only.

mod config;
mod dispatch;
mod http;
mod local;
mod render;
mod smtp;
mod sns;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::alert::{Alert, Delivery};

pub use config::{ChannelConfig, ChannelKind, Route};
pub use dispatch::{
    DeliveryRecord, Dispatcher, ShowFn, pending, pending_channels, read_deliveries,
};
pub use render::{Rendered, render};
pub use sns::SnsContext;

/// Why a channel could not be built, or why one attempt to deliver failed. Every variant names
/// the channel; none carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The channel's configuration is unusable (checked when the notifiers are built).
    #[error("channel {channel:?}: {reason}")]
    Config { channel: String, reason: String },
    /// Two channels share a name; the delivery log tells channels apart by name.
    #[error("two channels are named {0:?}")]
    DuplicateName(String),
    /// No channel has this name.
    #[error("no channel is named {0:?}")]
    UnknownChannel(String),
    /// An HTTP receiver answered with a status other than 2xx.
    #[error("channel {channel:?}: POST {origin} answered {status}: {body}")]
    Status {
        channel: String,
        /// `scheme://host:port/` only: the rest of a URL may be a secret.
        origin: String,
        status: u16,
        /// The first 200 bytes of the response body, on one line.
        body: String,
    },
    /// An HTTP request failed before a status arrived.
    #[error("channel {channel:?}: POST {origin}: {reason}")]
    Http {
        channel: String,
        origin: String,
        reason: String,
    },
    /// The SMTP server refused the message, or could not be reached securely.
    #[error("channel {channel:?}: SMTP {server}: {reason}")]
    Smtp {
        channel: String,
        /// `host:port`
        server: String,
        reason: String,
    },
    /// SNS `Publish` failed.
    #[error("channel {channel:?}: SNS publish to {topic_arn}: {reason}")]
    Sns {
        channel: String,
        topic_arn: String,
        reason: String,
    },
    /// The command could not start, timed out or exited with a failure.
    #[error("channel {channel:?}: command {program}: {reason}")]
    Command {
        channel: String,
        program: String,
        reason: String,
    },
    /// The file could not be appended to.
    #[error("channel {channel:?}: {path}: {source}")]
    File {
        channel: String,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// The alert could not be encoded as JSON.
    #[error("channel {channel:?}: encoding the alert: {source}")]
    Encode {
        channel: String,
        source: serde_json::Error,
    },
}

/// One way of carrying an alert to people. `send` makes a single attempt, bounded by the
/// channel's timeout; retries are the caller's business ([`Notifiers::deliver`],
/// [`Dispatcher`]).
pub trait Notifier: Send + Sync {
    /// Delivers `message`; an error names the channel and says what went wrong.
    fn send(&self, message: &Message<'_>) -> Result<(), NotifyError>;
}

/// What a [`Notifier`] sends: the alert, its rendering, and the JSON document that webhooks,
/// commands and files receive.
#[derive(Debug)]
pub struct Message<'a> {
    pub alert: &'a Alert,
    /// Where a person sees the alert's events: a command or a URL.
    pub show: &'a str,
    pub rendered: Rendered,
    /// `{"alert": <Alert>, "text": <rendered.text>, "subject": <rendered.subject>}`
    pub json: String,
}

impl<'a> Message<'a> {
    /// Renders `alert` and encodes the JSON document.
    pub fn new(alert: &'a Alert, show: &'a str) -> Result<Message<'a>, serde_json::Error> {
        #[derive(Serialize)]
        struct Body<'b> {
            alert: &'b Alert,
            text: &'b str,
            subject: &'b str,
        }
        let rendered = render(alert, show);
        let json = serde_json::to_string(&Body {
            alert,
            text: &rendered.text,
            subject: &rendered.subject,
        })?;
        Ok(Message {
            alert,
            show,
            rendered,
            json,
        })
    }
}

/// A configured channel and the notifier built from it.
struct Channel {
    config: ChannelConfig,
    notifier: Box<dyn Notifier>,
}

/// The channels of cairn.toml, built and ready to send.
#[derive(Default)]
pub struct Notifiers {
    channels: Vec<Channel>,
}

impl std::fmt::Debug for Notifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.channels.iter().map(|c| &c.config))
            .finish()
    }
}

impl Notifiers {
    /// Builds every channel: checks its settings, reads the secrets named by `secret_env` and
    /// `password_env` from the environment, loads an SMTP `ca_file`, and prepares HTTP and SMTP
    /// clients. Nothing is sent.
    ///
    /// `sns` is needed only when a channel has `type = "sns"`: the caller builds the client from
    /// its own AWS settings (region, endpoint, credentials) and passes a handle to a
    /// **multi-thread** tokio runtime, on which the workers block while publishing. Those
    /// workers are plain threads; do not call [`Notifiers::deliver`] for an SNS channel from
    /// inside that runtime.
    pub fn new(
        configs: Vec<ChannelConfig>,
        sns: Option<SnsContext>,
    ) -> Result<Notifiers, NotifyError> {
        let mut notifiers = Notifiers::default();
        for config in configs {
            let notifier = build(&config, sns.as_ref())?;
            notifiers.push(config, notifier)?;
        }
        Ok(notifiers)
    }

    /// Adds a channel served by a notifier of the caller's (a test double, or a kind cairn.toml
    /// does not know); its `kind` is ignored, its name, route and retry settings apply.
    pub fn push(
        &mut self,
        config: ChannelConfig,
        notifier: Box<dyn Notifier>,
    ) -> Result<(), NotifyError> {
        if self.channels.iter().any(|c| c.config.name == config.name) {
            return Err(NotifyError::DuplicateName(config.name));
        }
        self.channels.push(Channel { config, notifier });
        Ok(())
    }

    /// The channels' settings, in configuration order.
    pub fn configs(&self) -> impl Iterator<Item = &ChannelConfig> {
        self.channels.iter().map(|c| &c.config)
    }

    /// How many channels there are.
    pub fn len(&self) -> usize {
        self.channels.len()
    }

    /// True when no channel is configured.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// The names of the channels whose route matches `alert`.
    pub fn routed(&self, alert: &Alert) -> Vec<String> {
        self.configs()
            .filter(|c| c.route.matches(alert))
            .map(|c| c.name.clone())
            .collect()
    }

    /// Sends `alert` to the channel named `channel` now, on this thread, retrying as the channel
    /// says, and returns the outcome. The route is not consulted. Blocks for as long as the
    /// attempts and backoff take.
    pub fn deliver(
        &self,
        channel: &str,
        alert: &Alert,
        show: &str,
    ) -> Result<Delivery, NotifyError> {
        let channel = self
            .channels
            .iter()
            .find(|c| c.config.name == channel)
            .ok_or_else(|| NotifyError::UnknownChannel(channel.to_string()))?;
        let mut sleep = |pause| {
            std::thread::sleep(pause);
            true
        };
        // Only a pause that says stop interrupts the attempts, and this one never does.
        Ok(
            attempt(channel, alert, show, &mut sleep).unwrap_or_else(|| Delivery {
                channel: channel.config.name.clone(),
                ok: false,
                attempts: 0,
                error: Some("interrupted".into()),
                at: unix_now(),
            }),
        )
    }

    fn get(&self, index: usize) -> &Channel {
        &self.channels[index]
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.channels.iter().position(|c| c.config.name == name)
    }
}

/// Turns a channel's settings into its notifier.
fn build(
    config: &ChannelConfig,
    sns: Option<&SnsContext>,
) -> Result<Box<dyn Notifier>, NotifyError> {
    config.validate()?;
    let name = &config.name;
    let timeout = config.timeout();
    Ok(match &config.kind {
        ChannelKind::Webhook { .. } | ChannelKind::Slack { .. } => {
            Box::new(http::HttpSender::build(name, &config.kind, timeout)?)
        }
        ChannelKind::Sns { topic_arn } => {
            let context = sns.ok_or_else(|| NotifyError::Config {
                channel: name.clone(),
                reason: "an sns channel needs AWS access, which was not set up".into(),
            })?;
            Box::new(sns::SnsSender::new(
                name,
                topic_arn,
                context.clone(),
                timeout,
            ))
        }
        ChannelKind::Smtp { .. } => Box::new(smtp::SmtpSender::build(name, &config.kind, timeout)?),
        ChannelKind::Command { program, args } => {
            Box::new(local::CommandSender::new(name, program, args, timeout))
        }
        ChannelKind::File { path } => Box::new(local::FileSender::new(name, path)),
    })
}

/// Tries to deliver `alert` on `channel` up to its `attempts`, calling `pause` with each backoff
/// delay in between. `None` when `pause` returns false (the dispatcher is stopping): the alert
/// then has no outcome and stays pending.
fn attempt(
    channel: &Channel,
    alert: &Alert,
    show: &str,
    pause: &mut dyn FnMut(Duration) -> bool,
) -> Option<Delivery> {
    let config = &channel.config;
    let most = config.attempts();
    let message = match Message::new(alert, show) {
        Ok(message) => message,
        // Encoding does not get better with time: no retries.
        Err(source) => {
            let error = NotifyError::Encode {
                channel: config.name.clone(),
                source,
            };
            return Some(gave_up(config, alert, 1, &error));
        }
    };
    let mut tries = 0;
    loop {
        tries += 1;
        match channel.notifier.send(&message) {
            Ok(()) => {
                tracing::info!(channel = %config.name, alert = %alert.id, attempts = tries, "alert delivered");
                return Some(Delivery {
                    channel: config.name.clone(),
                    ok: true,
                    attempts: tries,
                    error: None,
                    at: unix_now(),
                });
            }
            Err(error) if tries >= most => return Some(gave_up(config, alert, tries, &error)),
            Err(error) => {
                let delay = config.backoff(tries);
                tracing::debug!(
                    channel = %config.name,
                    alert = %alert.id,
                    attempt = tries,
                    %error,
                    retry_in_ms = delay.as_millis() as u64,
                    "alert delivery attempt failed"
                );
                if !pause(delay) {
                    return None;
                }
            }
        }
    }
}

/// The outcome of a delivery that failed for good, logged so that no failure goes unseen.
fn gave_up(config: &ChannelConfig, alert: &Alert, tries: u32, error: &NotifyError) -> Delivery {
    tracing::warn!(
        channel = %config.name,
        alert = %alert.id,
        attempts = tries,
        %error,
        "alert delivery failed; giving up"
    );
    Delivery {
        channel: config.name.clone(),
        ok: false,
        attempts: tries,
        error: Some(error.to_string()),
        at: unix_now(),
    }
}

/// Bytes of a receiver's answer (an HTTP error body, a command's stderr) kept in an error.
const BODY_SNIPPET: usize = 200;

/// Seconds since the Unix epoch.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The first `max` bytes of `bytes` as one line of text: invalid UTF-8 replaced, control
/// characters turned into spaces, surrounding space trimmed.
fn snippet(bytes: &[u8], max: usize) -> String {
    let cut = &bytes[..bytes.len().min(max)];
    String::from_utf8_lossy(cut)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// An error and its sources, joined with `: ` (many libraries put the useful part, such as
/// "connection refused", only in the source).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let more = inner.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = inner.source();
    }
    text
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::alert::{AlertKind, Severity};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A realistic alert for tests.
    pub(crate) fn alert(id: &str) -> Alert {
        Alert {
            id: id.to_string(),
            kind: AlertKind::Detection,
            rule_id: "0f6a4b1c-7f2e-4b8e-9a11-c1d2e3f4a5b6".into(),
            rule: "Console login without MFA".into(),
            severity: Severity::High,
            tags: vec!["attack.initial_access".into(), "attack.t1078".into()],
            first_seen: "2025-03-01T10:00:00Z".into(),
            last_seen: "2025-03-01T10:05:00Z".into(),
            count: 3,
            account: Some("123456789012".into()),
            region: Some("us-east-1".into()),
            principal: Some("arn:aws:iam::123456789012:user/alice".into()),
            event_name: Some("ConsoleLogin".into()),
            source_ip: Some("203.0.113.9".into()),
            event_ids: vec!["e1".into(), "e2".into(), "e3".into()],
            group: vec![],
            summary: "alice signed in to the console without MFA from 203.0.113.9".into(),
            raised: 1_740_823_500,
            deliveries: vec![],
        }
    }

    /// Fails its first `failures` sends, then succeeds; remembers what it got.
    pub(crate) struct Flaky {
        pub failures: u32,
        pub calls: AtomicU32,
        pub got: Mutex<Vec<String>>,
    }

    impl Notifier for Flaky {
        fn send(&self, message: &Message<'_>) -> Result<(), NotifyError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if n <= self.failures {
                return Err(NotifyError::Command {
                    channel: "flaky".into(),
                    program: "flaky".into(),
                    reason: format!("failure {n}"),
                });
            }
            self.got.lock().unwrap().push(message.alert.id.clone());
            Ok(())
        }
    }

    fn file_config(name: &str) -> ChannelConfig {
        ChannelConfig::new(
            name,
            ChannelKind::File {
                path: "/nonexistent".into(),
            },
        )
    }

    #[test]
    fn deliver_retries_then_succeeds() {
        let mut config = file_config("flaky");
        config.attempts = Some(3);
        config.backoff_ms = Some(1);
        let mut notifiers = Notifiers::default();
        notifiers
            .push(
                config,
                Box::new(Flaky {
                    failures: 2,
                    calls: AtomicU32::new(0),
                    got: Mutex::default(),
                }),
            )
            .unwrap();
        let d = notifiers.deliver("flaky", &alert("a1"), "show").unwrap();
        assert!(d.ok, "{d:?}");
        assert_eq!(d.attempts, 3);
        assert_eq!(d.error, None);
    }

    #[test]
    fn deliver_gives_up_after_attempts() {
        let mut config = file_config("flaky");
        config.attempts = Some(2);
        config.backoff_ms = Some(1);
        let mut notifiers = Notifiers::default();
        notifiers
            .push(
                config,
                Box::new(Flaky {
                    failures: 5,
                    calls: AtomicU32::new(0),
                    got: Mutex::default(),
                }),
            )
            .unwrap();
        let d = notifiers.deliver("flaky", &alert("a1"), "show").unwrap();
        assert!(!d.ok);
        assert_eq!(d.attempts, 2);
        assert!(d.error.unwrap().contains("failure 2"));
        assert!(matches!(
            notifiers.deliver("nope", &alert("a1"), "show"),
            Err(NotifyError::UnknownChannel(_))
        ));
    }

    #[test]
    fn names_are_unique() {
        let err = Notifiers::new(vec![file_config("x"), file_config("x")], None).unwrap_err();
        assert!(matches!(err, NotifyError::DuplicateName(n) if n == "x"));
    }

    #[test]
    fn sns_needs_a_context() {
        let config = ChannelConfig::new(
            "topic",
            ChannelKind::Sns {
                topic_arn: "arn:aws:sns:us-east-1:123456789012:alerts".into(),
            },
        );
        let err = Notifiers::new(vec![config], None).unwrap_err();
        assert!(err.to_string().contains("\"topic\""), "{err}");
    }

    #[test]
    fn message_json_has_alert_text_and_subject() {
        let a = alert("a1");
        let m = Message::new(&a, "cairn alerts show a1").unwrap();
        let v: serde_json::Value = serde_json::from_str(&m.json).unwrap();
        assert_eq!(v["alert"]["id"], "a1");
        assert_eq!(v["subject"], m.rendered.subject.as_str());
        assert_eq!(v["text"], m.rendered.text.as_str());
    }

    #[test]
    fn snippets_are_one_short_line() {
        assert_eq!(snippet(b"  oops\r\nline two\n", 200), "oops  line two");
        assert_eq!(snippet("héllo".as_bytes(), 2), "h\u{fffd}");
        assert_eq!(snippet(&[b'x'; 500], 200).len(), 200);
    }
}
