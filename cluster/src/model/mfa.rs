//! Multi-factor authentication as stored: a user's authenticators, recovery codes, trusted
//! devices and temporary access codes, the challenges that ask for a second factor, and the
//! per-user lockout that counts wrong answers across every node.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::UserId;

/// Wrong answers that use up one challenge.
pub const CHALLENGE_ATTEMPTS: u32 = 5;
/// Failures within [`LOCK_WINDOW_MS`] that lock a user's MFA.
pub const LOCK_FAILURES: usize = 10;
pub const LOCK_WINDOW_MS: i64 = 15 * 60_000;
/// How long MFA stays locked.
pub const LOCK_MS: i64 = 15 * 60_000;
/// How long a challenge can be answered.
pub const CHALLENGE_TTL_MS: i64 = 5 * 60_000;
/// How long an unverified authenticator waits before it is purged.
pub const PENDING_TTL_MS: i64 = 15 * 60_000;
/// Recovery codes per set.
pub const RECOVERY_CODES: usize = 10;
/// Recovery codes left at which the status says `low`.
pub const RECOVERY_LOW: usize = 3;
/// What a challenge answered with a recovery code records as its factor.
pub const APPROVED_BY_RECOVERY_CODE: &str = "recovery_code";
/// ... and with an administrator's temporary access code.
pub const APPROVED_BY_ACCESS_CODE: &str = "temporary_access_code";

/// The `acr` values ID tokens carry (discovery's `acr_values_supported`): a sign-in with a
/// second factor, or with a password alone.
pub const ACR_MFA: &str = "urn:lumo:acr:mfa";
pub const ACR_PASSWORD: &str = "urn:lumo:acr:pwd";
/// Authenticators one user may hold (pending ones included).
pub const MAX_AUTHENTICATORS: usize = 20;

/// The kinds of second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactorKind {
    Passkey,
    Push,
    Totp,
    SmsOtp,
    EmailOtp,
}

impl FactorKind {
    pub const ALL: [FactorKind; 5] = [
        FactorKind::Passkey,
        FactorKind::Push,
        FactorKind::Totp,
        FactorKind::SmsOtp,
        FactorKind::EmailOtp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FactorKind::Passkey => "passkey",
            FactorKind::Push => "push",
            FactorKind::Totp => "totp",
            FactorKind::SmsOtp => "sms_otp",
            FactorKind::EmailOtp => "email_otp",
        }
    }

    pub fn parse(text: &str) -> Option<FactorKind> {
        FactorKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// 1 strongest (passkey) … 4 basic (SMS, email).
    pub fn tier(self) -> u8 {
        match self {
            FactorKind::Passkey => 1,
            FactorKind::Push | FactorKind::Totp => 2,
            FactorKind::SmsOtp | FactorKind::EmailOtp => 4,
        }
    }

    /// The RFC 8176 authentication methods a pass with this factor adds.
    pub fn amr(self) -> &'static [&'static str] {
        match self {
            FactorKind::Passkey => &["hwk", "user"],
            FactorKind::Push => &["swk"],
            FactorKind::Totp => &["otp"],
            FactorKind::SmsOtp => &["sms", "otp"],
            FactorKind::EmailOtp => &["otp"],
        }
    }

    /// The name shown until the user renames it.
    pub fn default_name(self) -> &'static str {
        match self {
            FactorKind::Passkey => "Passkey",
            FactorKind::Push => "LumoAuth app",
            FactorKind::Totp => "Authenticator app",
            FactorKind::SmsOtp => "Text message",
            FactorKind::EmailOtp => "Email code",
        }
    }
}

/// The label of a tier (5 = recovery only).
pub fn tier_label(tier: u8) -> &'static str {
    match tier {
        1 => "Strongest",
        2 => "Strong",
        3 => "Standard",
        4 => "Basic",
        _ => "Recovery",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthenticatorState {
    Pending,
    Active,
}

/// Where an authenticator was last used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsedContext {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// One of a user's second factors. Secrets are sealed with the master key and never rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authenticator {
    /// `mfa_…`.
    pub id: String,
    pub user_id: UserId,
    pub kind: FactorKind,
    pub display_name: String,
    pub state: AuthenticatorState,
    #[serde(default)]
    pub is_default: bool,
    pub created_at: Timestamp,
    #[serde(default)]
    pub activated_at: Option<Timestamp>,
    #[serde(default)]
    pub last_used_at: Option<Timestamp>,
    #[serde(default)]
    pub last_used: Option<UsedContext>,
    /// The TOTP secret (base32 text), sealed.
    #[serde(default)]
    pub sealed_secret: Option<String>,
    /// The last TOTP time step accepted: a code is never accepted twice.
    #[serde(default)]
    pub last_step: Option<u64>,
    /// Where an emailed code goes (email OTP), shown masked.
    #[serde(default)]
    pub address: Option<String>,
    /// The hash of the code sent to verify a pending email authenticator.
    #[serde(default)]
    pub pending_code_hash: Option<String>,
}

impl Authenticator {
    pub fn is_active(&self) -> bool {
        self.state == AuthenticatorState::Active
    }

    /// True when a pending authenticator waited too long to be verified.
    pub fn pending_expired(&self, now: Timestamp) -> bool {
        self.state == AuthenticatorState::Pending
            && self.created_at.plus_millis(PENDING_TTL_MS) <= now
    }
}

/// A user's set of recovery codes: hashes only, each used at most once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodes {
    pub hashes: Vec<String>,
    pub used: Vec<bool>,
    pub generated_at: Timestamp,
}

impl RecoveryCodes {
    pub fn remaining(&self) -> usize {
        self.used.iter().filter(|u| !**u).count()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChallengePurpose {
    Login,
    StepUp,
    Enroll,
    Recovery,
}

impl ChallengePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengePurpose::Login => "login",
            ChallengePurpose::StepUp => "step_up",
            ChallengePurpose::Enroll => "enroll",
            ChallengePurpose::Recovery => "recovery",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChallengeStatus {
    Issued,
    Approved,
    Denied,
    Expired,
    Failed,
}

impl ChallengeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeStatus::Issued => "issued",
            ChallengeStatus::Approved => "approved",
            ChallengeStatus::Denied => "denied",
            ChallengeStatus::Expired => "expired",
            ChallengeStatus::Failed => "failed",
        }
    }
}

/// A request for a second factor: at sign-in, before a sensitive operation (step-up), or to
/// recover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaChallenge {
    /// `mfc_…`.
    pub id: String,
    pub user_id: UserId,
    pub purpose: ChallengePurpose,
    pub status: ChallengeStatus,
    /// The factor asked for (none when only a recovery or temporary access code is possible).
    pub authenticator_id: Option<String>,
    /// The weakest tier accepted (1 = passkey only).
    #[serde(default)]
    pub min_tier: Option<u8>,
    #[serde(default)]
    pub action_description: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub attempts_remaining: u32,
    /// The hash of an emailed code (email OTP).
    #[serde(default)]
    pub code_hash: Option<String>,
    /// For a hosted sign-in: the hash of the browser's challenge cookie.
    #[serde(default)]
    pub browser_hash: Option<String>,
    #[serde(default)]
    pub approved_at: Option<Timestamp>,
    /// What answered it: an authenticator id, `recovery_code` or `temporary_access_code`.
    #[serde(default)]
    pub approved_with: Option<String>,
    /// The RFC 8176 methods of the answer.
    #[serde(default)]
    pub amr: Vec<String>,
    /// A sign-in that used this challenge (it is spent then).
    #[serde(default)]
    pub consumed: bool,
}

impl MfaChallenge {
    /// True when a temporary access code answered this sign-in and it has not started a session
    /// yet: the code only lets the user enroll a factor.
    pub fn let_in_to_enroll(&self) -> bool {
        self.status == ChallengeStatus::Approved
            && self.approved_with.as_deref() == Some(APPROVED_BY_ACCESS_CODE)
            && !self.consumed
    }

    /// The status as of `now` (an issued challenge past its time has expired).
    pub fn status_at(&self, now: Timestamp) -> ChallengeStatus {
        if self.status == ChallengeStatus::Issued && self.expires_at <= now {
            ChallengeStatus::Expired
        } else {
            self.status
        }
    }
}

/// A user's recent MFA failures, across every node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaLockout {
    pub failures: Vec<Timestamp>,
    pub locked_until: Option<Timestamp>,
}

impl MfaLockout {
    pub fn locked_at(&self, now: Timestamp) -> Option<Timestamp> {
        self.locked_until.filter(|until| *until > now)
    }
}

/// The refusal of a user whose MFA is locked until `until`, as seen at `now`.
pub fn locked_error(until: Timestamp, now: Timestamp) -> crate::error::ClusterError {
    crate::error::ClusterError::Mfa {
        code: crate::error::MfaCode::MfaLocked,
        message: format!(
            "too many failed MFA attempts; try again after {}",
            until.to_rfc3339()
        ),
        attempts_remaining: Some(0),
        retry_after_secs: Some(u64::try_from((until.0 - now.0 + 999) / 1000).unwrap_or(1)),
    }
}

/// A browser that may skip the second factor until it expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedDevice {
    /// `tdv_…`.
    pub id: String,
    pub user_id: UserId,
    pub secret_hash: String,
    pub label: Option<String>,
    pub ip_address: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    #[serde(default)]
    pub last_used_at: Option<Timestamp>,
}

/// An administrator's temporary access code: it stands in for the second factor so a user who
/// lost every factor can sign in and enroll a new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemporaryAccessCode {
    /// `tap_…`.
    pub id: String,
    pub user_id: UserId,
    pub code_hash: String,
    pub reason: String,
    pub issued_by: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub single_use: bool,
    #[serde(default)]
    pub used_at: Option<Timestamp>,
}

impl TemporaryAccessCode {
    pub fn usable(&self, now: Timestamp) -> bool {
        self.expires_at > now && !(self.single_use && self.used_at.is_some())
    }
}
