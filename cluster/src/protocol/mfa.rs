//! The MFA requests the shard leader serves, where TOTP secrets are sealed and opened: a user's
//! self-service calls (by credential) and the hosted sign-in's second-factor steps (by the
//! browser's challenge cookie).

use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::model::{Authenticator, ChallengePurpose, FactorKind, MfaChallenge};

/// A user's own MFA call, with their credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MfaCall {
    Enroll {
        kind: FactorKind,
        /// The step-up challenge (needed when the user already has factors).
        step_up: Option<String>,
    },
    VerifyAuthenticator {
        id: String,
        code: Option<String>,
    },
    StartChallenge {
        purpose: ChallengePurpose,
        authenticator_id: Option<String>,
        min_tier: Option<u8>,
        action_description: Option<String>,
    },
    AnswerChallenge {
        id: String,
        code: String,
    },
    /// The browser's WebAuthn registration answer (JSON) for a pending passkey (its id, or
    /// `passkey:pending` for the newest).
    VerifyPasskey {
        id: String,
        credential: String,
    },
    /// The browser's WebAuthn assertion (JSON) answering a passkey challenge.
    AnswerWithPasskey {
        id: String,
        credential: String,
    },
}

/// A pending authenticator and what the user needs to finish enrolling it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    pub authenticator: Authenticator,
    /// TOTP: the base32 secret (shown once) and the `otpauth://` URI.
    pub secret: Option<String>,
    pub otpauth_uri: Option<String>,
    /// Passkeys: the WebAuthn creation options (JSON) for `navigator.credentials.create`.
    #[serde(default)]
    pub public_key: Option<String>,
}

impl Enrollment {
    /// The enrollment of `authenticator`, with nothing else to show yet.
    pub fn of(authenticator: Authenticator) -> Enrollment {
        Enrollment {
            authenticator,
            secret: None,
            otpauth_uri: None,
            public_key: None,
        }
    }
}

/// A step of the hosted sign-in after the password was right.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoginStep {
    /// Decide what the user must still prove: nothing (signed in), a trusted device's cookie
    /// (`id.secret`), or a second factor.
    Begin {
        user: UserId,
        client_id: Option<String>,
        device: Option<String>,
    },
    /// What the second-factor page shows for the browser's challenge cookie.
    Describe { cookie: String },
    /// The browser answers its challenge.
    Answer {
        cookie: String,
        code: String,
        trust_device: bool,
        client_id: Option<String>,
    },
    /// The browser enrolls an authenticator app during sign-in (the org requires MFA and the
    /// user has no factor, or a temporary access code let them in to enroll one).
    Enroll { cookie: String },
    VerifyEnrollment {
        cookie: String,
        authenticator_id: String,
        code: String,
        client_id: Option<String>,
    },
    /// The browser's registration answer (JSON) for the passkey it enrolls during sign-in.
    VerifyPasskeyEnrollment {
        cookie: String,
        authenticator_id: String,
        credential: String,
        client_id: Option<String>,
    },
    /// The browser answers its challenge with a passkey (the WebAuthn assertion, JSON).
    AnswerPasskey {
        cookie: String,
        credential: String,
        trust_device: bool,
        client_id: Option<String>,
    },
    /// A passwordless passkey sign-in starts: options for a discoverable credential.
    PasskeyBegin,
    /// ... and the browser's assertion ends it.
    PasskeyFinish {
        ceremony: String,
        credential: String,
        client_id: Option<String>,
    },
}

/// Where a hosted sign-in step left the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoginOutcome {
    SignedIn {
        cookie: String,
        expires_in: u64,
        /// A new trusted-device cookie (`id.secret`) and its lifetime.
        trusted_device: Option<(String, u64)>,
    },
    /// A second factor is needed: the challenge cookie to set (`id.secret`).
    SecondFactor { cookie: String },
    /// What the second-factor page shows.
    Page(Box<LoginMfaPage>),
    /// A pending authenticator app to show as a QR code.
    Enrollment(Box<Enrollment>),
    /// The answer was wrong.
    Wrong {
        attempts_remaining: u32,
        locked: bool,
    },
    /// A passwordless sign-in's ceremony and its WebAuthn request options (JSON).
    PasskeyOptions {
        ceremony: String,
        public_key: String,
    },
}

/// The hosted second-factor page's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginMfaPage {
    pub challenge: MfaChallenge,
    pub email: String,
    /// The factor asked for (its kind and name).
    pub factor: Option<(FactorKind, String)>,
    /// The user must enroll a factor before signing in.
    pub must_enroll: bool,
    pub trusted_device_days: i64,
    /// When the factor asked for is a passkey: the WebAuthn request options (JSON).
    #[serde(default)]
    pub public_key: Option<String>,
}
