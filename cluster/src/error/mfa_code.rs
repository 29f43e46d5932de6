//! The error codes of multi-factor authentication, each with its HTTP status.

use serde::{Deserialize, Serialize};

/// Why an MFA request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MfaCode {
    /// The code or credential is wrong, reused, or outside the clock window.
    InvalidCode,
    /// The challenge (or pending authenticator) expired, failed or was already answered.
    ChallengeExpired,
    /// Too many failures: the user's MFA is locked for a while.
    MfaLocked,
    /// The operation needs a fresh MFA pass (`X-MFA-Challenge`).
    StepUpRequired,
    /// Enrolling needs a fresh sign-in (or, with factors enrolled, a fresh MFA pass).
    FreshSignInRequired,
    /// The org requires MFA and this is the user's last factor.
    LastFactorRequired,
    /// The org does not allow this factor type.
    FactorNotAllowed,
    /// The caller is not a signed-in user (MFA belongs to people).
    UserTokenRequired,
    /// The challenge belongs to another user.
    ChallengeNotYours,
    /// The user has no factor to challenge.
    NoFactor,
}

impl MfaCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            MfaCode::InvalidCode => "invalid_code",
            MfaCode::ChallengeExpired => "challenge_expired",
            MfaCode::MfaLocked => "mfa_locked",
            MfaCode::StepUpRequired => "step_up_required",
            MfaCode::FreshSignInRequired => "fresh_sign_in_required",
            MfaCode::LastFactorRequired => "last_factor_required",
            MfaCode::FactorNotAllowed => "factor_not_allowed",
            MfaCode::UserTokenRequired => "user_token_required",
            MfaCode::ChallengeNotYours => "challenge_not_yours",
            MfaCode::NoFactor => "no_factor_enrolled",
        }
    }

    pub const fn status(self) -> u16 {
        match self {
            MfaCode::InvalidCode => 400,
            MfaCode::ChallengeExpired => 410,
            MfaCode::MfaLocked => 429,
            MfaCode::StepUpRequired
            | MfaCode::FreshSignInRequired
            | MfaCode::UserTokenRequired
            | MfaCode::ChallengeNotYours => 403,
            MfaCode::LastFactorRequired => 409,
            MfaCode::FactorNotAllowed => 422,
            MfaCode::NoFactor => 404,
        }
    }
}
