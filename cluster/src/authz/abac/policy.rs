//! Access policies: target (resource type, action), effect and conditions.

use serde::{Deserialize, Serialize};

use super::condition::Conditions;
use super::context::AbacContext;

/// Matches any resource type or action.
pub const WILDCARD: &str = "*";

/// What a matching policy does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Grants access.
    Allow,
    /// Refuses access; wins over allows of lower or equal priority.
    Deny,
}

/// A stored ABAC policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// Policy id.
    pub id: u64,
    /// Human-readable name, used in decision reasons.
    pub name: String,
    /// Resource type it targets, or `"*"` for any (exact, case-sensitive).
    pub resource_type: String,
    /// Action it targets, or `"*"` for any (exact, case-sensitive).
    pub action: String,
    /// Allow or deny.
    pub effect: Effect,
    /// Higher priorities decide first.
    pub priority: i64,
    /// Conditions that must hold for the policy to match.
    pub conditions: Conditions,
    /// Inactive policies are ignored.
    pub active: bool,
}

impl Policy {
    /// Whether the policy is active and targets the request's resource type
    /// and action (conditions not evaluated).
    pub fn targets(&self, ctx: &AbacContext) -> bool {
        self.active
            && (self.resource_type == WILDCARD || self.resource_type == ctx.resource_type)
            && (self.action == WILDCARD || self.action == ctx.action)
    }

    /// Whether the policy targets the request and its conditions hold.
    pub fn matches(&self, ctx: &AbacContext) -> bool {
        self.targets(ctx) && self.conditions.matches(ctx)
    }
}
