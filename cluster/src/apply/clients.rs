//! OAuth clients: create, update, delete, rotate the secret.

use serde_json::json;

use crate::clock::Timestamp;
use crate::command::{
    ClientKey, ClientPatch, CommandMeta, MetadataClient, NewClient, RevokeTarget,
};
use crate::error::{ClusterError, Result};
use crate::lookup::{self, load_org, save_org};
use crate::model::{AuditEvent, OAuthClient, RetiredSecret};
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;

fn save(tx: &mut OrgTx, client: &OAuthClient) -> Result<()> {
    tx.put(Table::OAuthClient, &client.id.to_be_bytes(), client)
}

fn summary(client: &OAuthClient) -> serde_json::Value {
    json!({
        "clientId": client.client_id,
        "name": client.name,
        "isConfidential": client.confidential,
        "redirectUris": client.redirect_uris,
        "grantTypes": client.grant_types,
        "scopes": client.scopes,
        "requiresPkce": client.requires_pkce,
        "isActive": client.is_active,
    })
}

/// JSON carried as text in a command.
pub(super) fn json_text(field: &str, text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| ClusterError::invalid(field, format!("invalid JSON: {e}")))
}

/// Refuses scopes that are neither org scopes, admin API scopes nor platform scopes.
fn check_scopes(tx: &OrgTx, scopes: &[String]) -> Result<()> {
    for scope in scopes {
        let known = tx.exists(Table::ScopeName, scope.as_bytes())?
            || crate::model::AdminScope::is_known(scope)
            || crate::protocol::scopes::PLATFORM_SCOPES.contains(&scope.as_str());
        if !known {
            return Err(ClusterError::invalid(
                "scopes",
                format!("unknown scope {scope}: create it under /admin/scopes first"),
            ));
        }
    }
    Ok(())
}

pub(super) fn create(tx: &mut OrgTx, meta: &CommandMeta, new: &NewClient) -> Result<Applied> {
    check_scopes(tx, &new.scopes)?;
    if tx.exists(Table::OAuthClientKey, new.client_id.as_bytes())? {
        return Err(ClusterError::conflict(
            "clientId",
            format!("a client with client_id {} already exists", new.client_id),
        ));
    }
    let mut org = load_org(tx)?;
    org.counters.client += 1;
    save_org(tx, &org)?;
    let client = OAuthClient {
        id: org.counters.client,
        client_id: new.client_id.clone(),
        name: new.name.clone(),
        description: new.description.clone(),
        confidential: new.confidential,
        secret_hash: new.secret_hash.clone(),
        previous_secret: None,
        redirect_uris: new.redirect_uris.clone(),
        post_logout_redirect_uris: new.post_logout_redirect_uris.clone(),
        grant_types: new.grant_types.clone(),
        scopes: new.scopes.clone(),
        requires_pkce: new.requires_pkce,
        is_active: new.is_active,
        token_endpoint_auth_method: new.token_endpoint_auth_method.clone(),
        access_token_ttl_secs: new.access_token_ttl_secs,
        refresh_token_ttl_secs: new.refresh_token_ttl_secs,
        skip_consent: new.skip_consent,
        registration: match &new.registration {
            Some(r) => Some(crate::model::ClientRegistration {
                access_token_hash: r.access_token_hash.clone(),
                metadata: json_text("registration", &r.metadata)?,
            }),
            None => None,
        },
        jwks: new
            .jwks
            .as_deref()
            .map(|j| json_text("jwks", j))
            .transpose()?,
        metadata_fetched_at: None,
        created_at: meta.at,
        updated_at: meta.at,
    };
    let how = if client.registration.is_some() {
        "registered dynamically"
    } else {
        "created"
    };
    insert(tx, &client, how)
}

/// Stores a new client with its `client_id` index and the audit record of its creation.
fn insert(tx: &mut OrgTx, client: &OAuthClient, how: &str) -> Result<Applied> {
    save(tx, client)?;
    tx.put(
        Table::OAuthClientKey,
        client.client_id.as_bytes(),
        &client.id,
    )?;
    let event = AuditEvent::new(
        "oauth_client",
        "oauth_client.created",
        format!("OAuth client {} {how}", client.name),
    )
    .target("oauth_client", &client.client_id, client.name.clone())
    .new_value(summary(client));
    Ok((Outcome::Created(client.id.to_string()), vec![event]))
}

/// Creates the shadow client of a metadata document, or refreshes it from a newer copy (an
/// admin's `isActive` choice stays). A client registered otherwise under that id is refused.
pub(super) fn sync_metadata(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    document: &MetadataClient,
) -> Result<Applied> {
    let mut scopes = Vec::new();
    for scope in &document.scopes {
        let known = tx.exists(Table::ScopeName, scope.as_bytes())?
            || crate::model::AdminScope::is_known(scope)
            || crate::protocol::scopes::PLATFORM_SCOPES.contains(&scope.as_str());
        if known && !crate::model::AdminScope::is_known(scope) {
            scopes.push(scope.clone());
        }
    }
    let key = ClientKey::ClientId(document.client_id.clone());
    let existing = lookup::client(tx, &key).ok();
    let client = match existing {
        Some(client) if client.metadata_fetched_at.is_none() => {
            return Err(ClusterError::conflict(
                "clientId",
                "a client registered another way already uses this client_id",
            ));
        }
        Some(mut client) => {
            client.name = document.name.clone();
            client.redirect_uris = document.redirect_uris.clone();
            client.grant_types = document.grant_types.clone();
            client.scopes = scopes;
            client.metadata_fetched_at = Some(meta.at);
            client.updated_at = meta.at;
            save(tx, &client)?;
            return Ok((Outcome::Done, Vec::new()));
        }
        None => {
            let mut org = load_org(tx)?;
            org.counters.client += 1;
            save_org(tx, &org)?;
            OAuthClient {
                id: org.counters.client,
                client_id: document.client_id.clone(),
                name: document.name.clone(),
                description: None,
                confidential: false,
                secret_hash: None,
                previous_secret: None,
                redirect_uris: document.redirect_uris.clone(),
                post_logout_redirect_uris: Vec::new(),
                grant_types: document.grant_types.clone(),
                scopes,
                requires_pkce: true,
                is_active: true,
                token_endpoint_auth_method: "none".into(),
                access_token_ttl_secs: document.access_token_ttl_secs,
                refresh_token_ttl_secs: document.refresh_token_ttl_secs,
                skip_consent: false,
                registration: None,
                jwks: None,
                metadata_fetched_at: Some(meta.at),
                created_at: meta.at,
                updated_at: meta.at,
            }
        }
    };
    insert(tx, &client, "created from its metadata document")
}

pub(super) fn update(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    key: &ClientKey,
    patch: &ClientPatch,
) -> Result<Applied> {
    let mut client = lookup::client(tx, key)?;
    if let Some(scopes) = &patch.scopes {
        check_scopes(tx, scopes)?;
    }
    let before = summary(&client);
    if let Some(name) = &patch.name {
        client.name = name.clone();
    }
    if let Some(description) = &patch.description {
        client.description = description.clone();
    }
    if let Some(uris) = &patch.redirect_uris {
        client.redirect_uris = uris.clone();
    }
    if let Some(uris) = &patch.post_logout_redirect_uris {
        client.post_logout_redirect_uris = uris.clone();
    }
    if let Some(grants) = &patch.grant_types {
        client.grant_types = grants.clone();
    }
    if let Some(scopes) = &patch.scopes {
        client.scopes = scopes.clone();
    }
    if let Some(pkce) = patch.requires_pkce {
        client.requires_pkce = pkce;
    }
    if let Some(active) = patch.is_active {
        client.is_active = active;
    }
    if let Some(ttl) = patch.access_token_ttl_secs {
        client.access_token_ttl_secs = ttl;
    }
    if let Some(ttl) = patch.refresh_token_ttl_secs {
        client.refresh_token_ttl_secs = ttl;
    }
    if let Some(skip) = patch.skip_consent {
        client.skip_consent = skip;
    }
    if let Some(jwks) = &patch.jwks {
        client.jwks = jwks.as_deref().map(|j| json_text("jwks", j)).transpose()?;
    }
    client.updated_at = meta.at;
    save(tx, &client)?;
    let after = summary(&client);
    let action = match (patch.is_active, before["isActive"].as_bool()) {
        (Some(false), Some(true)) => "oauth_client.disabled",
        (Some(true), Some(false)) => "oauth_client.enabled",
        _ => "oauth_client.updated",
    };
    let event = AuditEvent::new(
        "oauth_client",
        action,
        format!("OAuth client {} updated", client.name),
    )
    .target("oauth_client", &client.client_id, client.name.clone())
    .old_value(before)
    .new_value(after);
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn delete(tx: &mut OrgTx, meta: &CommandMeta, key: &ClientKey) -> Result<Applied> {
    let client = lookup::client(tx, key)?;
    if let Some(agent) = lookup::agent_of_client(tx, &client.client_id)? {
        return Err(ClusterError::protected(format!(
            "client {} is the OAuth client of agent {}: delete the agent instead",
            client.client_id, agent.agent_id
        )));
    }
    // Everything the client was given stops working with it.
    let (revoked, _) = super::grants::revoke(
        tx,
        meta,
        &RevokeTarget::ClientTokens(ClientKey::ClientId(client.client_id.clone())),
    )?;
    tx.delete(Table::OAuthClient, &client.id.to_be_bytes());
    tx.delete(Table::OAuthClientKey, client.client_id.as_bytes());
    let event = AuditEvent::new(
        "oauth_client",
        "oauth_client.deleted",
        format!("OAuth client {} deleted", client.name),
    )
    .target("oauth_client", &client.client_id, client.name.clone())
    .old_value(summary(&client))
    .changes(json!({"revokedTokens": revoked}));
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn rotate_secret(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    key: &ClientKey,
    secret_hash: &str,
    grace_until: Timestamp,
) -> Result<Applied> {
    let mut client = lookup::client(tx, key)?;
    if !client.confidential {
        return Err(ClusterError::invalid(
            "clientId",
            "public clients have no secret to rotate",
        ));
    }
    client.previous_secret = client.secret_hash.take().and_then(|hash| {
        (grace_until > meta.at).then_some(RetiredSecret {
            hash,
            valid_until: grace_until,
        })
    });
    client.secret_hash = Some(secret_hash.to_string());
    client.updated_at = meta.at;
    save(tx, &client)?;
    let event = AuditEvent::new(
        "oauth_client",
        "oauth_client.secret_rotated",
        format!("secret of OAuth client {} rotated", client.name),
    )
    .target("oauth_client", &client.client_id, client.name.clone())
    .changes(json!({"previousSecretValidUntil": grace_until.to_rfc3339()}));
    Ok((Outcome::Done, vec![event]))
}
