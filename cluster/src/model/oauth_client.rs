//! OAuth clients (relying parties) and the org's token signing keys.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::crypto::JwsAlg;

/// A secret that was rotated out but still works until `valid_until` (the grace window).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredSecret {
    pub hash: String,
    pub valid_until: Timestamp,
}

/// What dynamic client registration (RFC 7591) recorded about a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientRegistration {
    /// SHA-256 of the registration access token (RFC 7592 reads).
    pub access_token_hash: String,
    /// The registered metadata as the client sent it (after validation), for reads.
    pub metadata: serde_json::Value,
}

/// An OAuth client of an org.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuthClient {
    /// Integer id (per-org counter), used in admin paths.
    pub id: u64,
    /// The public `client_id`.
    pub client_id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Confidential clients authenticate with a secret; public ones cannot keep one.
    pub confidential: bool,
    /// SHA-256 of the current secret (confidential clients).
    #[serde(default)]
    pub secret_hash: Option<String>,
    #[serde(default)]
    pub previous_secret: Option<RetiredSecret>,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub requires_pkce: bool,
    pub is_active: bool,
    /// `client_secret_basic`, `client_secret_post` or `none`.
    pub token_endpoint_auth_method: String,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    /// First-party clients skip the consent page.
    #[serde(default)]
    pub skip_consent: bool,
    #[serde(default)]
    pub registration: Option<ClientRegistration>,
    /// Public keys the client signs JWT assertions with (`{"keys": [...]}`).
    #[serde(default)]
    pub jwks: Option<serde_json::Value>,
    /// For clients whose `client_id` is their metadata document's URL: when it was last read.
    #[serde(default)]
    pub metadata_fetched_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl OAuthClient {
    /// True when the client may use `grant_type`.
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }

    /// True when PKCE is mandatory (public clients always).
    pub fn pkce_required(&self) -> bool {
        self.requires_pkce || !self.confidential
    }
}

/// Where a signing key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigningKeyState {
    /// Signs new tokens.
    Active,
    /// Replaced; still published so tokens it signed verify until `retain_until`.
    Retiring,
}

/// One of an org's token signing keys; the private half sealed with the master key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub alg: JwsAlg,
    pub public_jwk: serde_json::Value,
    pub sealed_private: String,
    pub state: SigningKeyState,
    pub created_at: Timestamp,
    #[serde(default)]
    pub retired_at: Option<Timestamp>,
    /// When a retiring key leaves the JWKS.
    #[serde(default)]
    pub retain_until: Option<Timestamp>,
}

impl SigningKeyRecord {
    /// True when the key is still published at `now`.
    pub fn published(&self, now: Timestamp) -> bool {
        match self.state {
            SigningKeyState::Active => true,
            SigningKeyState::Retiring => self.retain_until.is_none_or(|t| t > now),
        }
    }
}
