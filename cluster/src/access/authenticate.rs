//! Who a credential is: an API key of the org, or one of the org's access tokens.

use crate::api_key::hash_key;
use crate::caller::Credential;
use crate::error::{ClusterError, Result};
use crate::model::{Agent, ApiKey, Principal, PrincipalKind};
use crate::tables::{OrgReader, Table};

/// The principal behind `credential` in the org `reader` reads.
pub(crate) fn authenticate(
    reader: &OrgReader,
    credential: &Credential,
    now: crate::clock::Timestamp,
) -> Result<Principal> {
    let key = match credential {
        Credential::ApiKey(key) => key,
        Credential::Bearer(token) => {
            return bearer_principal(reader, token, now).or_else(|refused| {
                // Not one of the org's access tokens: perhaps its SCIM token.
                scim_principal(reader, token)?.ok_or(refused)
            });
        }
        Credential::None => {
            return Err(ClusterError::Unauthenticated {
                message:
                    "missing credential: send an API key in X-API-Key or Authorization: ApiKey"
                        .into(),
            });
        }
    };
    if key.starts_with(crate::api_key::AGENT_KEY_PREFIX) {
        return agent_key_principal(reader, key, now);
    }
    let record = crate::lookup::api_key(reader, &hash_key(key))?.ok_or_else(invalid_key)?;
    api_key_principal(reader, record, now)
}

fn invalid_key() -> ClusterError {
    ClusterError::Unauthenticated {
        message: "invalid API key".into(),
    }
}

/// The principal behind `credential`, with the org's API keys read through the memo of its
/// remembered facts (`OrgFacts::api_key`).
pub(crate) fn authenticate_memoized(
    org: &crate::authz::OrgFacts,
    reader: &OrgReader,
    credential: &Credential,
    now: crate::clock::Timestamp,
) -> Result<Principal> {
    match credential {
        Credential::ApiKey(key) if !key.starts_with(crate::api_key::AGENT_KEY_PREFIX) => {
            let record = org
                .api_key(reader, &hash_key(key))?
                .ok_or_else(invalid_key)?;
            api_key_principal(reader, record, now)
        }
        _ => authenticate(reader, credential, now),
    }
}

fn api_key_principal(
    reader: &OrgReader,
    record: ApiKey,
    now: crate::clock::Timestamp,
) -> Result<Principal> {
    if !record.is_usable(now) {
        return Err(ClusterError::Unauthenticated {
            message: "API key is revoked or expired".into(),
        });
    }
    Ok(Principal {
        org: reader.org(),
        kind: PrincipalKind::ApiKey {
            id: record.id,
            name: record.name,
        },
        scopes: record.scopes,
        acting_agent: None,
        grant_only: false,
    })
}

/// The principal behind one of the org's access tokens: its user or client, with the token's
/// scopes (admin scopes in them grant admin API access like an API key's).
fn bearer_principal(
    reader: &OrgReader,
    token: &str,
    now: crate::clock::Timestamp,
) -> Result<Principal> {
    let crate::oauth::VerifiedToken {
        claims,
        record,
        user,
        agent,
    } = crate::oauth::verify_access_token(reader, token, now)?;
    // A token issued for a resource server (RFC 8707 `resource` -> `aud`, always a URL) is for
    // that server only; the admin API takes tokens whose audience is the client itself.
    if record.audience.iter().any(|a| a.contains("://")) {
        return Err(ClusterError::Unauthenticated {
            message: "the token was issued for another resource (aud)".into(),
        });
    }
    // A client-credentials token of an agent's client is the agent; a user's token issued to
    // an agent's client (delegation) is the user, with the agent acting.
    let acting_agent = match (&user, &agent) {
        (Some(_), Some(agent)) => Some(agent.id),
        _ => None,
    };
    let kind = match (user, agent) {
        (Some(user), _) => PrincipalKind::User {
            id: user.id,
            email: user.email,
        },
        (None, Some(agent)) => agent_kind(agent),
        (None, None) => {
            let client_id = record.client_id.clone().unwrap_or_default();
            let name = crate::lookup::client(
                reader,
                &crate::command::ClientKey::ClientId(client_id.clone()),
            )
            .map(|c| c.name)
            .unwrap_or_else(|_| client_id.clone());
            PrincipalKind::Client { client_id, name }
        }
    };
    Ok(Principal {
        org: reader.org(),
        kind,
        scopes: claims.scopes(),
        acting_agent,
        grant_only: claims.jit_request_id.is_some(),
    })
}

fn agent_kind(agent: Agent) -> PrincipalKind {
    PrincipalKind::Agent {
        id: agent.id,
        agent_id: agent.agent_id,
        name: agent.name,
    }
}

/// The agent behind an agent key (`agk_…`): the current key, or a rotated-out key in its
/// grace window, of an agent that is active and enabled. Its scopes are its capabilities.
fn agent_key_principal(
    reader: &OrgReader,
    key: &str,
    now: crate::clock::Timestamp,
) -> Result<Principal> {
    let invalid = || ClusterError::Unauthenticated {
        message: "invalid agent key".into(),
    };
    let hash = hash_key(key);
    let id: u64 = reader
        .get(Table::AgentKeyHash, hash.as_bytes())?
        .ok_or_else(invalid)?;
    let agent: Agent = reader
        .get(Table::Agent, &id.to_be_bytes())?
        .ok_or_else(invalid)?;
    if !agent.key_matches(&hash, now) {
        return Err(ClusterError::Unauthenticated {
            message: "the agent key was rotated or revoked".into(),
        });
    }
    if !agent.usable() {
        return Err(ClusterError::Unauthenticated {
            message: format!("the agent is {}", agent.status()),
        });
    }
    let scopes = agent.capabilities.clone();
    Ok(Principal {
        org: reader.org(),
        kind: agent_kind(agent),
        scopes,
        acting_agent: None,
        grant_only: false,
    })
}

/// The org's SCIM client, when `token` is the inbound SCIM token of its settings (kept as a
/// SHA-256 hash) and inbound SCIM is on.
fn scim_principal(reader: &OrgReader, token: &str) -> Result<Option<Principal>> {
    use subtle::ConstantTimeEq;
    let section = crate::settings::SettingsSection::Scim;
    let stored: Option<serde_json::Value> =
        reader.get(Table::Settings, section.as_str().as_bytes())?;
    // The stored section (rendering redacts the hash).
    let Some(settings) = stored else {
        return Ok(None);
    };
    let inbound = &settings["inbound"];
    let Some(expected) = inbound["bearer_token_hash"]["sha256"].as_str() else {
        return Ok(None);
    };
    let given = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()));
    let matches: bool = given.as_bytes().ct_eq(expected.as_bytes()).into();
    if !matches || inbound["enabled"] != serde_json::Value::Bool(true) {
        return Ok(None);
    }
    Ok(Some(Principal {
        org: reader.org(),
        kind: PrincipalKind::Scim,
        scopes: vec![crate::model::SCIM_SCOPE.to_string()],
        acting_agent: None,
        grant_only: false,
    }))
}
