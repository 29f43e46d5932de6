//! Sign-in through the hosted pages: who an email names, starting a session, recording
//! failures (with lockout), finding the session a cookie points at, and logout.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Timestamp;
use crate::command::{LoginFailure, Op, RevokeTarget, SignIn, UserKey};
use crate::crypto::{random_token, secret_hash};
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::lookup;
use crate::model::{LoginFailures, LoginSession, OAuthClient, PrincipalKind, User};
use crate::query::Outcome;
use crate::settings::{SettingsSection, render};
use crate::tables::{OrgReader, Table};

use super::authorize::branding;
use super::client_auth::find_client;
use super::jwt::verify_id_token;
use super::runtime::ProtocolCtx;
use super::{Params, ProtocolReply, limits};

/// What the frontend needs to check a password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginCandidate {
    pub user_id: UserId,
    pub email: String,
    pub password_hash: Option<String>,
    /// Active and not blocked.
    pub usable: bool,
    pub locked_until: Option<Timestamp>,
}

/// A signed-in session, as pages need it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: u64,
    pub user_id: UserId,
    pub email: String,
    pub auth_time: Timestamp,
}

/// A settings section with defaults applied.
pub(super) fn settings(reader: &OrgReader, section: SettingsSection) -> Result<Value> {
    let stored: Option<Value> = reader.get(Table::Settings, section.as_str().as_bytes())?;
    Ok(render(section, stored.as_ref()))
}

/// The session `cookie` points at, if it is active and its user can still sign in.
pub(super) fn active_session(
    reader: &OrgReader,
    cookie: &str,
    now: Timestamp,
) -> Result<Option<LoginSession>> {
    if cookie.is_empty() || cookie.len() > 200 {
        return Ok(None);
    }
    let Some(id) = reader.get::<u64>(Table::SessionSecret, secret_hash(cookie).as_bytes())? else {
        return Ok(None);
    };
    let Some(session) = reader.get::<LoginSession>(Table::Session, &id.to_be_bytes())? else {
        return Ok(None);
    };
    if !session.is_active(now) {
        return Ok(None);
    }
    let usable = reader
        .get::<User>(Table::User, &session.user_id.to_bytes())?
        .is_some_and(|u| u.is_active && !u.blocked);
    Ok(usable.then_some(session))
}

pub(super) fn candidate(ctx: &ProtocolCtx, email: &str) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let key = UserKey::Email(email.trim().to_lowercase());
    let user = match lookup::user(&reader, &key) {
        Ok(user) => user,
        Err(ClusterError::NotFound { .. }) => return Ok(ProtocolReply::LoginCandidate(None)),
        Err(e) => return Err(e),
    };
    let failures: LoginFailures = reader
        .get(Table::LoginFailures, &user.id.to_bytes())?
        .unwrap_or_default();
    Ok(ProtocolReply::LoginCandidate(Some(LoginCandidate {
        user_id: user.id,
        usable: user.is_active && !user.blocked,
        locked_until: crate::apply::sessions::locked_until(&failures, ctx.now),
        email: user.email,
        password_hash: user.password_hash,
    })))
}

pub(super) async fn sign_in(
    ctx: &ProtocolCtx,
    user: UserId,
    client_id: Option<String>,
    method: String,
) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let timeout = settings(&reader, SettingsSection::Auth)?["session_timeout"]
        .as_u64()
        .filter(|t| *t > 0)
        .unwrap_or(limits::SESSION_TTL_SECS);
    let record = lookup::user(&reader, &UserKey::Id(user))?;
    let cookie = random_token("", 32);
    let session = LoginSession {
        id: 0,
        secret_hash: secret_hash(&cookie),
        user_id: user,
        user_email: record.email.clone(),
        created_at: ctx.now,
        last_activity_at: ctx.now,
        expires_at: ctx.now.plus_millis((timeout as i64) * 1000),
        auth_time: ctx.now,
        ip: ctx.request.ip.clone(),
        user_agent: ctx.request.user_agent.clone(),
        revoked_at: None,
        clients: Vec::new(),
    };
    let actor = PrincipalKind::User {
        id: user,
        email: record.email,
    };
    let outcome = ctx
        .propose(
            actor,
            Op::SignIn(SignIn {
                session,
                method,
                client_id,
            }),
        )
        .await?;
    match outcome {
        Outcome::Session(session) => Ok(ProtocolReply::SignedIn {
            cookie,
            session_id: session.id,
            expires_in: timeout,
        }),
        other => Err(ClusterError::internal(format!("unexpected {other:?}"))),
    }
}

pub(super) async fn failed(
    ctx: &ProtocolCtx,
    email: String,
    user: Option<UserId>,
    reason: String,
    client_id: Option<String>,
) -> Result<ProtocolReply> {
    let outcome = ctx
        .propose(
            PrincipalKind::Anonymous,
            Op::RecordLoginFailure(LoginFailure {
                email,
                user,
                reason,
                lock_threshold: limits::LOCK_THRESHOLD,
                lock_ms: limits::LOCK_MS,
                client_id,
            }),
        )
        .await?;
    match outcome {
        Outcome::LoginFailed { locked_until } => Ok(ProtocolReply::LoginRecorded { locked_until }),
        other => Err(ClusterError::internal(format!("unexpected {other:?}"))),
    }
}

pub(super) fn session(ctx: &ProtocolCtx, cookie: &str) -> Result<ProtocolReply> {
    let session = active_session(&ctx.reader(), cookie, ctx.now)?;
    Ok(ProtocolReply::Session(session.map(|s| SessionView {
        id: s.id,
        user_id: s.user_id,
        email: s.user_email,
        auth_time: s.auth_time,
    })))
}

/// A `post_logout_redirect_uri` registered by `client`, with `state` appended.
fn logout_target(client: &OAuthClient, params: &Params) -> Result<Option<String>> {
    let Some(uri) = params.get("post_logout_redirect_uri") else {
        return Ok(None);
    };
    if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
        return Err(ClusterError::oauth(
            "invalid_request",
            "post_logout_redirect_uri is not registered for this client",
        ));
    }
    let mut target = uri.clone();
    if let Some(state) = params.get("state") {
        let separator = if target.contains('?') { '&' } else { '?' };
        target.push(separator);
        target.push_str("state=");
        target.push_str(&urlencode(state));
    }
    Ok(Some(target))
}

/// Percent-encodes a query value.
pub fn urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(super) async fn logout(
    ctx: &ProtocolCtx,
    _issuer: &str,
    cookie: Option<&str>,
    params: &Params,
    confirmed: bool,
) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let hint = match params.get("id_token_hint") {
        Some(token) => Some(verify_id_token(&reader, token, ctx.now, true).map_err(|_| {
            ClusterError::oauth("invalid_request", "id_token_hint is not a valid ID token")
        })?),
        None => None,
    };
    let hinted_client = hint
        .as_ref()
        .and_then(|h| h["aud"].as_str().map(str::to_string));
    if let (Some(named), Some(hinted)) = (params.get("client_id"), &hinted_client)
        && named != hinted
    {
        return Err(ClusterError::oauth(
            "invalid_request",
            "client_id does not match the id_token_hint's audience",
        ));
    }
    let client_id = params.get("client_id").cloned().or(hinted_client);
    let client = match &client_id {
        Some(id) => Some(
            find_client(&reader, id)
                .map_err(|_| ClusterError::oauth("invalid_request", "unknown client_id"))?,
        ),
        None => None,
    };
    if params.contains_key("post_logout_redirect_uri") && client.is_none() {
        return Err(ClusterError::oauth(
            "invalid_request",
            "post_logout_redirect_uri needs client_id or id_token_hint",
        ));
    }
    let redirect = match &client {
        Some(client) => logout_target(client, params)?,
        None => None,
    };
    let session = match cookie {
        Some(cookie) => active_session(&reader, cookie, ctx.now)?,
        None => None,
    };
    let Some(session) = session else {
        return Ok(ProtocolReply::Logout {
            redirect,
            confirm: false,
            branding: branding(&reader)?,
        });
    };
    let hint_matches = hint
        .as_ref()
        .is_some_and(|h| h["sub"].as_str() == Some(session.user_id.to_string().as_str()));
    if !hint_matches && !confirmed {
        return Ok(ProtocolReply::Logout {
            redirect: None,
            confirm: true,
            branding: branding(&reader)?,
        });
    }
    ctx.propose(
        PrincipalKind::User {
            id: session.user_id,
            email: session.user_email.clone(),
        },
        Op::Revoke(RevokeTarget::Session(session.id)),
    )
    .await?;
    Ok(ProtocolReply::Logout {
        redirect,
        confirm: false,
        branding: branding(&reader)?,
    })
}
