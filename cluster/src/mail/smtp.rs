//! Sending through an org's SMTP server, as its email settings say: `smtp_secure` is TLS from
//! the first byte (implicit TLS, port 465 by default); otherwise STARTTLS is used when the
//! server offers it (port 587 by default). `smtp_verify_tls` and `smtp_tls_certificate` (an
//! extra PEM root) govern certificate checks. The server's address goes through the same guard
//! as webhook receivers (public addresses only unless the operator allows private ones), and
//! the connection is made to the address checked.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::Value;

use crate::webhooks::{Attempt, TargetPolicy, resolve_host};

/// How long one message may take (connect, TLS, auth, send).
const TIMEOUT: Duration = Duration::from_secs(20);

/// Connections kept open to one server during a round (the sender sends that many at once).
pub const POOLED_CONNECTIONS: u32 = 16;

/// One email ready to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// The `Message-ID` (without brackets): the same on every attempt, so a receiver can tell
    /// a resend after an unrecorded success from a new message.
    pub message_id: String,
}

/// The SMTP part of an org's email settings.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    host: String,
    port: u16,
    implicit_tls: bool,
    verify_tls: bool,
    extra_root_pem: Option<String>,
    username: Option<String>,
    from: Mailbox,
    reply_to: Option<Mailbox>,
}

fn text(doc: &Value, name: &str) -> Option<String> {
    doc[name]
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl SmtpSettings {
    /// Reads the rendered email section; `Err` says what is missing.
    pub fn from_settings(doc: &Value) -> Result<SmtpSettings, String> {
        let host = text(doc, "smtp_host").ok_or("smtp_host is not set")?;
        let implicit_tls = doc["smtp_secure"] != Value::Bool(false);
        let port = doc["smtp_port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(if implicit_tls { 465 } else { 587 });
        let address = text(doc, "from_email").ok_or("from_email is not set")?;
        let from = match text(doc, "from_name") {
            Some(name) => format!("{name} <{address}>"),
            None => address,
        };
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("from_email is not a usable sender address ({e})"))?;
        let reply_to = match text(doc, "reply_to") {
            Some(r) => Some(
                r.parse()
                    .map_err(|e| format!("reply_to is not an address ({e})"))?,
            ),
            None => None,
        };
        Ok(SmtpSettings {
            host,
            port,
            implicit_tls,
            verify_tls: doc["smtp_verify_tls"] != Value::Bool(false),
            extra_root_pem: text(doc, "smtp_tls_certificate"),
            username: text(doc, "smtp_username"),
            from,
            reply_to,
        })
    }

    /// The sender's domain (for `Message-ID`s).
    pub fn domain(&self) -> &str {
        self.from.email.domain()
    }
}

/// A connection pool to one org's SMTP server for one round of sends.
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    settings: SmtpSettings,
}

impl SmtpSender {
    /// Checks the server's address and prepares the client (connections open on first send).
    pub async fn new(
        settings: SmtpSettings,
        password: Option<String>,
        policy: TargetPolicy,
    ) -> Result<SmtpSender, String> {
        let address = resolve_host(&settings.host, settings.port, policy).await?;
        let mut tls = TlsParameters::builder(settings.host.clone())
            .dangerous_accept_invalid_certs(!settings.verify_tls)
            .dangerous_accept_invalid_hostnames(!settings.verify_tls);
        if let Some(pem) = &settings.extra_root_pem {
            let root = Certificate::from_pem(pem.as_bytes())
                .map_err(|e| format!("smtp_tls_certificate is not a PEM certificate ({e})"))?;
            tls = tls.add_root_certificate(root);
        }
        let tls = tls.build_rustls().map_err(|e| format!("TLS setup: {e}"))?;
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(address.ip().to_string())
                .port(address.port())
                .timeout(Some(TIMEOUT))
                .pool_config(PoolConfig::new().max_size(POOLED_CONNECTIONS))
                .tls(if settings.implicit_tls {
                    Tls::Wrapper(tls)
                } else {
                    Tls::Opportunistic(tls)
                });
        if let Some(user) = &settings.username {
            let password = password.ok_or("smtp_password is not set (a value saved before secrets were sealed must be set again)")?;
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(SmtpSender {
            transport: builder.build(),
            settings,
        })
    }

    fn message(&self, mail: &Outgoing) -> Result<Message, String> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| format!("{} is not a deliverable address ({e})", mail.to))?;
        let mut builder = Message::builder()
            .from(self.settings.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(format!("<{}>", mail.message_id)));
        if let Some(reply_to) = &self.settings.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| format!("building the message: {e}"))
    }

    /// Sends one message; the attempt carries the server's reply code.
    pub async fn send(&self, mail: &Outgoing) -> SmtpAttempt {
        let message = match self.message(mail) {
            Ok(m) => m,
            Err(why) => return SmtpAttempt::permanent(why),
        };
        // The transport's timeout covers connecting; this covers a server that stops answering
        // mid-dialogue, so a stuck server cannot hold the org's outbox.
        let sent = match tokio::time::timeout(TIMEOUT, self.transport.send(message)).await {
            Ok(sent) => sent,
            Err(_) => {
                return SmtpAttempt::transient(format!(
                    "smtp: no answer within {} s",
                    TIMEOUT.as_secs()
                ));
            }
        };
        match sent {
            Ok(response) => SmtpAttempt {
                attempt: Attempt {
                    status_code: Some(u16::from(response.code())),
                    response_body: Some(response.message().collect::<Vec<_>>().join(" ")),
                    error: None,
                },
                permanent: false,
            },
            Err(e) => {
                let code = e.status().map(u16::from);
                // 530-539 refuse the org's credentials or connection, not this message: the
                // operator fixes the settings and the outbox goes on.
                let settings_problem = code.is_some_and(|c| (530..540).contains(&c));
                SmtpAttempt {
                    attempt: Attempt {
                        status_code: code,
                        response_body: None,
                        error: Some(format!("smtp: {e}")),
                    },
                    permanent: e.is_permanent() && !settings_problem,
                }
            }
        }
    }
}

/// How a send ended; `permanent` when the server refused it for good (5xx), so retrying is
/// pointless.
#[derive(Debug, Clone)]
pub struct SmtpAttempt {
    pub attempt: Attempt,
    pub permanent: bool,
}

impl SmtpAttempt {
    pub fn permanent(why: String) -> SmtpAttempt {
        SmtpAttempt {
            attempt: Attempt::failed(why),
            permanent: true,
        }
    }

    pub fn transient(why: String) -> SmtpAttempt {
        SmtpAttempt {
            attempt: Attempt::failed(why),
            permanent: false,
        }
    }
}
