//! The request facts a decision's environment gets from the real request (ABAC checks, the
//! Ask API): `ip`, `userAgent`, `requestMethod`, `requestPath`. Values the caller sent under
//! those names are kept under `pep` (what the policy enforcement point claimed).

use axum::extract::OriginalUri;
use axum::http::Method;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};
use crate::extract::Ctx;

/// Environment keys the server fills from the real request.
const FROM_REQUEST: [&str; 4] = ["ip", "userAgent", "requestMethod", "requestPath"];

/// The object in `body[field]` (absent or null: empty) with the request's own facts.
pub(crate) fn enriched(
    body: &Map<String, Value>,
    field: &str,
    ctx: &Ctx,
    method: &Method,
    uri: &OriginalUri,
) -> ApiResult<Map<String, Value>> {
    let mut env = match body.get(field) {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => return Err(ApiError::BadRequest(format!("{field} must be an object"))),
    };
    let mut pep = match env.remove("pep") {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    for key in FROM_REQUEST {
        if let Some(value) = env.remove(key) {
            pep.insert(key.into(), value);
        }
    }
    env.insert("ip".into(), json!(ctx.context.ip));
    env.insert("userAgent".into(), json!(ctx.context.user_agent));
    env.insert("requestMethod".into(), json!(method.as_str()));
    env.insert("requestPath".into(), json!(uri.0.path()));
    if !pep.is_empty() {
        env.insert("pep".into(), Value::Object(pep));
    }
    Ok(env)
}
