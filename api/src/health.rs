//! `/healthz` (the process answers) and `/readyz` (every hosted Raft group has a leader and
//! has applied what it committed).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

pub async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    let readiness = state.service.readiness().await;
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if readiness.ready { "ready" } else { "not_ready" },
        "node": state.service.node_id().0,
        "groups": readiness.groups,
    });
    (status, Json(body)).into_response()
}
