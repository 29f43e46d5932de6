//! The AI agents API: the admin family under `~/admin/agents` (scope `admin:agents`) and the
//! runtime under `~/agents` (`me`, `register`, `ask`).

mod admin;
mod fields;
mod runtime;

use axum::Router;
use axum::routing::{get, post};
use lumo_cluster::model::Family;

use crate::extract::in_family;
use crate::state::AppState;

/// The org-scoped agent routes (nested under `/orgs/{org}/api/v1`).
pub fn router() -> Router<AppState> {
    let runtime = Router::new()
        .route("/agents/me", get(runtime::me))
        .route("/agents/ask", post(runtime::ask))
        .route_layer(in_family(Family::AgentRuntime));
    let registry = Router::new()
        .route("/agents/register", post(runtime::register))
        .route_layer(in_family(Family::Agents));
    admin::router()
        .route_layer(in_family(Family::Agents))
        .merge(runtime)
        .merge(registry)
}
