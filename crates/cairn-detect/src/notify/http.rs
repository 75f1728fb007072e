//! Webhooks and Slack incoming webhooks: one JSON POST per alert.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use ureq::http::{HeaderName, HeaderValue, Uri};

use super::config::ChannelKind;
use super::{BODY_SNIPPET, Message, Notifier, NotifyError, render, snippet, unix_now};

/// Headers cairn sets itself; `headers` may not replace them.
const RESERVED: [&str; 5] = [
    "content-type",
    "content-length",
    "host",
    "x-cairn-signature",
    "x-cairn-timestamp",
];

/// What the receiver gets.
enum Style {
    /// `{"alert": .., "text": .., "subject": ..}`, signed when there is a secret.
    Webhook { secret: Option<Vec<u8>> },
    /// `{"text": <mrkdwn>}`
    Slack,
}

/// POSTs each alert as JSON to a URL.
///
/// # Signatures
///
/// With a `secret`, each webhook request carries
///
/// ```text
/// X-Cairn-Timestamp: <unix seconds when it was sent>
/// X-Cairn-Signature: sha256=<lowercase hex of HMAC-SHA256(secret, "<timestamp>.<body>")>
/// ```
///
/// The signed message is the timestamp's decimal digits exactly as in the header, a full stop,
/// then the raw request body bytes. A receiver recomputes the HMAC over the same bytes, compares
/// in constant time, and refuses a timestamp more than a few minutes old, which defeats
/// replaying a captured request. Every attempt (retries too) is signed afresh.
pub(super) struct HttpSender {
    channel: String,
    url: String,
    /// The URL shown in errors: `scheme://host:port/`.
    origin: String,
    agent: ureq::Agent,
    headers: Vec<(String, String)>,
    style: Style,
}

impl HttpSender {
    /// Builds a webhook or Slack sender; reads `secret_env` now.
    pub(super) fn build(
        channel: &str,
        kind: &ChannelKind,
        timeout: Duration,
    ) -> Result<HttpSender, NotifyError> {
        let fail = |reason: String| NotifyError::Config {
            channel: channel.to_string(),
            reason,
        };
        let (url, headers, style) = match kind {
            ChannelKind::Webhook {
                url,
                secret,
                secret_env,
                headers,
            } => {
                check_headers(headers).map_err(fail)?;
                let secret = match (secret, secret_env) {
                    (Some(secret), _) => Some(secret.clone().into_bytes()),
                    (None, Some(var)) => match std::env::var(var) {
                        Ok(value) if !value.is_empty() => Some(value.into_bytes()),
                        Ok(_) => return Err(fail(format!("environment variable {var} is empty"))),
                        Err(_) => {
                            return Err(fail(format!(
                                "environment variable {var} (the webhook secret) is not set"
                            )));
                        }
                    },
                    (None, None) => None,
                };
                let headers = headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                (url, headers, Style::Webhook { secret })
            }
            ChannelKind::Slack { url } => (url, Vec::new(), Style::Slack),
            _ => return Err(fail("not an HTTP channel".into())),
        };
        let origin = origin(url).map_err(fail)?;
        let agent = ureq::Agent::config_builder()
            // Statuses are judged here, with the body at hand for the error.
            .http_status_as_error(false)
            // A redirect is a misconfigured receiver: report its status rather than follow it.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_global(Some(timeout))
            .user_agent(format!("cairn/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Ok(HttpSender {
            channel: channel.to_string(),
            url: url.clone(),
            origin,
            agent,
            headers,
            style,
        })
    }

    fn body(&self, message: &Message<'_>) -> Result<String, NotifyError> {
        match self.style {
            Style::Webhook { .. } => Ok(message.json.clone()),
            Style::Slack => {
                let text = render::slack_text(message.alert, message.show);
                serde_json::to_string(&serde_json::json!({ "text": text })).map_err(|source| {
                    NotifyError::Encode {
                        channel: self.channel.clone(),
                        source,
                    }
                })
            }
        }
    }

    fn transport_error(&self, error: &ureq::Error) -> NotifyError {
        let reason = match error {
            // Its text would quote the URL.
            ureq::Error::BadUri(_) => "invalid URL".to_string(),
            other => super::error_chain(other),
        };
        NotifyError::Http {
            channel: self.channel.clone(),
            origin: self.origin.clone(),
            reason: redact(&reason, &self.url),
        }
    }
}

impl Notifier for HttpSender {
    fn send(&self, message: &Message<'_>) -> Result<(), NotifyError> {
        let body = self.body(message)?;
        let mut request = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json");
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Style::Webhook {
            secret: Some(secret),
        } = &self.style
        {
            let timestamp = unix_now().to_string();
            request = request.header("X-Cairn-Timestamp", &timestamp).header(
                "X-Cairn-Signature",
                format!("sha256={}", sign(secret, &timestamp, body.as_bytes())),
            );
        }
        let mut response = request
            .send(body.as_bytes())
            .map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let mut head = Vec::new();
        // Best effort: the status is the failure, the body only explains it.
        let _ = response
            .body_mut()
            .as_reader()
            .take(BODY_SNIPPET as u64)
            .read_to_end(&mut head);
        Err(NotifyError::Status {
            channel: self.channel.clone(),
            origin: self.origin.clone(),
            status: status.as_u16(),
            body: snippet(&head, BODY_SNIPPET),
        })
    }
}

/// Lowercase hex of HMAC-SHA256(secret, "<timestamp>.<body>").
fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    // HMAC takes a key of any length, so this never fails.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `scheme://host:port/` of an absolute http(s) URL: all of a URL that may be shown. The rest,
/// (a Slack URL's path, a token in a query, credentials before the host) can be a secret.
pub(super) fn origin(url: &str) -> Result<String, String> {
    let invalid = || "`url` is not an absolute http:// or https:// URL".to_string();
    let uri: Uri = url.parse().map_err(|_| invalid())?;
    let scheme = uri.scheme_str().ok_or_else(invalid)?;
    let default_port = match scheme {
        "http" => 80,
        "https" => 443,
        _ => return Err(invalid()),
    };
    let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(invalid)?;
    let port = uri.port_u16().unwrap_or(default_port);
    Ok(format!("{scheme}://{host}:{port}/"))
}

/// Refuses header names or values that are not valid HTTP, and headers cairn sets itself.
pub(super) fn check_headers(headers: &BTreeMap<String, String>) -> Result<(), String> {
    for (name, value) in headers {
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(format!("header name {name:?} is not valid HTTP"));
        }
        if RESERVED.iter().any(|r| name.eq_ignore_ascii_case(r)) {
            return Err(format!("header {name:?} is set by cairn"));
        }
        // The value may be a secret: not quoted.
        if HeaderValue::from_str(value).is_err() {
            return Err(format!("the value of header {name:?} is not valid HTTP"));
        }
    }
    Ok(())
}

/// Removes from an error text anything of `url` beyond its origin, should a library quote it.
fn redact(text: &str, url: &str) -> String {
    let mut text = text.replace(url, "<url>");
    if let Ok(uri) = url.parse::<Uri>()
        && let Some(path) = uri.path_and_query()
        && path.as_str().len() > 1
    {
        text = text.replace(path.as_str(), "/<redacted>");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(
            origin("https://hooks.slack.com/services/T0/B0/xyz").unwrap(),
            "https://hooks.slack.com:443/"
        );
        assert_eq!(
            origin("http://user:pw@127.0.0.1:8080/hook?token=t").unwrap(),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(origin("http://[::1]/x").unwrap(), "http://[::1]:80/");
        for bad in [
            "",
            "/relative",
            "ftp://host/",
            "hooks.slack.com/x",
            "http://",
        ] {
            assert!(origin(bad).is_err(), "{bad}");
        }
        let err = origin("ftp://host/secret-token").unwrap_err();
        assert!(!err.contains("secret-token"), "{err}");
    }

    #[test]
    fn signature_covers_timestamp_and_body() {
        // HMAC-SHA256("key", "1700000000.{}"), computed independently with Python's hmac.
        assert_eq!(
            sign(b"key", "1700000000", b"{}"),
            "9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }

    #[test]
    fn redaction() {
        let url = "https://hooks.slack.com/services/T0/B0/secret";
        assert_eq!(
            redact(&format!("bad thing at {url}"), url),
            "bad thing at <url>"
        );
        assert_eq!(
            redact("GET /services/T0/B0/secret failed", url),
            "GET /<redacted> failed"
        );
    }
}
