//! The request context a policy is evaluated against.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Attributes of one access request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AbacContext {
    /// Subject attributes, read by `user.<key>` / `subject.<key>`.
    pub user: Map<String, Value>,
    /// Resource attributes, read by `resource.<key>`.
    pub resource: Map<String, Value>,
    /// Environment attributes, read by `environment.<key>` / `env.<key>`.
    pub environment: Map<String, Value>,
    /// The requested action, read by `action`.
    pub action: String,
    /// The resource type, read by `resourceType` (and by `resource.type`
    /// when the resource map has no `type`).
    pub resource_type: String,
}

impl AbacContext {
    /// A context with empty attribute maps.
    pub fn new(action: impl Into<String>, resource_type: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            resource_type: resource_type.into(),
            ..Self::default()
        }
    }
}
