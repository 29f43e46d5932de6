//! AAuth: identities (agents' keys, registered resources, one identifier per owner), the
//! org's token key, nonces used once, consent, codes used once, refresh tokens and
//! revocations.

use serde_json::json;

use crate::command::{
    AAuthAgentSpec, AAuthConsent, AAuthConsentRequest, AAuthIssuance, AAuthResourceSpec,
    AAuthRevocation, AgentKey, CommandMeta, NewSigningKey,
};
use crate::error::{ClusterError, Result};
use crate::lookup;
use crate::model::{
    AAuthAgent, AAuthCode, AAuthEntity, AAuthRefresh, AAuthResource, AAuthSeen, AuditEvent,
    SigningKeyRecord, SigningKeyState,
};
use crate::protocol::ErrorCode;
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;

pub(super) fn add_key(tx: &mut OrgTx, meta: &CommandMeta, key: &NewSigningKey) -> Result<Applied> {
    let mut any = false;
    tx.reader().scan_keys(Table::AAuthKey, &[], |_| {
        any = true;
        false
    })?;
    if any {
        return Ok((Outcome::Done, Vec::new()));
    }
    let public_jwk = serde_json::from_str(&key.public_jwk)
        .map_err(|e| ClusterError::internal(format!("AAuth key JWK: {e}")))?;
    let record = SigningKeyRecord {
        kid: key.kid.clone(),
        alg: key.alg,
        public_jwk,
        sealed_private: key.sealed_private.clone(),
        state: SigningKeyState::Active,
        created_at: meta.at,
        retired_at: None,
        retain_until: None,
    };
    tx.put(Table::AAuthKey, key.kid.as_bytes(), &record)?;
    Ok((Outcome::Done, Vec::new()))
}

/// Claims `identifier` for `owner`, refusing one another owner holds.
fn claim_identifier(tx: &mut OrgTx, identifier: &str, owner: AAuthEntity) -> Result<()> {
    match lookup::aauth_entity(tx, identifier)? {
        Some(existing) if existing != owner => Err(ClusterError::conflict(
            "identifier",
            format!("{identifier} is the identifier of another agent or resource"),
        )),
        _ => tx.put(Table::AAuthIdentifier, identifier.as_bytes(), &owner),
    }
}

pub(super) fn set_agent(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    key: &AgentKey,
    spec: &Option<AAuthAgentSpec>,
) -> Result<Applied> {
    let agent = lookup::agent(tx, key)?;
    if let Some(old) = lookup::aauth_agent(tx, agent.id)? {
        tx.delete(Table::AAuthIdentifier, old.identifier.as_bytes());
    }
    let id_key = agent.id.0.to_be_bytes();
    let event = match spec {
        Some(spec) => {
            claim_identifier(tx, &spec.identifier, AAuthEntity::Agent(agent.id))?;
            let identity = AAuthAgent {
                agent: agent.id,
                identifier: spec.identifier.clone(),
                keys: spec.keys.clone(),
                redirect_uris: spec.redirect_uris.clone(),
                updated_at: meta.at,
            };
            tx.put(Table::AAuthAgent, &id_key, &identity)?;
            AuditEvent::new(
                "agents",
                "aauth.agent_identity_set",
                format!("AAuth identity of agent {} set", agent.name),
            )
            .new_value(json!({
                "identifier": spec.identifier,
                "kids": spec.keys.iter().map(|k| &k.kid).collect::<Vec<_>>(),
                "redirect_uris": spec.redirect_uris,
            }))
        }
        None => {
            tx.delete(Table::AAuthAgent, &id_key);
            AuditEvent::new(
                "agents",
                "aauth.agent_identity_removed",
                format!("AAuth identity of agent {} removed", agent.name),
            )
        }
    };
    let event = event.target("agent", &agent.agent_id, agent.name.clone());
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn save_resource(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    spec: &AAuthResourceSpec,
    create: bool,
) -> Result<Applied> {
    let existing = tx.get::<AAuthResource>(Table::AAuthResource, spec.resource_id.as_bytes())?;
    let created_at = match (&existing, create) {
        (Some(_), true) => {
            return Err(ClusterError::conflict(
                "resource_id",
                format!("resource {} exists", spec.resource_id),
            ));
        }
        (None, false) => return Err(ClusterError::not_found("resource", &spec.resource_id)),
        (Some(old), false) => {
            tx.delete(Table::AAuthIdentifier, old.identifier.as_bytes());
            old.created_at
        }
        (None, true) => meta.at,
    };
    claim_identifier(
        tx,
        &spec.identifier,
        AAuthEntity::Resource(spec.resource_id.clone()),
    )?;
    let resource = AAuthResource {
        resource_id: spec.resource_id.clone(),
        name: spec.name.clone(),
        identifier: spec.identifier.clone(),
        keys: spec.keys.clone(),
        scopes: spec.scopes.clone(),
        auto_approve: spec.auto_approve,
        created_at,
        updated_at: meta.at,
    };
    tx.put(Table::AAuthResource, spec.resource_id.as_bytes(), &resource)?;
    let (action, verb) = if create {
        ("aauth.resource_created", "registered")
    } else {
        ("aauth.resource_updated", "updated")
    };
    let event = AuditEvent::new(
        "agents",
        action,
        format!("AAuth resource {} {verb}", resource.name),
    )
    .target(
        "aauth_resource",
        &resource.resource_id,
        resource.name.clone(),
    )
    .new_value(json!({"identifier": resource.identifier, "scopes": resource.scopes}));
    Ok((Outcome::Created(resource.resource_id), vec![event]))
}

pub(super) fn delete_resource(tx: &mut OrgTx, resource_id: &str) -> Result<Applied> {
    let resource = lookup::aauth_resource(tx, resource_id)?;
    tx.delete(Table::AAuthResource, resource_id.as_bytes());
    tx.delete(Table::AAuthIdentifier, resource.identifier.as_bytes());
    let event = AuditEvent::new(
        "agents",
        "aauth.resource_deleted",
        format!("AAuth resource {} deleted", resource.name),
    )
    .target("aauth_resource", resource_id, resource.name);
    Ok((Outcome::Done, vec![event]))
}

/// Records a signature nonce; one seen before (and still remembered) is a replay.
pub(super) fn use_nonce(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    nonce: &str,
    until: crate::clock::Timestamp,
) -> Result<Applied> {
    if let Some(seen) = tx.get::<AAuthSeen>(Table::AAuthNonce, nonce.as_bytes())?
        && seen.until > meta.at
    {
        return Err(ClusterError::unauthenticated(
            ErrorCode::InvalidSignature,
            "the signature nonce was used before (replayed request)",
        ));
    }
    tx.put(Table::AAuthNonce, nonce.as_bytes(), &AAuthSeen { until })?;
    Ok((Outcome::Done, Vec::new()))
}

pub(super) fn open_consent(tx: &mut OrgTx, request: &AAuthConsentRequest) -> Result<Applied> {
    tx.put(
        Table::AAuthPending,
        request.request_hash.as_bytes(),
        &request.pending,
    )?;
    Ok((Outcome::Done, Vec::new()))
}

pub(super) fn decide_consent(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    consent: &AAuthConsent,
) -> Result<Applied> {
    let pending = lookup::aauth_pending(tx, &consent.request_hash, meta.at)?;
    tx.delete(Table::AAuthPending, consent.request_hash.as_bytes());
    let (action, verb) = if consent.approve {
        ("aauth.consent_granted", "allowed")
    } else {
        ("aauth.consent_denied", "denied")
    };
    if consent.approve {
        let redirect_uri = pending.redirect_uri.clone().ok_or_else(|| {
            ClusterError::oauth(ErrorCode::InvalidRequest, "the request has no redirect_uri")
        })?;
        let mut grant = pending.grant.clone();
        grant.user = Some(consent.user);
        let code = AAuthCode {
            grant,
            redirect_uri,
            expires_at: consent.code_expires,
            used: false,
        };
        tx.put(Table::AAuthCode, consent.code_hash.as_bytes(), &code)?;
    }
    let event = AuditEvent::new(
        "agents",
        action,
        format!(
            "User {verb} agent {} at {}",
            pending.grant.agent_identifier, pending.grant.resource
        ),
    )
    .target("user", consent.user, String::new())
    .new_value(json!({"scope": pending.grant.scopes.join(" ")}));
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn issue(tx: &mut OrgTx, meta: &CommandMeta, issued: &AAuthIssuance) -> Result<Applied> {
    if let Some((hash, redirect_uri)) = &issued.code {
        let mut code = tx
            .get::<AAuthCode>(Table::AAuthCode, hash.as_bytes())?
            .filter(|c| c.expires_at > meta.at)
            .ok_or_else(|| {
                ClusterError::oauth(ErrorCode::InvalidGrant, "the code is unknown or expired")
            })?;
        if code.used {
            return Err(ClusterError::oauth(
                ErrorCode::InvalidGrant,
                "the code was used already",
            ));
        }
        if code.redirect_uri != *redirect_uri {
            return Err(ClusterError::oauth(
                ErrorCode::InvalidGrant,
                "redirect_uri differs from the one the code was sent to",
            ));
        }
        code.used = true;
        tx.put(Table::AAuthCode, hash.as_bytes(), &code)?;
    }
    if let Some(hash) = &issued.refreshed {
        lookup::aauth_refresh(tx, hash, meta.at)?;
    }
    if let (Some((hash, expires_at)), Some(grant)) = (&issued.refresh, &issued.grant) {
        let refresh = AAuthRefresh {
            grant: grant.clone(),
            expires_at: *expires_at,
            revoked: false,
        };
        tx.put(Table::AAuthRefresh, hash.as_bytes(), &refresh)?;
    }
    let mut event = AuditEvent::new(
        "agents",
        "aauth.token_issued",
        format!(
            "AAuth {} issued to {}",
            issued.kind.as_str(),
            issued.subject
        ),
    )
    .new_value(json!({"jti": issued.jti, "type": issued.kind.as_str()}));
    if let Some(grant) = &issued.grant {
        event = event.changes(json!({
            "agent": grant.agent_identifier,
            "resource": grant.resource,
            "scope": grant.scopes.join(" "),
            "user": grant.user.map(|u| u.to_string()),
        }));
    }
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn revoke(tx: &mut OrgTx, revocation: &AAuthRevocation) -> Result<Applied> {
    let (count, what) = match revocation {
        AAuthRevocation::Token { jti, until } => {
            tx.put(
                Table::AAuthRevoked,
                jti.as_bytes(),
                &AAuthSeen { until: *until },
            )?;
            (1, format!("token {jti}"))
        }
        AAuthRevocation::Refresh { hash } => {
            match tx.get::<AAuthRefresh>(Table::AAuthRefresh, hash.as_bytes())? {
                Some(mut refresh) if !refresh.revoked => {
                    refresh.revoked = true;
                    tx.put(Table::AAuthRefresh, hash.as_bytes(), &refresh)?;
                    (1, "a refresh token".to_string())
                }
                _ => (0, "an unknown refresh token".to_string()),
            }
        }
    };
    let event = AuditEvent::new(
        "agents",
        "aauth.token_revoked",
        format!("AAuth {what} revoked"),
    );
    Ok((Outcome::Revoked { count }, vec![event]))
}
