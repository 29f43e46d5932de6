//! The AI agents API: the admin family under `~/admin/agents` (scope `admin:agents`) and the
//! runtime under `~/agents` (`me`, `register`, `ask`) and `~/jit` (JIT permissions).

mod admin;
mod approvals;
mod attest;
mod card;
mod fields;
mod jit;
mod mcp;
mod runtime;
mod vault;

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
        .route("/agents/me/mcp/authorize", post(mcp::authorize_tool))
        .route("/agents/me/connections", get(vault::mine))
        .route(
            "/agents/me/connections/{connectionId}/token",
            post(vault::token),
        )
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
    let mcp_admin = Router::new()
        .route("/admin/mcp/servers", get(mcp::list).post(mcp::create))
        .route(
            "/admin/mcp/servers/{serverId}",
            get(mcp::show).delete(mcp::remove),
        )
        .route(
            "/admin/agents/{agentId}/connections",
            get(vault::list).post(vault::store),
        )
        .route(
            "/admin/agents/{agentId}/connections/{connectionId}",
            axum::routing::delete(vault::remove),
        )
        .route("/mcp/servers", get(mcp::management_list))
        .route("/mcp/servers/{serverId}", get(mcp::management_show));
    let verify = Router::new()
        .route("/agents/agent-card/verify", post(card::verify))
        .route_layer(in_family(Family::Identity));
    // Public: no credential (the challenge judges the token it is shown).
    let public = Router::new()
        .route("/agents/{agentId}/agent-card", get(card::card))
        .route("/agents/{agentId}/attest", post(attest::attest))
        .route(
            "/.well-known/oauth-protected-resource",
            get(mcp::metadata_root),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp/{serverId}",
            get(mcp::metadata_server),
        )
        .route(
            "/mcp/{serverId}/challenge",
            get(mcp::challenge).post(mcp::challenge),
        );
    admin::router()
        .merge(mcp_admin)
        .route_layer(in_family(Family::Agents))
        .merge(runtime)
        .merge(registry)
        .merge(verify)
        .merge(public)
}
