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

/// The agent's A2A endpoint (`a2aUrl`): an https URL (`Some(None)`: cleared).
pub fn a2a_url(body: &mut Body) -> Option<Option<String>> {
    let url = body.nullable_str("a2aUrl", 2000)?;
    if let Some(text) = &url
        && lumo_cluster::oauth::resource::check_resource(text).is_err()
    {
        body.problem(
            "a2aUrl",
            "must be an https URL without a fragment (http only for loopback and private hosts)",
        );
    }
    Some(url)
}

/// The workload identity binding (`workload`: `{issuer, subject, audience, jwksUri?,
/// provider?}`; `null` clears it).
pub fn workload(body: &mut Body) -> Option<Option<lumo_cluster::model::WorkloadBinding>> {
    let value = body.raw("workload")?.clone();
    let Value::Object(map) = value else {
        if !value.is_null() {
            body.problem("workload", "must be an object or null");
        }
        return Some(None);
    };
    let text = |key: &str| {
        map.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= 2000)
            .map(str::to_string)
    };
    let (Some(issuer), Some(subject), Some(audience)) =
        (text("issuer"), text("subject"), text("audience"))
    else {
        body.problem("workload", "needs issuer, subject and audience (strings)");
        return None;
    };
    let jwks_uri = text("jwksUri").or_else(|| text("jwks_uri"));
    for (field, url) in [("issuer", Some(&issuer)), ("jwksUri", jwks_uri.as_ref())] {
        if let Some(url) = url
            && lumo_cluster::oauth::resource::check_resource(url).is_err()
        {
            body.problem("workload", format!("{field} must be an https URL"));
        }
    }
    Some(Some(lumo_cluster::model::WorkloadBinding {
        provider: text("provider").unwrap_or_else(|| "oidc".into()),
        issuer,
        subject,
        audience,
        jwks_uri,
    }))
}

/// 400 `invalid_request`: how the protocol-style agent routes (JIT, approvals) refuse input.
pub fn invalid_request(message: impl Into<String>) -> crate::error::ApiError {
    crate::error::ApiError::Cluster(lumo_cluster::ClusterError::oauth(
        lumo_cluster::protocol::ErrorCode::InvalidRequest,
        message,
    ))
}

/// An optional string of at most `max` characters in a protocol-style body (absent, null or
/// blank: none), trimmed.
pub fn text(
    body: &serde_json::Map<String, Value>,
    field: &str,
    max: usize,
) -> crate::error::ApiResult<Option<String>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => {
            Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty()))
        }
        Some(Value::String(_)) => Err(invalid_request(format!(
            "{field} must be at most {max} characters"
        ))),
        Some(_) => Err(invalid_request(format!("{field} must be a string"))),
    }
}

/// Like [`text`], required.
pub fn required_text(
    body: &serde_json::Map<String, Value>,
    field: &str,
    max: usize,
) -> crate::error::ApiResult<String> {
    text(body, field, max)?.ok_or_else(|| invalid_request(format!("{field} is required")))
}
