//! AAuth's JWTs: the org's Ed25519 token key (made the first time it is needed), signing
//! (`agent+jwt`, `resource+jwt`, `auth+jwt`), and verification against a key set.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use crate::clock::Timestamp;
use crate::command::Op;
use crate::crypto::{JwsAlg, SigningMaterial};
use crate::error::{ClusterError, Result};
use crate::model::{OkpKey, PrincipalKind, SigningKeyRecord};
use crate::oauth::runtime::ProtocolCtx;
use crate::protocol::ErrorCode;
use crate::tables::{OrgReader, Table};

pub const AGENT_TOKEN: &str = "agent+jwt";
pub const RESOURCE_TOKEN: &str = "resource+jwt";
pub const AUTH_TOKEN: &str = "auth+jwt";

pub const AGENT_TOKEN_TTL_SECS: i64 = 3600;
pub const RESOURCE_TOKEN_TTL_SECS: i64 = 300;
pub const AUTH_TOKEN_TTL_SECS: i64 = 3600;
pub const REFRESH_TTL_SECS: i64 = 30 * 86_400;
pub const CONSENT_TTL_SECS: i64 = 600;
pub const CODE_TTL_SECS: i64 = 120;

fn key_record(reader: &OrgReader) -> Result<Option<SigningKeyRecord>> {
    let mut found = None;
    reader.scan::<SigningKeyRecord>(Table::AAuthKey, &[], true, |_, key| {
        found = Some(key);
        false
    })?;
    Ok(found)
}

/// The org's AAuth public keys (empty until the first token is signed).
pub fn issuer_keys(reader: &OrgReader) -> Result<Vec<OkpKey>> {
    let mut keys = Vec::new();
    reader.scan::<SigningKeyRecord>(Table::AAuthKey, &[], true, |_, key| {
        if let Some(x) = key.public_jwk["x"].as_str() {
            keys.push(OkpKey {
                kid: key.kid.clone(),
                x: x.to_string(),
            });
        }
        true
    })?;
    Ok(keys)
}

/// Keys that verify tokens an agent's or resource's identifier issues: its own, and the
/// org's (which signs the tokens Lumo issues on its behalf).
pub fn keys_with_issuer(reader: &OrgReader, own: &[OkpKey]) -> Result<Vec<OkpKey>> {
    let mut keys = own.to_vec();
    keys.extend(issuer_keys(reader)?);
    Ok(keys)
}

/// The key AAuth tokens are signed with, created the first time.
pub async fn signing_key(ctx: &ProtocolCtx) -> Result<Arc<SigningMaterial>> {
    if let Some(record) = key_record(&ctx.reader())? {
        return ctx.runtime.material(ctx.org, &record);
    }
    let key = ctx.runtime.new_key(ctx.org, JwsAlg::EdDSA, ctx.now)?;
    ctx.propose(PrincipalKind::System, Op::AddAAuthKey(key))
        .await?;
    let record = key_record(&ctx.reader())?
        .ok_or_else(|| ClusterError::internal("AAuth key missing after creation"))?;
    ctx.runtime.material(ctx.org, &record)
}

/// Seconds since the epoch.
pub fn secs(at: Timestamp) -> i64 {
    at.0.div_euclid(1000)
}

/// A new token id.
pub fn new_jti() -> String {
    crate::crypto::random_token("", 18)
}

/// Signs `claims` (with `iat`, `exp` and `jti` added) as a `typ` token.
pub fn sign(
    key: &SigningMaterial,
    typ: &str,
    mut claims: Value,
    now: Timestamp,
    ttl_secs: i64,
    jti: &str,
) -> Result<String> {
    claims["iat"] = json!(secs(now));
    claims["exp"] = json!(secs(now) + ttl_secs);
    claims["jti"] = json!(jti);
    key.sign(&claims, typ).map_err(ClusterError::internal)
}

fn refuse(description: impl Into<String>) -> ClusterError {
    ClusterError::unauthenticated(ErrorCode::InvalidToken, description)
}

/// The unverified header and claims of a JWT (to find who signed it).
pub fn peek(token: &str, typ: &str) -> Result<(jsonwebtoken::Header, Value)> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| refuse(format!("the {typ} is not a JWT")))?;
    if !header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(typ))
    {
        return Err(refuse(format!(
            "expected a token of typ {typ}, got {}",
            header.typ.as_deref().unwrap_or("none")
        )));
    }
    if header.alg != Algorithm::EdDSA {
        return Err(refuse(format!(
            "the {typ} must be signed with an Ed25519 key (EdDSA), not {:?}",
            header.alg
        )));
    }
    let payload = token.split('.').nth(1).unwrap_or_default();
    let claims = crate::crypto::http_signature::decode_base64(payload)
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .filter(Value::is_object)
        .ok_or_else(|| refuse(format!("the {typ} has no JSON claims")))?;
    Ok((header, claims))
}

/// Verifies a `typ` token's signature with one of `keys` (by `kid` when it names one) and
/// its expiry (unless `allow_expired`); returns its claims.
pub fn verify(token: &str, typ: &str, keys: &[OkpKey], allow_expired: bool) -> Result<Value> {
    let (header, _) = peek(token, typ)?;
    let candidates: Vec<&OkpKey> = match &header.kid {
        Some(kid) if keys.iter().any(|k| &k.kid == kid) => {
            keys.iter().filter(|k| &k.kid == kid).collect()
        }
        _ => keys.iter().collect(),
    };
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_aud = false;
    validation.leeway = 0;
    validation.validate_exp = !allow_expired;
    validation.set_required_spec_claims(&["exp"]);
    let mut expired = false;
    for key in candidates {
        let decoding = DecodingKey::from_ed_components(&key.x)
            .map_err(|_| ClusterError::internal("an AAuth key is not an Ed25519 key"))?;
        match jsonwebtoken::decode::<Value>(token, &decoding, &validation) {
            Ok(data) => return Ok(data.claims),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
                expired = true;
            }
            Err(_) => {}
        }
    }
    Err(refuse(if expired {
        format!("the {typ} expired")
    } else {
        format!("the {typ} signature does not verify with the issuer's keys")
    }))
}

/// True when token id `jti` was revoked.
pub fn revoked(reader: &OrgReader, jti: &str) -> Result<bool> {
    reader.exists(Table::AAuthRevoked, jti.as_bytes())
}

/// The `cnf.jwk` of a token: an Ed25519 key's `x`.
pub fn cnf_key(claims: &Value, typ: &str) -> Result<String> {
    OkpKey::ed25519_x(&claims["cnf"]["jwk"])
        .map(str::to_string)
        .ok_or_else(|| {
            refuse(format!(
                "the {typ} must bind an Ed25519 (OKP) key in cnf.jwk"
            ))
        })
}

/// A public Ed25519 JWK with `x`.
pub fn okp_jwk(x: &str) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "x": x})
}

/// A space-separated scope string as a list.
pub fn scope_list(claims: &Value) -> Vec<String> {
    claims["scope"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}
