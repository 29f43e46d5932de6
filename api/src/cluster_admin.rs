//! The cluster admin API (`/cluster/v1/...`), on its own listener, guarded by the cluster
//! token: create and list organizations, node status.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use lumo_cluster::NewOrg;
use lumo_cluster::model::DirectoryEntry;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::envelope;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, JsonBody};
use crate::state::AppState;

/// Routes of the cluster admin listener.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/cluster/v1/orgs", get(list_orgs).post(create_org))
        .route("/cluster/v1/status", get(status))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_token,
        ))
        .fallback(crate::not_found)
        .with_state(state)
}

async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let expected = state.config.cluster_token.as_bytes();
    if expected.is_empty() || !bool::from(presented.as_bytes().ct_eq(expected)) {
        return ApiError::ClusterTokenRejected.into_response();
    }
    next.run(request).await
}

fn org_json(entry: &DirectoryEntry) -> Value {
    json!({
        "id": entry.org_id.to_string(),
        "number": entry.number,
        "slug": entry.slug,
        "name": entry.name,
        "region": entry.region,
        "shard": entry.shard.0,
        "epoch": entry.epoch,
        "state": format!("{:?}", entry.state).to_lowercase(),
        "createdAt": entry.created_at.to_rfc3339(),
    })
}

async fn create_org(State(state): State<AppState>, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let slug = body.required_str("slug", 63);
    let name = body.opt_str("name", 200).unwrap_or_else(|| slug.clone());
    let region = body.opt_str("region", 32);
    body.finish()?;
    let created = state
        .service
        .create_org(NewOrg {
            slug,
            name,
            region,
            admin_key: None,
        })
        .await?;
    let mut data = org_json(&created.entry);
    data["apiKey"] = json!(created.api_key);
    data["_note"] = json!("Store the admin API key now: it is shown only once.");
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"data": data, "message": "Organization created"})),
    )
        .into_response())
}

async fn list_orgs(State(state): State<AppState>) -> ApiResult<Response> {
    let orgs: Vec<Value> = state.service.orgs()?.iter().map(org_json).collect();
    Ok(envelope::data(orgs))
}

async fn status(State(state): State<AppState>) -> ApiResult<Response> {
    let readiness = state.service.readiness();
    Ok(envelope::data(json!({
        "node": state.service.node_id().0,
        "ready": readiness.ready,
        "groups": readiness.groups,
        "orgActors": state.service.running_actors().await,
        "walSyncs": {
            "syncs": state.service.db().wal_sync_stats().syncs,
            "appends": state.service.db().wal_sync_stats().appends,
        },
    })))
}
