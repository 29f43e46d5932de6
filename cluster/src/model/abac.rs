//! ABAC as stored: attribute definitions, policies, and attribute values of users and
//! resources. JSON payloads (conditions, values, rules) are kept as JSON values in rows and
//! travel as JSON text in commands.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Timestamp;

/// What an attribute describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttributeKind {
    User,
    Resource,
    Environment,
}

impl AttributeKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeKind::User => "user",
            AttributeKind::Resource => "resource",
            AttributeKind::Environment => "environment",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<AttributeKind> {
        match text {
            "user" => Some(AttributeKind::User),
            "resource" => Some(AttributeKind::Resource),
            "environment" => Some(AttributeKind::Environment),
            _ => None,
        }
    }
}

/// An attribute definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeDefinition {
    pub id: u64,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub kind: AttributeKind,
    /// `string`, `number`, `boolean`, `array`, `object` or `date`.
    pub data_type: String,
    pub validation_rules: Option<Value>,
    pub default_value: Option<Value>,
    pub is_required: bool,
    pub is_system: bool,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
}

/// An ABAC policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AbacPolicyRecord {
    pub id: u64,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    /// A resource type, or `*`.
    pub resource_type: String,
    /// An action, or `*`.
    pub action: String,
    /// `allow` or `deny`.
    pub effect: String,
    pub priority: i64,
    /// `{all, any, none}` (validated when written).
    pub conditions: Value,
    pub is_active: bool,
    pub is_system: bool,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
}

/// A stored attribute value of a user or a resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeValue {
    pub id: u64,
    pub value: Value,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
}
