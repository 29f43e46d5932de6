//! AAuth writes: identities (an agent's keys, registered resources), the org's Ed25519 token
//! key, used nonces, consent, issued tokens and revocations.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::UserId;
use crate::model::{AAuthGrant, AAuthPending, OkpKey};

/// An agent's AAuth identity as an administrator sets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AAuthAgentSpec {
    pub identifier: String,
    pub keys: Vec<OkpKey>,
    pub redirect_uris: Vec<String>,
}

/// A resource as an administrator registers or replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AAuthResourceSpec {
    pub resource_id: String,
    pub name: String,
    pub identifier: String,
    pub keys: Vec<OkpKey>,
    pub scopes: Vec<String>,
    pub auto_approve: bool,
}

/// Which AAuth token was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AAuthTokenKind {
    Agent,
    Resource,
    Auth,
    Platform,
}

impl AAuthTokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AAuthTokenKind::Agent => "agent+jwt",
            AAuthTokenKind::Resource => "resource+jwt",
            AAuthTokenKind::Auth => "auth+jwt",
            AAuthTokenKind::Platform => "platform",
        }
    }
}

/// A token issued (audited); an auth token may redeem a code and may come with a refresh
/// token, both checked and written in the same entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AAuthIssuance {
    pub kind: AAuthTokenKind,
    pub jti: String,
    pub expires_at: Timestamp,
    /// Who the token names (`sub`), for the audit record.
    pub subject: String,
    pub grant: Option<AAuthGrant>,
    /// Hash of a code redeemed by this issuance, and the redirect URI presented with it.
    pub code: Option<(String, String)>,
    /// Hash of a refresh token presented (must still be live).
    pub refreshed: Option<String>,
    /// Hash and expiry of a new refresh token.
    pub refresh: Option<(String, Timestamp)>,
}

/// A user's answer to a consent request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AAuthConsent {
    pub request_hash: String,
    pub user: UserId,
    pub approve: bool,
    /// Hash and expiry of the code sent on approval.
    pub code_hash: String,
    pub code_expires: Timestamp,
}

/// What a revocation ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AAuthRevocation {
    /// A JWT by id (kept refused until it would have expired).
    Token { jti: String, until: Timestamp },
    /// A refresh token by hash.
    Refresh { hash: String },
}

/// A consent request opened (its `request_token` stored hashed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AAuthConsentRequest {
    pub request_hash: String,
    pub pending: AAuthPending,
}
