//! Email delivery in `apply`: the email settings' rules and the hidden `email` webhook they
//! keep in step, email requests and the use of their links, the dispatcher's record of a
//! round, and custom templates.

use serde_json::{Value, json};

use crate::clock::Timestamp;
use crate::command::{CommandMeta, EmailWrite, UserKey, WebhookAttempt};
use crate::email_templates::{self, TemplateKind};
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::lookup::{self, email_request_key};
use crate::model::{
    AuditEvent, EMAIL_EVENTS, EMAIL_KIND, EmailRequest, EmailRequestKind, EmailTemplateRecord,
};
use crate::query::Outcome;
use crate::settings::{SettingsSection, render};
use crate::tables::{OrgTx, Table};

use super::Applied;

/// Attempts per email before it is dead-lettered (the backoff caps at an hour).
const MAX_ATTEMPTS: u64 = 12;

pub(super) fn apply(tx: &mut OrgTx, meta: &CommandMeta, write: &EmailWrite) -> Result<Applied> {
    match write {
        EmailWrite::Request {
            user,
            kind,
            nonce,
            expires_at,
            issuer,
        } => super::users::request_email(tx, meta, user, *kind, nonce, *expires_at, Some(issuer)),
        EmailWrite::UseLink {
            user,
            kind,
            nonce,
            password_hash,
        } => use_link(tx, meta, *user, *kind, nonce, password_hash.as_deref()),
        EmailWrite::RecordAttempts { attempts, give_up } => record_attempts(tx, attempts, give_up),
        EmailWrite::PutTemplate {
            kind,
            subject,
            body_html,
            is_active,
        } => put_template(tx, meta, kind, subject, body_html, *is_active),
        EmailWrite::DeleteTemplate { kind } => delete_template(tx, kind),
        EmailWrite::RequestMagicLink {
            user,
            nonce,
            expires_at,
            issuer,
            continue_query,
        } => {
            let applied = super::users::request_email(
                tx,
                meta,
                user,
                EmailRequestKind::MagicLink,
                nonce,
                *expires_at,
                Some(issuer),
            )?;
            let user = lookup::user(tx, user)?;
            let key = email_request_key(user.id, EmailRequestKind::MagicLink);
            if let Some(mut request) = tx.get::<EmailRequest>(Table::EmailRequest, &key)? {
                request.continue_query = Some(continue_query.clone());
                tx.put(Table::EmailRequest, &key, &request)?;
            }
            Ok(applied)
        }
    }
}

/// Records a round of sends, and the last one's outcome in the settings' `last_delivery_*`.
fn record_attempts(
    tx: &mut OrgTx,
    attempts: &[WebhookAttempt],
    give_up: &[u64],
) -> Result<Applied> {
    let applied = super::webhooks::record_attempts(tx, attempts, give_up)?;
    let Some(last) = attempts.last() else {
        return Ok(applied);
    };
    let status = match (last.succeeded(), last.status_code) {
        (true, Some(_)) => "sent",
        (true, None) => "skipped",
        (false, _) if give_up.contains(&last.seq) => "refused",
        (false, _) => "retrying",
    };
    let key = SettingsSection::Email.as_str().as_bytes();
    let mut stored: Value = tx.get(Table::Settings, key)?.unwrap_or_else(|| json!({}));
    if let Value::Object(map) = &mut stored {
        map.insert("last_delivery_at".into(), json!(last.at.to_rfc3339()));
        map.insert("last_delivery_status".into(), json!(status));
        map.insert("last_delivery_error".into(), json!(last.error));
        tx.put(Table::Settings, key, &stored)?;
    }
    Ok(applied)
}

fn present(doc: &Value, field: &str) -> bool {
    doc[field].as_str().is_some_and(|s| !s.trim().is_empty())
}

/// Refuses email settings that could not work: sending switched on without SMTP's host or
/// sender address, or with a provider this server cannot call.
pub(super) fn check_settings(stored: &Value) -> Result<()> {
    let doc = render(SettingsSection::Email, Some(stored));
    if doc["enabled"] != Value::Bool(true) {
        return Ok(());
    }
    match doc["provider"].as_str().unwrap_or("none") {
        "smtp" => {}
        "none" => return Ok(()),
        other => {
            return Err(ClusterError::NotImplemented {
                message: format!(
                    "the {other} email provider is not built; use provider smtp (every one of these services offers an SMTP relay)"
                ),
            });
        }
    }
    for field in ["smtp_host", "from_email"] {
        if !present(&doc, field) {
            return Err(ClusterError::invalid(
                field,
                "is required when email is enabled with provider smtp",
            ));
        }
    }
    if doc["smtp_username"].as_str().is_some_and(|u| !u.is_empty())
        && doc["smtp_password"]["configured"] != Value::Bool(true)
    {
        return Err(ClusterError::invalid(
            "smtp_password",
            "is required when smtp_username is set",
        ));
    }
    Ok(())
}

/// Keeps the hidden `email` webhook in step with the saved settings.
pub(super) fn sync_webhook(tx: &mut OrgTx, at: Timestamp, stored: &Value) -> Result<()> {
    let doc = render(SettingsSection::Email, Some(stored));
    let carrier = super::webhooks::HiddenWebhook {
        kind: EMAIL_KIND,
        active: crate::settings::email_sends(&doc),
        url: format!(
            "smtp://{}:{}",
            doc["smtp_host"].as_str().unwrap_or_default(),
            doc["smtp_port"].as_u64().unwrap_or(0)
        ),
        events: EMAIL_EVENTS.iter().map(|e| e.to_string()).collect(),
        max_attempts: MAX_ATTEMPTS,
    };
    super::webhooks::keep_hidden(tx, at, carrier)
}

/// True when two nonces are the same (constant time).
fn same_nonce(given: &str, kept: &str) -> bool {
    use subtle::ConstantTimeEq;
    given.len() == kept.len() && bool::from(given.as_bytes().ct_eq(kept.as_bytes()))
}

fn link_refused(problem: &str) -> ClusterError {
    ClusterError::invalid("token", problem)
}

/// Uses an emailed link: the row must still hold `nonce` and not have expired.
fn use_link(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    user: UserId,
    kind: EmailRequestKind,
    nonce: &str,
    password_hash: Option<&str>,
) -> Result<Applied> {
    let key = email_request_key(user, kind);
    let request: EmailRequest = tx
        .get(Table::EmailRequest, &key)?
        .filter(|r: &EmailRequest| same_nonce(nonce, &r.token_hash))
        .ok_or_else(|| link_refused("this link was already used, or a newer one was sent"))?;
    if request.expires_at <= meta.at {
        return Err(link_refused("this link has expired; ask for a new one"));
    }
    let user_key = UserKey::Id(user);
    match kind {
        EmailRequestKind::VerifyEmail => super::users::mark_verified(tx, meta, &user_key),
        EmailRequestKind::PasswordReset => {
            let hash =
                password_hash.ok_or_else(|| ClusterError::invalid("password", "is required"))?;
            let mut user = lookup::user(tx, &user_key)?;
            if user.blocked || !user.is_active {
                return Err(ClusterError::conflict(
                    "token",
                    "this account is blocked or inactive",
                ));
            }
            user.password_hash = Some(hash.to_string());
            user.password_changed_at = Some(meta.at);
            user.updated_at = Some(meta.at);
            // Whoever reset the password through their inbox controls the address.
            user.email_verified = true;
            super::users::save(tx, &user)?;
            tx.delete(Table::EmailRequest, &key);
            let event = AuditEvent::new(
                "user",
                "user.password.reset",
                format!("password of {} reset through an emailed link", user.email),
            )
            .severity("warning")
            .target("user", user.id, super::users::label(&user));
            Ok((Outcome::Done, vec![event]))
        }
        EmailRequestKind::MagicLink => {
            let mut user = lookup::user(tx, &user_key)?;
            if user.blocked || !user.is_active {
                return Err(ClusterError::conflict(
                    "token",
                    "this account is blocked or inactive",
                ));
            }
            // Whoever signs in through their inbox controls the address.
            if !user.email_verified {
                user.email_verified = true;
                user.updated_at = Some(meta.at);
                super::users::save(tx, &user)?;
            }
            tx.delete(Table::EmailRequest, &key);
            let event = AuditEvent::new(
                "user",
                "user.magic_link.used",
                format!("{} opened an emailed sign-in link", user.email),
            )
            .target("user", user.id, super::users::label(&user));
            Ok((Outcome::Done, vec![event]))
        }
    }
}

fn kind_named(kind: &str) -> Result<TemplateKind> {
    TemplateKind::named(kind).ok_or_else(|| ClusterError::NotFound {
        resource: "email template".into(),
        id: kind.to_string(),
    })
}

fn put_template(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    kind: &str,
    subject: &str,
    body_html: &str,
    is_active: bool,
) -> Result<Applied> {
    let template = kind_named(kind)?;
    email_templates::check(&template, subject, body_html)?;
    let old: Option<EmailTemplateRecord> = tx.get(Table::EmailTemplate, kind.as_bytes())?;
    let record = EmailTemplateRecord {
        kind: kind.to_string(),
        subject: subject.to_string(),
        body_html: body_html.to_string(),
        is_active,
        created_at: old.as_ref().map_or(meta.at, |o| o.created_at),
        updated_at: meta.at,
    };
    tx.put(Table::EmailTemplate, kind.as_bytes(), &record)?;
    let event = AuditEvent::new(
        "settings",
        "email_template.updated",
        format!("email template {kind} saved"),
    )
    .target("email_template", kind, kind.to_string())
    .changes(json!({
        "subject": {"from": old.as_ref().map(|o| o.subject.clone()), "to": subject},
        "isActive": {"from": old.as_ref().map(|o| o.is_active), "to": is_active},
        "bodyChanged": old.as_ref().is_none_or(|o| o.body_html != body_html),
    }));
    Ok((Outcome::Done, vec![event]))
}

fn delete_template(tx: &mut OrgTx, kind: &str) -> Result<Applied> {
    kind_named(kind)?;
    if tx
        .get::<EmailTemplateRecord>(Table::EmailTemplate, kind.as_bytes())?
        .is_none()
    {
        return Err(ClusterError::NotFound {
            resource: "custom email template".into(),
            id: kind.to_string(),
        });
    }
    tx.delete(Table::EmailTemplate, kind.as_bytes());
    let event = AuditEvent::new(
        "settings",
        "email_template.deleted",
        format!("email template {kind} reverted to the default"),
    )
    .target("email_template", kind, kind.to_string());
    Ok((Outcome::Done, vec![event]))
}
