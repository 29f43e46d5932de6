//! Minting: what one token response needs, recorded through Raft, then signed (the access
//! token, and for users an ID token).

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha512};

use crate::clock::Timestamp;
use crate::command::{
    Consume, Issuance, JitIssuance, Lineage, NewAccessToken, NewRefreshToken, Op,
};
use crate::crypto::{JwsAlg, random_token, secret_hash};
use crate::error::{ClusterError, Result};
use crate::model::{OAuthClient, PrincipalKind, User};
use crate::protocol::scopes::join;
use crate::protocol::{GrantType, TokenResponse, TokenType};
use crate::query::Outcome;

use crate::oauth::jwt::{ACCESS_TYP, TokenClaims, audience_claim, epoch_secs};
use crate::oauth::runtime::ProtocolCtx;
use crate::oauth::user_claims::user_claims;

/// Everything one token response needs.
pub(super) struct Mint {
    pub client_id: Option<String>,
    pub client_name: String,
    pub user: Option<User>,
    pub scopes: Vec<String>,
    pub audience: Vec<String>,
    pub grant_type: GrantType,
    pub consume: Option<Consume>,
    pub refresh: bool,
    pub session_id: Option<u64>,
    pub auth_time: Option<Timestamp>,
    pub nonce: Option<String>,
    pub id_token: bool,
    pub act: Option<Value>,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    pub issued_token_type: Option<TokenType>,
    pub derived: Lineage,
    /// The grant a rotated refresh token keeps when this access token asked for less
    /// (RFC 6749 section 6: narrowing a refresh never shrinks the grant).
    pub grant_scopes: Option<Vec<String>>,
    /// The JIT grant this token carries (recorded against its request in apply).
    pub jit: Option<JitGrant>,
    /// An administrator's test token (see `TokenClaims::lumo_test_token`).
    pub test_token: bool,
}

/// A JIT grant as its token carries it.
pub(super) struct JitGrant {
    pub request_id: String,
    pub task_id: String,
    pub authorization_details: Value,
}

impl Mint {
    /// A mint for `client` with its lifetimes and nothing else set.
    pub(super) fn for_client(client: &OAuthClient, grant_type: GrantType) -> Self {
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
            jit: None,
            test_token: false,
        }
    }
}

/// `at_hash`: the left half of the access token's hash, with the ID token's algorithm.
/// The authentication context class of a sign-in's methods: `mfa` when a second factor was
/// used, else `pwd`.
pub(crate) fn acr_of(amr: &[String]) -> &'static str {
    if amr.iter().any(|m| m == "mfa") {
        crate::model::mfa::ACR_MFA
    } else {
        crate::model::mfa::ACR_PASSWORD
    }
}

fn at_hash(alg: JwsAlg, access_token: &str) -> String {
    let digest: Vec<u8> = match alg {
        JwsAlg::EdDSA => Sha512::digest(access_token.as_bytes()).to_vec(),
        JwsAlg::RS256 | JwsAlg::ES256 => Sha256::digest(access_token.as_bytes()).to_vec(),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// Records the tokens through Raft, then signs them.
/// A token for a protected MCP server lives at most the server's `token_lifetime`, and only
/// the clients it allows get one.
fn fit_to_mcp_servers(ctx: &ProtocolCtx, mint: &mut Mint) -> Result<()> {
    let reader = ctx.reader();
    for resource in &mint.audience {
        let Some(server) = crate::lookup::mcp_server_of_resource(&reader, resource)? else {
            continue;
        };
        let allowed = server.allowed_client_ids.is_empty()
            || mint
                .client_id
                .as_ref()
                .is_some_and(|c| server.allowed_client_ids.contains(c));
        if !allowed {
            return Err(ClusterError::oauth(
                crate::protocol::ErrorCode::InvalidTarget,
                format!("this client may not get tokens for {resource}"),
            ));
        }
        mint.access_ttl_secs = mint.access_ttl_secs.min(server.token_lifetime);
    }
    Ok(())
}

pub(super) async fn mint(ctx: &ProtocolCtx, issuer: &str, mut mint: Mint) -> Result<TokenResponse> {
    fit_to_mcp_servers(ctx, &mut mint)?;
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
            grant_type: mint.grant_type.as_str().to_string(),
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
    let op = match &mint.jit {
        Some(grant) => Op::IssueJitToken(JitIssuance {
            request_id: grant.request_id.clone(),
            issuance,
        }),
        None => Op::IssueTokens(issuance),
    };
    match ctx.propose(actor, op).await? {
        Outcome::TokensIssued { .. } => {}
        Outcome::GrantRefused { error, description } => {
            return Err(ClusterError::oauth(error, description));
        }
        other => return Err(ClusterError::internal(format!("unexpected {other:?}"))),
    }
    let membership = match (&mint.user, mint.session_id, &mint.client_id) {
        (Some(user), Some(session), Some(client_id)) => {
            crate::oauth::org_choice::chosen_membership(&ctx.reader(), user.id, session, client_id)?
        }
        _ => None,
    };
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
        org_id: membership.as_ref().map(|m| m.org.id.clone()),
        org_name: membership.as_ref().map(|m| m.org.slug.clone()),
        org_roles: membership.as_ref().map(|m| m.role_slugs()),
        act: mint.act.clone(),
        authorization_details: mint.jit.as_ref().map(|g| g.authorization_details.clone()),
        jit_request_id: mint.jit.as_ref().map(|g| g.request_id.clone()),
        task_id: mint.jit.as_ref().map(|g| g.task_id.clone()),
        lumo_test_token: mint.test_token,
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
                let session: Option<crate::model::LoginSession> = ctx
                    .reader()
                    .get(crate::tables::Table::Session, &sid.to_be_bytes())?;
                if let Some(session) = session.filter(|s| !s.amr.is_empty()) {
                    id.insert("acr".into(), json!(acr_of(&session.amr)));
                    id.insert("amr".into(), json!(session.amr));
                }
            }
            if let Some(m) = &membership {
                id.insert("org_id".into(), json!(m.org.id));
                id.insert("org_name".into(), json!(m.org.slug));
                id.insert("org_roles".into(), json!(m.role_slugs()));
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
        issued_token_type: mint.issued_token_type.map(|t| t.as_str().to_string()),
    })
}
