//! `~/admin/sandbox*`: sandbox orgs are not built yet; the routes answer 501 with a clear
//! error (after the credential is checked) instead of a 404 that hides them.

use axum::Router;
use axum::response::Response;
use axum::routing::{get, post};
use lumo_cluster::ClusterError;
use lumo_cluster::model::Family;

use crate::error::{ApiError, ApiResult};
use crate::extract::Ctx;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/sandbox", get(not_built))
        .route("/admin/sandbox/spawn", post(not_built))
        .route("/admin/sandbox/{sandboxSlug}/destroy", post(not_built))
}

async fn not_built(ctx: Ctx) -> ApiResult<Response> {
    ctx.admit(Family::Settings, false).await?;
    Err(ApiError::Cluster(ClusterError::NotImplemented {
        message: "sandbox orgs are not built yet on this server".into(),
    }))
}
