//! Turning an alert into words a person can act on: a subject line and a plain-text body, and
//! the same body in Slack's mrkdwn.

use serde::Serialize;

use crate::alert::{Alert, AlertKind};

/// An alert in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    /// One line: `[HIGH] <rule title>: <principal> <event name> in <account>/<region>`.
    pub subject: String,
    /// Plain text: the summary, then who, what, where, when, the rule, and how to see the events.
    pub text: String,
}

/// Renders `alert`. `show` tells the reader how to see its events: a command such as
/// `cairn alerts show <id>`, or a URL.
///
/// ```text
/// [HIGH] Console login without MFA
/// alice signed in to the console without MFA from 203.0.113.9
///
/// Who:    arn:aws:iam::123456789012:user/alice
/// What:   ConsoleLogin
/// Where:  account 123456789012, region us-east-1, source IP 203.0.113.9
/// When:   2025-03-01T10:00:00Z to 2025-03-01T10:05:00Z (3 events)
/// Rule:   0f6a4b1c-7f2e-4b8e-9a11-c1d2e3f4a5b6 (detection)
/// Tags:   attack.initial_access, attack.t1078
/// Alert:  4c1f…
/// Events: cairn alerts show 4c1f…
/// ```
pub fn render(alert: &Alert, show: &str) -> Rendered {
    let mut text = format!("{}\n{}\n\n", headline(alert), one_line(&alert.summary));
    for (label, value) in fields(alert, show) {
        text.push_str(&format!("{:<8}{value}\n", format!("{label}:")));
    }
    Rendered {
        subject: subject(alert),
        text,
    }
}

/// The body for a Slack incoming webhook: a bold headline, the summary, then the fields, with
/// Slack's three special characters escaped.
pub(super) fn slack_text(alert: &Alert, show: &str) -> String {
    let mut text = format!(
        "*{}*\n{}\n",
        slack_escape(&headline(alert)),
        slack_escape(&one_line(&alert.summary))
    );
    for (label, value) in fields(alert, show) {
        let value = if label == "Events" && !is_url(&value) {
            // A command: shown as code so it can be copied as it is.
            format!("`{}`", slack_escape(&value))
        } else {
            slack_escape(&value)
        };
        text.push_str(&format!("*{label}:* {value}\n"));
    }
    text
}

/// `[HIGH] <rule title>`, or `[RESOLVED] <rule title>` for a monitor that recovered.
fn headline(alert: &Alert) -> String {
    let tag = match alert.kind {
        AlertKind::MonitorResolved => "RESOLVED".to_string(),
        _ => alert.severity.as_str().to_ascii_uppercase(),
    };
    format!("[{tag}] {}", one_line(&alert.rule))
}

fn subject(alert: &Alert) -> String {
    let mut subject = headline(alert);
    let what: Vec<&str> = [&alert.principal, &alert.event_name]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    if !what.is_empty() {
        subject.push_str(": ");
        subject.push_str(&one_line(&what.join(" ")));
    }
    if alert.account.is_some() || alert.region.is_some() {
        subject.push_str(&format!(
            " in {}/{}",
            one_line(alert.account.as_deref().unwrap_or("-")),
            one_line(alert.region.as_deref().unwrap_or("-"))
        ));
    }
    subject
}

/// The labelled lines of the body, those the alert has.
fn fields(alert: &Alert, show: &str) -> Vec<(&'static str, String)> {
    let mut fields = Vec::new();
    if let Some(principal) = &alert.principal {
        fields.push(("Who", one_line(principal)));
    }
    if let Some(event_name) = &alert.event_name {
        fields.push(("What", one_line(event_name)));
    }
    let place: Vec<String> = [
        ("account", &alert.account),
        ("region", &alert.region),
        ("source IP", &alert.source_ip),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name} {}", one_line(v))))
    .collect();
    if !place.is_empty() {
        fields.push(("Where", place.join(", ")));
    }
    let span = if alert.first_seen == alert.last_seen {
        one_line(&alert.first_seen)
    } else {
        format!(
            "{} to {}",
            one_line(&alert.first_seen),
            one_line(&alert.last_seen)
        )
    };
    let events = if alert.count == 1 { "event" } else { "events" };
    fields.push(("When", format!("{span} ({} {events})", alert.count)));
    let kind = match alert.kind {
        AlertKind::Detection => "detection",
        AlertKind::Correlation => "correlation",
        AlertKind::MonitorFiring => "monitor firing",
        AlertKind::MonitorResolved => "monitor resolved",
    };
    fields.push(("Rule", format!("{} ({kind})", one_line(&alert.rule_id))));
    if !alert.tags.is_empty() {
        fields.push(("Tags", one_line(&alert.tags.join(", "))));
    }
    if !alert.group.is_empty() {
        let group: Vec<String> = alert
            .group
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        fields.push(("Group", one_line(&group.join(", "))));
    }
    fields.push(("Alert", one_line(&alert.id)));
    fields.push(("Events", one_line(show)));
    fields
}

/// Control characters (a newline in a principal name, say) become spaces, so that every value
/// stays on its line and no header can be smuggled into an e-mail subject.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn is_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Severity;
    use crate::notify::tests::alert;

    #[test]
    fn subject_and_text() {
        let r = render(&alert("4c1f"), "cairn alerts show 4c1f");
        assert_eq!(
            r.subject,
            "[HIGH] Console login without MFA: arn:aws:iam::123456789012:user/alice \
             ConsoleLogin in 123456789012/us-east-1"
        );
        let want = "\
[HIGH] Console login without MFA
alice signed in to the console without MFA from 203.0.113.9

Who:    arn:aws:iam::123456789012:user/alice
What:   ConsoleLogin
Where:  account 123456789012, region us-east-1, source IP 203.0.113.9
When:   2025-03-01T10:00:00Z to 2025-03-01T10:05:00Z (3 events)
Rule:   0f6a4b1c-7f2e-4b8e-9a11-c1d2e3f4a5b6 (detection)
Tags:   attack.initial_access, attack.t1078
Alert:  4c1f
Events: cairn alerts show 4c1f
";
        assert_eq!(r.text, want);
    }

    #[test]
    fn sparse_alert() {
        let mut a = alert("m1");
        a.kind = AlertKind::MonitorFiring;
        a.severity = Severity::Medium;
        a.rule = "No CloudTrail events".into();
        a.principal = None;
        a.event_name = None;
        a.source_ip = None;
        a.region = None;
        a.tags.clear();
        a.count = 1;
        a.last_seen = a.first_seen.clone();
        a.group = vec![("recipientAccountId".into(), "123456789012".into())];
        let r = render(&a, "https://cairn.example.com/alerts/m1");
        assert_eq!(r.subject, "[MEDIUM] No CloudTrail events in 123456789012/-");
        assert!(
            r.text.contains("Where:  account 123456789012\n"),
            "{}",
            r.text
        );
        assert!(r.text.contains("When:   2025-03-01T10:00:00Z (1 event)\n"));
        assert!(r.text.contains("Group:  recipientAccountId=123456789012\n"));
        assert!(!r.text.contains("Who:"));
        a.kind = AlertKind::MonitorResolved;
        assert!(render(&a, "x").subject.starts_with("[RESOLVED] "));
    }

    #[test]
    fn values_stay_on_their_line() {
        let mut a = alert("x");
        a.principal = Some("evil\r\nBcc: victim@example.com".into());
        let r = render(&a, "show");
        assert!(!r.subject.contains('\n') && !r.subject.contains('\r'));
        assert!(r.text.contains("Who:    evil  Bcc: victim@example.com\n"));
    }

    #[test]
    fn slack_markup() {
        let mut a = alert("x");
        a.summary = "<script> & co".into();
        let text = slack_text(&a, "cairn alerts show x");
        assert!(text.starts_with("*[HIGH] Console login without MFA*\n&lt;script&gt; &amp; co\n"));
        assert!(text.contains("*Where:* account 123456789012, region us-east-1"));
        assert!(text.contains("*Events:* `cairn alerts show x`"));
        let text = slack_text(&a, "https://cairn.example.com/a/x");
        assert!(text.contains("*Events:* https://cairn.example.com/a/x"));
    }
}
