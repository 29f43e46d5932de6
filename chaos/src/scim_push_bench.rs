//! Outbound SCIM in `lumo-load` (`scim-push`): user creations with the org's outbound SCIM
//! client switched on, pushing to a small SCIM service in this process, and each user's
//! arrival there (from the acknowledged write to the downstream `POST /Users`). A push is a
//! lookup by `userName` and a create, one user after another (per org, in order).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::oauth_bench::{Bounds, Issuer};
use crate::stats::ScenarioStats;
use crate::webhook_bench::{Times, deliveries};

pub const SCENARIO: &str = "scim-push";
const TOKEN: &str = "lumo-load-downstream-scim-token";

#[derive(Clone, Default)]
struct Downstream {
    times: Times,
    next_id: Arc<AtomicU64>,
}

/// The downstream service: lookups find nothing, creates are recorded and get an id.
async fn scim(State(down): State<Downstream>, request: Request) -> Response {
    if request.method() != Method::POST {
        return axum::Json(json!({"totalResults": 0, "Resources": []})).into_response();
    }
    let Ok(bytes) = axum::body::to_bytes(request.into_body(), 1 << 20).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let mut resource: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if let Some(name) = resource["userName"].as_str() {
        down.times.arrived(name.to_string());
    }
    resource["id"] = json!(format!(
        "d-{}",
        down.next_id.fetch_add(1, Ordering::Relaxed)
    ));
    (StatusCode::CREATED, axum::Json(resource)).into_response()
}

/// Runs the scenario against `issuer`'s org (whose node must allow private targets); returns
/// the creations and the pushes.
pub async fn run(
    issuer: Arc<Issuer>,
    bounds: Bounds,
    run_id: u32,
) -> anyhow::Result<(ScenarioStats, ScenarioStats)> {
    let down = Downstream::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}/scim", listener.local_addr()?);
    let app = axum::Router::new().fallback(scim).with_state(down.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let switch = |enabled: bool| json!({"outbound": {"enabled": enabled, "endpoint_url": endpoint, "bearer_token": TOKEN}});
    issuer
        .admin_send(reqwest::Method::PUT, "/admin/settings/scim", switch(true))
        .await?;
    let results = deliveries(
        issuer.clone(),
        bounds,
        ("create-user-scim", "scim-push"),
        &format!("scim-push-{run_id}"),
        down.times,
    )
    .await;
    // Later scenarios' users are not pushed.
    issuer
        .admin_send(reqwest::Method::PUT, "/admin/settings/scim", switch(false))
        .await?;
    Ok(results)
}
