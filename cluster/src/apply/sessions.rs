//! Sign-ins, failed sign-ins and lockout, consents, signing keys, and the requests that wait
//! for a user (device authorization, CIBA) or for the browser (pushed authorization requests).

use serde_json::json;

use crate::clock::Timestamp;
use crate::command::{CommandMeta, LoginFailure, SignIn};
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::lookup::{load_org, save_org};
use crate::model::{
    ApprovalState, AuditEvent, CibaRequest, Consent, DeviceGrant, LoginFailures, PushedRequest,
    SigningKeyRecord, SigningKeyState, User,
};
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
            "access_denied",
            "the user no longer exists",
        ));
    };
    if user.blocked || !user.is_active {
        return Err(ClusterError::oauth(
            "access_denied",
            "this account is blocked or inactive",
        ));
    }
    let failures: LoginFailures = tx
        .get(Table::LoginFailures, &user_id.to_bytes())?
        .unwrap_or_default();
    if let Some(until) = locked_until(&failures, at) {
        return Err(ClusterError::oauth(
            "account_locked",
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

pub(super) fn add_signing_key(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    new: &crate::command::NewSigningKey,
    only_if_none: bool,
    retain_old_until: Timestamp,
) -> Result<Applied> {
    let mut existing: Vec<SigningKeyRecord> = Vec::new();
    tx.reader()
        .scan::<SigningKeyRecord>(Table::SigningKey, &[], false, |_, k| {
            existing.push(k);
            true
        })?;
    if only_if_none && existing.iter().any(|k| k.state == SigningKeyState::Active) {
        return Ok((Outcome::Done, Vec::new()));
    }
    for mut old in existing {
        if old.state == SigningKeyState::Active {
            old.state = SigningKeyState::Retiring;
            old.retired_at = Some(meta.at);
            old.retain_until = Some(retain_old_until);
            tx.put(Table::SigningKey, old.kid.as_bytes(), &old)?;
        } else if !old.published(meta.at) {
            tx.delete(Table::SigningKey, old.kid.as_bytes());
        }
    }
    let key = SigningKeyRecord {
        kid: new.kid.clone(),
        alg: new.alg,
        public_jwk: super::clients::json_text("public_jwk", &new.public_jwk)?,
        sealed_private: new.sealed_private.clone(),
        state: SigningKeyState::Active,
        created_at: meta.at,
        retired_at: None,
        retain_until: None,
    };
    tx.put(Table::SigningKey, key.kid.as_bytes(), &key)?;
    let event = AuditEvent::new(
        "security",
        "signing_key.rotated",
        format!("new {} signing key {}", key.alg.as_str(), key.kid),
    )
    .target("signing_key", &key.kid, key.alg.as_str().to_string());
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn start_device_grant(
    tx: &mut OrgTx,
    hash: &str,
    grant: &DeviceGrant,
) -> Result<Applied> {
    if tx.exists(Table::DeviceUserCode, grant.user_code.as_bytes())? {
        return Err(ClusterError::conflict("user_code", "user code in use"));
    }
    tx.put(Table::DeviceGrant, hash.as_bytes(), grant)?;
    tx.put(Table::DeviceUserCode, grant.user_code.as_bytes(), &hash)?;
    Ok((Outcome::Done, Vec::new()))
}

fn decision(approve: bool, user: UserId, session: Option<u64>, at: Timestamp) -> ApprovalState {
    if approve {
        ApprovalState::Approved {
            user_id: user,
            session_id: session,
            at,
        }
    } else {
        ApprovalState::Denied
    }
}

pub(super) fn decide_device_grant(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    user_code: &str,
    approve: bool,
    user: UserId,
    session: Option<u64>,
) -> Result<Applied> {
    let hash: String = tx
        .get(Table::DeviceUserCode, user_code.as_bytes())?
        .ok_or_else(|| ClusterError::not_found("device code", user_code))?;
    let mut grant: DeviceGrant = tx
        .get(Table::DeviceGrant, hash.as_bytes())?
        .ok_or_else(|| ClusterError::not_found("device code", user_code))?;
    if grant.expires_at <= meta.at {
        return Err(ClusterError::oauth("expired_token", "the code expired"));
    }
    if grant.state != ApprovalState::Pending {
        return Err(ClusterError::conflict(
            "user_code",
            "this code was already used",
        ));
    }
    grant.state = decision(approve, user, session, meta.at);
    tx.put(Table::DeviceGrant, hash.as_bytes(), &grant)?;
    let action = if approve {
        "oauth.device.approved"
    } else {
        "oauth.device.denied"
    };
    let event = AuditEvent::new("oauth", action, format!("device code {user_code} decided"))
        .target("oauth_client", &grant.client_id, grant.client_id.clone())
        .new_value(json!({"userId": user.to_string(), "approved": approve}));
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn start_ciba(tx: &mut OrgTx, hash: &str, request: &CibaRequest) -> Result<Applied> {
    if tx.exists(Table::CibaId, request.id.as_bytes())? {
        return Err(ClusterError::conflict("auth_req_id", "request id in use"));
    }
    tx.put(Table::CibaRequest, hash.as_bytes(), request)?;
    tx.put(Table::CibaId, request.id.as_bytes(), &hash)?;
    let event = AuditEvent::new(
        "oauth",
        "oauth.ciba.requested",
        "backchannel authentication requested",
    )
    .target(
        "oauth_client",
        &request.client_id,
        request.client_id.clone(),
    )
    .new_value(json!({"userId": request.user_id.to_string(), "scopes": request.scopes}));
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn decide_ciba(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: &str,
    approve: bool,
    user: UserId,
) -> Result<Applied> {
    let hash: String = tx
        .get(Table::CibaId, id.as_bytes())?
        .ok_or_else(|| ClusterError::not_found("authentication request", id))?;
    let mut request: CibaRequest = tx
        .get(Table::CibaRequest, hash.as_bytes())?
        .ok_or_else(|| ClusterError::not_found("authentication request", id))?;
    if request.user_id != user {
        return Err(ClusterError::not_found("authentication request", id));
    }
    if request.expires_at <= meta.at {
        return Err(ClusterError::oauth("expired_token", "the request expired"));
    }
    if request.state != ApprovalState::Pending {
        return Err(ClusterError::conflict("auth_req_id", "already decided"));
    }
    request.state = decision(approve, user, None, meta.at);
    tx.put(Table::CibaRequest, hash.as_bytes(), &request)?;
    let action = if approve {
        "oauth.ciba.approved"
    } else {
        "oauth.ciba.denied"
    };
    let event = AuditEvent::new("oauth", action, "backchannel authentication decided").target(
        "oauth_client",
        &request.client_id,
        request.client_id.clone(),
    );
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn push_request(
    tx: &mut OrgTx,
    request_uri: &str,
    request: &PushedRequest,
) -> Result<Applied> {
    tx.put(Table::PushedRequest, request_uri.as_bytes(), request)?;
    Ok((Outcome::Done, Vec::new()))
}
