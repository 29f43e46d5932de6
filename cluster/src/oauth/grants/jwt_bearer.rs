//! The JWT bearer grant (RFC 7523 section 2.1): assertions signed with a key the client
//! registered, each good for one token.

use jsonwebtoken::{Validation, decode, decode_header};
use serde_json::Value;

use crate::clock::Timestamp;
use crate::command::{Consume, UserKey};
use crate::crypto::{JwsAlg, decoding_key_of, secret_hash};
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::lookup;
use crate::model::OAuthClient;
use crate::protocol::{ClientAuth, ErrorCode, GrantType, TokenResponse};
use crate::tables::OrgReader;

use super::mint::{Mint, mint};
use super::{grant_client, load_user, required};
use crate::oauth::jwt::epoch_secs;
use crate::oauth::runtime::ProtocolCtx;
use crate::oauth::scope_checks::{entitled, require_subset};

/// The key in the client's JWKS that signed `assertion`.
fn assertion_key(client: &OAuthClient, kid: Option<&str>) -> Result<(JwsAlg, Value)> {
    let keys = client
        .jwks
        .as_ref()
        .and_then(|j| j.get("keys"))
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ClusterError::oauth(
                ErrorCode::InvalidGrant,
                "the client has no registered keys to verify assertions with",
            )
        })?;
    let key = keys
        .iter()
        .find(|k| kid.is_none() || k["kid"].as_str() == kid)
        .ok_or_else(|| {
            ClusterError::oauth(ErrorCode::InvalidGrant, "no registered key has this kid")
        })?;
    let alg = match (key["kty"].as_str(), key["alg"].as_str()) {
        (Some("RSA"), _) => JwsAlg::RS256,
        (Some("EC"), _) => JwsAlg::ES256,
        (Some("OKP"), _) => JwsAlg::EdDSA,
        _ => {
            return Err(ClusterError::oauth(
                ErrorCode::InvalidGrant,
                "unsupported key type in the client's JWKS",
            ));
        }
    };
    Ok((alg, key.clone()))
}

fn assertion_user(reader: &OrgReader, sub: &str) -> Result<UserId> {
    let key: UserKey = sub.parse().map_err(|_| {
        ClusterError::oauth(ErrorCode::InvalidGrant, "sub must be a user id or email")
    })?;
    lookup::user(reader, &key).map(|u| u.id).map_err(|_| {
        ClusterError::oauth(
            ErrorCode::InvalidGrant,
            "the assertion's subject is unknown",
        )
    })
}

/// Issues an access token for the user a client-signed assertion names (each assertion once).
pub(super) async fn issue(
    ctx: &ProtocolCtx,
    issuer: &str,
    auth: &ClientAuth,
    assertion: Option<String>,
    requested: Vec<String>,
) -> Result<TokenResponse> {
    let reader = ctx.reader();
    let client = grant_client(ctx, auth, GrantType::JwtBearer)?;
    let assertion = required(assertion, "assertion")?;
    let assertion = assertion.as_str();
    let header = decode_header(assertion).map_err(|_| {
        ClusterError::oauth(ErrorCode::InvalidGrant, "the assertion is not a valid JWT")
    })?;
    let (alg, jwk) = assertion_key(&client, header.kid.as_deref())?;
    if header.alg != alg.algorithm() {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidGrant,
            "the assertion's alg does not match the key",
        ));
    }
    let key = decoding_key_of(alg, &jwk)
        .map_err(|e| ClusterError::oauth(ErrorCode::InvalidGrant, format!("client key: {e}")))?;
    let mut validation = Validation::new(alg.algorithm());
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = decode::<Value>(assertion, &key, &validation)
        .map_err(|_| {
            ClusterError::oauth(
                ErrorCode::InvalidGrant,
                "the assertion's signature is invalid",
            )
        })?
        .claims;
    let now = epoch_secs(ctx.now);
    let exp = claims["exp"]
        .as_i64()
        .ok_or_else(|| ClusterError::oauth(ErrorCode::InvalidGrant, "the assertion has no exp"))?;
    if exp <= now || exp > now + 3600 {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidGrant,
            "the assertion is expired or valid for more than an hour",
        ));
    }
    if claims["iss"].as_str() != Some(client.client_id.as_str()) {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidGrant,
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
            ErrorCode::InvalidGrant,
            "the assertion's aud must be this token endpoint or issuer",
        ));
    }
    let sub = claims["sub"]
        .as_str()
        .ok_or_else(|| ClusterError::oauth(ErrorCode::InvalidGrant, "the assertion has no sub"))?;
    // Each assertion is good for one token: its jti is remembered until it expires.
    let jti = claims["jti"]
        .as_str()
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| ClusterError::oauth(ErrorCode::InvalidGrant, "the assertion needs a jti"))?;
    let once = Consume::Assertion {
        hash: secret_hash(&format!("{}\n{jti}", client.client_id)),
        expires_at: Timestamp(exp * 1000),
    };
    let user = load_user(ctx, assertion_user(&reader, sub)?)?;
    require_subset(&requested, &client.scopes, "this client")?;
    let scopes = entitled(&reader, user.id, requested)?;
    let mut mint_input = Mint::for_client(&client, GrantType::JwtBearer);
    mint_input.consume = Some(once);
    mint_input.scopes = scopes;
    mint_input.user = Some(user);
    mint(ctx, issuer, mint_input).await
}
