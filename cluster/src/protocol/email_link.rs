//! Steps of the hosted page an emailed link opens.

use serde::{Deserialize, Serialize};

/// A step of an emailed link's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EmailLinkStep {
    /// What the link is for, if it is still good (the page to show).
    Check { token: String },
    /// Uses it; a reset carries the new password's argon2 hash.
    Use {
        token: String,
        password_hash: Option<String>,
    },
    /// What an invitation link invites to, if it is still good.
    CheckInvitation { token: String },
    /// Accepts it; an invitee without an account gives a name and a password (its argon2
    /// hash), and the account gets `new_user` as id.
    AcceptInvitation {
        token: String,
        new_user: crate::ids::UserId,
        name: Option<String>,
        password_hash: Option<String>,
    },
    /// The login page asks for a sign-in link for `email` (sent only when the address has a
    /// usable account, answered the same either way); `carried` is the authorization request.
    RequestMagicLink {
        email: String,
        issuer: String,
        carried: Vec<(String, String)>,
    },
    /// Signs in with a sign-in link (the browser's trusted-device cookie in `device`).
    UseMagicLink {
        token: String,
        device: Option<String>,
    },
}
