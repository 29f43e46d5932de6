//! Token exchange (RFC 8693: delegation with nested `act` claims, `resource` as audience,
//! depth at most 3) and the JWT bearer grant (RFC 7523, assertions signed with a key the
//! client registered).

use jsonwebtoken::{Validation, decode, decode_header};
use serde_json::{Value, json};

use crate::clock::Timestamp;
use crate::command::{Consume, Lineage, UserKey};
use crate::crypto::{JwsAlg, decoding_key_of, secret_hash};
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::lookup;
use crate::model::{AdminScope, OAuthClient, RefreshTokenRecord};
use crate::tables::{OrgReader, Table};

use super::client_auth::{authenticate, find_client, require_grant};
use super::jwt::{VerifiedToken, epoch_secs, verify_access_token, verify_id_token};
use super::runtime::ProtocolCtx;
use super::scopes::{parse, require_subset};
use super::token::{
    GRANT_EXCHANGE, GRANT_JWT_BEARER, Mint, check_resource, load_user, mint, required,
};
use super::{ClientAuth, Params, TokenResponse, limits};

const TYPE_ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";
const TYPE_JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
const TYPE_ID: &str = "urn:ietf:params:oauth:token-type:id_token";
const TYPE_REFRESH: &str = "urn:ietf:params:oauth:token-type:refresh_token";

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

fn party_of(ctx: &ProtocolCtx, token: &str, token_type: &str, role: &str) -> Result<Party> {
    let reader = ctx.reader();
    let invalid = |why: String| ClusterError::oauth("invalid_grant", format!("{role}: {why}"));
    match token_type {
        TYPE_ACCESS | TYPE_JWT => {
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
        TYPE_ID => {
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
        TYPE_REFRESH => {
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
        other => Err(ClusterError::oauth(
            "invalid_request",
            format!("{role} type {other} is not supported"),
        )),
    }
}

fn subject_type(params: &Params) -> &str {
    params
        .get("subject_token_type")
        .map(String::as_str)
        .unwrap_or("")
}

/// Refresh and ID tokens were issued to one client: only that client may exchange them (a
/// refresh token only when the client authenticates, never handed on to an actor; an ID token
/// also when the actor token was issued to that client).
fn confined_to_its_client(
    subject: &Party,
    subject_type: &str,
    client: Option<&OAuthClient>,
    actor: Option<&Party>,
) -> Result<()> {
    if subject_type != TYPE_REFRESH && subject_type != TYPE_ID {
        return Ok(());
    }
    if subject_type == TYPE_REFRESH && actor.is_some() {
        return Err(ClusterError::oauth(
            "invalid_request",
            "a refresh token cannot be delegated to an actor",
        ));
    }
    let issued_to = subject.client_id.as_deref();
    let exchanging = client
        .map(|c| c.client_id.as_str())
        .or_else(|| actor.and_then(|a| a.client_id.as_deref()));
    if issued_to.is_none() || exchanging != issued_to {
        return Err(ClusterError::oauth(
            "invalid_grant",
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
    require_grant(&found, GRANT_EXCHANGE)?;
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

pub(super) async fn token_exchange(
    ctx: &ProtocolCtx,
    issuer: &str,
    auth: &ClientAuth,
    params: &Params,
) -> Result<TokenResponse> {
    let reader = ctx.reader();
    let client = match auth.client_id.as_deref().filter(|c| !c.is_empty()) {
        Some(_) => {
            let client = authenticate(&reader, auth, ctx.now)?;
            require_grant(&client, GRANT_EXCHANGE)?;
            Some(client)
        }
        None => None,
    };
    let subject = party_of(
        ctx,
        required(params, "subject_token")?,
        required(params, "subject_token_type")?,
        "subject_token",
    )?;
    let actor = match params.get("actor_token").filter(|t| !t.is_empty()) {
        Some(token) => {
            let kind = params.get("actor_token_type").ok_or_else(|| {
                ClusterError::oauth(
                    "invalid_request",
                    "actor_token_type is required with actor_token",
                )
            })?;
            Some(party_of(ctx, token, kind, "actor_token")?)
        }
        None => None,
    };
    confined_to_its_client(
        &subject,
        subject_type(params),
        client.as_ref(),
        actor.as_ref(),
    )?;
    let exchanging = exchanging_client(&reader, client.as_ref(), actor.as_ref(), &subject)?;
    // Re-aiming a token at another resource is for a party the token was issued to.
    let re_aimed = params
        .get("resource")
        .is_some_and(|resource| !subject.audience.contains(resource));
    if re_aimed && !subject.audience.contains(&exchanging.client_id) {
        return Err(ClusterError::oauth(
            "invalid_target",
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
            error: "delegation_depth_exceeded".into(),
            description: format!(
                "the delegation chain would be deeper than {} actors",
                limits::MAX_DELEGATION_DEPTH
            ),
            status: 403,
        });
    }
    let requested = parse(params.get("scope").map(String::as_str));
    require_subset(&requested, &subject.scopes, "the subject token")?;
    let mut scopes = if requested.is_empty() {
        subject.scopes.clone()
    } else {
        requested
    };
    // Admin scopes pass on only to a client allowed them itself.
    scopes.retain(|s| !AdminScope::is_known(s) || exchanging.scopes.contains(s));
    let audience = match params.get("resource") {
        Some(resource) => {
            check_resource(resource)?;
            vec![resource.clone()]
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
        Some(id) => lookup::client(&reader, &crate::command::ClientKey::ClientId(id.clone())).ok(),
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
        grant_type: GRANT_EXCHANGE,
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
        issued_token_type: Some(TYPE_ACCESS.into()),
        derived: subject.lineage,
        grant_scopes: None,
    };
    mint(ctx, issuer, mint_input).await
}

/// The key in the client's JWKS that signed `assertion`.
fn assertion_key(client: &OAuthClient, kid: Option<&str>) -> Result<(JwsAlg, Value)> {
    let keys = client
        .jwks
        .as_ref()
        .and_then(|j| j.get("keys"))
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ClusterError::oauth(
                "invalid_grant",
                "the client has no registered keys to verify assertions with",
            )
        })?;
    let key = keys
        .iter()
        .find(|k| kid.is_none() || k["kid"].as_str() == kid)
        .ok_or_else(|| ClusterError::oauth("invalid_grant", "no registered key has this kid"))?;
    let alg = match (key["kty"].as_str(), key["alg"].as_str()) {
        (Some("RSA"), _) => JwsAlg::RS256,
        (Some("EC"), _) => JwsAlg::ES256,
        (Some("OKP"), _) => JwsAlg::EdDSA,
        _ => {
            return Err(ClusterError::oauth(
                "invalid_grant",
                "unsupported key type in the client's JWKS",
            ));
        }
    };
    Ok((alg, key.clone()))
}

fn assertion_user(reader: &OrgReader, sub: &str) -> Result<UserId> {
    let key: UserKey = sub
        .parse()
        .map_err(|_| ClusterError::oauth("invalid_grant", "sub must be a user id or email"))?;
    lookup::user(reader, &key)
        .map(|u| u.id)
        .map_err(|_| ClusterError::oauth("invalid_grant", "the assertion's subject is unknown"))
}

pub(super) async fn jwt_bearer(
    ctx: &ProtocolCtx,
    issuer: &str,
    auth: &ClientAuth,
    params: &Params,
) -> Result<TokenResponse> {
    let reader = ctx.reader();
    let client = authenticate(&reader, auth, ctx.now)?;
    require_grant(&client, GRANT_JWT_BEARER)?;
    let assertion = required(params, "assertion")?;
    let header = decode_header(assertion)
        .map_err(|_| ClusterError::oauth("invalid_grant", "the assertion is not a valid JWT"))?;
    let (alg, jwk) = assertion_key(&client, header.kid.as_deref())?;
    if header.alg != alg.algorithm() {
        return Err(ClusterError::oauth(
            "invalid_grant",
            "the assertion's alg does not match the key",
        ));
    }
    let key = decoding_key_of(alg, &jwk)
        .map_err(|e| ClusterError::oauth("invalid_grant", format!("client key: {e}")))?;
    let mut validation = Validation::new(alg.algorithm());
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = decode::<Value>(assertion, &key, &validation)
        .map_err(|_| ClusterError::oauth("invalid_grant", "the assertion's signature is invalid"))?
        .claims;
    let now = epoch_secs(ctx.now);
    let exp = claims["exp"]
        .as_i64()
        .ok_or_else(|| ClusterError::oauth("invalid_grant", "the assertion has no exp"))?;
    if exp <= now || exp > now + 3600 {
        return Err(ClusterError::oauth(
            "invalid_grant",
            "the assertion is expired or valid for more than an hour",
        ));
    }
    if claims["iss"].as_str() != Some(client.client_id.as_str()) {
        return Err(ClusterError::oauth(
            "invalid_grant",
            "the assertion's iss must be the client_id",
        ));
    }
    let token_endpoint = format!("{issuer}/oauth/token");
    let audience_ok = match &claims["aud"] {
        Value::String(a) => *a == token_endpoint || *a == issuer,
        Value::Array(list) => list
            .iter()
            .any(|a| a.as_str() == Some(&token_endpoint) || a.as_str() == Some(issuer)),
        _ => false,
    };
    if !audience_ok {
        return Err(ClusterError::oauth(
            "invalid_grant",
            "the assertion's aud must be this token endpoint or issuer",
        ));
    }
    let sub = claims["sub"]
        .as_str()
        .ok_or_else(|| ClusterError::oauth("invalid_grant", "the assertion has no sub"))?;
    // Each assertion is good for one token: its jti is remembered until it expires.
    let jti = claims["jti"]
        .as_str()
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| ClusterError::oauth("invalid_grant", "the assertion needs a jti"))?;
    let once = Consume::Assertion {
        hash: secret_hash(&format!("{}\n{jti}", client.client_id)),
        expires_at: Timestamp(exp * 1000),
    };
    let user = load_user(ctx, assertion_user(&reader, sub)?)?;
    let requested = parse(params.get("scope").map(String::as_str));
    require_subset(&requested, &client.scopes, "this client")?;
    let scopes = super::scopes::entitled(&reader, user.id, requested)?;
    let mut mint_input = Mint::for_client(&client, GRANT_JWT_BEARER);
    mint_input.consume = Some(once);
    mint_input.scopes = scopes;
    mint_input.user = Some(user);
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
