//! `~/admin/agents`: AI agents (create with a one-time client secret and agent key, list,
//! read, replace, patch, activate/deactivate, enable/disable, scopes, rotate and revoke the
//! agent key, rotate the client secret, mint a token, delete). Scope `admin:agents`.

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use lumo_cluster::clock::Timestamp;
use lumo_cluster::command::{AgentKey, AgentKeyChange, AgentPatch, AgentSwitch, NewAgent, Op};
use lumo_cluster::crypto::{random_token, secret_hash};
use lumo_cluster::model::Agent;
use lumo_cluster::protocol::{ProtocolReply, ProtocolRequest};
use lumo_cluster::query::{Query, Reply, Request};
use serde_json::{Value, json};

use super::fields::{a2a_url, capabilities, max_tokens_per_day, workload};
use crate::envelope::{self, ListShape};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody, ListQuery, OptionalJsonBody};
use crate::oauth::proto::Proto;
use crate::reply;
use crate::state::AppState;

/// Longest lifetime of an admin-minted agent token (30 days).
const MAX_TOKEN_TTL_SECS: u64 = 2_592_000;
const DEFAULT_TOKEN_TTL_SECS: u64 = 3600;
/// Longest grace a rotated agent key keeps working (30 days).
const MAX_KEY_GRACE_SECS: u64 = 2_592_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/agents", get(list).post(create))
        .route(
            "/admin/agents/{agentId}",
            get(show).put(replace).patch(patch).delete(remove),
        )
        .route("/admin/agents/{agentId}/activate", post(activate))
        .route("/admin/agents/{agentId}/deactivate", post(deactivate))
        .route("/admin/agents/{agentId}/enable", post(enable))
        .route("/admin/agents/{agentId}/disable", post(disable))
        .route(
            "/admin/agents/{agentId}/scopes",
            get(scopes).put(set_scopes),
        )
        .route("/admin/agents/{agentId}/rotate-key", post(rotate_key))
        .route("/admin/agents/{agentId}/revoke-key", post(revoke_key))
        .route(
            "/admin/agents/{agentId}/rotate-credentials",
            post(rotate_credentials),
        )
        .route("/admin/agents/{agentId}/token", post(token))
}

/// The agent as the admin API shows it.
pub fn agent_json(agent: &Agent) -> Value {
    json!({
        "id": agent.id.0,
        "agentId": agent.agent_id,
        "clientId": agent.client_id,
        "name": agent.name,
        "description": agent.description,
        "capabilities": agent.capabilities,
        "status": agent.status(),
        "isActive": agent.active,
        "enabled": agent.enabled,
        "hasApiKey": agent.key_hash.is_some(),
        "apiKeyPrefix": agent.key_prefix,
        "budgetPolicy": {
            "maxTokensPerDay": agent.budget.max_tokens_per_day,
            "tokensUsedToday": agent.usage.tokens_on(Timestamp::now()),
        },
        "workloadIdentity": agent.workload_identity,
        "workload": agent.workload.as_ref().map(|w| json!({
            "provider": w.provider,
            "issuer": w.issuer,
            "subject": w.subject,
            "audience": w.audience,
            "jwksUri": w.jwks_uri,
        })),
        "jwksUri": agent.jwks_uri,
        "a2aUrl": agent.a2a_url,
        "createdAt": agent.created_at.to_rfc3339(),
        "updatedAt": agent.updated_at.to_rfc3339(),
        "lastUsedAt": agent.last_used_at.map(Timestamp::to_rfc3339),
    })
}

fn agent_key(ctx: &Ctx) -> ApiResult<AgentKey> {
    ctx.key("agentId")
}

async fn read_agent(ctx: &Ctx, key: AgentKey) -> ApiResult<Agent> {
    Ok(reply!(ctx.read(Query::GetAgent(key)).await?, Reply::Agent))
}

async fn write_agent(ctx: &Ctx, op: Op, key: AgentKey) -> ApiResult<Agent> {
    Ok(reply!(
        ctx.write_then(op, Query::GetAgent(key)).await?,
        Reply::Agent
    ))
}

async fn list(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let params = query.list(&["status", "enabled"])?;
    let page = reply!(ctx.read(Query::ListAgents(params)).await?, Reply::Agents);
    let items = page.items.iter().map(agent_json).collect();
    Ok(envelope::list(&page, items, ListShape::Resource("agent")))
}

async fn show(ctx: Ctx) -> ApiResult<Response> {
    let agent = read_agent(&ctx, agent_key(&ctx)?).await?;
    Ok(envelope::data(agent_json(&agent)))
}

async fn create(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let name = body.required_str("name", 200);
    let description = body.opt_str("description", 2000);
    let capabilities = capabilities(&mut body, "capabilities").unwrap_or_default();
    let max_tokens = max_tokens_per_day(&mut body).flatten();
    let capabilities = Some(capabilities);
    let a2a_url = a2a_url(&mut body).flatten();
    body.finish()?;
    let entry = ctx.state.service.active_org(&ctx.org).await?;
    let agent_id = format!("agt_{}", ulid::Ulid::new().to_string().to_lowercase());
    let client_id = format!("agent_{}", &agent_id[4..]);
    let secret = random_token("lms_", 32);
    let (key, key_hash, key_prefix) = lumo_cluster::api_key::generate_agent_key(entry.org_id);
    let new = NewAgent {
        agent_id: agent_id.clone(),
        client_id: client_id.clone(),
        name,
        description,
        capabilities,
        secret_hash: Some(secret_hash(&secret)),
        key_hash: Some(key_hash),
        key_prefix: Some(key_prefix),
        max_tokens_per_day: max_tokens,
        jwks_uri: None,
        a2a_url,
    };
    let agent = write_agent(&ctx, Op::CreateAgent(new), AgentKey::Public(agent_id)).await?;
    let mut data = agent_json(&agent);
    data["clientSecret"] = json!(secret);
    data["apiKey"] = json!(key);
    data["_note"] = json!("Store the client secret and the API key now: they are shown only once.");
    Ok(envelope::created(data, "Agent created"))
}

/// The fields of a PUT (everything; absent clears) or a PATCH (only what is sent).
fn patch_of(json: JsonBody, replace: bool) -> ApiResult<AgentPatch> {
    let mut body = Body::new(json);
    let name = if replace {
        Some(body.required_str("name", 200))
    } else {
        body.has("name").then(|| body.required_str("name", 200))
    };
    let description = match body.nullable_str("description", 2000) {
        None if replace => Some(None),
        other => other,
    };
    let capabilities = match capabilities(&mut body, "capabilities") {
        None if replace => Some(Vec::new()),
        other => other,
    };
    let max_tokens_per_day = match max_tokens_per_day(&mut body) {
        None if replace => Some(None),
        other => other,
    };
    let a2a_url = match a2a_url(&mut body) {
        None if replace => Some(None),
        other => other,
    };
    let workload = match workload(&mut body) {
        None if replace => Some(None),
        other => other,
    };
    body.finish()?;
    Ok(AgentPatch {
        name,
        description,
        capabilities,
        max_tokens_per_day,
        jwks_uri: None,
        a2a_url,
        workload,
    })
}

/// Applies `patch` to the agent of the path; returns it as stored.
async fn patch_agent(ctx: &Ctx, patch: AgentPatch) -> ApiResult<Agent> {
    let key = agent_key(ctx)?;
    let op = Op::UpdateAgent {
        agent: key.clone(),
        patch,
    };
    write_agent(ctx, op, key).await
}

async fn update(ctx: Ctx, json: JsonBody, replace: bool) -> ApiResult<Response> {
    let agent = patch_agent(&ctx, patch_of(json, replace)?).await?;
    Ok(envelope::data_message(agent_json(&agent), "Agent updated"))
}

async fn replace(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    update(ctx, json, true).await
}

async fn patch(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    update(ctx, json, false).await
}

async fn remove(ctx: Ctx) -> ApiResult<Response> {
    ctx.write(Op::DeleteAgent(agent_key(&ctx)?)).await?;
    Ok(envelope::message("Agent deleted"))
}

async fn switch(ctx: &Ctx, switch: AgentSwitch) -> ApiResult<Agent> {
    let key = agent_key(ctx)?;
    write_agent(
        ctx,
        Op::SwitchAgent {
            agent: key.clone(),
            switch,
        },
        key,
    )
    .await
}

async fn activate(ctx: Ctx) -> ApiResult<Response> {
    let agent = switch(&ctx, AgentSwitch::Activate).await?;
    Ok(envelope::data_message(
        agent_json(&agent),
        "Agent activated",
    ))
}

async fn deactivate(ctx: Ctx) -> ApiResult<Response> {
    let agent = switch(&ctx, AgentSwitch::Deactivate).await?;
    Ok(envelope::data_message(
        agent_json(&agent),
        "Agent deactivated",
    ))
}

async fn enable(ctx: Ctx) -> ApiResult<Response> {
    let agent = switch(&ctx, AgentSwitch::Enable).await?;
    Ok(
        axum::Json(json!({"message": "Agent enabled", "agent": agent_json(&agent)}))
            .into_response(),
    )
}

async fn disable(ctx: Ctx) -> ApiResult<Response> {
    let agent = switch(&ctx, AgentSwitch::Disable).await?;
    Ok(
        axum::Json(json!({"message": "Agent disabled", "agent": agent_json(&agent)}))
            .into_response(),
    )
}

async fn scopes(ctx: Ctx) -> ApiResult<Response> {
    let agent = read_agent(&ctx, agent_key(&ctx)?).await?;
    let page = lumo_cluster::query::Page::of(
        agent.capabilities.clone(),
        lumo_cluster::query::PageParams {
            page: 1,
            limit: agent.capabilities.len().max(1) as u64,
        },
    );
    let items = page.items.clone();
    Ok(envelope::list(&page, items, ListShape::Pagination))
}

async fn set_scopes(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    if !body.has("scopes") {
        body.problem("scopes", "is required");
    }
    let list = capabilities(&mut body, "scopes");
    body.finish()?;
    let patch = AgentPatch {
        capabilities: Some(list.unwrap_or_default()),
        ..AgentPatch::default()
    };
    let agent = patch_agent(&ctx, patch).await?;
    Ok(envelope::data_message(
        agent.capabilities,
        "Agent scopes updated",
    ))
}

async fn rotate_key(ctx: Ctx, OptionalJsonBody(map): OptionalJsonBody) -> ApiResult<Response> {
    let mut body = Body::new(JsonBody(map));
    let grace = body.opt_u64("gracePeriodSeconds").unwrap_or(0);
    if grace > MAX_KEY_GRACE_SECS {
        body.problem("gracePeriodSeconds", "must be at most 2592000 (30 days)");
    }
    body.finish()?;
    let entry = ctx.state.service.active_org(&ctx.org).await?;
    let (key, hash, prefix) = lumo_cluster::api_key::generate_agent_key(entry.org_id);
    let change = AgentKeyChange {
        key: Some((hash, prefix)),
        grace_until: Timestamp::now().plus_millis((grace as i64) * 1000),
    };
    ctx.write(Op::SetAgentKey {
        agent: agent_key(&ctx)?,
        change,
    })
    .await?;
    let message = if grace == 0 {
        "Agent key rotated; the previous key stopped working".to_string()
    } else {
        format!("Agent key rotated; the previous key works for {grace} more seconds")
    };
    Ok(axum::Json(json!({"message": message, "api_key": key})).into_response())
}

async fn revoke_key(ctx: Ctx) -> ApiResult<Response> {
    let change = AgentKeyChange {
        key: None,
        grace_until: Timestamp(0),
    };
    ctx.write(Op::SetAgentKey {
        agent: agent_key(&ctx)?,
        change,
    })
    .await?;
    Ok(envelope::message("Agent key revoked"))
}

async fn rotate_credentials(ctx: Ctx) -> ApiResult<Response> {
    let key = agent_key(&ctx)?;
    let secret = random_token("lms_", 32);
    let agent = write_agent(
        &ctx,
        Op::RotateAgentSecret {
            agent: key.clone(),
            secret_hash: secret_hash(&secret),
        },
        key,
    )
    .await?;
    let data = json!({
        "agentId": agent.agent_id,
        "clientId": agent.client_id,
        "clientSecret": secret,
        "_note": "Store this secret now: it is shown only once. The previous secret stopped working.",
    });
    Ok(envelope::data_message(data, "Agent credentials rotated"))
}

async fn token(
    ctx: Ctx,
    proto: Proto,
    OptionalJsonBody(map): OptionalJsonBody,
) -> ApiResult<Response> {
    let mut body = Body::new(JsonBody(map));
    let ttl = body.opt_u64("expiresIn").unwrap_or(DEFAULT_TOKEN_TTL_SECS);
    if ttl == 0 || ttl > MAX_TOKEN_TTL_SECS {
        body.problem("expiresIn", "must be 1-2592000 seconds");
    }
    let scopes = capabilities(&mut body, "scopes");
    body.finish()?;
    let request = ProtocolRequest::AgentToken {
        credential: ctx.credential.clone(),
        issuer: proto.issuer.clone(),
        agent: agent_key(&ctx)?,
        scopes,
        ttl_secs: ttl,
    };
    let token = match ctx.call(Request::Protocol(request)).await? {
        Reply::Protocol(ProtocolReply::Token(token)) => token,
        other => return Err(ApiError::unexpected(other)),
    };
    let scopes: Vec<&str> = token.scope.split_whitespace().collect();
    Ok(envelope::data(json!({
        "accessToken": token.access_token,
        "tokenType": token.token_type,
        "expiresIn": token.expires_in,
        "scopes": scopes,
    })))
}
