//! The token vault: administrators store an agent's upstream tokens
//! (`~/admin/agents/{id}/connections`, an extension: the official client only has the agent's
//! side), sealed under the master key; the agent lists its connections and takes their tokens
//! (`~/agents/me/connections`). Tokens never appear in lists or audit records.

use axum::Json;
use axum::response::{IntoResponse, Response};
use lumo_cluster::clock::Timestamp;
use lumo_cluster::command::{AgentKey, Op};
use lumo_cluster::model::{Agent, VaultConnection};
use lumo_cluster::protocol::{NewConnection, ProtocolReply, ProtocolRequest};
use lumo_cluster::query::{Page, PageParams, Query, Reply, Request};
use serde_json::{Value, json};

use crate::envelope;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody, OptionalJsonBody};

fn connection_json(c: &VaultConnection) -> Value {
    json!({
        "connection_id": c.id,
        "name": c.name,
        "provider": c.provider,
        "provider_label": c.provider_label,
        "grant_mode": "machine",
        "scopes": c.scopes,
        "user_delegated": false,
        "machine_grant_status": if c.expires_at.is_some_and(|at| at <= Timestamp::now()) { "expired" } else { "active" },
        "linked_users": Value::Null,
        "expires_at": c.expires_at.map(Timestamp::to_rfc3339),
        "created_at": c.created_at.to_rfc3339(),
    })
}

fn listing(agent: &Agent, connections: &[VaultConnection]) -> Response {
    let items: Vec<Value> = connections.iter().map(connection_json).collect();
    let page = Page::of(
        connections.iter().collect(),
        PageParams {
            page: 1,
            limit: PageParams::MAX_LIMIT.max(connections.len() as u64),
        },
    );
    Json(json!({
        "agent": {"agent_id": agent.agent_id, "name": agent.name, "status": agent.status()},
        "connections": items,
        "data": items,
        "pagination": envelope::pagination(&page),
    }))
    .into_response()
}

async fn connections(ctx: &Ctx, query: Query) -> ApiResult<Response> {
    match ctx.read(query).await? {
        Reply::Connections { agent, connections } => Ok(listing(&agent, &connections)),
        other => Err(ApiError::unexpected(other)),
    }
}

pub(super) async fn list(ctx: Ctx) -> ApiResult<Response> {
    let key: AgentKey = ctx.key("agentId")?;
    connections(&ctx, Query::AgentConnections(key)).await
}

pub(super) async fn mine(ctx: Ctx) -> ApiResult<Response> {
    connections(&ctx, Query::MyConnections).await
}

pub(super) async fn store(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let name = body.required_str("name", 200);
    let provider = body.required_str("provider", 100);
    let provider_label = body.opt_str("provider_label", 200);
    let access_token = body.secret("access_token", 8192);
    if access_token.is_none() {
        body.problem("access_token", "is required");
    }
    let scopes = body.str_list("scopes", 100).unwrap_or_default();
    let expires_at = match body.raw("expires_at") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => match Timestamp::parse(text) {
            Some(at) => Some(at),
            None => {
                body.problem("expires_at", "must be an ISO-8601 date-time");
                None
            }
        },
        Some(_) => {
            body.problem("expires_at", "must be an ISO-8601 date-time string");
            None
        }
    };
    body.finish()?;
    let id = format!("conn_{}", ulid::Ulid::new().to_string().to_lowercase());
    let connection = NewConnection {
        agent: ctx.key("agentId")?,
        id: id.clone(),
        provider_label: provider_label.unwrap_or_else(|| provider.clone()),
        name,
        provider,
        scopes,
        access_token: access_token.unwrap_or_default(),
        expires_at,
    };
    let request = ProtocolRequest::StoreConnection {
        credential: ctx.credential.clone(),
        connection,
    };
    ctx.call(Request::Protocol(request)).await?;
    let key: AgentKey = ctx.key("agentId")?;
    let stored = match ctx.read(Query::AgentConnections(key)).await? {
        Reply::Connections { connections, .. } => connections
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| ApiError::Internal("the stored connection is missing".into()))?,
        other => return Err(ApiError::unexpected(other)),
    };
    Ok(envelope::created(
        connection_json(&stored),
        "Connection stored",
    ))
}

pub(super) async fn remove(ctx: Ctx) -> ApiResult<Response> {
    let op = Op::DeleteVaultConnection {
        agent: ctx.key("agentId")?,
        id: ctx.param("connectionId")?.to_string(),
    };
    ctx.write(op).await?;
    Ok(envelope::message("Connection deleted"))
}

pub(super) async fn token(
    ctx: Ctx,
    OptionalJsonBody(map): OptionalJsonBody,
) -> ApiResult<Response> {
    let mut body = Body::new(JsonBody(map));
    let user_id = body.opt_str("user_id", 320);
    body.finish()?;
    let request = ProtocolRequest::ConnectionToken {
        credential: ctx.credential.clone(),
        connection_id: ctx.param("connectionId")?.to_string(),
        user_id,
    };
    match ctx.call(Request::Protocol(request)).await? {
        Reply::Protocol(ProtocolReply::Document(doc)) => Ok(Json(doc).into_response()),
        other => Err(ApiError::unexpected(other)),
    }
}
