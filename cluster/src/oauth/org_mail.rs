//! The org's own SMTP sender, built from its email settings with the password opened under the
//! master key: the outbox's dispatcher sends linked emails through it, and the MFA code
//! emails go through it at once (a code is useless later, and is never written to the log).

use serde_json::{Value, json};

use crate::error::Result;
use crate::ids::OrgId;
use crate::mail::{SmtpSender, SmtpSettings};
use crate::settings::{SettingsSection, render, sealed_value, secret_context};
use crate::tables::{OrgReader, Table};

use super::OAuthRuntime;

/// The stored email section.
pub(crate) fn stored_email_settings(reader: &OrgReader) -> Result<Value> {
    Ok(reader
        .get(Table::Settings, SettingsSection::Email.as_str().as_bytes())?
        .unwrap_or_else(|| json!({})))
}

/// A connected-on-demand sender and the domain its `Message-ID`s are made under.
pub(crate) struct OrgSender {
    pub sender: SmtpSender,
    pub domain: String,
}

/// The org's sender from its `stored` email settings, or why there is none.
pub(crate) async fn org_sender(
    runtime: &OAuthRuntime,
    org: OrgId,
    stored: &Value,
) -> std::result::Result<OrgSender, String> {
    let doc = render(SettingsSection::Email, Some(stored));
    let password = sealed_value(stored, "smtp_password").and_then(|sealed| {
        let context = secret_context(SettingsSection::Email, "smtp_password");
        runtime
            .open_secret(org, &context, sealed)
            .ok()
            .and_then(|plain| String::from_utf8(plain).ok())
    });
    let settings = SmtpSettings::from_settings(&doc)?;
    let domain = settings.domain().to_string();
    let sender = SmtpSender::new(settings, password, runtime.webhook_targets()).await?;
    Ok(OrgSender { sender, domain })
}
