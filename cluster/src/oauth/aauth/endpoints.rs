//! The other signed AAuth endpoints: agent tokens for an agent's delegates, platform tokens,
//! resource tokens for registered resources, revocation, and verification for resources.

use serde_json::{Value, json};

use crate::command::{AAuthIssuance, AAuthRevocation, AAuthTokenKind, Op};
use crate::crypto::http_signature::{decode_base64, okp_thumbprint};
use crate::crypto::secret_hash;
use crate::error::{ClusterError, Result};
use crate::model::{AAuthRefresh, PrincipalKind};
use crate::oauth::runtime::ProtocolCtx;
use crate::protocol::{ErrorCode, ProtocolReply};
use crate::tables::{OrgReader, Table};

use super::body::Body;
use super::caller::{SignedAgent, Signer, verify_agent_token};
use super::tokens::{self, AGENT_TOKEN, AUTH_TOKEN, RESOURCE_TOKEN};

fn bad(description: impl Into<String>) -> ClusterError {
    ClusterError::oauth(ErrorCode::InvalidRequest, description)
}

fn ok(body: Value) -> Result<ProtocolReply> {
    Ok(ProtocolReply::AAuth { status: 200, body })
}

/// Records an issued token in the audit log.
async fn record(
    ctx: &ProtocolCtx,
    kind: AAuthTokenKind,
    jti: &str,
    ttl_secs: i64,
    subject: &str,
) -> Result<()> {
    ctx.propose(
        PrincipalKind::System,
        Op::IssueAAuthToken(AAuthIssuance {
            kind,
            jti: jti.to_string(),
            expires_at: ctx.now.plus_millis(ttl_secs * 1000),
            subject: subject.to_string(),
            grant: None,
            code: None,
            refreshed: None,
            refresh: None,
        }),
    )
    .await?;
    Ok(())
}

/// `aauth/agent/issue`: an agent (signing with its registered key) issues an agent token to
/// a delegate, binding the delegate's Ed25519 key.
pub async fn issue_agent_token(
    ctx: &ProtocolCtx,
    agent: SignedAgent,
    body: Body,
) -> Result<ProtocolReply> {
    if agent.agent_token.is_some() {
        return Err(ClusterError::Forbidden {
            message:
                "a delegate cannot issue agent tokens; the agent signs with its registered key"
                    .into(),
            required_scopes: Vec::new(),
            granted_scopes: Vec::new(),
        });
    }
    let delegate = body.text("delegate_sub")?;
    if delegate.len() > 255 {
        return Err(bad("delegate_sub is longer than 255 characters"));
    }
    let key = match body.value("delegate_public_key") {
        Some(Value::Object(jwk)) => Value::Object(jwk.clone()),
        Some(_) => return Err(bad("delegate_public_key must be a JWK object")),
        None => return Err(bad("delegate_public_key is required")),
    };
    let x = crate::model::OkpKey::ed25519_x(&key)
        .ok_or_else(|| bad("delegate_public_key must be an Ed25519 (OKP) key with a 32-byte x"))?;
    let mut claims = json!({
        "iss": agent.identity.identifier,
        "sub": delegate,
        "agent_id": agent.agent.agent_id,
        "cnf": {"jwk": tokens::okp_jwk(x)},
    });
    match body.value("audience") {
        None => {}
        Some(aud @ Value::String(_)) => claims["aud"] = aud.clone(),
        Some(Value::Array(auds)) if auds.iter().all(Value::is_string) => {
            claims["aud"] = json!(auds)
        }
        Some(_) => return Err(bad("audience must be a string or an array of strings")),
    }
    let signing = tokens::signing_key(ctx).await?;
    let jti = tokens::new_jti();
    let ttl = tokens::AGENT_TOKEN_TTL_SECS;
    let token = tokens::sign(&signing, AGENT_TOKEN, claims, ctx.now, ttl, &jti)?;
    record(ctx, AAuthTokenKind::Agent, &jti, ttl, &delegate).await?;
    ok(json!({"agent_token": token, "token_type": AGENT_TOKEN, "expires_in": ttl}))
}

/// `aauth/agent/platform-token`: the agent's delegate exchanges its agent token (bound to
/// the key it signs with) for a Lumo access token of the agent.
pub async fn platform_token(
    ctx: &ProtocolCtx,
    issuer: &str,
    agent: SignedAgent,
    body: Body,
) -> Result<ProtocolReply> {
    const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
    if let Some(grant) = body.optional_text("grant_type")?
        && grant != EXCHANGE
    {
        return Err(ClusterError::oauth(
            ErrorCode::UnsupportedGrantType,
            format!("grant_type must be {EXCHANGE}"),
        ));
    }
    let subject = body.text("subject_token")?;
    let (subject_agent, _, claims) = verify_agent_token(&ctx.reader(), &subject)?;
    let bound = tokens::cnf_key(&claims, AGENT_TOKEN)?;
    if subject_agent.id != agent.agent.id || okp_thumbprint(&bound) != agent.jkt {
        return Err(ClusterError::unauthenticated(
            ErrorCode::InvalidToken,
            "subject_token must be the agent token whose key signed this request",
        ));
    }
    let scopes: Vec<String> = match body.optional_text("scope")? {
        Some(scope) => scope.split_whitespace().map(str::to_string).collect(),
        None => agent.agent.capabilities.clone(),
    };
    if let Some(missing) = scopes.iter().find(|s| !agent.agent.holds(s)) {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidScope,
            format!("agent {} does not hold {missing}", agent.agent.agent_id),
        ));
    }
    let response =
        crate::oauth::grants::agent_token::issue_platform(ctx, issuer, &agent.agent, scopes)
            .await?;
    ok(json!({
        "access_token": response.access_token,
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "token_type": response.token_type,
        "expires_in": response.expires_in,
        "scope": response.scope,
        "agent_id": agent.agent.agent_id,
        "cnf_jkt": Value::Null,
    }))
}

/// `aauth/resource/token`: a registered resource has Lumo sign a resource token binding an
/// agent (and its key) to a request for its scopes.
pub async fn resource_token(
    ctx: &ProtocolCtx,
    issuer: &str,
    signer: Signer,
    body: Body,
) -> Result<ProtocolReply> {
    let resource = signer.resource()?;
    let agent = body.text("agent")?;
    let agent_jkt = body.text("agent_jkt")?;
    if decode_base64(&agent_jkt).is_none_or(|d| d.len() != 32) {
        return Err(bad("agent_jkt must be a base64url SHA-256 JWK thumbprint"));
    }
    let scope = body.optional_text("scope")?.unwrap_or_default();
    if !resource.scopes.is_empty()
        && let Some(extra) = scope
            .split_whitespace()
            .find(|s| !resource.scopes.iter().any(|r| r == s))
    {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidScope,
            format!("{extra} is not a scope of {}", resource.identifier),
        ));
    }
    let mut claims = json!({
        "iss": resource.identifier,
        "aud": body.optional_text("auth_server")?.unwrap_or_else(|| issuer.to_string()),
        "agent": agent,
        "agent_jkt": agent_jkt,
        "scope": scope,
    });
    if let Some(url) = body.optional_text("auth_request_url")? {
        claims["auth_request_url"] = json!(url);
    }
    let signing = tokens::signing_key(ctx).await?;
    let jti = tokens::new_jti();
    let ttl = tokens::RESOURCE_TOKEN_TTL_SECS;
    let token = tokens::sign(&signing, RESOURCE_TOKEN, claims, ctx.now, ttl, &jti)?;
    record(ctx, AAuthTokenKind::Resource, &jti, ttl, &agent).await?;
    ok(json!({"resource_token": token, "token_type": RESOURCE_TOKEN, "expires_in": ttl}))
}

/// An auth token this org issued: signature, expiry, not revoked.
pub fn verify_auth_token(reader: &OrgReader, issuer: &str, token: &str) -> Result<Value> {
    let keys = tokens::issuer_keys(reader)?;
    let claims = tokens::verify(token, AUTH_TOKEN, &keys, false)?;
    if claims["iss"] != issuer {
        return Err(ClusterError::unauthenticated(
            ErrorCode::InvalidToken,
            "the auth token was issued by another auth server",
        ));
    }
    if tokens::revoked(reader, claims["jti"].as_str().unwrap_or_default())? {
        return Err(ClusterError::unauthenticated(
            ErrorCode::InvalidToken,
            "the auth token was revoked",
        ));
    }
    Ok(claims)
}

/// The answer of a verification that failed on the token (not on the caller).
fn inactive(error: &ClusterError) -> Result<ProtocolReply> {
    let text = match error {
        ClusterError::OAuth { description, .. } => description.clone(),
        other => return Err(other.clone()),
    };
    ok(json!({"active": false, "error": text}))
}

/// `aauth/auth/token/verify`: a resource asks whether an auth token presented to it is live
/// and for it.
pub fn verify_auth(
    ctx: &ProtocolCtx,
    issuer: &str,
    signer: Signer,
    body: Body,
) -> Result<ProtocolReply> {
    let resource = signer.resource()?;
    let token = body.text("auth_token")?;
    if let Some(asked) = body.optional_text("resource")?
        && asked != resource.identifier
    {
        return Err(ClusterError::Forbidden {
            message: "a resource verifies only tokens for itself".into(),
            required_scopes: Vec::new(),
            granted_scopes: Vec::new(),
        });
    }
    let claims = match verify_auth_token(&ctx.reader(), issuer, &token) {
        Ok(claims) => claims,
        Err(e) => return inactive(&e),
    };
    if claims["aud"] != resource.identifier.as_str() {
        return ok(json!({"active": false, "error": "the auth token is for another resource"}));
    }
    let jkt = claims["cnf"]["jwk"]["x"].as_str().map(okp_thumbprint);
    let mut answer = json!({
        "active": true,
        "agent": claims["agent"],
        "agent_delegate": claims["agent_delegate"],
        "resource": claims["aud"],
        "sub": claims["sub"],
        "scope": claims["scope"],
        "cnf_jkt": jkt,
        "pop_required": true,
        "exp": claims["exp"],
    });
    if claims["act"].is_object() {
        answer["act"] = claims["act"].clone();
    }
    ok(answer)
}

/// `aauth/resource/token/verify`: a resource checks a resource token it issued.
pub fn verify_resource(ctx: &ProtocolCtx, signer: Signer, body: Body) -> Result<ProtocolReply> {
    let resource = signer.resource()?;
    let token = body.text("resource_token")?;
    let claims = match super::agent_token::resource_token_claims(&ctx.reader(), &token) {
        Ok((issuer, claims)) if issuer.resource_id == resource.resource_id => claims,
        Ok(_) => {
            return ok(
                json!({"active": false, "error": "the token was issued by another resource"}),
            );
        }
        Err(e) => return inactive(&e),
    };
    for field in ["agent", "agent_jkt"] {
        if let Some(expected) = body.optional_text(field)?
            && claims[field] != expected.as_str()
        {
            return ok(json!({"active": false, "error": format!("{field} does not match")}));
        }
    }
    ok(json!({
        "active": true,
        "resource": claims["iss"],
        "agent": claims["agent"],
        "agent_jkt": claims["agent_jkt"],
        "scope": claims["scope"],
        "auth_request_url": claims["auth_request_url"],
        "exp": claims["exp"],
    }))
}

/// `aauth/token/revoke`: an agent revokes its auth or refresh tokens; a resource, those for
/// it. Takes effect on every node once answered.
pub async fn revoke(
    ctx: &ProtocolCtx,
    issuer: &str,
    signer: Signer,
    body: Body,
) -> Result<ProtocolReply> {
    let token = body.text("token")?;
    let kind = body
        .optional_text("token_type")?
        .unwrap_or_else(|| "auth_token".into());
    let reader = ctx.reader();
    let owns = |agent_identifier: &str, resource: &str| match &signer {
        Signer::Agent(agent) => agent.identity.identifier == agent_identifier,
        Signer::Resource { resource: r, .. } => r.identifier == resource,
    };
    let revocation = match kind.as_str() {
        "refresh_token" => {
            let hash = secret_hash(&token);
            match reader.get::<AAuthRefresh>(Table::AAuthRefresh, hash.as_bytes())? {
                Some(r) if owns(&r.grant.agent_identifier, &r.grant.resource) => {
                    AAuthRevocation::Refresh { hash }
                }
                Some(_) => return Err(forbidden_revoke()),
                None => return ok(json!({"revoked": false})),
            }
        }
        "auth_token" if token.contains('.') => {
            let keys = tokens::issuer_keys(&reader)?;
            let claims = tokens::verify(&token, AUTH_TOKEN, &keys, true)?;
            if claims["iss"] != issuer {
                return Err(bad("the auth token was issued by another auth server"));
            }
            let (agent, aud) = (
                claims["agent"].as_str().unwrap_or_default(),
                claims["aud"].as_str().unwrap_or_default(),
            );
            if !owns(agent, aud) {
                return Err(forbidden_revoke());
            }
            AAuthRevocation::Token {
                jti: claims["jti"].as_str().unwrap_or_default().to_string(),
                until: crate::clock::Timestamp(claims["exp"].as_i64().unwrap_or(0) * 1000),
            }
        }
        // A bare token id: unguessable, so whoever holds it may end it.
        "auth_token" => AAuthRevocation::Token {
            jti: token,
            until: ctx.now.plus_millis(tokens::AUTH_TOKEN_TTL_SECS * 1000),
        },
        other => {
            return Err(bad(format!(
                "token_type must be auth_token or refresh_token, not {other}"
            )));
        }
    };
    let outcome = ctx
        .propose(PrincipalKind::System, Op::RevokeAAuthToken(revocation))
        .await?;
    let revoked = matches!(outcome, crate::query::Outcome::Revoked { count } if count > 0);
    ok(json!({"revoked": revoked}))
}

fn forbidden_revoke() -> ClusterError {
    ClusterError::Forbidden {
        message: "that token was issued to another agent or resource".into(),
        required_scopes: Vec::new(),
        granted_scopes: Vec::new(),
    }
}
