use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::ScopeId;

/// An OAuth scope an org's clients may request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub id: ScopeId,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default)]
    pub is_system: bool,
    pub created_at: Timestamp,
}
