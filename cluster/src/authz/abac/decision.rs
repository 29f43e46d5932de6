//! Combining policy effects into an access decision.

use serde::Serialize;

use super::context::AbacContext;
use super::policy::{Effect, Policy};

/// The outcome of [`decide`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Whether access is granted.
    pub allowed: bool,
    /// Short human sentence naming the deciding policy.
    pub reason: String,
    /// `(id, name)` of the policies that produced the decision: those of the
    /// winning effect at the deciding priority, ordered by priority
    /// (highest first) then id. Empty when no policy matched.
    pub matched: Vec<(u64, String)>,
}

/// Decides a request.
///
/// Active policies whose resource type and action match (or are `"*"`) and
/// whose conditions hold are considered. The highest matching priority
/// decides; within it a deny beats an allow. So a deny overrides allows of
/// lower or equal priority, and an allow wins only at a strictly higher
/// priority than every matching deny. No matching policy means deny.
pub fn decide(policies: &[Policy], ctx: &AbacContext) -> Decision {
    let matching: Vec<&Policy> = policies.iter().filter(|p| p.matches(ctx)).collect();
    let Some(top) = matching.iter().map(|p| p.priority).max() else {
        return Decision {
            allowed: false,
            reason: format!(
                "no policy allows action \"{}\" on resource type \"{}\"",
                ctx.action, ctx.resource_type
            ),
            matched: Vec::new(),
        };
    };
    let tier: Vec<&Policy> = matching.into_iter().filter(|p| p.priority == top).collect();
    let effect = if tier.iter().any(|p| p.effect == Effect::Deny) {
        Effect::Deny
    } else {
        Effect::Allow
    };
    let mut winners: Vec<&Policy> = tier.into_iter().filter(|p| p.effect == effect).collect();
    winners.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.id.cmp(&b.id)));
    Decision {
        allowed: effect == Effect::Allow,
        reason: reason(effect, &winners),
        matched: winners.iter().map(|p| (p.id, p.name.clone())).collect(),
    }
}

fn reason(effect: Effect, winners: &[&Policy]) -> String {
    let verb = match effect {
        Effect::Allow => "allowed",
        Effect::Deny => "denied",
    };
    let Some(first) = winners.first() else {
        return format!("{verb} by policy");
    };
    let mut text = format!(
        "{verb} by policy \"{}\" (id {}, priority {})",
        first.name, first.id, first.priority
    );
    if winners.len() > 1 {
        text.push_str(&format!(" and {} more", winners.len() - 1));
    }
    text
}
