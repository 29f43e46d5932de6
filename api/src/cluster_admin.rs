//! The cluster admin API (`/cluster/v1/...`), on its own listener, guarded by the cluster
//! token: organizations, nodes, shards, status, leadership, rebalance, fault injection.

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use lumo_cluster::ids::{NodeId, ShardId};
use lumo_cluster::model::DirectoryEntry;
use lumo_cluster::transport::FaultRule;
use lumo_cluster::{ClusterError, ClusterStatus, NewOrg};
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
        .route("/cluster/v1/orgs/{slug}/move", post(move_org))
        .route("/cluster/v1/status", get(status))
        .route("/cluster/v1/node", get(this_node))
        .route("/cluster/v1/nodes", get(nodes))
        .route("/cluster/v1/nodes/{id}/drain", post(drain))
        .route("/cluster/v1/nodes/{id}/remove", post(remove))
        .route("/cluster/v1/shards", get(shards).post(create_shard))
        .route(
            "/cluster/v1/shards/{id}/transfer-leader",
            post(transfer_leader),
        )
        .route("/cluster/v1/groups/{id}/snapshot", post(snapshot))
        .route("/cluster/v1/rebalance", post(rebalance))
        .route("/cluster/v1/backup", post(backup))
        .route("/cluster/v1/faults", get(get_faults).put(set_faults))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_token,
        ))
        // Prometheus scrapes without the cluster token: keep the admin listener private.
        .route("/metrics", get(crate::metrics::exposition))
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
    let orgs: Vec<Value> = state.service.orgs().await?.iter().map(org_json).collect();
    Ok(envelope::data(orgs))
}

async fn move_org(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    json: JsonBody,
) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let to = body.opt_u64("to");
    if to.is_none() {
        body.problem("to", "is required (a shard id)");
    }
    body.finish()?;
    let moved = state
        .service
        .move_org(&slug, ShardId(to.unwrap_or_default()))
        .await?;
    Ok(envelope::data_message(
        org_json(&moved),
        "Organization moved",
    ))
}

/// Nodes and shards with leaders, log positions and lag, from every reachable node.
fn status_json(status: &ClusterStatus) -> Value {
    let leader_of = |group: u64| {
        status.nodes.iter().find_map(|n| {
            n.groups
                .iter()
                .find(|g| g.group == group && g.state == "leader")
                .map(|g| (n.node, g.clone()))
        })
    };
    let applied = |node: u64, group: u64| {
        status
            .nodes
            .iter()
            .find(|n| n.node == node)
            .and_then(|n| n.groups.iter().find(|g| g.group == group))
            .and_then(|g| g.last_applied)
    };
    let shards: Vec<Value> = status
        .meta
        .shards
        .iter()
        .map(|shard| {
            let leader = leader_of(shard.id.0);
            let committed = leader.as_ref().and_then(|(_, g)| g.committed);
            let replicas: Vec<Value> = shard
                .replicas
                .iter()
                .map(|id| {
                    let applied = applied(id.0, shard.id.0);
                    json!({
                        "node": id.0,
                        "appliedIndex": applied,
                        "lag": match (committed, applied) {
                            (Some(c), Some(a)) => json!(c.saturating_sub(a)),
                            _ => Value::Null,
                        },
                    })
                })
                .collect();
            json!({
                "id": shard.id.0,
                "region": shard.region,
                "leader": leader.as_ref().map(|(n, _)| *n),
                "voters": leader.as_ref().map(|(_, g)| g.voters.clone()).unwrap_or_default(),
                "learners": leader.as_ref().map(|(_, g)| g.learners.clone()).unwrap_or_default(),
                "commitIndex": committed,
                "replicas": replicas,
                "orgs": status.meta.orgs.iter().filter(|o| o.shard == shard.id).count(),
            })
        })
        .collect();
    let nodes: Vec<Value> = status
        .meta
        .nodes
        .iter()
        .map(|record| {
            let reported = status.nodes.iter().find(|n| n.node == record.id.0);
            let groups = reported.map(|n| n.groups.clone()).unwrap_or_default();
            let held: Vec<u64> = groups
                .iter()
                .filter(|g| g.group != 0)
                .map(|g| g.group)
                .collect();
            let leads: Vec<u64> = groups
                .iter()
                .filter(|g| g.group != 0 && g.state == "leader")
                .map(|g| g.group)
                .collect();
            json!({
                "id": record.id.0,
                "rpcAddr": record.rpc_addr,
                "httpAddr": record.http_addr,
                "region": record.region,
                "zone": record.zone,
                "state": format!("{:?}", record.state).to_lowercase(),
                "reachable": reported.is_some(),
                "shards": held,
                "leaderOf": leads,
                "metaVoter": status.meta.meta_voters.contains(&record.id.0),
                "metaLeader": groups.iter().any(|g| g.group == 0 && g.state == "leader"),
            })
        })
        .collect();
    let meta_leader = leader_of(0).map(|(n, _)| n);
    json!({
        "meta": {"voters": status.meta.meta_voters, "leader": meta_leader},
        "nodes": nodes,
        "shards": shards,
        "orgCount": status.meta.orgs.len(),
        "unreachable": status.unreachable,
    })
}

async fn status(State(state): State<AppState>) -> ApiResult<Response> {
    let status = state.service.cluster_status().await?;
    Ok(envelope::data(status_json(&status)))
}

async fn nodes(State(state): State<AppState>) -> ApiResult<Response> {
    let status = state.service.cluster_status().await?;
    Ok(envelope::data(status_json(&status)["nodes"].clone()))
}

async fn shards(State(state): State<AppState>) -> ApiResult<Response> {
    let status = state.service.cluster_status().await?;
    Ok(envelope::data(status_json(&status)["shards"].clone()))
}

async fn create_shard(State(state): State<AppState>, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let region = body.opt_str("region", 32);
    body.finish()?;
    let id = state.service.create_shard(region.clone()).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"data": {"id": id.0, "region": region}, "message": "Shard created; replicas follow"})),
    )
        .into_response())
}

async fn this_node(State(state): State<AppState>) -> ApiResult<Response> {
    let readiness = state.service.readiness().await;
    let wal = state.service.db().map(|db| db.wal_sync_stats());
    Ok(envelope::data(json!({
        "node": state.service.node_id().0,
        "ready": readiness.ready,
        "groups": readiness.groups,
        "orgActors": state.service.running_actors().await,
        "walSyncs": wal.map(|w| json!({"syncs": w.syncs, "appends": w.appends})),
        "faultInjection": state.service.faults().enabled(),
    })))
}

fn node_id(text: &str) -> ApiResult<NodeId> {
    text.parse::<u64>()
        .map(NodeId)
        .map_err(|_| ApiError::BadRequest("node id must be an integer".into()))
}

async fn drain(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let record = state.service.drain_node(node_id(&id)?).await?;
    Ok(envelope::data_message(
        json!({"id": record.id.0, "state": "draining"}),
        "Node is draining: its replicas and leaderships are being moved off",
    ))
}

async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let record = state.service.remove_node(node_id(&id)?).await?;
    Ok(envelope::data_message(
        json!({"id": record.id.0, "state": "removed"}),
        "Node removed",
    ))
}

async fn transfer_leader(
    State(state): State<AppState>,
    Path(id): Path<String>,
    json: JsonBody,
) -> ApiResult<Response> {
    let shard = id
        .parse::<u64>()
        .map(ShardId)
        .map_err(|_| ApiError::BadRequest("shard id must be an integer".into()))?;
    let mut body = Body::new(json);
    let to = body.opt_u64("to");
    if to.is_none() {
        body.problem("to", "is required (a node id)");
    }
    body.finish()?;
    let to = NodeId(to.unwrap_or_default());
    state.service.transfer_leader(shard, to).await?;
    Ok(envelope::message("Leadership transfer requested"))
}

/// `POST /cluster/v1/groups/{id}/snapshot`: this node's replica of the group builds a snapshot.
async fn snapshot(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let group = id
        .parse::<u64>()
        .map_err(|_| ApiError::BadRequest("group id must be an integer".into()))?;
    let index = state.service.snapshot_here(group).await?;
    Ok(envelope::data_message(
        json!({"group": group, "snapshotLastIndex": index}),
        "Snapshot built",
    ))
}

async fn rebalance(State(state): State<AppState>) -> ApiResult<Response> {
    let actions = state.service.rebalance(20).await?;
    Ok(envelope::data_message(
        json!({"actions": actions}),
        "Rebalance steps done",
    ))
}

async fn backup(State(state): State<AppState>, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let dir = body.required_str("dir", 4096);
    body.finish()?;
    let path = std::path::PathBuf::from(&dir);
    if !path.is_absolute() {
        return Err(ApiError::invalid(
            "dir",
            "must be an absolute path on the node",
        ));
    }
    let manifest = state.service.backup(&path).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"data": manifest, "message": format!("Backup written to {dir}")})),
    )
        .into_response())
}

async fn get_faults(State(state): State<AppState>) -> ApiResult<Response> {
    let faults = state.service.faults();
    Ok(envelope::data(
        json!({"enabled": faults.enabled(), "rule": faults.get()}),
    ))
}

async fn set_faults(State(state): State<AppState>, JsonBody(map): JsonBody) -> ApiResult<Response> {
    let rule: FaultRule = serde_json::from_value(Value::Object(map))
        .map_err(|e| ApiError::BadRequest(format!("fault rule: {e}")))?;
    state.service.faults().set(rule).map_err(|message| {
        ApiError::Cluster(ClusterError::Forbidden {
            message,
            required_scopes: Vec::new(),
            granted_scopes: Vec::new(),
        })
    })?;
    Ok(envelope::message("Fault rules set"))
}
