//! Reading authorization questions from request bodies: subjects, the echoed context, the
//! freshness asked for, permission lists. Malformed questions get the engines' own error codes.

use lumo_cluster::AuthzCode;
use lumo_cluster::ClusterError;
use lumo_cluster::authz::{ConsistencyToken, Freshness, Subject};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Ctx, JsonBody};

/// Reads a question from the body with `parse`; on any problem with the request itself, the
/// credential is judged first (401/403 before anything about the body).
pub async fn parse_question<T>(
    ctx: &Ctx,
    body: Result<JsonBody, ApiError>,
    parse: impl FnOnce(&Map<String, Value>) -> ApiResult<T>,
) -> ApiResult<T> {
    match body.and_then(|JsonBody(map)| parse(&map)) {
        Ok(parsed) => Ok(parsed),
        Err(problem) => Err(ctx.credential_first(problem).await),
    }
}

/// Most permissions one bulk question may name.
pub const MAX_PERMISSIONS: usize = 100;
/// Longest permission slug, subject id or token accepted.
const MAX_TEXT: usize = 255;

pub fn refuse(code: AuthzCode, message: impl Into<String>) -> ApiError {
    ApiError::Cluster(ClusterError::authz(code, message))
}

/// `subject`: absent or null (the caller), or `{"type": "user"|"agent", "id": "..."}`.
pub fn subject(body: &Map<String, Value>) -> ApiResult<Option<Subject>> {
    let value = match body.get("subject") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(map)) => map,
        Some(_) => {
            return Err(refuse(
                AuthzCode::InvalidSubject,
                "subject must be an object {\"type\": \"user\"|\"agent\", \"id\": \"...\"}",
            ));
        }
    };
    let id = match value.get("id") {
        Some(Value::String(id)) if !id.trim().is_empty() && id.len() <= MAX_TEXT => id.clone(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(refuse(AuthzCode::MissingFields, "subject.id is required"));
        }
        Some(_) => {
            return Err(refuse(
                AuthzCode::InvalidSubject,
                "subject.id must be a string",
            ));
        }
    };
    match value.get("type") {
        None | Some(Value::Null) => Ok(Some(Subject::User(id))),
        Some(Value::String(kind)) if kind == "user" => Ok(Some(Subject::User(id))),
        Some(Value::String(kind)) if kind == "agent" => Ok(Some(Subject::Agent(id))),
        Some(other) => Err(refuse(
            AuthzCode::InvalidSubject,
            format!("subject.type must be \"user\" or \"agent\", not {other}"),
        )),
    }
}

/// `context`: an object echoed back (absent: empty).
pub fn context(body: &Map<String, Value>) -> ApiResult<Value> {
    match body.get("context") {
        None | Some(Value::Null) => Ok(Value::Object(Map::new())),
        Some(Value::Object(map)) => Ok(Value::Object(map.clone())),
        Some(_) => Err(ApiError::BadRequest("context must be an object".into())),
    }
}

fn token(value: &Value) -> ApiResult<ConsistencyToken> {
    let text = value
        .as_str()
        .ok_or_else(|| ApiError::BadRequest("at_least_as_fresh must be a token string".into()))?;
    Ok(text.parse::<ConsistencyToken>()?)
}

/// How fresh the answer must be: `consistency` as `"minimize_latency"`, `"fully_consistent"`,
/// `{"minimize_latency": true}`, `{"fully_consistent": true}` or `{"at_least_as_fresh":
/// "<token>"}`, or a top-level `at_least_as_fresh` token. Absent: the engine's default.
pub fn freshness(body: &Map<String, Value>) -> ApiResult<Option<Freshness>> {
    if let Some(value) = body.get("at_least_as_fresh").filter(|v| !v.is_null()) {
        return Ok(Some(Freshness::AtLeast(token(value)?)));
    }
    let bad = || {
        ApiError::BadRequest(
            "consistency must be minimize_latency, fully_consistent or {\"at_least_as_fresh\": \"<token>\"}"
                .into(),
        )
    };
    match body.get("consistency") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(mode)) => match mode.as_str() {
            "minimize_latency" => Ok(Some(Freshness::Local)),
            "fully_consistent" => Ok(Some(Freshness::Full)),
            _ => Err(bad()),
        },
        Some(Value::Object(map)) => {
            if let Some(value) = map.get("at_least_as_fresh") {
                return Ok(Some(Freshness::AtLeast(token(value)?)));
            }
            if map.get("fully_consistent") == Some(&Value::Bool(true)) {
                return Ok(Some(Freshness::Full));
            }
            if map.get("minimize_latency") == Some(&Value::Bool(true)) {
                return Ok(Some(Freshness::Local));
            }
            Err(bad())
        }
        Some(_) => Err(bad()),
    }
}

/// `permission`: one non-empty slug.
pub fn permission(body: &Map<String, Value>) -> ApiResult<String> {
    match body.get("permission") {
        Some(Value::String(slug)) if !slug.trim().is_empty() && slug.len() <= MAX_TEXT => {
            Ok(slug.clone())
        }
        _ => Err(refuse(
            AuthzCode::MissingPermission,
            "permission is required: a non-empty string of at most 255 characters",
        )),
    }
}

/// `permissions`: 1 to 100 non-empty slugs.
pub fn permissions(body: &Map<String, Value>) -> ApiResult<Vec<String>> {
    let items = match body.get("permissions") {
        None | Some(Value::Null) => {
            return Err(refuse(AuthzCode::MissingFields, "permissions is required"));
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(refuse(
                AuthzCode::InvalidPermissions,
                "permissions must be a list of permission slugs",
            ));
        }
    };
    if items.is_empty() || items.len() > MAX_PERMISSIONS {
        return Err(refuse(
            AuthzCode::InvalidPermissions,
            format!("permissions must name 1 to {MAX_PERMISSIONS} permissions"),
        ));
    }
    items
        .iter()
        .map(|item| match item {
            Value::String(slug) if !slug.trim().is_empty() && slug.len() <= MAX_TEXT => {
                Ok(slug.clone())
            }
            _ => Err(refuse(
                AuthzCode::InvalidPermissions,
                "every permission must be a non-empty string of at most 255 characters",
            )),
        })
        .collect()
}
