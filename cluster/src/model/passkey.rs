//! Passkeys (WebAuthn) as stored: the credential each passkey authenticator holds, and the
//! ceremonies (registration, a challenge's assertion, a passwordless sign-in) waiting for the
//! browser's answer. The WebAuthn state is `webauthn-rs`'s, kept as JSON so every replica
//! holds it and any node's leader can finish the ceremony.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::UserId;

/// How long a browser has to answer a WebAuthn ceremony.
pub const CEREMONY_TTL_MS: i64 = 5 * 60_000;

/// What a `passkey:pending` id in a verify path stands for: the user's newest pending passkey.
pub const PENDING_PASSKEY_ID: &str = "passkey:pending";

/// The WebAuthn credential of one passkey authenticator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyCredential {
    /// The authenticator row it belongs to (`mfa_…`).
    pub authenticator_id: String,
    pub user_id: UserId,
    /// The credential id, base64url.
    pub credential_id: String,
    /// `webauthn_rs::prelude::Passkey` as JSON (public key, counter, backup state).
    pub passkey: String,
    /// The last signature counter seen: an assertion must raise it (unless the authenticator
    /// keeps none), or it may come from a cloned credential.
    pub counter: u32,
}

/// A WebAuthn ceremony the server started and the browser has not finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebauthnCeremony {
    /// The pending authenticator's id (registration), the challenge's id (a second factor),
    /// or `wac_…` (a passwordless sign-in, whose user is not known until the answer).
    pub id: String,
    pub user_id: Option<UserId>,
    /// The `webauthn-rs` state, JSON.
    pub state: String,
    /// The options sent to the browser (`publicKey` of `navigator.credentials`), JSON.
    pub options: String,
    /// The origin the ceremony is bound to (its RP id is the origin's host).
    pub origin: String,
    pub expires_at: Timestamp,
}

impl WebauthnCeremony {
    pub fn live(&self, now: Timestamp) -> bool {
        self.expires_at > now
    }
}
