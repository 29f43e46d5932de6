//! `GET ~/me`: who the credential is. API keys are neither users nor agents, so they get a
//! 404 that says so; user and agent tokens come with the OAuth provider.

use axum::Router;
use axum::response::Response;
use axum::routing::get;
use lumo_cluster::query::Query;

use crate::error::{ApiError, ApiResult};
use crate::extract::Ctx;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/me", get(me))
}

async fn me(ctx: Ctx) -> ApiResult<Response> {
    let reply = ctx.read(Query::Me).await?;
    Err(ApiError::unexpected(reply))
}
