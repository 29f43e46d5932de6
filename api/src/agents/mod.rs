//! The AI agents API: the admin family under `~/admin/agents` (scope `admin:agents`) and the
//! runtime under `~/agents` (`me`, `register`, `ask`) and `~/jit` (JIT permissions).

mod admin;
mod approvals;
mod fields;
mod jit;
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
        .route("/agents/me/approvals", post(approvals::create))
        .route(
            "/agents/me/approvals/{token}/status",
            get(approvals::status),
        )
        .route("/jit/task", post(jit::create_task))
        .route("/jit/task/{taskId}/complete", post(jit::complete_task))
        .route("/jit/task/{taskId}/evaluate", post(jit::evaluate_task))
        .route("/jit/request", post(jit::request_permission))
        .route("/jit/request/{requestId}/status", get(jit::request_status))
        .route("/jit/request/{requestId}/token", post(jit::request_token))
        .route("/jit/pending", get(jit::pending))
        .route("/jit/approve/{requestId}", post(jit::approve))
        .route("/jit/deny/{requestId}", post(jit::deny))
        .route_layer(in_family(Family::AgentRuntime));
    let registry = Router::new()
        .route("/agents/register", post(runtime::register))
        .route_layer(in_family(Family::Agents));
    admin::router()
        .route_layer(in_family(Family::Agents))
        .merge(runtime)
        .merge(registry)
}
