use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::UserId;

/// A user of an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    #[serde(default)]
    pub picture: Option<String>,
    pub email_verified: bool,
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub phone_number_verified: bool,
    pub is_active: bool,
    pub blocked: bool,
    #[serde(default)]
    pub blocked_at: Option<Timestamp>,
    #[serde(default)]
    pub mfa_enabled: bool,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub zoneinfo: Option<String>,
    pub created_at: Timestamp,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    #[serde(default)]
    pub last_login_at: Option<Timestamp>,
    #[serde(default)]
    pub login_count: u64,
    /// argon2id PHC string; never rendered.
    #[serde(default)]
    pub password_hash: Option<String>,
    #[serde(default)]
    pub password_changed_at: Option<Timestamp>,
    /// How the user was provisioned just in time (`social:<provider>`), if so.
    #[serde(default)]
    pub jit_provisioned_by: Option<String>,
}

/// Kinds of email a user or admin asked for (recorded even before delivery exists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EmailRequestKind {
    VerifyEmail,
    PasswordReset,
    /// A sign-in link (the hosted login's magic link).
    MagicLink,
}

impl EmailRequestKind {
    /// Stable name used in keys and audit actions.
    pub fn as_str(self) -> &'static str {
        match self {
            EmailRequestKind::VerifyEmail => "verify_email",
            EmailRequestKind::PasswordReset => "password_reset",
            EmailRequestKind::MagicLink => "magic_link",
        }
    }
}

/// A pending email request. Its link is signed when the email is sent (`mail::link`); the row
/// keeps the link's random nonce (in `token_hash`, the field's name from when only a hash was
/// kept), so using the link, or asking again, ends the old link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailRequest {
    pub user_id: UserId,
    pub kind: EmailRequestKind,
    pub token_hash: String,
    pub requested_at: Timestamp,
    pub expires_at: Timestamp,
    pub delivered: bool,
    /// The issuer the request came through (`{public url}/orgs/{org}/api/v1`): links point
    /// at its hosted pages. `None` for requests recorded before emails were sent.
    #[serde(default)]
    pub issuer: Option<String>,
    /// A sign-in link's authorization request (URL-encoded), continued once signed in.
    #[serde(default)]
    pub continue_query: Option<String>,
}

/// The `newValue` of an email request's event: when it expires, and when it was asked (the
/// email composer sends only the latest request's email).
pub fn email_request_fields(requested_at: Timestamp, expires_at: Timestamp) -> serde_json::Value {
    serde_json::json!({
        "expiresAt": expires_at.to_rfc3339(),
        "requestedAt": requested_at.0,
        "delivered": false,
    })
}
