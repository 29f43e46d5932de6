//! The writes of multi-factor authentication. Secrets are checked on the shard leader (where
//! the master key opens TOTP secrets); what they proved travels as an [`MfaProof`], and `apply`
//! decides deterministically whether it answers the challenge (a TOTP step not used before, an
//! unused recovery code, ...), counting every failure toward the user's lockout.

use serde::{Deserialize, Serialize};

use super::{SignIn, UserKey};
use crate::clock::Timestamp;
use crate::model::TrustedDevice;

/// What the answer to a challenge (or to a pending authenticator) proved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MfaProof {
    /// A TOTP code of this authenticator at this time step.
    Totp {
        authenticator: String,
        step: u64,
    },
    /// An emailed code: its hash, salted with the challenge (or authenticator) id.
    EmailCode {
        authenticator: String,
        code_hash: String,
    },
    RecoveryCode {
        code_hash: String,
    },
    TemporaryAccessCode {
        code_hash: String,
    },
    /// Nothing matched.
    Wrong,
    /// A WebAuthn answer the leader verified: a new passkey's registration, or an assertion.
    Passkey(PasskeyUse),
}

/// A passkey ceremony the leader verified (signature, challenge, origin, RP id, user
/// verification); apply checks the ceremony is still open and the signature counter rose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyUse {
    /// The passkey's authenticator (`mfa_…`).
    pub authenticator: String,
    /// The ceremony it answers.
    pub ceremony: String,
    /// The credential id, base64url.
    pub credential_id: String,
    /// The credential after this use (`webauthn_rs` `Passkey` JSON).
    pub passkey: String,
    /// The authenticator's signature counter in this answer.
    pub counter: u32,
}

/// Changes a user makes to one of their authenticators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticatorPatch {
    pub display_name: Option<String>,
    pub is_default: Option<bool>,
}

/// An administrator's temporary access code for a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccessCode {
    pub user: UserKey,
    pub id: String,
    pub code_hash: String,
    pub reason: String,
    pub expires_at: Timestamp,
    pub single_use: bool,
    /// The caller's approved step-up challenge (needed of signed-in admins).
    pub step_up: Option<String>,
}

/// What stood in for the second factor of a hosted sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecondFactor {
    /// A login challenge the browser answered (spent by this sign-in).
    Challenge(String),
    /// A device the user trusted before (its id and the hash of the cookie's secret).
    TrustedDevice { id: String, secret_hash: String },
    /// Nothing: the policy asks no second factor of this user (or they are in their grace
    /// period); recorded so the sign-in's methods say so.
    NotRequired,
}

/// A hosted sign-in that passed (or did not need) MFA.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MfaSignIn {
    pub sign_in: SignIn,
    pub second: SecondFactor,
    /// "Trust this device": remember the browser until the device row expires.
    pub trust: Option<TrustedDevice>,
}
