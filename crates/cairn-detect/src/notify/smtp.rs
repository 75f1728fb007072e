//! E-mail through an SMTP server: STARTTLS required by default, implicit TLS on request, plain
//! only when both are turned off.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{SmtpTransport, Transport};

use super::config::ChannelKind;
use super::{Message, Notifier, NotifyError, error_chain};

/// Sends each alert as a text/plain e-mail.
pub(super) struct SmtpSender {
    channel: String,
    /// `host:port`, for errors.
    server: String,
    transport: SmtpTransport,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl SmtpSender {
    /// Builds the transport: parses the addresses, loads `ca_file`, reads the password from the
    /// variable `password_env` names. Connects to nothing yet.
    pub(super) fn build(
        channel: &str,
        kind: &ChannelKind,
        timeout: Duration,
    ) -> Result<SmtpSender, NotifyError> {
        let fail = |reason: String| NotifyError::Config {
            channel: channel.to_string(),
            reason,
        };
        let ChannelKind::Smtp {
            host,
            port,
            starttls,
            tls,
            username,
            password_env,
            from,
            to,
            ca_file,
        } = kind
        else {
            return Err(fail("not an SMTP channel".into()));
        };
        let mailbox = |field: &str, address: &str| {
            address.parse::<Mailbox>().map_err(|e| {
                fail(format!(
                    "`{field}` {address:?} is not an e-mail address: {e}"
                ))
            })
        };
        let from = mailbox("from", from)?;
        let to = to
            .iter()
            .map(|address| mailbox("to", address))
            .collect::<Result<Vec<_>, _>>()?;

        let port = port.unwrap_or(match (tls, starttls) {
            (true, _) => 465,
            (false, true) => 587,
            (false, false) => 25,
        });
        let security = if *tls || *starttls {
            let mut parameters = TlsParameters::builder(host.clone());
            if let Some(path) = ca_file {
                let pem = std::fs::read(path)
                    .map_err(|e| fail(format!("`ca_file` {}: {e}", path.display())))?;
                let certificate = Certificate::from_pem(&pem).map_err(|e| {
                    fail(format!(
                        "`ca_file` {}: not a PEM certificate: {}",
                        path.display(),
                        error_chain(&e)
                    ))
                })?;
                parameters = parameters.add_root_certificate(certificate);
            }
            let parameters = parameters
                .build_rustls()
                .map_err(|e| fail(format!("TLS settings: {}", error_chain(&e))))?;
            if *tls {
                Tls::Wrapper(parameters)
            } else {
                Tls::Required(parameters)
            }
        } else {
            Tls::None
        };
        let mut builder = SmtpTransport::builder_dangerous(host.as_str())
            .port(port)
            .tls(security)
            .timeout(Some(timeout));
        if let (Some(username), Some(var)) = (username, password_env) {
            let password = std::env::var(var).map_err(|_| {
                fail(format!(
                    "environment variable {var} (the SMTP password) is not set"
                ))
            })?;
            builder = builder.credentials(Credentials::new(username.clone(), password));
        }
        Ok(SmtpSender {
            channel: channel.to_string(),
            server: format!("{host}:{port}"),
            transport: builder.build(),
            from,
            to,
        })
    }

    fn fail(&self, reason: String) -> NotifyError {
        NotifyError::Smtp {
            channel: self.channel.clone(),
            server: self.server.clone(),
            reason,
        }
    }
}

impl Notifier for SmtpSender {
    fn send(&self, message: &Message<'_>) -> Result<(), NotifyError> {
        let mut email = lettre::Message::builder()
            .from(self.from.clone())
            .subject(message.rendered.subject.clone())
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            email = email.to(to.clone());
        }
        let email = email
            .body(message.rendered.text.clone())
            .map_err(|e| self.fail(format!("building the message: {}", error_chain(&e))))?;
        self.transport
            .send(&email)
            .map_err(|e| self.fail(error_chain(&e)))?;
        Ok(())
    }
}
