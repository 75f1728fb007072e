//! SNS: publish each alert to a topic, with the AWS client the caller set up.

use std::time::Duration;

use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_sdk_sns::types::MessageAttributeValue;

use super::{Message, Notifier, NotifyError, error_chain};

/// What SNS channels publish with: a client built from cairn's AWS settings, and a handle to the
/// multi-thread tokio runtime that drives it (the notifier threads block on it).
#[derive(Debug, Clone)]
pub struct SnsContext {
    pub client: aws_sdk_sns::Client,
    pub handle: tokio::runtime::Handle,
}

/// SNS refuses a `Subject` of 100 characters or more.
const MAX_SUBJECT: usize = 99;

/// Publishes each alert: `Subject` the rendered subject made SNS-safe, `Message` the text, and a
/// `severity` message attribute for subscription filter policies.
pub(super) struct SnsSender {
    channel: String,
    topic_arn: String,
    context: SnsContext,
    timeout: Duration,
}

impl SnsSender {
    pub(super) fn new(
        channel: &str,
        topic_arn: &str,
        context: SnsContext,
        timeout: Duration,
    ) -> SnsSender {
        SnsSender {
            channel: channel.to_string(),
            topic_arn: topic_arn.to_string(),
            context,
            timeout,
        }
    }

    fn fail(&self, reason: String) -> NotifyError {
        NotifyError::Sns {
            channel: self.channel.clone(),
            topic_arn: self.topic_arn.clone(),
            reason,
        }
    }
}

impl Notifier for SnsSender {
    fn send(&self, message: &Message<'_>) -> Result<(), NotifyError> {
        let severity = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(message.alert.severity.as_str())
            .build()
            .map_err(|e| self.fail(e.to_string()))?;
        let publish = self
            .context
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(sns_subject(&message.rendered.subject))
            .message(&message.rendered.text)
            .message_attributes("severity", severity)
            .send();
        let timeout = self.timeout;
        match self
            .context
            .handle
            .block_on(async move { tokio::time::timeout(timeout, publish).await })
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(self.fail(match e.as_service_error() {
                // SNS's own words, such as `NotFound: Topic does not exist`.
                Some(refusal) => format!(
                    "{}: {}",
                    refusal.code().unwrap_or("error"),
                    refusal.message().unwrap_or("no message")
                ),
                None => error_chain(&e),
            })),
            Err(_) => Err(self.fail(format!("no answer within {} s", timeout.as_secs()))),
        }
    }
}

/// SNS takes a subject of printable ASCII shorter than 100 characters: anything else becomes
/// `?`, and a long subject is cut with `...`.
fn sns_subject(subject: &str) -> String {
    let mut out: String = subject
        .chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect();
    if out.len() > MAX_SUBJECT {
        out.truncate(MAX_SUBJECT - 3);
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_fit_sns() {
        assert_eq!(sns_subject("[HIGH] Login"), "[HIGH] Login");
        assert_eq!(sns_subject("[HIGH] Café\tbar"), "[HIGH] Caf??bar");
        let long = format!("[LOW] {}", "x".repeat(200));
        let cut = sns_subject(&long);
        assert_eq!(cut.len(), 99);
        assert!(cut.ends_with("xx..."));
    }
}
