//! What an outbox delivery of the hidden `email` webhook becomes: the event names the request
//! (a user's verification or reset, an invitation); the message is built at send time from the
//! request's current row, so a request asked again or already used is not sent twice, and the
//! link is signed then (`link.rs`) with the nonce the row keeps.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::ids::UserId;
use crate::lookup::{email_request_key, load_org};
use crate::model::{
    EmailRequest, EmailRequestKind, EmailTemplateRecord, InvitationStatus, SubOrg,
    SubOrgInvitation, SubOrgRole, User, WebhookDelivery, sub_org_key,
};
use crate::tables::{OrgReader, Table};

use super::link::{LinkPurpose, LinkToken};
use super::smtp::Outgoing;
use crate::email_templates::{self as template, TemplateKind};

/// Why a delivery has nothing to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compose {
    Send(Box<Outgoing>),
    /// Nothing to send (asked again since, already used, or gone): the delivery is done.
    Skip(String),
    /// It can never be sent (the delivery is dead-lettered at once).
    Refuse(String),
}

/// Signs a link's message (the runtime's `link_tag`, bound to the org).
pub type Signer<'a> = &'a dyn Fn(&str) -> Result<[u8; 32]>;

/// The template an org sends for `kind`: its active custom one, else the default.
pub fn template_of(reader: &OrgReader, kind: &TemplateKind) -> Result<(String, String)> {
    let custom: Option<EmailTemplateRecord> =
        reader.get(Table::EmailTemplate, kind.name.as_bytes())?;
    Ok(match custom.filter(|t| t.is_active) {
        Some(t) => (t.subject, t.body_html),
        None => (
            kind.default_subject.to_string(),
            kind.default_html.to_string(),
        ),
    })
}

/// "24 hours", "15 minutes".
pub fn in_words(ms: i64) -> String {
    let minutes = (ms / 60_000).max(1);
    let (n, unit) = if minutes % (24 * 60) == 0 {
        (minutes / (24 * 60), "day")
    } else if minutes % 60 == 0 {
        (minutes / 60, "hour")
    } else {
        (minutes, "minute")
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// Builds delivery `delivery`'s message, if it still has one.
pub fn compose(
    reader: &OrgReader,
    delivery: &WebhookDelivery,
    domain: &str,
    sign: Signer,
) -> Result<Compose> {
    let data = &delivery.payload["data"];
    let (kind, purpose, template) = match delivery.event_name.as_str() {
        "user.verification_email.requested" => (
            EmailRequestKind::VerifyEmail,
            LinkPurpose::VerifyEmail,
            template::VERIFICATION,
        ),
        "user.password_reset.requested" => (
            EmailRequestKind::PasswordReset,
            LinkPurpose::PasswordReset,
            template::PASSWORD_RESET,
        ),
        "user.magic_link.requested" => (
            EmailRequestKind::MagicLink,
            LinkPurpose::MagicLink,
            template::MAGIC_LINK,
        ),
        "organization.invitation.created" | "organization.invitation.resent" => {
            return invitation(reader, delivery, domain, sign);
        }
        other => return Ok(Compose::Refuse(format!("{other} is not an email event"))),
    };
    let Some(user_id) = data["object"]["id"]
        .as_str()
        .and_then(|id| id.parse::<UserId>().ok())
    else {
        return Ok(Compose::Refuse("the event names no user".into()));
    };
    let Some(request) =
        reader.get::<EmailRequest>(Table::EmailRequest, &email_request_key(user_id, kind))?
    else {
        return Ok(Compose::Skip("already used, or the user is gone".into()));
    };
    let asked_at = data["newValue"]["requestedAt"].as_i64();
    if asked_at.is_some_and(|at| at != request.requested_at.0) {
        return Ok(Compose::Skip(
            "asked again since; the newer request sends".into(),
        ));
    }
    let Some(issuer) = &request.issuer else {
        return Ok(Compose::Refuse(
            "recorded before emails were sent; ask again".into(),
        ));
    };
    let Some(user) = reader.get::<User>(Table::User, &user_id.to_bytes())? else {
        return Ok(Compose::Skip("the user is gone".into()));
    };
    let token = LinkToken {
        purpose,
        subject: user_id.to_string(),
        nonce: request.token_hash.clone(),
        expires_at: request.expires_at,
    };
    let page = match kind {
        EmailRequestKind::VerifyEmail => "verify-email",
        EmailRequestKind::PasswordReset => "reset-password",
        EmailRequestKind::MagicLink => "magic-link",
    };
    let url = format!(
        "{issuer}/oauth/{page}?token={}",
        token.encode(&sign(&token.message())?)
    );
    let org = load_org(reader)?;
    let mut values = BTreeMap::new();
    values.insert("org_name".to_string(), org.name.clone());
    values.insert(
        "expires_in".to_string(),
        in_words(request.expires_at.0 - request.requested_at.0),
    );
    values.insert(
        "user_name".to_string(),
        user.name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(user.email.clone()),
    );
    values.insert("user_email".to_string(), user.email.clone());
    let link_name = match kind {
        EmailRequestKind::VerifyEmail => "verification_url",
        EmailRequestKind::PasswordReset => "reset_url",
        EmailRequestKind::MagicLink => "login_url",
    };
    values.insert(link_name.to_string(), url);
    message(
        reader,
        &template,
        &values,
        &user.email,
        message_id(delivery, domain),
    )
}

/// The `Message-ID` of a delivery's email: the same for every retry, so a receiver can drop a
/// repeat.
fn message_id(delivery: &WebhookDelivery, domain: &str) -> String {
    format!("{}@{domain}", delivery.event_id)
}

/// Renders `template` with `values` into the message to `to`.
pub fn message(
    reader: &OrgReader,
    template: &TemplateKind,
    values: &BTreeMap<String, String>,
    to: &str,
    message_id: String,
) -> Result<Compose> {
    let (subject, body) = template_of(reader, template)?;
    let rendered = match template::render(&subject, &body, values) {
        Ok(r) => r,
        Err(e) => {
            return Ok(Compose::Refuse(format!(
                "the {} template: {e}",
                template.name
            )));
        }
    };
    Ok(Compose::Send(Box::new(Outgoing {
        to: to.to_string(),
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
        message_id,
    })))
}

/// An invitation's email, if the invitation is still pending and this is its latest sending.
fn invitation(
    reader: &OrgReader,
    delivery: &WebhookDelivery,
    domain: &str,
    sign: Signer,
) -> Result<Compose> {
    let data = &delivery.payload["data"];
    let Some((org_id, id)) = data["object"]["id"]
        .as_str()
        .and_then(|s| s.rsplit_once('-'))
        .and_then(|(org, id)| Some((org.to_string(), id.parse::<u64>().ok()?)))
    else {
        return Ok(Compose::Refuse("the event names no invitation".into()));
    };
    let Some(invitation) = reader.get::<SubOrgInvitation>(
        Table::SubOrgInvitation,
        &sub_org_key(&org_id, &id.to_be_bytes()),
    )?
    else {
        return Ok(Compose::Skip("the invitation is gone".into()));
    };
    if invitation.status != InvitationStatus::Pending {
        return Ok(Compose::Skip("the invitation is no longer pending".into()));
    }
    if data["newValue"]["sentAt"].as_i64() != Some(invitation.sent_at.0) {
        return Ok(Compose::Skip(
            "sent again since; the newer email goes".into(),
        ));
    }
    let Some(org) = reader.get::<SubOrg>(Table::SubOrg, org_id.as_bytes())? else {
        return Ok(Compose::Skip("the organization is gone".into()));
    };
    let role: Option<SubOrgRole> = reader.get(
        Table::SubOrgRole,
        &sub_org_key(&org_id, &invitation.role_id.to_be_bytes()),
    )?;
    let token = LinkToken {
        purpose: LinkPurpose::Invitation,
        subject: format!("{org_id}-{id}"),
        nonce: invitation.nonce.clone(),
        expires_at: invitation.expires_at,
    };
    let url = format!(
        "{}/oauth/invitation?token={}",
        invitation.issuer,
        token.encode(&sign(&token.message())?)
    );
    let tenant = load_org(reader)?;
    let mut values = BTreeMap::new();
    values.insert("org_name".to_string(), tenant.name);
    values.insert(
        "expires_in".to_string(),
        in_words(invitation.expires_at.0 - invitation.sent_at.0),
    );
    values.insert("invitee_email".to_string(), invitation.email.clone());
    values.insert(
        "organization_name".to_string(),
        org.display_name.clone().unwrap_or(org.name.clone()),
    );
    values.insert(
        "inviter_name".to_string(),
        invitation
            .invited_by
            .clone()
            .unwrap_or_else(|| "An administrator".to_string()),
    );
    values.insert(
        "role_name".to_string(),
        role.map_or_else(|| "member".to_string(), |r| r.name),
    );
    values.insert("accept_url".to_string(), url);
    message(
        reader,
        &template::INVITATION,
        &values,
        &invitation.email,
        message_id(delivery, domain),
    )
}
