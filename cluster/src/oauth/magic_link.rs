//! Sign-in links (the hosted login's magic link, `branding.magic_link_enabled`): the login page
//! asks for one, the org's outbox emails it (`EmailWrite::RequestMagicLink`, composed like
//! every linked email), and opening it signs in and goes on with the authorization request it
//! was asked from. A link works once, expires after `branding.magic_link_expiry` seconds, and
//! leads to the second factor when the MFA policy asks for one, as after a password.

use serde_json::json;

use crate::command::{EmailWrite, Op, UserKey};
use crate::error::{ClusterError, Result};
use crate::lookup::{self, email_request_key};
use crate::model::{EmailRequest, EmailRequestKind, PrincipalKind};
use crate::protocol::{ErrorCode, ProtocolReply};
use crate::settings::SettingsSection;
use crate::tables::Table;

use super::org_settings::settings;
use super::runtime::ProtocolCtx;

/// How a sign-in by link is named in sessions and the audit log (`amr` `email`).
pub(crate) const MAGIC_LINK_METHOD: &str = "magic_link";

/// Longest authorization request a link keeps.
const MAX_CARRIED_BYTES: usize = 8 * 1024;

/// Whether the org's login offers sign-in links, and whether only them.
pub(crate) fn offered(branding: &serde_json::Value) -> (bool, bool) {
    let enabled = branding["magic_link_enabled"].as_bool() == Some(true);
    (
        enabled,
        enabled && branding["magic_link_only"].as_bool() == Some(true),
    )
}

pub(super) async fn request(
    ctx: &ProtocolCtx,
    email: &str,
    issuer: String,
    carried: &[(String, String)],
) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let branding = settings(&reader, SettingsSection::Branding)?;
    if !offered(&branding).0 {
        return Err(ClusterError::oauth(
            ErrorCode::AccessDenied,
            "sign-in links are off for this organization",
        ));
    }
    if !crate::settings::email_sends(&settings(&reader, SettingsSection::Email)?) {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidRequest,
            "this organization sends no email yet; sign in with a password",
        ));
    }
    let continue_query = serde_json::to_string(carried)
        .map_err(|e| ClusterError::internal(format!("carried request: {e}")))?;
    if continue_query.len() > MAX_CARRIED_BYTES {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidRequest,
            "the authorization request is too long",
        ));
    }
    // The same answer whether or not the address has an account: the page never tells.
    let sent = json!({"email": email});
    let user = match lookup::user(&reader, &UserKey::Email(email.trim().to_lowercase())) {
        Ok(user) if user.is_active && !user.blocked => user,
        Ok(_) | Err(ClusterError::NotFound { .. }) => return Ok(ProtocolReply::Document(sent)),
        Err(e) => return Err(e),
    };
    let lifetime = branding["magic_link_expiry"].as_i64().unwrap_or(900);
    let op = Op::Email(EmailWrite::RequestMagicLink {
        user: UserKey::Id(user.id),
        nonce: crate::mail::link::new_nonce(),
        expires_at: ctx.now.plus_millis(lifetime * 1000),
        issuer,
        continue_query,
    });
    let actor = PrincipalKind::User {
        id: user.id,
        email: user.email.clone(),
    };
    ctx.propose(actor, op).await?;
    Ok(ProtocolReply::Document(sent))
}

pub(super) async fn sign_in(
    ctx: &ProtocolCtx,
    token: &str,
    device: Option<&str>,
) -> Result<ProtocolReply> {
    let (token, kind, user) = super::email_link::check(ctx, token)?;
    if kind != EmailRequestKind::MagicLink {
        return Err(ClusterError::invalid(
            "token",
            "this link is not for this page",
        ));
    }
    let request: Option<EmailRequest> = ctx
        .reader()
        .get(Table::EmailRequest, &email_request_key(user.id, kind))?;
    let carried: Vec<(String, String)> = request
        .and_then(|r| r.continue_query)
        .and_then(|q| serde_json::from_str(&q).ok())
        .unwrap_or_default();
    let actor = PrincipalKind::User {
        id: user.id,
        email: user.email.clone(),
    };
    let spend = Op::Email(EmailWrite::UseLink {
        user: user.id,
        kind,
        nonce: token.nonce,
        password_hash: None,
    });
    ctx.propose(actor, spend).await?;
    let client_id = carried
        .iter()
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.clone());
    let outcome = super::mfa::begin_sign_in(
        ctx,
        user.id,
        client_id,
        device,
        Some(MAGIC_LINK_METHOD.to_string()),
    )
    .await?;
    Ok(ProtocolReply::LinkSignIn { outcome, carried })
}
