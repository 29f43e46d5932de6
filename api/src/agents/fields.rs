//! What agent bodies share: capabilities and the daily token budget.

use lumo_cluster::model::AdminScope;
use serde_json::Value;

use crate::extract::Body;

/// Most capabilities one agent holds.
pub const MAX_CAPABILITIES: usize = 100;
const MAX_CAPABILITY_LEN: usize = 128;

/// A capability names an action (`document.read`, `calendar:*`, `*`); admin API scopes are
/// not capabilities (an agent token is never an admin credential).
fn capability_problem(capability: &str) -> Option<String> {
    if capability.is_empty() || capability.len() > MAX_CAPABILITY_LEN {
        return Some(format!(
            "{capability:?} must be 1-{MAX_CAPABILITY_LEN} characters"
        ));
    }
    if !capability
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._:-*/".contains(c))
    {
        return Some(format!(
            "{capability:?} may hold only letters, digits and . _ : - * /"
        ));
    }
    if AdminScope::is_known(capability) {
        return Some(format!(
            "{capability} is an admin API scope, not an agent capability"
        ));
    }
    None
}

/// The capability list in `field`, validated and without duplicates.
pub fn capabilities(body: &mut Body, field: &str) -> Option<Vec<String>> {
    let list = body.str_list(field, MAX_CAPABILITIES)?;
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for capability in list {
        let capability = capability.trim().to_string();
        if let Some(problem) = capability_problem(&capability) {
            body.problem(field, problem);
            return None;
        }
        if !out.contains(&capability) {
            out.push(capability);
        }
    }
    Some(out)
}

/// The daily token budget: `maxTokensPerDay`, or `budget_policy.max_tokens_per_day`
/// (`Some(None)`: unlimited).
pub fn max_tokens_per_day(body: &mut Body) -> Option<Option<u64>> {
    if body.has("maxTokensPerDay") {
        return match body.raw("maxTokensPerDay") {
            Some(Value::Null) => Some(None),
            _ => body.opt_u64("maxTokensPerDay").map(Some),
        };
    }
    let policy = match body
        .raw("budget_policy")
        .or_else(|| body.raw("budgetPolicy"))
    {
        None | Some(Value::Null) => return None,
        Some(Value::Object(policy)) => policy.clone(),
        Some(_) => {
            body.problem("budget_policy", "must be an object");
            return None;
        }
    };
    match policy.get("max_tokens_per_day") {
        None | Some(Value::Null) => Some(None),
        Some(Value::Number(n)) if n.as_u64().is_some() => Some(n.as_u64()),
        Some(_) => {
            body.problem(
                "budget_policy",
                "max_tokens_per_day must be a non-negative integer or null",
            );
            None
        }
    }
}
