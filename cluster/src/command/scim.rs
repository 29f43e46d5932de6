//! The writes of SCIM provisioning: whole resource states (the api applies PATCH operations
//! to what it read and sends the result, guarded by the version it read).

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::{GroupId, UserId};

use super::WebhookAttempt;
pub use crate::model::ScimResourceKind;

/// A user as SCIM sets it (everything; absent optional fields are cleared).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimUserState {
    pub user_name: String,
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub picture: Option<String>,
    pub phone_number: Option<String>,
    pub locale: Option<String>,
    pub zoneinfo: Option<String>,
    pub active: bool,
    pub external_id: Option<String>,
    /// The enterprise extension object, JSON text.
    pub enterprise: Option<String>,
    /// The other core attributes as sent (all emails, addresses, titles, ...), JSON object
    /// text; what the admin API keeps (the primary address, the name) is read from its fields.
    pub attributes: Option<String>,
    /// The core attributes the request carried: SCIM shows a user's modeled attributes only
    /// when its client last sent them (a removed attribute stays unassigned for SCIM).
    pub sent: Vec<String>,
    /// A new password (argon2id), when the request set one.
    pub password_hash: Option<String>,
}

/// A group as SCIM sets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimGroupState {
    pub display_name: String,
    pub external_id: Option<String>,
    pub members: Vec<UserId>,
}

/// One SCIM write. `if_match` is the version (`W/"…"`) the change was made against: a
/// resource changed since answers `412`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScimWrite {
    PutUser {
        id: UserId,
        create: bool,
        if_match: Option<String>,
        user: Box<ScimUserState>,
    },
    DeleteUser {
        id: UserId,
        if_match: Option<String>,
        /// Remove the record even when the settings keep deleted users (soft delete).
        hard: bool,
    },
    PutGroup {
        id: GroupId,
        create: bool,
        if_match: Option<String>,
        group: ScimGroupState,
    },
    DeleteGroup {
        id: GroupId,
        if_match: Option<String>,
    },
    /// The calling user changes their own profile through `PATCH /Me`: only what a user may
    /// change about themselves (names, phone, locale, time zone, photo, the kept attributes);
    /// `apply` refuses anything else.
    PutMe {
        if_match: Option<String>,
        user: Box<ScimUserState>,
    },
}

/// A resource's id at the downstream service, learnt (`Some`) or forgotten (`None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimLink {
    pub kind: ScimResourceKind,
    /// The local id's 16 bytes.
    pub local: [u8; 16],
    pub remote: Option<String>,
}

/// How a full sync ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimBatchResult {
    pub at: Timestamp,
    pub users: u64,
    pub groups: u64,
    pub failed: u64,
    /// The first failure, if any.
    pub error: Option<String>,
}

/// What one round of the outbound SCIM client did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ScimPushReport {
    pub attempts: Vec<WebhookAttempt>,
    pub links: Vec<ScimLink>,
    pub batch: Option<ScimBatchResult>,
}
