//! `POST ~/aauth/agent/token`: an agent (its delegate, signing with the key its agent token
//! binds) asks for an auth token for a resource.
//!
//! - `auth`: with the resource's resource token. Granted at once when the resource allows
//!   agents to act on their own and the agent holds every scope as a capability; otherwise
//!   401 with a `request_token` and the consent page's URL (`auth_url` and
//!   `authorization_uri`).
//! - `code`: the code the consent page sent to `redirect_uri` (single use, same URI).
//! - `refresh`: a refresh token (not rotated) with a fresh resource token; scopes narrow only.
//! - `exchange`: an auth token issued to this agent (as a resource) for a downstream
//!   resource's token, keeping its user and recording the upstream agent in `act`.

use serde_json::{Value, json};

use crate::command::{AAuthConsentRequest, AAuthIssuance, AAuthTokenKind, Op};
use crate::crypto::{random_token, secret_hash};
use crate::error::{ClusterError, Result};
use crate::lookup;
use crate::model::{AAuthEntity, AAuthGrant, AAuthPending, AAuthResource, PrincipalKind};
use crate::oauth::runtime::ProtocolCtx;
use crate::protocol::{ErrorCode, ProtocolReply};
use crate::tables::OrgReader;

use super::body::Body;
use super::caller::SignedAgent;
use super::tokens::{self, AUTH_TOKEN, RESOURCE_TOKEN};

fn invalid_scope(description: String) -> ClusterError {
    ClusterError::oauth(ErrorCode::InvalidScope, description)
}

/// A verified resource token for `agent`, and the resource that issued it.
pub fn verify_resource_token(
    reader: &OrgReader,
    issuer: &str,
    token: &str,
    agent: &SignedAgent,
) -> Result<(AAuthResource, Value)> {
    let (resource, claims) = resource_token_claims(reader, token)?;
    let audience_ok = match &claims["aud"] {
        Value::String(aud) => aud == issuer,
        Value::Array(auds) => auds.iter().any(|a| a == issuer),
        _ => false,
    };
    if !audience_ok {
        return Err(ClusterError::unauthenticated(
            ErrorCode::InvalidToken,
            format!("the resource token is not for this auth server ({issuer})"),
        ));
    }
    if claims["agent"] != agent.identity.identifier.as_str() {
        return Err(ClusterError::unauthenticated(
            ErrorCode::InvalidToken,
            "the resource token was issued to another agent",
        ));
    }
    if claims["agent_jkt"] != agent.jkt.as_str() {
        return Err(ClusterError::unauthenticated(
            ErrorCode::InvalidToken,
            "the resource token is bound to another agent key (agent_jkt)",
        ));
    }
    Ok((resource, claims))
}

/// A resource token's issuer (a registered resource) and its verified claims.
pub fn resource_token_claims(reader: &OrgReader, token: &str) -> Result<(AAuthResource, Value)> {
    let (_, unverified) = tokens::peek(token, RESOURCE_TOKEN)?;
    let iss = unverified["iss"].as_str().unwrap_or_default();
    let Some(AAuthEntity::Resource(id)) = lookup::aauth_entity(reader, iss)? else {
        return Err(ClusterError::unauthenticated(
            ErrorCode::InvalidToken,
            format!("{iss} is not a registered AAuth resource of this organization"),
        ));
    };
    let resource = lookup::aauth_resource(reader, &id)?;
    let keys = tokens::keys_with_issuer(reader, &resource.keys)?;
    let claims = tokens::verify(token, RESOURCE_TOKEN, &keys, false)?;
    Ok((resource, claims))
}

/// The scopes asked (`scope`, else the resource token's), within what the resource token
/// and the resource allow.
fn requested_scopes(body: &Body, token: &Value, resource: &AAuthResource) -> Result<Vec<String>> {
    let in_token = tokens::scope_list(token);
    let asked: Vec<String> = match body.optional_text("scope")? {
        Some(scope) => scope.split_whitespace().map(str::to_string).collect(),
        None => in_token.clone(),
    };
    if asked.is_empty() {
        return Err(invalid_scope("no scope was asked".into()));
    }
    if !in_token.is_empty()
        && let Some(extra) = asked.iter().find(|s| !in_token.contains(s))
    {
        return Err(invalid_scope(format!(
            "{extra} is not in the resource token's scope"
        )));
    }
    if !resource.scopes.is_empty()
        && let Some(extra) = asked.iter().find(|s| !resource.scopes.contains(s))
    {
        return Err(invalid_scope(format!(
            "{extra} is not a scope of {}",
            resource.identifier
        )));
    }
    Ok(asked)
}

fn grant_for(agent: &SignedAgent, resource: &AAuthResource, scopes: Vec<String>) -> AAuthGrant {
    AAuthGrant {
        agent: agent.agent.id,
        agent_identifier: agent.identity.identifier.clone(),
        delegate: agent.delegate.clone(),
        cnf_jkt: agent.jkt.clone(),
        cnf_x: agent.x.clone(),
        resource: resource.identifier.clone(),
        scopes,
        user: None,
    }
}

/// Signs an auth token for `grant`, records it (redeeming a code, checking or adding a
/// refresh token in the same entry) and answers the token response.
async fn issue(
    ctx: &ProtocolCtx,
    issuer: &str,
    request_type: &str,
    grant: AAuthGrant,
    act: Option<Value>,
    how: Redemption,
) -> Result<ProtocolReply> {
    let key = tokens::signing_key(ctx).await?;
    let jti = tokens::new_jti();
    let user = match grant.user {
        Some(user) => Some(lookup::user(
            &ctx.reader(),
            &crate::command::UserKey::Id(user),
        )?),
        None => None,
    };
    let mut claims = json!({
        "iss": issuer,
        "aud": grant.resource,
        "agent": grant.agent_identifier,
        "agent_delegate": grant.delegate,
        "sub": user.as_ref().map_or(grant.agent_identifier.clone(), |u| u.id.to_string()),
        "scope": grant.scopes.join(" "),
        "cnf": {"jwk": tokens::okp_jwk(&grant.cnf_x)},
    });
    if let Some(user) = &user {
        claims["email"] = json!(user.email);
    }
    if let Some(act) = act {
        claims["act"] = act;
    }
    let token = tokens::sign(
        &key,
        AUTH_TOKEN,
        claims,
        ctx.now,
        tokens::AUTH_TOKEN_TTL_SECS,
        &jti,
    )?;
    let (code, refreshed, new_refresh) = match how {
        Redemption::Fresh => (None, None, Some(random_token("aar_", 32))),
        Redemption::Code { hash, redirect_uri } => (
            Some((hash, redirect_uri)),
            None,
            Some(random_token("aar_", 32)),
        ),
        Redemption::Refresh(hash) => (None, Some(hash), None),
        Redemption::Exchange => (None, None, None),
    };
    let refresh = new_refresh.as_ref().map(|r| {
        (
            secret_hash(r),
            ctx.now.plus_millis(tokens::REFRESH_TTL_SECS * 1000),
        )
    });
    ctx.propose(
        PrincipalKind::System,
        Op::IssueAAuthToken(AAuthIssuance {
            kind: AAuthTokenKind::Auth,
            jti,
            expires_at: ctx.now.plus_millis(tokens::AUTH_TOKEN_TTL_SECS * 1000),
            subject: grant.agent_identifier.clone(),
            grant: Some(grant),
            code,
            refreshed,
            refresh,
        }),
    )
    .await?;
    let mut body = json!({
        "request_type": request_type,
        "auth_token": token,
        "token_type": "Bearer",
        "expires_in": tokens::AUTH_TOKEN_TTL_SECS,
    });
    if let Some(refresh) = new_refresh {
        body["refresh_token"] = json!(refresh);
    }
    Ok(ProtocolReply::AAuth { status: 200, body })
}

/// What an issuance redeems.
enum Redemption {
    Fresh,
    Code { hash: String, redirect_uri: String },
    Refresh(String),
    Exchange,
}

pub async fn token(
    ctx: &ProtocolCtx,
    issuer: &str,
    agent: SignedAgent,
    body: Body,
) -> Result<ProtocolReply> {
    let request_type = body.text("request_type")?;
    let reader = ctx.reader();
    match request_type.as_str() {
        "auth" => {
            let resource_token = body.text("resource_token")?;
            let (resource, claims) =
                verify_resource_token(&reader, issuer, &resource_token, &agent)?;
            let scopes = requested_scopes(&body, &claims, &resource)?;
            let redirect_uri = body.optional_text("redirect_uri")?;
            if let Some(uri) = &redirect_uri
                && !agent.identity.redirect_uris.contains(uri)
            {
                return Err(ClusterError::oauth(
                    ErrorCode::InvalidRedirectUri,
                    "redirect_uri is not registered for this agent",
                ));
            }
            let direct = resource.auto_approve && scopes.iter().all(|s| agent.agent.holds(s));
            let grant = grant_for(&agent, &resource, scopes);
            if direct {
                return issue(ctx, issuer, "auth", grant, None, Redemption::Fresh).await;
            }
            consent_required(ctx, issuer, &agent, grant, redirect_uri).await
        }
        "code" => {
            let code = body.text("code")?;
            let redirect_uri = body.text("redirect_uri")?;
            let hash = secret_hash(&code);
            let stored = reader
                .get::<crate::model::AAuthCode>(crate::tables::Table::AAuthCode, hash.as_bytes())?
                .ok_or_else(|| {
                    ClusterError::oauth(ErrorCode::InvalidGrant, "the code is unknown or expired")
                })?;
            if stored.grant.agent != agent.agent.id || stored.grant.cnf_jkt != agent.jkt {
                return Err(ClusterError::oauth(
                    ErrorCode::InvalidGrant,
                    "the code was issued to another agent or key",
                ));
            }
            let how = Redemption::Code { hash, redirect_uri };
            issue(ctx, issuer, "code", stored.grant, None, how).await
        }
        "refresh" => {
            let refresh_token = body.text("refresh_token")?;
            let resource_token = body.text("resource_token")?;
            let hash = secret_hash(&refresh_token);
            let stored = lookup::aauth_refresh(&reader, &hash, ctx.now)?;
            if stored.grant.agent != agent.agent.id || stored.grant.cnf_jkt != agent.jkt {
                return Err(ClusterError::oauth(
                    ErrorCode::InvalidGrant,
                    "the refresh token was issued to another agent or key",
                ));
            }
            let (resource, claims) =
                verify_resource_token(&reader, issuer, &resource_token, &agent)?;
            if resource.identifier != stored.grant.resource {
                return Err(ClusterError::oauth(
                    ErrorCode::InvalidGrant,
                    "the resource token is for another resource than the refresh token",
                ));
            }
            let scopes = requested_scopes(&body, &claims, &resource)?;
            if let Some(extra) = scopes.iter().find(|s| !stored.grant.scopes.contains(s)) {
                return Err(invalid_scope(format!("{extra} was not granted")));
            }
            let mut grant = stored.grant;
            grant.scopes = scopes;
            let mut reply = issue(
                ctx,
                issuer,
                "refresh",
                grant,
                None,
                Redemption::Refresh(hash),
            )
            .await?;
            if let ProtocolReply::AAuth { body, .. } = &mut reply {
                body["refresh_token"] = json!(refresh_token);
            }
            Ok(reply)
        }
        "exchange" => {
            let upstream = body.text("auth_token")?;
            let resource_token = body.text("resource_token")?;
            let upstream = super::endpoints::verify_auth_token(&reader, issuer, &upstream)?;
            if upstream["aud"] != agent.identity.identifier.as_str() {
                return Err(ClusterError::oauth(
                    ErrorCode::InvalidGrant,
                    "the upstream auth token was not issued for this agent",
                ));
            }
            let (resource, claims) =
                verify_resource_token(&reader, issuer, &resource_token, &agent)?;
            let scopes = requested_scopes(&body, &claims, &resource)?;
            let mut grant = grant_for(&agent, &resource, scopes);
            grant.user = upstream["sub"]
                .as_str()
                .and_then(|s| s.parse::<crate::ids::UserId>().ok());
            let mut act = json!({"agent": upstream["agent"]});
            if upstream["act"].is_object() {
                act["act"] = upstream["act"].clone();
            }
            issue(
                ctx,
                issuer,
                "exchange",
                grant,
                Some(act),
                Redemption::Exchange,
            )
            .await
        }
        other => Err(ClusterError::oauth(
            ErrorCode::InvalidRequest,
            format!("request_type must be auth, code, refresh or exchange, not {other:?}"),
        )),
    }
}

/// Opens a consent request and answers 401 with where the user consents.
async fn consent_required(
    ctx: &ProtocolCtx,
    issuer: &str,
    agent: &SignedAgent,
    grant: AAuthGrant,
    redirect_uri: Option<String>,
) -> Result<ProtocolReply> {
    let redirect_uri = redirect_uri.or_else(|| agent.identity.redirect_uris.first().cloned());
    if redirect_uri.is_none() {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidRequest,
            "a user must consent, and the agent has no redirect_uri to receive the code",
        ));
    }
    let request_token = random_token("aaq_", 24);
    ctx.propose(
        PrincipalKind::System,
        Op::OpenAAuthConsent(AAuthConsentRequest {
            request_hash: secret_hash(&request_token),
            pending: AAuthPending {
                grant,
                redirect_uri,
                expires_at: ctx.now.plus_millis(tokens::CONSENT_TTL_SECS * 1000),
            },
        }),
    )
    .await?;
    let url = format!(
        "{issuer}/aauth/agent/auth?request_token={}",
        crate::oauth::urlencode(&request_token)
    );
    Ok(ProtocolReply::AAuth {
        status: 401,
        body: json!({
            "error": "authorization_required",
            "error_description": "a user must consent; send them to auth_url",
            "request_type": "auth",
            "request_token": request_token,
            "auth_url": url,
            "authorization_uri": url,
            "expires_in": tokens::CONSENT_TTL_SECS,
        }),
    })
}
