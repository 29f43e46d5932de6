//! `~/admin/api-keys` (an extension: the official client has no such route). Managing keys
//! needs the full `admin` scope; a key is shown once, at creation.

use axum::Router;
use axum::response::Response;
use axum::routing::{delete, get};
use lumo_cluster::clock::Timestamp;
use lumo_cluster::command::Op;
use lumo_cluster::ids::{ApiKeyId, OrgId};
use lumo_cluster::model::AdminScope;
use lumo_cluster::query::{Outcome, Query, Reply};
use serde_json::json;

use crate::dto::org::api_key;
use crate::envelope;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody};
use crate::reply;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/api-keys", get(list).post(create))
        .route("/admin/api-keys/{keyId}", delete(revoke))
}

async fn list(ctx: Ctx) -> ApiResult<Response> {
    let keys = reply!(ctx.read(Query::ListApiKeys).await?, Reply::ApiKeys);
    let items: Vec<_> = keys.into_iter().map(api_key).collect();
    Ok(envelope::data(items))
}

async fn create(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let name = body.required_str("name", 100);
    let scopes = body
        .str_list("scopes", 20)
        .unwrap_or_else(|| vec!["admin:read".into()]);
    if scopes.is_empty() {
        body.problem("scopes", "must name at least one scope");
    }
    if let Some(unknown) = scopes.iter().find(|s| !AdminScope::is_known(s)) {
        body.problem(
            "scopes",
            format!(
                "unknown scope {unknown}; known: {}",
                AdminScope::ALL.join(", ")
            ),
        );
    }
    let expires_at = match body.raw("expiresAt") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(text)) => match Timestamp::parse(text) {
            Some(t) if t > Timestamp::now() => Some(t),
            Some(_) => {
                body.problem("expiresAt", "must be in the future");
                None
            }
            None => {
                body.problem("expiresAt", "must be an ISO-8601 date-time");
                None
            }
        },
        Some(_) => {
            body.problem("expiresAt", "must be an ISO-8601 date-time string");
            None
        }
    };
    body.finish()?;
    let entry = ctx.state.service.active_org(&ctx.org).await?;
    let org: OrgId = entry.org_id;
    let generated = lumo_cluster::api_key::generate(org, &name, scopes, expires_at);
    let reply = ctx.write(Op::CreateApiKey(generated.record)).await?;
    let Reply::Done(Outcome::ApiKey(key)) = reply else {
        return Err(ApiError::unexpected(reply));
    };
    let mut data = api_key(key);
    data["key"] = json!(generated.secret);
    data["_note"] = json!("Store this key now: it is shown only once.");
    Ok(envelope::created(data, "API key created"))
}

async fn revoke(ctx: Ctx) -> ApiResult<Response> {
    let id = ApiKeyId(ctx.number("keyId")?);
    ctx.write(Op::RevokeApiKey(id)).await?;
    Ok(envelope::message("API key revoked"))
}
