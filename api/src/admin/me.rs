//! `GET ~/me`: who the credential is. User and client (agent) access tokens describe their
//! subject; API keys are neither, so they get a 404 that says so.

use axum::Router;
use axum::response::Response;
use axum::routing::get;
use lumo_cluster::query::{Query, Reply};
use serde_json::json;

use crate::error::ApiResult;
use crate::extract::Ctx;
use crate::reply;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/me", get(me))
}

async fn me(ctx: Ctx) -> ApiResult<Response> {
    let me = reply!(ctx.read(Query::Me).await?, Reply::Me);
    Ok(axum::response::IntoResponse::into_response(axum::Json(
        json!({
            "subject_type": me.subject_type,
            "id": me.id,
            "email": me.email,
            "name": me.name,
            "mfa_enabled": me.mfa_enabled,
            "roles": me.roles,
            "capabilities": me.capabilities,
            "scopes": me.scopes,
            "tenant": {"id": me.tenant.id, "name": me.tenant.name, "slug": me.tenant.slug},
        }),
    )))
}
