//! Sign-ins, failed sign-ins and lockout, and consents.

use serde_json::json;

use crate::clock::Timestamp;
use crate::command::{CommandMeta, LoginFailure, SignIn};
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::lookup::{load_org, save_org};
use crate::model::{AuditEvent, Consent, LoginFailures, User};
use crate::protocol::ErrorCode;
use crate::query::Outcome;
use crate::read::analytics::{LOGIN_FAILED, LOGIN_SUCCEEDED};
use crate::tables::{OrgTx, Table};

use super::Applied;
use super::grants::index;

/// The lockout of `user` at `at`, if any.
pub(crate) fn locked_until(failures: &LoginFailures, at: Timestamp) -> Option<Timestamp> {
    failures.locked_until.filter(|t| *t > at)
}

pub(super) fn sign_in(tx: &mut OrgTx, meta: &CommandMeta, sign_in: &SignIn) -> Result<Applied> {
    let at = meta.at;
    let user_id = sign_in.session.user_id;
    let Some(mut user) = tx.get::<User>(Table::User, &user_id.to_bytes())? else {
        return Err(ClusterError::oauth(
            ErrorCode::AccessDenied,
            "the user no longer exists",
        ));
    };
    if user.blocked || !user.is_active {
        return Err(ClusterError::oauth(
            ErrorCode::AccessDenied,
            "this account is blocked or inactive",
        ));
    }
    let failures: LoginFailures = tx
        .get(Table::LoginFailures, &user_id.to_bytes())?
        .unwrap_or_default();
    if let Some(until) = locked_until(&failures, at) {
        return Err(ClusterError::oauth(
            ErrorCode::AccountLocked,
            format!(
                "too many failed sign-ins; try again after {}",
                until.to_rfc3339()
            ),
        ));
    }
    let mut org = load_org(tx)?;
    org.counters.session += 1;
    save_org(tx, &org)?;
    let mut session = sign_in.session.clone();
    session.id = org.counters.session;
    session.created_at = at;
    session.last_activity_at = at;
    session.auth_time = at;
    session.user_email = user.email.clone();
    if tx.exists(Table::SessionSecret, session.secret_hash.as_bytes())? {
        return Err(ClusterError::conflict("session", "session secret reused"));
    }
    tx.put(Table::Session, &session.id.to_be_bytes(), &session)?;
    tx.put(
        Table::SessionSecret,
        session.secret_hash.as_bytes(),
        &session.id,
    )?;
    let mut user_session = index::user_sessions(user_id);
    user_session.extend_from_slice(&session.id.to_be_bytes());
    tx.put(Table::GrantIndex, &user_session, &true)?;
    tx.delete(Table::LoginFailures, &user_id.to_bytes());
    user.last_login_at = Some(at);
    user.login_count += 1;
    tx.put(Table::User, &user_id.to_bytes(), &user)?;
    let event = AuditEvent::new(
        "authentication",
        LOGIN_SUCCEEDED,
        format!("{} signed in ({})", user.email, sign_in.method),
    )
    .target("user", user_id, user.email.clone())
    .new_value(json!({
        "sessionId": session.id,
        "method": sign_in.method,
        "clientId": sign_in.client_id,
    }));
    Ok((Outcome::Session(session), vec![event]))
}

pub(super) fn login_failure(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    failure: &LoginFailure,
) -> Result<Applied> {
    let at = meta.at;
    let mut locked = None;
    if let Some(user) = failure.user {
        let mut record: LoginFailures = tx
            .get(Table::LoginFailures, &user.to_bytes())?
            .unwrap_or_default();
        record.count += 1;
        record.last_failed_at = Some(at);
        if failure.lock_threshold > 0 && record.count >= failure.lock_threshold {
            let until = at.plus_millis(failure.lock_ms);
            record.locked_until = Some(until);
            record.count = 0;
            locked = Some(until);
        }
        tx.put(Table::LoginFailures, &user.to_bytes(), &record)?;
    }
    let mut event = AuditEvent::new(
        "authentication",
        LOGIN_FAILED,
        format!("failed sign-in for {}: {}", failure.email, failure.reason),
    )
    .severity("warning")
    .new_value(json!({
        "email": failure.email,
        "reason": failure.reason,
        "clientId": failure.client_id,
        "lockedUntil": locked.map(|t: Timestamp| t.to_rfc3339()),
    }));
    if let Some(user) = failure.user {
        event = event.target("user", user, failure.email.clone());
    }
    Ok((
        Outcome::LoginFailed {
            locked_until: locked,
        },
        vec![event],
    ))
}

/// The consent key of a user and client.
pub(crate) fn consent_key(user: UserId, client_id: &str) -> Vec<u8> {
    let mut key = user.to_bytes().to_vec();
    key.extend_from_slice(client_id.as_bytes());
    key
}

pub(super) fn grant_consent(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    user: UserId,
    client_id: &str,
    scopes: &[String],
) -> Result<Applied> {
    let key = consent_key(user, client_id);
    let mut consent = tx.get::<Consent>(Table::Consent, &key)?.unwrap_or(Consent {
        scopes: Vec::new(),
        granted_at: meta.at,
    });
    for scope in scopes {
        if !consent.scopes.contains(scope) {
            consent.scopes.push(scope.clone());
        }
    }
    consent.granted_at = meta.at;
    tx.put(Table::Consent, &key, &consent)?;
    let event = AuditEvent::new(
        "oauth",
        "oauth.consent.granted",
        format!("consent given to client {client_id}"),
    )
    .target("oauth_client", client_id, client_id.to_string())
    .new_value(json!({"userId": user.to_string(), "scopes": scopes}));
    Ok((Outcome::Done, vec![event]))
}
