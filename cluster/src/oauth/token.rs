//! The token endpoint: grant dispatch, the authorization code, refresh and client credentials
//! grants, and minting (record through Raft, then sign) shared by every grant.

use base64::Engine;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256, Sha512};

use crate::clock::Timestamp;
use crate::command::{Consume, Issuance, Lineage, NewAccessToken, NewRefreshToken, Op};
use crate::crypto::{JwsAlg, random_token, s256, secret_hash};
use crate::error::{ClusterError, Result};
use crate::model::{AdminScope, AuthCode, OAuthClient, PrincipalKind, RefreshTokenRecord, User};
use crate::query::Outcome;
use crate::tables::Table;

use super::client_auth::{authenticate, authenticate_confidential, require_grant};
use super::jwt::{ACCESS_TYP, TokenClaims, audience_claim, epoch_secs};
use super::runtime::ProtocolCtx;
use super::scopes::{join, parse, require_subset};
use super::{ClientAuth, Params, ProtocolReply, TokenResponse, device, exchange};

pub(super) const GRANT_CODE: &str = "authorization_code";
pub(super) const GRANT_REFRESH: &str = "refresh_token";
pub(super) const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
pub(super) const GRANT_DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub(super) const GRANT_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub(super) const GRANT_JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
pub(super) const GRANT_CIBA: &str = "urn:openid:params:grant-type:ciba";

/// Every grant type this server implements.
pub const GRANT_TYPES: &[&str] = &[
    GRANT_CODE,
    GRANT_REFRESH,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_DEVICE,
    GRANT_EXCHANGE,
    GRANT_JWT_BEARER,
    GRANT_CIBA,
];

/// Scopes that describe an end user; a client acting for itself never gets them by default.
const USER_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "phone",
    "address",
    "offline_access",
];

/// A required parameter.
pub(super) fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ClusterError::oauth("invalid_request", format!("{name} is required")))
}

pub(super) async fn token(
    ctx: &ProtocolCtx,
    issuer: &str,
    auth: &ClientAuth,
    params: &Params,
) -> Result<ProtocolReply> {
    let grant_type = required(params, "grant_type")?;
    let response = match grant_type {
        GRANT_CODE => authorization_code(ctx, issuer, auth, params).await?,
        GRANT_REFRESH => refresh(ctx, issuer, auth, params).await?,
        GRANT_CLIENT_CREDENTIALS => client_credentials(ctx, issuer, auth, params).await?,
        GRANT_DEVICE => device::device_token(ctx, issuer, auth, params).await?,
        GRANT_CIBA => device::ciba_token(ctx, issuer, auth, params).await?,
        GRANT_EXCHANGE => exchange::token_exchange(ctx, issuer, auth, params).await?,
        GRANT_JWT_BEARER => exchange::jwt_bearer(ctx, issuer, auth, params).await?,
        other => {
            return Err(ClusterError::oauth(
                "unsupported_grant_type",
                format!("grant_type {other} is not supported"),
            ));
        }
    };
    Ok(ProtocolReply::Token(response))
}

/// Everything one token response needs.
pub(super) struct Mint {
    pub client_id: Option<String>,
    pub client_name: String,
    pub user: Option<User>,
    pub scopes: Vec<String>,
    pub audience: Vec<String>,
    pub grant_type: &'static str,
    pub consume: Option<Consume>,
    pub refresh: bool,
    pub session_id: Option<u64>,
    pub auth_time: Option<Timestamp>,
    pub nonce: Option<String>,
    pub id_token: bool,
    pub act: Option<Value>,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    pub issued_token_type: Option<String>,
    pub derived: Lineage,
    /// The grant a rotated refresh token keeps when this access token asked for less
    /// (RFC 6749 section 6: narrowing a refresh never shrinks the grant).
    pub grant_scopes: Option<Vec<String>>,
}

impl Mint {
    /// A mint for `client` with its lifetimes and nothing else set.
    pub(super) fn for_client(client: &OAuthClient, grant_type: &'static str) -> Self {
        Mint {
            client_id: Some(client.client_id.clone()),
            client_name: client.name.clone(),
            user: None,
            scopes: Vec::new(),
            audience: vec![client.client_id.clone()],
            grant_type,
            consume: None,
            refresh: false,
            session_id: None,
            auth_time: None,
            nonce: None,
            id_token: false,
            act: None,
            access_ttl_secs: client.access_token_ttl_secs,
            refresh_ttl_secs: client.refresh_token_ttl_secs,
            issued_token_type: None,
            derived: Lineage::default(),
            grant_scopes: None,
        }
    }
}

/// Standard claims of `user` the scopes release (ID tokens and userinfo).
pub(super) fn user_claims(user: &User, scopes: &[String]) -> Map<String, Value> {
    let mut claims = Map::new();
    let has = |s: &str| scopes.iter().any(|x| x == s);
    if has("profile") {
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                claims.insert(k.into(), json!(v));
            }
        };
        put("name", &user.name);
        put("given_name", &user.given_name);
        put("family_name", &user.family_name);
        put("picture", &user.picture);
        put("preferred_username", &user.username);
        put("locale", &user.locale);
        put("zoneinfo", &user.zoneinfo);
        claims.insert(
            "updated_at".into(),
            json!(epoch_secs(user.updated_at.unwrap_or(user.created_at))),
        );
    }
    if has("email") {
        claims.insert("email".into(), json!(user.email));
        claims.insert("email_verified".into(), json!(user.email_verified));
    }
    if has("phone")
        && let Some(phone) = &user.phone_number
    {
        claims.insert("phone_number".into(), json!(phone));
        claims.insert(
            "phone_number_verified".into(),
            json!(user.phone_number_verified),
        );
    }
    claims
}

/// `at_hash`: the left half of the access token's hash, with the ID token's algorithm.
fn at_hash(alg: JwsAlg, access_token: &str) -> String {
    let digest: Vec<u8> = match alg {
        JwsAlg::EdDSA => Sha512::digest(access_token.as_bytes()).to_vec(),
        JwsAlg::RS256 | JwsAlg::ES256 => Sha256::digest(access_token.as_bytes()).to_vec(),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// Records the tokens through Raft, then signs them.
pub(super) async fn mint(ctx: &ProtocolCtx, issuer: &str, mint: Mint) -> Result<TokenResponse> {
    let key = ctx.signing_key().await?;
    let org = crate::lookup::load_org(&ctx.reader())?;
    let now = ctx.now;
    let jti = random_token("", 18);
    let access_expires = now.plus_millis((mint.access_ttl_secs as i64) * 1000);
    let refresh_secret = mint.refresh.then(|| random_token("lrt_", 32));
    let user_id = mint.user.as_ref().map(|u| u.id);
    let issuance = Issuance {
        consume: mint.consume.clone(),
        access: NewAccessToken {
            jti: jti.clone(),
            client_id: mint.client_id.clone(),
            user_id,
            scopes: mint.scopes.clone(),
            audience: mint.audience.clone(),
            grant_type: mint.grant_type.to_string(),
            expires_at: access_expires,
            session_id: mint.session_id,
            derived: mint.derived.clone(),
        },
        refresh: refresh_secret.as_ref().map(|secret| NewRefreshToken {
            hash: secret_hash(secret),
            family: random_token("", 16),
            scopes: mint
                .grant_scopes
                .clone()
                .unwrap_or_else(|| mint.scopes.clone()),
            audience: mint.audience.clone(),
            expires_at: now.plus_millis((mint.refresh_ttl_secs as i64) * 1000),
            auth_time: mint.auth_time,
            nonce: mint.nonce.clone(),
        }),
    };
    let actor = match &mint.user {
        Some(user) => PrincipalKind::User {
            id: user.id,
            email: user.email.clone(),
        },
        None => ProtocolCtx::client_actor(
            mint.client_id.as_deref().unwrap_or("anonymous"),
            &mint.client_name,
        ),
    };
    match ctx.propose(actor, Op::IssueTokens(issuance)).await? {
        Outcome::TokensIssued { .. } => {}
        Outcome::GrantRefused { error, description } => {
            return Err(ClusterError::oauth(&error, description));
        }
        other => return Err(ClusterError::internal(format!("unexpected {other:?}"))),
    }
    let sub = match &mint.user {
        Some(user) => user.id.to_string(),
        None => mint.client_id.clone().unwrap_or_default(),
    };
    let claims = TokenClaims {
        iss: issuer.to_string(),
        sub: sub.clone(),
        aud: audience_claim(&mint.audience),
        exp: epoch_secs(access_expires),
        iat: epoch_secs(now),
        nbf: epoch_secs(now),
        jti,
        scope: join(&mint.scopes),
        client_id: mint.client_id.clone(),
        org: org.slug,
        sid: mint.session_id.map(|s| s.to_string()),
        auth_time: mint.auth_time.map(epoch_secs),
        act: mint.act.clone(),
    };
    let access_token = key
        .sign(&claims, ACCESS_TYP)
        .map_err(ClusterError::internal)?;
    let id_token = match (&mint.user, mint.id_token, &mint.client_id) {
        (Some(user), true, Some(client_id)) => {
            let mut id = user_claims(user, &mint.scopes);
            id.insert("iss".into(), json!(issuer));
            id.insert("sub".into(), json!(sub));
            id.insert("aud".into(), json!(client_id));
            id.insert("azp".into(), json!(client_id));
            id.insert("exp".into(), json!(epoch_secs(access_expires)));
            id.insert("iat".into(), json!(epoch_secs(now)));
            if let Some(auth_time) = mint.auth_time {
                id.insert("auth_time".into(), json!(epoch_secs(auth_time)));
            }
            if let Some(nonce) = &mint.nonce {
                id.insert("nonce".into(), json!(nonce));
            }
            if let Some(sid) = mint.session_id {
                id.insert("sid".into(), json!(sid.to_string()));
            }
            id.insert("at_hash".into(), json!(at_hash(key.alg, &access_token)));
            Some(
                key.sign(&Value::Object(id), "JWT")
                    .map_err(ClusterError::internal)?,
            )
        }
        _ => None,
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: mint.access_ttl_secs,
        scope: join(&mint.scopes),
        refresh_token: refresh_secret,
        id_token,
        issued_token_type: mint.issued_token_type,
    })
}

/// The user a grant is for; deleted users end their grants.
pub(super) fn load_user(ctx: &ProtocolCtx, id: crate::ids::UserId) -> Result<User> {
    ctx.reader()
        .get::<User>(Table::User, &id.to_bytes())?
        .ok_or_else(|| ClusterError::oauth("invalid_grant", "the user no longer exists"))
}

/// Checks a PKCE `code_verifier` against the code's challenge (S256 only).
fn check_pkce(code: &AuthCode, verifier: Option<&str>) -> Result<()> {
    match (&code.code_challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            let well_formed = (43..=128).contains(&verifier.len())
                && verifier
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            if !well_formed || s256(verifier) != *challenge {
                return Err(ClusterError::oauth(
                    "invalid_grant",
                    "the code_verifier does not match the code_challenge",
                ));
            }
            Ok(())
        }
        (Some(_), None) => Err(ClusterError::oauth(
            "invalid_grant",
            "code_verifier is required: the authorization request used PKCE",
        )),
        (None, Some(_)) => Err(ClusterError::oauth(
            "invalid_grant",
            "code_verifier was sent but the authorization request had no code_challenge",
        )),
        (None, None) => Ok(()),
    }
}

async fn authorization_code(
    ctx: &ProtocolCtx,
    issuer: &str,
    auth: &ClientAuth,
    params: &Params,
) -> Result<TokenResponse> {
    let reader = ctx.reader();
    let client = authenticate(&reader, auth, ctx.now)?;
    require_grant(&client, GRANT_CODE)?;
    let code = required(params, "code")?;
    let hash = secret_hash(code);
    let record: AuthCode = reader
        .get(Table::AuthCode, hash.as_bytes())?
        .ok_or_else(|| ClusterError::oauth("invalid_grant", "the authorization code is invalid"))?;
    if record.client_id != client.client_id {
        return Err(ClusterError::oauth(
            "invalid_grant",
            "the authorization code was issued to another client",
        ));
    }
    // A redirect_uri sent must match; leaving it out is fine where PKCE binds the code to the
    // client instead (OAuth 2.1), not for a code obtained without PKCE.
    let redirect_ok = match params.get("redirect_uri") {
        Some(sent) => *sent == record.redirect_uri,
        None => record.code_challenge.is_some(),
    };
    if !redirect_ok {
        return Err(ClusterError::oauth(
            "invalid_grant",
            "redirect_uri does not match the authorization request",
        ));
    }
    check_pkce(&record, params.get("code_verifier").map(String::as_str))?;
    if record.consumed_at.is_none() && record.expires_at <= ctx.now {
        return Err(ClusterError::oauth(
            "invalid_grant",
            "the authorization code expired",
        ));
    }
    let user = load_user(ctx, record.user_id)?;
    let mut mint = Mint::for_client(&client, GRANT_CODE);
    if !record.resources.is_empty() {
        mint.audience = record.resources.clone();
    }
    mint.id_token = record.scopes.iter().any(|s| s == "openid");
    mint.scopes = record.scopes;
    mint.user = Some(user);
    mint.consume = Some(Consume::Code(hash));
    mint.refresh = client.allows_grant(GRANT_REFRESH);
    mint.session_id = Some(record.session_id);
    mint.auth_time = Some(record.auth_time);
    mint.nonce = record.nonce;
    super::token::mint(ctx, issuer, mint).await
}

async fn refresh(
    ctx: &ProtocolCtx,
    issuer: &str,
    auth: &ClientAuth,
    params: &Params,
) -> Result<TokenResponse> {
    let reader = ctx.reader();
    let client = authenticate(&reader, auth, ctx.now)?;
    require_grant(&client, GRANT_REFRESH)?;
    let token = required(params, "refresh_token")?;
    let hash = secret_hash(token);
    let record: RefreshTokenRecord = reader
        .get(Table::RefreshToken, hash.as_bytes())?
        .ok_or_else(|| ClusterError::oauth("invalid_grant", "the refresh token is invalid"))?;
    if record.client_id != client.client_id {
        return Err(ClusterError::oauth(
            "invalid_grant",
            "the refresh token was issued to another client",
        ));
    }
    let requested = parse(params.get("scope").map(String::as_str));
    require_subset(&requested, &record.scopes, "this refresh token")?;
    let mut scopes = if requested.is_empty() {
        record.scopes.clone()
    } else {
        requested
    };
    let user = match record.user_id {
        Some(id) => Some(load_user(ctx, id)?),
        None => None,
    };
    // Admin scopes are re-judged on every refresh: the client must still be allowed them and
    // the user still entitled (a demoted admin's next access token loses them).
    scopes.retain(|s| !AdminScope::is_known(s) || client.scopes.contains(s));
    if let Some(user) = &user {
        scopes = super::scopes::entitled(&reader, user.id, scopes)?;
    }
    let mut mint = Mint::for_client(&client, GRANT_REFRESH);
    if !record.audience.is_empty() {
        mint.audience = record.audience.clone();
    }
    mint.id_token = user.is_some() && scopes.iter().any(|s| s == "openid");
    mint.scopes = scopes;
    mint.user = user;
    mint.grant_scopes = Some(record.scopes.clone());
    mint.consume = Some(Consume::Refresh(hash));
    mint.refresh = true;
    mint.session_id = record.session_id;
    mint.auth_time = record.auth_time;
    super::token::mint(ctx, issuer, mint).await
}

/// The audience a `resource` parameter asks for (absolute URIs only, RFC 8707).
pub(super) fn resources(params: &Params) -> Result<Vec<String>> {
    match params.get("resource") {
        None => Ok(Vec::new()),
        Some(resource) => {
            check_resource(resource)?;
            Ok(vec![resource.clone()])
        }
    }
}

/// A resource indicator must be an absolute `https` URI without a fragment; `http` only for
/// loopback and private hosts.
pub(super) fn check_resource(resource: &str) -> Result<()> {
    let invalid = |why: &str| ClusterError::oauth("invalid_target", format!("resource {why}"));
    if resource.contains('#') {
        return Err(invalid("must not contain a fragment"));
    }
    let (scheme, rest) = resource
        .split_once("://")
        .ok_or_else(|| invalid("must be an absolute URI"))?;
    if rest.split(['/', '?']).next().unwrap_or("").contains('@') {
        return Err(invalid("must not contain user information"));
    }
    let host = rest
        .split(['/', '?'])
        .next()
        .unwrap_or("")
        .rsplit_once(':')
        .map_or(rest.split(['/', '?']).next().unwrap_or(""), |(h, _)| h);
    match scheme {
        "https" if !host.is_empty() => Ok(()),
        "http" if is_local_host(host) => Ok(()),
        "http" => Err(invalid(
            "must use https (http only for loopback and private hosts)",
        )),
        _ => Err(invalid("must be an https URI")),
    }
}

/// Loopback, private and link-local hosts.
pub(super) fn is_local_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback() || ip.is_private() || ip.is_link_local(),
        Ok(std::net::IpAddr::V6(ip)) => ip.is_loopback() || (ip.segments()[0] & 0xfe00) == 0xfc00,
        Err(_) => false,
    }
}

async fn client_credentials(
    ctx: &ProtocolCtx,
    issuer: &str,
    auth: &ClientAuth,
    params: &Params,
) -> Result<TokenResponse> {
    let client = authenticate_confidential(&ctx.reader(), auth, ctx.now)?;
    require_grant(&client, GRANT_CLIENT_CREDENTIALS)?;
    let requested = parse(params.get("scope").map(String::as_str));
    require_subset(&requested, &client.scopes, "this client")?;
    let scopes = if requested.is_empty() {
        client
            .scopes
            .iter()
            .filter(|s| !USER_SCOPES.contains(&s.as_str()))
            .cloned()
            .collect()
    } else {
        requested
    };
    let mut mint = Mint::for_client(&client, GRANT_CLIENT_CREDENTIALS);
    let audience = resources(params)?;
    if !audience.is_empty() {
        mint.audience = audience;
    }
    mint.scopes = scopes;
    super::token::mint(ctx, issuer, mint).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_indicators_must_be_https_or_local_http() {
        assert!(check_resource("https://api.example.com/v1").is_ok());
        assert!(check_resource("http://127.0.0.1:9000/mcp").is_ok());
        assert!(check_resource("http://localhost/mcp").is_ok());
        assert!(check_resource("http://10.1.2.3/x").is_ok());
        assert!(check_resource("http://example.com/x").is_err());
        assert!(check_resource("https://example.com/x#frag").is_err());
        assert!(check_resource("urn:thing").is_err());
        assert!(check_resource("ftp://example.com").is_err());
    }
}
