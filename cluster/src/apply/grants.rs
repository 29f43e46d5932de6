//! Authorization codes, token issuance (with code replay and refresh reuse detection), and
//! revocation of tokens and sessions.
//!
//! `GrantIndex` rows (value `true`) find what a user, client, session or refresh family holds:
//! `u ++ user(16)`, `c ++ client_id ++ 0`, `s ++ session(8)`, `f ++ family ++ 0` prefixes,
//! followed by `a ++ access token id(8)` or `r ++ family`; `S ++ user(16) ++ session(8)` lists
//! a user's sessions; `p ++ access token id(8)` lists the tokens exchanged from that token.

use serde_json::json;

use crate::clock::Timestamp;
use crate::command::{CommandMeta, Consume, Issuance, Lineage, RevokeTarget};
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::lookup::{load_org, save_org};
use crate::model::{
    AccessTokenRecord, ApprovalState, AuditEvent, AuthCode, CibaRequest, DeviceGrant, LoginSession,
    RefreshFamily, RefreshTokenRecord, User,
};
use crate::protocol::ErrorCode;
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;

/// Index key builders.
pub(crate) mod index {
    use crate::ids::UserId;

    pub fn user(user: UserId) -> Vec<u8> {
        let mut k = vec![b'u'];
        k.extend_from_slice(&user.to_bytes());
        k
    }
    pub fn client(client_id: &str) -> Vec<u8> {
        let mut k = vec![b'c'];
        k.extend_from_slice(client_id.as_bytes());
        k.push(0);
        k
    }
    pub fn session(session: u64) -> Vec<u8> {
        let mut k = vec![b's'];
        k.extend_from_slice(&session.to_be_bytes());
        k
    }
    pub fn family(family: &str) -> Vec<u8> {
        let mut k = vec![b'f'];
        k.extend_from_slice(family.as_bytes());
        k.push(0);
        k
    }
    pub fn parent(access_id: u64) -> Vec<u8> {
        let mut k = vec![b'p'];
        k.extend_from_slice(&access_id.to_be_bytes());
        k
    }
    pub fn user_sessions(user: UserId) -> Vec<u8> {
        let mut k = vec![b'S'];
        k.extend_from_slice(&user.to_bytes());
        k
    }
    pub fn access_ref(owner: &[u8], id: u64) -> Vec<u8> {
        let mut k = owner.to_vec();
        k.push(b'a');
        k.extend_from_slice(&id.to_be_bytes());
        k
    }
    pub fn family_ref(owner: &[u8], family: &str) -> Vec<u8> {
        let mut k = owner.to_vec();
        k.push(b'r');
        k.extend_from_slice(family.as_bytes());
        k
    }
}

fn mark(tx: &mut OrgTx, key: Vec<u8>) -> Result<()> {
    tx.put(Table::GrantIndex, &key, &true)
}

pub(super) fn issue_code(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    hash: &str,
    code: &AuthCode,
    pushed: Option<&str>,
) -> Result<Applied> {
    if let Some(request_uri) = pushed {
        // A pushed request answers one authorization: the first code uses it up.
        if !tx.exists(Table::PushedRequest, request_uri.as_bytes())? {
            return Err(ClusterError::oauth(
                ErrorCode::InvalidRequestUri,
                "request_uri was already used",
            ));
        }
        tx.delete(Table::PushedRequest, request_uri.as_bytes());
    }
    let Some(mut session) =
        tx.get::<LoginSession>(Table::Session, &code.session_id.to_be_bytes())?
    else {
        return Err(ClusterError::oauth(
            ErrorCode::LoginRequired,
            "the session ended",
        ));
    };
    if !session.is_active(meta.at) {
        return Err(ClusterError::oauth(
            ErrorCode::LoginRequired,
            "the session ended",
        ));
    }
    active_user(tx, code.user_id)?;
    if tx.exists(Table::AuthCode, hash.as_bytes())? {
        return Err(ClusterError::conflict("code", "code already exists"));
    }
    tx.put(Table::AuthCode, hash.as_bytes(), code)?;
    if !session.clients.contains(&code.client_id) {
        session.clients.push(code.client_id.clone());
    }
    session.last_activity_at = meta.at;
    tx.put(Table::Session, &session.id.to_be_bytes(), &session)?;
    Ok((Outcome::Done, Vec::new()))
}

/// The user a token is for, refusing blocked, inactive and deleted users.
fn active_user(tx: &OrgTx, id: UserId) -> Result<User> {
    match tx.get::<User>(Table::User, &id.to_bytes())? {
        Some(user) if user.is_active && !user.blocked => Ok(user),
        Some(_) => Err(ClusterError::oauth(
            ErrorCode::InvalidGrant,
            "the user is blocked or inactive",
        )),
        None => Err(ClusterError::oauth(
            ErrorCode::InvalidGrant,
            "the user no longer exists",
        )),
    }
}

fn refused(description: &str) -> ClusterError {
    ClusterError::oauth(ErrorCode::InvalidGrant, description)
}

/// What consuming the grant found: the refresh family to keep (rotation), or a refusal that
/// still wrote something (replay and reuse revoke what was issued).
enum Consumed {
    Fresh,
    Rotating(String),
    Refused(Box<Applied>),
}

fn consume(tx: &mut OrgTx, meta: &CommandMeta, issuance: &Issuance) -> Result<Consumed> {
    let at = meta.at;
    match &issuance.consume {
        None => Ok(Consumed::Fresh),
        Some(Consume::Code(hash)) => {
            let mut code: AuthCode = tx
                .get(Table::AuthCode, hash.as_bytes())?
                .ok_or_else(|| refused("the authorization code is invalid"))?;
            if code.consumed_at.is_some() {
                let mut revoked = 0;
                if let Some(jti) = &code.issued_jti {
                    revoked += revoke_jti(tx, jti, at)?;
                }
                if let Some(family) = &code.issued_family {
                    revoked += revoke_family(tx, family, at)?;
                }
                let event = AuditEvent::new(
                    "oauth",
                    "oauth.code.replayed",
                    "an authorization code was presented twice; the tokens it issued are revoked",
                )
                .severity("warning")
                .target("oauth_client", &code.client_id, code.client_id.clone())
                .changes(json!({"revokedTokens": revoked}));
                return Ok(Consumed::Refused(Box::new((
                    Outcome::GrantRefused {
                        error: ErrorCode::InvalidGrant,
                        description: "the authorization code was already used".into(),
                    },
                    vec![event],
                ))));
            }
            if code.expires_at <= at {
                return Err(refused("the authorization code expired"));
            }
            code.consumed_at = Some(at);
            code.issued_jti = Some(issuance.access.jti.clone());
            code.issued_family = issuance.refresh.as_ref().map(|r| r.family.clone());
            tx.put(Table::AuthCode, hash.as_bytes(), &code)?;
            Ok(Consumed::Fresh)
        }
        Some(Consume::Refresh(hash)) => {
            let mut token: RefreshTokenRecord = tx
                .get(Table::RefreshToken, hash.as_bytes())?
                .ok_or_else(|| refused("the refresh token is invalid"))?;
            let family: Option<RefreshFamily> =
                tx.get(Table::RefreshFamily, token.family.as_bytes())?;
            let family_revoked = family.as_ref().is_none_or(|f| f.revoked_at.is_some());
            if token.revoked_at.is_some() || family_revoked {
                return Err(refused("the refresh token was revoked"));
            }
            if token.rotated_at.is_some() {
                let revoked = revoke_family(tx, &token.family, at)?;
                let event = AuditEvent::new(
                    "oauth",
                    "oauth.refresh_token.reused",
                    "a rotated refresh token was presented again; its family is revoked",
                )
                .severity("warning")
                .target("oauth_client", &token.client_id, token.client_id.clone())
                .changes(json!({"family": token.family, "revokedTokens": revoked}));
                return Ok(Consumed::Refused(Box::new((
                    Outcome::GrantRefused {
                        error: ErrorCode::InvalidGrant,
                        description:
                            "the refresh token was already used; every token of its grant is revoked"
                                .into(),
                    },
                    vec![event],
                ))));
            }
            if token.expires_at <= at {
                return Err(refused("the refresh token expired"));
            }
            token.rotated_at = Some(at);
            tx.put(Table::RefreshToken, hash.as_bytes(), &token)?;
            Ok(Consumed::Rotating(token.family))
        }
        Some(Consume::Device(hash)) => {
            let mut grant: DeviceGrant = tx
                .get(Table::DeviceGrant, hash.as_bytes())?
                .ok_or_else(|| refused("the device code is invalid"))?;
            if !matches!(grant.state, ApprovalState::Approved { .. }) {
                return Err(refused("the device code is not approved"));
            }
            grant.state = ApprovalState::Used;
            tx.put(Table::DeviceGrant, hash.as_bytes(), &grant)?;
            Ok(Consumed::Fresh)
        }
        Some(Consume::Ciba(hash)) => {
            let mut request: CibaRequest = tx
                .get(Table::CibaRequest, hash.as_bytes())?
                .ok_or_else(|| refused("the auth_req_id is invalid"))?;
            if !matches!(request.state, ApprovalState::Approved { .. }) {
                return Err(refused("the request is not approved"));
            }
            request.state = ApprovalState::Used;
            tx.put(Table::CibaRequest, hash.as_bytes(), &request)?;
            Ok(Consumed::Fresh)
        }
        Some(Consume::Assertion { hash, expires_at }) => {
            if tx.exists(Table::AssertionJti, hash.as_bytes())? {
                return Err(refused("the assertion was already used"));
            }
            tx.put(Table::AssertionJti, hash.as_bytes(), expires_at)?;
            Ok(Consumed::Fresh)
        }
    }
}

pub(super) fn issue_tokens(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    issuance: &Issuance,
) -> Result<Applied> {
    let rotating = match consume(tx, meta, issuance)? {
        Consumed::Refused(applied) => return Ok(*applied),
        Consumed::Fresh => None,
        Consumed::Rotating(family) => Some(family),
    };
    let access = &issuance.access;
    if let Some(session_id) = access.session_id {
        let active = tx
            .get::<LoginSession>(Table::Session, &session_id.to_be_bytes())?
            .is_some_and(|s| s.is_active(meta.at));
        if !active {
            return Err(refused("the session this grant belongs to has ended"));
        }
    }
    if let Some(user) = access.user_id {
        active_user(tx, user)?;
    }
    let parent = derived_from(tx, meta.at, &access.derived)?;
    if let Some(client_id) = &access.client_id {
        super::agents::charge_token(tx, meta, client_id)?;
    }
    let family = match (&issuance.refresh, &rotating) {
        (_, Some(family)) => Some(family.clone()),
        (Some(refresh), None) => Some(refresh.family.clone()),
        (None, None) => access.derived.family.clone(),
    };
    let mut org = load_org(tx)?;
    org.counters.access_token += 1;
    save_org(tx, &org)?;
    let record = AccessTokenRecord {
        id: org.counters.access_token,
        jti: access.jti.clone(),
        client_id: access.client_id.clone(),
        user_id: access.user_id,
        scopes: access.scopes.clone(),
        audience: access.audience.clone(),
        grant_type: access.grant_type.clone(),
        created_at: meta.at,
        expires_at: access.expires_at,
        revoked_at: None,
        session_id: access.session_id,
        family: family.clone(),
    };
    if tx.exists(Table::AccessTokenJti, record.jti.as_bytes())? {
        return Err(ClusterError::conflict("jti", "token id already used"));
    }
    tx.put(Table::AccessToken, &record.id.to_be_bytes(), &record)?;
    tx.put(Table::AccessTokenJti, record.jti.as_bytes(), &record.id)?;
    for owner in owners(
        record.user_id,
        record.client_id.as_deref(),
        record.session_id,
        family.as_deref(),
    ) {
        mark(tx, index::access_ref(&owner, record.id))?;
    }
    if let Some(parent) = parent {
        mark(tx, index::access_ref(&index::parent(parent), record.id))?;
    }
    if let (Some(refresh), Some(family)) = (&issuance.refresh, &family) {
        let client_id = access.client_id.clone().unwrap_or_default();
        let token = RefreshTokenRecord {
            family: family.clone(),
            client_id: client_id.clone(),
            user_id: access.user_id,
            scopes: refresh.scopes.clone(),
            audience: refresh.audience.clone(),
            session_id: access.session_id,
            auth_time: refresh.auth_time,
            nonce: refresh.nonce.clone(),
            created_at: meta.at,
            expires_at: refresh.expires_at,
            rotated_at: None,
            revoked_at: None,
        };
        tx.put(Table::RefreshToken, refresh.hash.as_bytes(), &token)?;
        let mut record = match tx.get::<RefreshFamily>(Table::RefreshFamily, family.as_bytes())? {
            Some(existing) => existing,
            None => {
                for owner in owners(access.user_id, Some(&client_id), access.session_id, None) {
                    mark(tx, index::family_ref(&owner, family))?;
                }
                RefreshFamily {
                    client_id,
                    user_id: access.user_id,
                    session_id: access.session_id,
                    created_at: meta.at,
                    revoked_at: None,
                    current: refresh.hash.clone(),
                }
            }
        };
        record.current = refresh.hash.clone();
        tx.put(Table::RefreshFamily, family.as_bytes(), &record)?;
    }
    let client = record.client_id.clone().unwrap_or_default();
    let event = AuditEvent::new(
        "oauth",
        "oauth.token.issued",
        format!("access token issued ({})", record.grant_type),
    )
    .target("oauth_client", &client, client.clone())
    .new_value(json!({
        "tokenId": record.id,
        "grantType": record.grant_type,
        "scopes": record.scopes,
        "userId": record.user_id.map(|u| u.to_string()),
        "refreshToken": issuance.refresh.is_some(),
        "expiresAt": record.expires_at.to_rfc3339(),
    }));
    Ok((
        Outcome::TokensIssued {
            access_id: record.id,
        },
        vec![event],
    ))
}

/// The index prefixes that own a token or family.
pub(super) fn owners(
    user: Option<UserId>,
    client: Option<&str>,
    session: Option<u64>,
    family: Option<&str>,
) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Some(user) = user {
        out.push(index::user(user));
    }
    if let Some(client) = client {
        out.push(index::client(client));
    }
    if let Some(session) = session {
        out.push(index::session(session));
    }
    if let Some(family) = family {
        out.push(index::family(family));
    }
    out
}

/// Checks that what an exchanged token derives from is still live; returns the parent token id.
fn derived_from(tx: &OrgTx, at: Timestamp, lineage: &Lineage) -> Result<Option<u64>> {
    if let Some(family) = &lineage.family {
        let live = tx
            .get::<RefreshFamily>(Table::RefreshFamily, family.as_bytes())?
            .is_some_and(|f| f.revoked_at.is_none());
        if !live {
            return Err(refused(
                "the grant the subject token belongs to was revoked",
            ));
        }
    }
    let Some(jti) = &lineage.parent_jti else {
        return Ok(None);
    };
    let parent = tx
        .get::<u64>(Table::AccessTokenJti, jti.as_bytes())?
        .map(|id| {
            Ok::<_, ClusterError>((
                id,
                tx.get::<AccessTokenRecord>(Table::AccessToken, &id.to_be_bytes())?,
            ))
        })
        .transpose()?;
    match parent {
        Some((id, Some(record))) if record.is_active(at) => Ok(Some(id)),
        _ => Err(refused("the subject token is no longer active")),
    }
}

/// Revokes one access token and, transitively, every token exchanged from it.
fn revoke_access(tx: &mut OrgTx, id: u64, at: Timestamp) -> Result<u64> {
    let Some(mut record) = tx.get::<AccessTokenRecord>(Table::AccessToken, &id.to_be_bytes())?
    else {
        return Ok(0);
    };
    if record.revoked_at.is_some() {
        return Ok(0);
    }
    record.revoked_at = Some(at);
    tx.put(Table::AccessToken, &id.to_be_bytes(), &record)?;
    Ok(1 + revoke_owned(tx, &index::parent(id), at)?)
}

fn revoke_jti(tx: &mut OrgTx, jti: &str, at: Timestamp) -> Result<u64> {
    match tx.get::<u64>(Table::AccessTokenJti, jti.as_bytes())? {
        Some(id) => revoke_access(tx, id, at),
        None => Ok(0),
    }
}

fn revoke_family(tx: &mut OrgTx, family: &str, at: Timestamp) -> Result<u64> {
    let mut count = 0;
    if let Some(mut record) = tx.get::<RefreshFamily>(Table::RefreshFamily, family.as_bytes())?
        && record.revoked_at.is_none()
    {
        record.revoked_at = Some(at);
        if let Some(mut current) =
            tx.get::<RefreshTokenRecord>(Table::RefreshToken, record.current.as_bytes())?
            && current.revoked_at.is_none()
        {
            current.revoked_at = Some(at);
            tx.put(Table::RefreshToken, record.current.as_bytes(), &current)?;
        }
        tx.put(Table::RefreshFamily, family.as_bytes(), &record)?;
        count += 1;
    }
    count += revoke_owned(tx, &index::family(family), at)?;
    Ok(count)
}

/// Revokes every token and family listed under `owner`.
fn revoke_owned(tx: &mut OrgTx, owner: &[u8], at: Timestamp) -> Result<u64> {
    let mut refs: Vec<Vec<u8>> = Vec::new();
    tx.reader().scan_keys(Table::GrantIndex, owner, |rest| {
        refs.push(rest.to_vec());
        true
    })?;
    let mut count = 0;
    for reference in refs {
        match reference.split_first() {
            Some((b'a', id)) => {
                if let Ok(bytes) = <[u8; 8]>::try_from(id) {
                    count += revoke_access(tx, u64::from_be_bytes(bytes), at)?;
                }
            }
            Some((b'r', family)) => {
                let family = String::from_utf8_lossy(family).into_owned();
                count += revoke_family(tx, &family, at)?;
            }
            _ => {}
        }
    }
    Ok(count)
}

fn revoke_session(tx: &mut OrgTx, id: u64, at: Timestamp) -> Result<u64> {
    let Some(mut session) = tx.get::<LoginSession>(Table::Session, &id.to_be_bytes())? else {
        return Ok(0);
    };
    let mut count = 0;
    if session.revoked_at.is_none() {
        session.revoked_at = Some(at);
        tx.put(Table::Session, &id.to_be_bytes(), &session)?;
        count += 1;
    }
    Ok(count + revoke_owned(tx, &index::session(id), at)?)
}

fn session_ids(tx: &OrgTx, prefix: &[u8]) -> Result<Vec<u64>> {
    let mut ids = Vec::new();
    tx.reader().scan_keys(Table::GrantIndex, prefix, |rest| {
        if let Ok(bytes) = <[u8; 8]>::try_from(rest) {
            ids.push(u64::from_be_bytes(bytes));
        }
        true
    })?;
    Ok(ids)
}

/// Revokes what `target` names; returns how many tokens, families and sessions it ended.
pub(super) fn revoke(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    target: &RevokeTarget,
) -> Result<(u64, Vec<AuditEvent>)> {
    let at = meta.at;
    let (count, action, what) = match target {
        RevokeTarget::AccessJti(jti) => (
            revoke_jti(tx, jti, at)?,
            "oauth.token.revoked",
            "access token".to_string(),
        ),
        RevokeTarget::AccessId(id) => {
            if !tx.exists(Table::AccessToken, &id.to_be_bytes())? {
                return Err(ClusterError::not_found("token", id));
            }
            (
                revoke_access(tx, *id, at)?,
                "oauth.token.revoked",
                format!("access token {id}"),
            )
        }
        RevokeTarget::Refresh(hash) => {
            let family = tx
                .get::<RefreshTokenRecord>(Table::RefreshToken, hash.as_bytes())?
                .map(|t| t.family);
            let count = match family {
                Some(family) => revoke_family(tx, &family, at)?,
                None => 0,
            };
            (count, "oauth.token.revoked", "refresh token".to_string())
        }
        RevokeTarget::UserTokens(key) => {
            let user = crate::lookup::user(tx, key)?;
            (
                revoke_owned(tx, &index::user(user.id), at)?,
                "oauth.token.revoked",
                format!("tokens of user {}", user.email),
            )
        }
        RevokeTarget::ClientTokens(key) => {
            let client = crate::lookup::client(tx, key)?;
            (
                revoke_owned(tx, &index::client(&client.client_id), at)?,
                "oauth.token.revoked",
                format!("tokens of client {}", client.client_id),
            )
        }
        RevokeTarget::Session(id) => {
            if !tx.exists(Table::Session, &id.to_be_bytes())? {
                return Err(ClusterError::not_found("session", id));
            }
            (
                revoke_session(tx, *id, at)?,
                "session.revoked",
                format!("session {id}"),
            )
        }
        RevokeTarget::UserSessions(key) => {
            let user = crate::lookup::user(tx, key)?;
            let mut count = 0;
            for id in session_ids(tx, &index::user_sessions(user.id))? {
                count += revoke_session(tx, id, at)?;
            }
            (
                count,
                "session.revoked",
                format!("sessions of user {}", user.email),
            )
        }
        RevokeTarget::AllSessions => {
            let mut ids = Vec::new();
            tx.reader()
                .scan::<LoginSession>(Table::Session, &[], false, |_, s| {
                    if s.revoked_at.is_none() {
                        ids.push(s.id);
                    }
                    true
                })?;
            let mut count = 0;
            for id in ids {
                count += revoke_session(tx, id, at)?;
            }
            (count, "session.revoked", "every session".to_string())
        }
    };
    let event = AuditEvent::new("oauth", action, format!("{what} revoked"))
        .changes(json!({"revoked": count}));
    Ok((count, vec![event]))
}

pub(super) fn revoke_op(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    target: &RevokeTarget,
) -> Result<Applied> {
    let (count, events) = revoke(tx, meta, target)?;
    Ok((Outcome::Revoked { count }, events))
}
