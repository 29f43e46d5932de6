//! What OAuth flows leave in the state machine: browser sessions, consents, authorization
//! codes, issued tokens, refresh-token families, device and CIBA requests, pushed requests and
//! login throttles. Secrets (session cookies, codes, refresh tokens, device codes) are stored
//! as SHA-256 hashes only.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::UserId;

/// A signed-in browser session (the hosted login's cookie points at it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginSession {
    pub id: u64,
    pub secret_hash: String,
    pub user_id: UserId,
    pub user_email: String,
    pub created_at: Timestamp,
    pub last_activity_at: Timestamp,
    pub expires_at: Timestamp,
    /// When the user last proved who they are (OIDC `auth_time`).
    pub auth_time: Timestamp,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[serde(default)]
    pub revoked_at: Option<Timestamp>,
    /// Clients that received a code in this session (for logout).
    #[serde(default)]
    pub clients: Vec<String>,
    /// How the user proved who they are (RFC 8176 `amr`: `pwd`, `otp`, `mfa`, ...).
    #[serde(default)]
    pub amr: Vec<String>,
}

impl LoginSession {
    /// True when the session still signs its user in at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// Scopes a user allowed a client to have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub scopes: Vec<String>,
    pub granted_at: Timestamp,
}

/// An authorization code (stored under the hash of the code).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthCode {
    pub client_id: String,
    pub user_id: UserId,
    pub session_id: u64,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub auth_time: Timestamp,
    pub resources: Vec<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Set when exchanged; a second exchange revokes what the first one issued.
    #[serde(default)]
    pub consumed_at: Option<Timestamp>,
    /// The access token and refresh family the exchange produced.
    #[serde(default)]
    pub issued_jti: Option<String>,
    #[serde(default)]
    pub issued_family: Option<String>,
}

/// An issued access token (JWT); kept until it expires so revocation is checkable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessTokenRecord {
    pub id: u64,
    pub jti: String,
    pub client_id: Option<String>,
    pub user_id: Option<UserId>,
    pub scopes: Vec<String>,
    pub audience: Vec<String>,
    pub grant_type: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    #[serde(default)]
    pub revoked_at: Option<Timestamp>,
    #[serde(default)]
    pub session_id: Option<u64>,
    #[serde(default)]
    pub family: Option<String>,
}

impl AccessTokenRecord {
    /// True when the token is neither revoked nor expired at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// A refresh token (stored under the hash of the token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshTokenRecord {
    pub family: String,
    pub client_id: String,
    pub user_id: Option<UserId>,
    pub scopes: Vec<String>,
    pub audience: Vec<String>,
    pub session_id: Option<u64>,
    pub auth_time: Option<Timestamp>,
    pub nonce: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Set when exchanged for a new one; presenting it again is reuse.
    #[serde(default)]
    pub rotated_at: Option<Timestamp>,
    #[serde(default)]
    pub revoked_at: Option<Timestamp>,
}

/// All refresh tokens descending from one grant; revoked as a whole on reuse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshFamily {
    pub client_id: String,
    pub user_id: Option<UserId>,
    pub session_id: Option<u64>,
    pub created_at: Timestamp,
    #[serde(default)]
    pub revoked_at: Option<Timestamp>,
    /// Hash of the newest (only usable) refresh token.
    pub current: String,
}

/// Where a device authorization (RFC 8628) or CIBA request stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApprovalState {
    Pending,
    Approved {
        user_id: UserId,
        session_id: Option<u64>,
        at: Timestamp,
    },
    Denied,
    /// Tokens were issued for it.
    Used,
}

impl ApprovalState {
    /// The state a user's decision at `at` leaves a request in.
    pub fn decided(approve: bool, user: UserId, session: Option<u64>, at: Timestamp) -> Self {
        if approve {
            ApprovalState::Approved {
                user_id: user,
                session_id: session,
                at,
            }
        } else {
            ApprovalState::Denied
        }
    }
}

/// A device authorization request (stored under the hash of the device code).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceGrant {
    pub client_id: String,
    pub user_code: String,
    pub scopes: Vec<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub interval_secs: u64,
    pub state: ApprovalState,
}

/// A CIBA backchannel authentication request (stored under the hash of `auth_req_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CibaRequest {
    /// The public id (shown to the user on the approval page).
    pub id: String,
    pub client_id: String,
    pub user_id: UserId,
    pub scopes: Vec<String>,
    pub binding_message: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub interval_secs: u64,
    pub state: ApprovalState,
}

/// A pushed authorization request (RFC 9126), stored under its `request_uri`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushedRequest {
    pub client_id: String,
    /// The authorization request parameters, as sent.
    pub params: Vec<(String, String)>,
    pub expires_at: Timestamp,
}

/// Failed sign-ins of one user, for lockout.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginFailures {
    pub count: u32,
    pub last_failed_at: Option<Timestamp>,
    pub locked_until: Option<Timestamp>,
}
