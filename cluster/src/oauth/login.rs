//! Sign-in through the hosted pages: who an email names, starting a session, recording
//! failures (with lockout), and finding the session a cookie points at.

use crate::clock::Timestamp;
use crate::command::{LoginFailure, Op, SignIn, UserKey};
use crate::crypto::{random_token, secret_hash};
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::lookup;
use crate::model::{LoginFailures, LoginSession, PrincipalKind, User};
use crate::protocol::{LoginCandidate, ProtocolReply, SessionView, limits};
use crate::query::Outcome;
use crate::settings::SettingsSection;
use crate::tables::{OrgReader, Table};

use super::org_settings::settings;
use super::runtime::ProtocolCtx;

/// The session `cookie` points at, if it is active, its user can still sign in, and it meets
/// the org's MFA policy (`mfa::session_meets_policy`).
pub(crate) fn active_session(
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
    let Some(user) = reader.get::<User>(Table::User, &session.user_id.to_bytes())? else {
        return Ok(None);
    };
    let usable = user.is_active
        && !user.blocked
        && crate::mfa::session_meets_policy(reader, &session, &user, now)?;
    Ok(usable.then_some(session))
}

/// Who an email names, for the frontend to check the password.
pub(super) fn candidate(ctx: &ProtocolCtx, email: &str) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    if super::magic_link::offered(&settings(&reader, SettingsSection::Branding)?).1 {
        return Err(ClusterError::oauth(
            crate::protocol::ErrorCode::AccessDenied,
            "this organization signs in with emailed links only",
        ));
    }
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

/// A new session for `user` (not yet proposed): the cookie, the row, and its lifetime.
pub(super) fn new_session(ctx: &ProtocolCtx, user: UserId) -> Result<(String, LoginSession, u64)> {
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
        user_email: record.email,
        created_at: ctx.now,
        last_activity_at: ctx.now,
        expires_at: ctx.now.plus_millis((timeout as i64) * 1000),
        auth_time: ctx.now,
        ip: ctx.request.ip.clone(),
        user_agent: ctx.request.user_agent.clone(),
        revoked_at: None,
        clients: Vec::new(),
        amr: vec!["pwd".to_string()],
    };
    Ok((cookie, session, timeout))
}

/// The actor sign-in steps of a user (whose password was right) are proposed as.
pub(super) fn user_actor(id: UserId, email: &str) -> PrincipalKind {
    PrincipalKind::User {
        id,
        email: email.to_string(),
    }
}

/// The password was right: starts a session.
pub(super) async fn sign_in(
    ctx: &ProtocolCtx,
    user: UserId,
    client_id: Option<String>,
    method: String,
) -> Result<ProtocolReply> {
    let (cookie, session, timeout) = new_session(ctx, user)?;
    let actor = user_actor(session.user_id, &session.user_email);
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

/// The password was wrong (or the account unusable): records it, locking the account after
/// too many failures in a row.
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

/// The session a cookie points at, as pages need it.
pub(super) fn session(ctx: &ProtocolCtx, cookie: &str) -> Result<ProtocolReply> {
    let session = active_session(&ctx.reader(), cookie, ctx.now)?;
    Ok(ProtocolReply::Session(session.map(|s| SessionView {
        id: s.id,
        user_id: s.user_id,
        email: s.user_email,
        auth_time: s.auth_time,
    })))
}
