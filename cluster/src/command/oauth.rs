//! The payloads of OAuth writes: clients, signing keys, sign-ins, codes, token issuance and
//! revocation, device and CIBA requests, pushed requests.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::BadKey;
use crate::clock::Timestamp;
use crate::ids::UserId;
use crate::model::LoginSession;

/// A client named by its integer id or its `client_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientKey {
    Id(u64),
    ClientId(String),
}

impl FromStr for ClientKey {
    type Err = BadKey;
    fn from_str(s: &str) -> Result<Self, BadKey> {
        if let Ok(id) = s.parse::<u64>() {
            return Ok(ClientKey::Id(id));
        }
        if !s.is_empty() && s.len() <= 255 && !s.contains('\0') {
            return Ok(ClientKey::ClientId(s.to_string()));
        }
        Err(BadKey(
            "a client is named by its integer id or its client_id",
        ))
    }
}

impl std::fmt::Display for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientKey::Id(id) => write!(f, "{id}"),
            ClientKey::ClientId(c) => write!(f, "{c}"),
        }
    }
}

/// Fields of a new client (its secret hashed by the proposer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewClient {
    pub client_id: String,
    pub name: String,
    pub description: Option<String>,
    pub confidential: bool,
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub requires_pkce: bool,
    pub is_active: bool,
    pub token_endpoint_auth_method: String,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    pub skip_consent: bool,
    pub registration: Option<NewRegistration>,
    /// JWKS as JSON text (the log codec cannot carry free-form JSON values).
    pub jwks: Option<String>,
}

/// A client whose id is its metadata document's URL, as the frontend validated the document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetadataClient {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    /// Requested scopes; those the org does not know are left out when applied.
    pub scopes: Vec<String>,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
}

/// What dynamic registration records (metadata as JSON text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRegistration {
    pub access_token_hash: String,
    pub metadata: String,
}

/// A signing key to add (public JWK as JSON text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewSigningKey {
    pub kid: String,
    pub alg: crate::crypto::JwsAlg,
    pub public_jwk: String,
    pub sealed_private: String,
}

/// A partial update of a client: `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub requires_pkce: Option<bool>,
    pub is_active: Option<bool>,
    pub access_token_ttl_secs: Option<u64>,
    pub refresh_token_ttl_secs: Option<u64>,
    pub skip_consent: Option<bool>,
    /// JWKS as JSON text.
    pub jwks: Option<Option<String>>,
}

/// A successful sign-in: the session to create (its id is allocated by `apply`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignIn {
    pub session: LoginSession,
    /// How the user proved who they are (`password`, ...).
    pub method: String,
    pub client_id: Option<String>,
}

/// A failed sign-in attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginFailure {
    pub email: String,
    pub user: Option<UserId>,
    pub reason: String,
    /// Failures in a row that lock the account.
    pub lock_threshold: u32,
    /// How long the lock lasts, in milliseconds.
    pub lock_ms: i64,
    pub client_id: Option<String>,
}

/// What a token request uses up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Consume {
    /// Authorization code (hash).
    Code(String),
    /// Refresh token being rotated (hash).
    Refresh(String),
    /// Approved device grant (device code hash).
    Device(String),
    /// Approved CIBA request (`auth_req_id` hash).
    Ciba(String),
    /// A JWT bearer assertion, usable once until it expires (hash of client id and `jti`).
    Assertion { hash: String, expires_at: Timestamp },
}

/// The access token to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAccessToken {
    pub jti: String,
    pub client_id: Option<String>,
    pub user_id: Option<UserId>,
    pub scopes: Vec<String>,
    pub audience: Vec<String>,
    pub grant_type: String,
    pub expires_at: Timestamp,
    pub session_id: Option<u64>,
    /// What an exchanged token derives from: revoking that revokes this token too.
    pub derived: Lineage,
}

/// The token and refresh family an exchanged token was derived from (both empty otherwise).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lineage {
    /// `jti` of the subject access token.
    pub parent_jti: Option<String>,
    /// Refresh family of the subject token.
    pub family: Option<String>,
}

/// The refresh token to record (a new family unless it rotates one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRefreshToken {
    pub hash: String,
    /// The family id for a new grant; ignored when rotating (the family is kept).
    pub family: String,
    pub scopes: Vec<String>,
    pub audience: Vec<String>,
    pub expires_at: Timestamp,
    pub auth_time: Option<Timestamp>,
    pub nonce: Option<String>,
}

/// One token response's worth of writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issuance {
    pub consume: Option<Consume>,
    pub access: NewAccessToken,
    pub refresh: Option<NewRefreshToken>,
}

/// What a revocation covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RevokeTarget {
    /// One access token by `jti`.
    AccessJti(String),
    /// One access token by its integer id (admin API).
    AccessId(u64),
    /// A refresh token (hash) and everything its family issued.
    Refresh(String),
    /// Every token of a user.
    UserTokens(super::UserKey),
    /// Every token of a client.
    ClientTokens(ClientKey),
    /// One session and every token issued in it.
    Session(u64),
    /// Every session of a user (and their tokens).
    UserSessions(super::UserKey),
    /// Every session of the org (and their tokens).
    AllSessions,
}
