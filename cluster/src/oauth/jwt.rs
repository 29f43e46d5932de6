//! Access and ID token claims, and verifying the org's own tokens (signature with the `kid`
//! the header names, pinned algorithm, expiry, and the replicated token record).

use jsonwebtoken::{Validation, decode, decode_header};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Timestamp;
use crate::crypto::{JwsAlg, decoding_key_of};
use crate::error::{ClusterError, Result};
use crate::model::{AccessTokenRecord, Agent, User};
use crate::tables::{OrgReader, Table};

use super::runtime::published_key;

/// `typ` of access tokens (RFC 9068).
pub const ACCESS_TYP: &str = "at+jwt";

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenClaims {
    pub iss: String,
    pub sub: String,
    /// One audience as a string, several as an array.
    pub aud: Value,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub client_id: Option<String>,
    /// The organization slug.
    #[serde(default)]
    pub org: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The B2B organization the sign-in chose (its id), its slug and the member's roles in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_roles: Option<Vec<String>>,
    /// The delegation chain (RFC 8693 section 4.1), outermost actor first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Value>,
    /// A JIT grant's RFC 9396 `authorization_details`, with its request and task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_details: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jit_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// Minted by an administrator for testing (`~/admin/agents/{id}/token`): refused where a
    /// real person is asked (approvals).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lumo_test_token: bool,
}

impl TokenClaims {
    /// The scopes as a list.
    pub fn scopes(&self) -> Vec<String> {
        self.scope.split_whitespace().map(str::to_string).collect()
    }
}

/// `aud` as a claim value.
pub fn audience_claim(audience: &[String]) -> Value {
    match audience {
        [one] => Value::String(one.clone()),
        many => Value::Array(many.iter().cloned().map(Value::String).collect()),
    }
}

/// Seconds since the epoch.
pub fn epoch_secs(t: Timestamp) -> i64 {
    t.0.div_euclid(1000)
}

fn invalid(why: &str) -> ClusterError {
    ClusterError::Unauthenticated {
        message: format!("invalid access token: {why}"),
    }
}

/// Checks a JWT's signature against the org's published key named by its `kid`; returns
/// the header `typ` and the claims. Expiry is left to the caller (`now` is the command clock).
pub(super) fn verify_signature(
    reader: &OrgReader,
    token: &str,
    now: Timestamp,
) -> Result<(Option<String>, Value)> {
    let header = decode_header(token).map_err(|_| invalid("malformed or unsupported JWT"))?;
    let kid = header.kid.as_deref().ok_or_else(|| invalid("no kid"))?;
    let key = published_key(reader, kid, now)?.ok_or_else(|| invalid("unknown signing key"))?;
    if JwsAlg::parse(&format!("{:?}", header.alg)) != Some(key.alg) {
        return Err(invalid("algorithm does not match the key"));
    }
    let decoding = decoding_key_of(key.alg, &key.public_jwk).map_err(ClusterError::internal)?;
    let mut validation = Validation::new(key.alg.algorithm());
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data =
        decode::<Value>(token, &decoding, &validation).map_err(|_| invalid("bad signature"))?;
    Ok((header.typ, data.claims))
}

/// A live access token: its claims, its replicated record, and its user (active, unblocked)
/// when it acts for one.
pub struct VerifiedToken {
    pub claims: TokenClaims,
    pub record: AccessTokenRecord,
    pub user: Option<User>,
    /// The agent whose client the token was issued to, if it is an agent's.
    pub agent: Option<Agent>,
}

/// Verifies one of this org's access tokens and finds its record; refuses expired and revoked
/// tokens, ID tokens, and tokens of other organizations.
pub fn verify_access_token(
    reader: &OrgReader,
    token: &str,
    now: Timestamp,
) -> Result<VerifiedToken> {
    let (typ, claims) = verify_signature(reader, token, now)?;
    if typ.as_deref() != Some(ACCESS_TYP) {
        return Err(invalid("not an access token"));
    }
    let claims: TokenClaims =
        serde_json::from_value(claims).map_err(|_| invalid("missing claims"))?;
    let org = crate::lookup::load_org(reader)?;
    if claims.org != org.slug {
        return Err(invalid("issued by another organization"));
    }
    if claims.exp <= epoch_secs(now) {
        return Err(invalid("expired"));
    }
    let id: u64 = reader
        .get(Table::AccessTokenJti, claims.jti.as_bytes())?
        .ok_or_else(|| invalid("unknown token"))?;
    let record: AccessTokenRecord = reader
        .get(Table::AccessToken, &id.to_be_bytes())?
        .ok_or_else(|| invalid("unknown token"))?;
    if !record.is_active(now) {
        return Err(invalid("revoked"));
    }
    let (user, agent) = holders_still_allowed(reader, &record)?;
    Ok(VerifiedToken {
        claims,
        record,
        user,
        agent,
    })
}

/// A token stops working the moment its client (or the agent owning it) is switched off or
/// its user blocked or deactivated (deleting either revokes the token outright). Returns the
/// user and the agent.
fn holders_still_allowed(
    reader: &OrgReader,
    record: &AccessTokenRecord,
) -> Result<(Option<User>, Option<Agent>)> {
    let mut agent = None;
    if let Some(client_id) = &record.client_id {
        let key = crate::command::ClientKey::ClientId(client_id.clone());
        if crate::lookup::client(reader, &key).is_ok_and(|c| !c.is_active) {
            return Err(invalid("the client is disabled"));
        }
        agent = crate::lookup::agent_of_client(reader, client_id)?;
        if agent.as_ref().is_some_and(|a| !a.usable()) {
            return Err(invalid("the agent is deactivated or disabled"));
        }
    }
    let user = match record.user_id {
        Some(id) => reader
            .get::<User>(Table::User, &id.to_bytes())?
            .filter(|u| u.is_active && !u.blocked)
            .map(Some)
            .ok_or_else(|| invalid("the user is blocked, inactive or deleted"))?,
        None => None,
    };
    Ok((user, agent))
}

/// Verifies one of this org's ID tokens (signature and issuer); `allow_expired` for
/// `id_token_hint`.
pub(super) fn verify_id_token(
    reader: &OrgReader,
    token: &str,
    now: Timestamp,
    allow_expired: bool,
) -> Result<Value> {
    let (typ, claims) = verify_signature(reader, token, now)?;
    if typ.as_deref() == Some(ACCESS_TYP) {
        return Err(invalid("an access token is not an ID token"));
    }
    let org = crate::lookup::load_org(reader)?;
    let suffix = format!("/orgs/{}/api/v1", org.slug);
    if !claims["iss"].as_str().is_some_and(|i| i.ends_with(&suffix)) {
        return Err(invalid("issued by another organization"));
    }
    let exp = claims["exp"].as_i64().unwrap_or(0);
    if !allow_expired && exp <= epoch_secs(now) {
        return Err(invalid("expired"));
    }
    Ok(claims)
}
