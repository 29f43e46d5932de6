//! Token exchange (RFC 8693): delegation with nested `act` claims, `resource` as audience
//! (RFC 8707), depth at most [`limits::MAX_DELEGATION_DEPTH`].

use serde_json::{Value, json};

use crate::clock::Timestamp;
use crate::command::{ClientKey, Lineage};
use crate::crypto::secret_hash;
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::lookup;
use crate::model::{AdminScope, OAuthClient, RefreshTokenRecord};
use crate::protocol::{
    ActorToken, ClientAuth, ErrorCode, GrantType, TokenExchange, TokenResponse, TokenType,
    TokenTypeParam, limits,
};
use crate::tables::{OrgReader, Table};

use super::mint::{Mint, mint};
use super::{grant_client, load_user, required};
use crate::oauth::client_auth::{find_client, require_grant};
use crate::oauth::jwt::{VerifiedToken, verify_access_token, verify_id_token};
use crate::oauth::resource::check_resource;
use crate::oauth::runtime::ProtocolCtx;
use crate::oauth::scope_checks::require_subset;

/// Who a presented token stands for.
struct Party {
    sub: String,
    user: Option<UserId>,
    client_id: Option<String>,
    scopes: Vec<String>,
    audience: Vec<String>,
    act: Option<Value>,
    /// When the presented token expires (an exchanged token never outlives it).
    expires_at: Timestamp,
    /// The login session the token belongs to (exchanged tokens end with it).
    session_id: Option<u64>,
    /// What revoking ends the exchanged token too.
    lineage: Lineage,
}

/// The token type a parameter names, refusing types this server does not read.
fn known(token_type: &TokenTypeParam, role: &str) -> Result<TokenType> {
    match token_type {
        TokenTypeParam::Known(kind) => Ok(*kind),
        TokenTypeParam::Unsupported(other) => Err(ClusterError::oauth(
            ErrorCode::InvalidRequest,
            format!("{role} type {other} is not supported"),
        )),
    }
}

fn party_of(ctx: &ProtocolCtx, token: &str, token_type: TokenType, role: &str) -> Result<Party> {
    let reader = ctx.reader();
    let invalid =
        |why: String| ClusterError::oauth(ErrorCode::InvalidGrant, format!("{role}: {why}"));
    match token_type {
        TokenType::AccessToken | TokenType::Jwt => {
            let VerifiedToken { claims, record, .. } =
                verify_access_token(&reader, token, ctx.now).map_err(|e| invalid(e.to_string()))?;
            Ok(Party {
                sub: claims.sub.clone(),
                user: record.user_id,
                client_id: record.client_id.clone(),
                scopes: claims.scopes(),
                audience: record.audience.clone(),
                act: claims.act.clone(),
                expires_at: record.expires_at,
                session_id: record.session_id,
                lineage: Lineage {
                    parent_jti: Some(record.jti.clone()),
                    family: record.family.clone(),
                },
            })
        }
        TokenType::IdToken => {
            let claims = verify_id_token(&reader, token, ctx.now, false)
                .map_err(|e| invalid(e.to_string()))?;
            let sub = claims["sub"].as_str().unwrap_or_default().to_string();
            Ok(Party {
                user: sub.parse().ok(),
                client_id: claims["aud"].as_str().map(str::to_string),
                scopes: vec!["openid".into()],
                audience: claims["aud"]
                    .as_str()
                    .map(str::to_string)
                    .into_iter()
                    .collect(),
                act: None,
                expires_at: Timestamp(claims["exp"].as_i64().unwrap_or(0) * 1000),
                session_id: None,
                lineage: Lineage::default(),
                sub,
            })
        }
        TokenType::RefreshToken => {
            let record: RefreshTokenRecord = reader
                .get::<RefreshTokenRecord>(Table::RefreshToken, secret_hash(token).as_bytes())?
                .filter(|r| {
                    r.revoked_at.is_none() && r.rotated_at.is_none() && r.expires_at > ctx.now
                })
                .ok_or_else(|| invalid("the refresh token is not active".into()))?;
            Ok(Party {
                sub: record
                    .user_id
                    .map(|u| u.to_string())
                    .unwrap_or_else(|| record.client_id.clone()),
                user: record.user_id,
                client_id: Some(record.client_id.clone()),
                scopes: record.scopes.clone(),
                audience: record.audience.clone(),
                act: None,
                expires_at: record.expires_at,
                session_id: record.session_id,
                lineage: Lineage {
                    parent_jti: None,
                    family: Some(record.family.clone()),
                },
            })
        }
    }
}

/// Refresh and ID tokens were issued to one client: only that client may exchange them (a
/// refresh token only when the client authenticates, never handed on to an actor; an ID token
/// also when the actor token was issued to that client).
fn confined_to_its_client(
    subject: &Party,
    subject_type: TokenType,
    client: Option<&OAuthClient>,
    actor: Option<&Party>,
) -> Result<()> {
    if subject_type != TokenType::RefreshToken && subject_type != TokenType::IdToken {
        return Ok(());
    }
    if subject_type == TokenType::RefreshToken && actor.is_some() {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidRequest,
            "a refresh token cannot be delegated to an actor",
        ));
    }
    let issued_to = subject.client_id.as_deref();
    let exchanging = client
        .map(|c| c.client_id.as_str())
        .or_else(|| actor.and_then(|a| a.client_id.as_deref()));
    if issued_to.is_none() || exchanging != issued_to {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidGrant,
            "refresh and ID tokens can only be exchanged by the authenticated client they were issued to",
        ));
    }
    Ok(())
}

/// Who asks for the exchange: the authenticated client, else the client the actor token was
/// issued to, else (an agent exchanging its own token, as the LumoAuth SDK does) the client
/// the subject token was issued to. It must be allowed the token-exchange grant, and the new
/// token never outlives the subject, so a token of a client without that grant cannot be
/// re-aimed or prolonged by whoever holds it.
fn exchanging_client(
    reader: &OrgReader,
    client: Option<&OAuthClient>,
    actor: Option<&Party>,
    subject: &Party,
) -> Result<OAuthClient> {
    let named = actor
        .and_then(|a| a.client_id.as_deref())
        .or(subject.client_id.as_deref());
    let found = match (client, named) {
        (Some(client), _) => client.clone(),
        (None, Some(client_id)) => find_client(reader, client_id)?,
        (None, None) => {
            return Err(ClusterError::invalid_client(
                "token exchange needs client authentication or an actor_token",
            ));
        }
    };
    require_grant(&found, GrantType::TokenExchange)?;
    Ok(found)
}

/// Levels of a nested `act` claim.
fn depth(act: &Option<Value>) -> usize {
    let mut depth = 0;
    let mut current = act.as_ref();
    while let Some(level) = current.filter(|v| v.is_object()) {
        depth += 1;
        current = level.get("act");
    }
    depth
}

/// Exchanges a subject token (and an actor token, for delegation) for an access token.
pub(super) async fn exchange(
    ctx: &ProtocolCtx,
    issuer: &str,
    auth: &ClientAuth,
    request: TokenExchange,
) -> Result<TokenResponse> {
    let reader = ctx.reader();
    let client = match auth.client_id.as_deref().filter(|c| !c.is_empty()) {
        Some(_) => Some(grant_client(ctx, auth, GrantType::TokenExchange)?),
        None => None,
    };
    let subject_token = required(request.subject_token, "subject_token")?;
    let subject_type = known(
        &required(request.subject_token_type, "subject_token_type")?,
        "subject_token",
    )?;
    let subject = party_of(ctx, &subject_token, subject_type, "subject_token")?;
    let actor = match request.actor {
        Some(ActorToken { token, token_type }) => {
            let kind = token_type.ok_or_else(|| {
                ClusterError::oauth(
                    ErrorCode::InvalidRequest,
                    "actor_token_type is required with actor_token",
                )
            })?;
            let kind = known(&kind, "actor_token")?;
            Some(party_of(ctx, &token, kind, "actor_token")?)
        }
        None => None,
    };
    confined_to_its_client(&subject, subject_type, client.as_ref(), actor.as_ref())?;
    let exchanging = exchanging_client(&reader, client.as_ref(), actor.as_ref(), &subject)?;
    // Re-aiming a token at another resource is for a party the token was issued to.
    let re_aimed = request
        .resource
        .as_ref()
        .is_some_and(|resource| !subject.audience.contains(resource));
    if re_aimed && !subject.audience.contains(&exchanging.client_id) {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidTarget,
            "only a client in the subject token's audience may exchange it for another resource",
        ));
    }
    let actor_sub = actor
        .as_ref()
        .map(|a| a.sub.clone())
        .or_else(|| client.as_ref().map(|c| c.client_id.clone()));
    let act = match &actor_sub {
        Some(sub) if *sub != subject.sub => {
            let mut level = json!({"sub": sub});
            if let Some(previous) = &subject.act {
                level["act"] = previous.clone();
            }
            Some(level)
        }
        _ => subject.act.clone(),
    };
    if depth(&act) > limits::MAX_DELEGATION_DEPTH {
        return Err(ClusterError::OAuth {
            error: ErrorCode::DelegationDepthExceeded,
            description: format!(
                "the delegation chain would be deeper than {} actors",
                limits::MAX_DELEGATION_DEPTH
            ),
            status: 403,
        });
    }
    let requested = request.scopes;
    require_subset(&requested, &subject.scopes, "the subject token")?;
    let mut scopes = if requested.is_empty() {
        subject.scopes.clone()
    } else {
        requested
    };
    // Admin scopes pass on only to a client allowed them itself.
    scopes.retain(|s| !AdminScope::is_known(s) || exchanging.scopes.contains(s));
    let audience = match request.resource {
        Some(resource) => {
            check_resource(&resource)?;
            vec![resource]
        }
        None => match (&actor_sub, &client) {
            (Some(sub), _) => vec![sub.clone()],
            (None, Some(client)) => vec![client.client_id.clone()],
            (None, None) => subject.audience.clone(),
        },
    };
    let acting_client = actor
        .as_ref()
        .and_then(|a| a.client_id.clone())
        .or_else(|| client.as_ref().map(|c| c.client_id.clone()))
        .or_else(|| subject.client_id.clone());
    let client_record = match &acting_client {
        Some(id) => lookup::client(&reader, &ClientKey::ClientId(id.clone())).ok(),
        None => None,
    };
    let user = match subject.user {
        Some(id) => Some(load_user(ctx, id)?),
        None => None,
    };
    let mint_input = Mint {
        client_id: acting_client,
        client_name: client_record
            .as_ref()
            .map(|c| c.name.clone())
            .unwrap_or_else(|| "token exchange".into()),
        user,
        scopes,
        audience: if audience.is_empty() {
            vec![issuer.to_string()]
        } else {
            audience
        },
        grant_type: GrantType::TokenExchange,
        consume: None,
        refresh: false,
        session_id: subject.session_id,
        auth_time: None,
        nonce: None,
        id_token: false,
        act,
        access_ttl_secs: client_record
            .as_ref()
            .map_or(limits::ACCESS_TTL_SECS, |c| c.access_token_ttl_secs)
            .min(((subject.expires_at.0 - ctx.now.0).max(0) / 1000) as u64),
        refresh_ttl_secs: 0,
        issued_token_type: Some(TokenType::AccessToken),
        derived: subject.lineage,
        grant_scopes: None,
        jit: None,
        test_token: false,
    };
    mint(ctx, issuer, mint_input).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn act_depth_counts_nested_actors() {
        assert_eq!(depth(&None), 0);
        assert_eq!(depth(&Some(json!({"sub": "a"}))), 1);
        assert_eq!(
            depth(&Some(
                json!({"sub": "a", "act": {"sub": "b", "act": {"sub": "c"}}})
            )),
            3
        );
    }
}
