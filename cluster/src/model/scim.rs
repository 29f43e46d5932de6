//! What SCIM keeps about a user or group beyond the admin API's fields.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Timestamp;

/// SCIM attributes of a user or group with no admin API field (keyed by the resource's id).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScimExtra {
    /// The provisioning client's own id for the resource.
    #[serde(default)]
    pub external_id: Option<String>,
    /// The enterprise User extension
    /// (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`), as sent.
    #[serde(default)]
    pub enterprise: Option<Value>,
    /// A user's other core attributes as sent (all emails, addresses, titles, ...).
    #[serde(default)]
    pub attributes: Option<Value>,
    /// The core attributes SCIM last sent (`None`: a user SCIM never wrote shows them all).
    #[serde(default)]
    pub sent: Option<Vec<String>>,
    /// A SCIM delete that left the user in place, inactive (`deprovisioning_action`).
    #[serde(default)]
    pub soft_deleted_at: Option<Timestamp>,
}

/// The version a SCIM client sees (`meta.version`, the ETag) of a resource last changed at
/// `at`.
pub fn version_of(at: Timestamp) -> String {
    format!("W/\"{}\"", at.0)
}

/// A user's version.
pub fn user_version(user: &super::User) -> String {
    version_of(user.updated_at.unwrap_or(user.created_at))
}

/// A group's version.
pub fn group_version(group: &super::Group) -> String {
    version_of(group.updated_at.unwrap_or(group.created_at))
}
