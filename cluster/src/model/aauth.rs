//! AAuth (agent auth): the signed-request identities of agents and resources, and the
//! protocol's state: grants waiting for a user's consent, codes, refresh tokens, revoked
//! token ids and used signature nonces.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::{AgentId, UserId};

/// An Ed25519 public key of an identity (`x` of an OKP JWK).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OkpKey {
    pub kid: String,
    pub x: String,
}

impl OkpKey {
    /// The `x` of `jwk` when it is a public Ed25519 key (OKP, 32 bytes).
    pub fn ed25519_x(jwk: &serde_json::Value) -> Option<&str> {
        if jwk["kty"] != "OKP" || jwk["crv"] != "Ed25519" {
            return None;
        }
        jwk["x"].as_str().filter(|x| {
            crate::crypto::http_signature::decode_base64(x).is_some_and(|k| k.len() == 32)
        })
    }

    /// The key as a public JWK.
    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "x": self.x, "use": "sig", "kid": self.kid, "alg": "EdDSA",
        })
    }
}

/// An agent's AAuth identity: its HTTPS identifier (default: its Lumo URL), the keys that
/// sign its requests and agent tokens, and where consent codes may be delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AAuthAgent {
    pub agent: AgentId,
    pub identifier: String,
    pub keys: Vec<OkpKey>,
    pub redirect_uris: Vec<String>,
    pub updated_at: Timestamp,
}

/// A resource that accepts AAuth tokens from this org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AAuthResource {
    /// The public id, `res_…`.
    pub resource_id: String,
    pub name: String,
    /// The resource's HTTPS identifier (the `aud` of its auth tokens).
    pub identifier: String,
    pub keys: Vec<OkpKey>,
    /// Scopes it grants; empty means any.
    pub scopes: Vec<String>,
    /// Scopes an agent may get without a user's consent (if it holds them as capabilities).
    pub auto_approve: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Who an identifier belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AAuthEntity {
    Agent(AgentId),
    Resource(String),
}

/// What an auth token grants: to an agent (its delegate, bound to a key) at a resource, for
/// scopes, on its own or for a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AAuthGrant {
    pub agent: AgentId,
    /// The agent's identifier (`agent` claim).
    pub agent_identifier: String,
    /// The delegate the agent token named (`sub` of the agent token).
    pub delegate: String,
    /// Thumbprint and key of the delegate's signing key (`cnf`).
    pub cnf_jkt: String,
    pub cnf_x: String,
    pub resource: String,
    pub scopes: Vec<String>,
    pub user: Option<UserId>,
}

/// A request waiting for a user's consent (`request_token`, stored hashed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AAuthPending {
    pub grant: AAuthGrant,
    pub redirect_uri: Option<String>,
    pub expires_at: Timestamp,
}

/// A consent code (stored hashed), single use, bound to the redirect URI it was sent to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AAuthCode {
    pub grant: AAuthGrant,
    pub redirect_uri: String,
    pub expires_at: Timestamp,
    pub used: bool,
}

/// A refresh token (stored hashed); not rotated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AAuthRefresh {
    pub grant: AAuthGrant,
    pub expires_at: Timestamp,
    pub revoked: bool,
}

/// A used signature nonce or a revoked token id, kept until it cannot matter any more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AAuthSeen {
    pub until: Timestamp,
}
