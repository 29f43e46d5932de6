//! What agents do at runtime: `agents/me`, `agents/register` (a user or key with
//! `admin:agents:write`), and the Ask API (`agents/ask`: decided and audited through Raft, so
//! the decision and its audit record are one entry).

use axum::Json;
use axum::extract::OriginalUri;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use lumo_cluster::command::{AgentKey, AskQuestion, NewAgent, Op};
use lumo_cluster::query::{Outcome, Query, Reply};
use serde_json::{Value, json};

use super::fields::capabilities;
use crate::authz::pep::enriched;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody};
use crate::oauth::proto::Proto;
use crate::reply;

/// Longest action name the Ask API takes.
const MAX_ACTION_LEN: usize = 256;

pub(super) async fn me(ctx: Ctx, proto: Proto) -> ApiResult<Response> {
    let (subject_type, id, agent, capabilities) = match ctx.read(Query::AgentMe).await? {
        Reply::AgentMe {
            subject_type,
            id,
            agent,
            capabilities,
        } => (subject_type, id, agent, capabilities),
        other => return Err(ApiError::unexpected(other)),
    };
    let mut identity = json!({"id": id, "type": subject_type, "tenant": ctx.org});
    let capabilities = match agent {
        Some(agent) => {
            identity["agent_id"] = json!(agent.agent_id);
            identity["status"] = json!(agent.status());
            identity["name"] = json!(agent.name);
            agent.capabilities
        }
        None => capabilities.unwrap_or_default(),
    };
    Ok(Json(json!({
        "identity": identity,
        "capabilities": capabilities,
        "workspace": {"slug": ctx.org, "api_base": proto.issuer},
    }))
    .into_response())
}

pub(super) async fn register(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let client_id = body.required_str("client_id", 255);
    let name = body.required_str("name", 200);
    let description = body.opt_str("description", 2000);
    let capabilities = capabilities(&mut body, "capabilities");
    let jwks_uri = body.opt_str("jwks_uri", 2000);
    if let Some(uri) = &jwks_uri
        && !uri.starts_with("https://")
    {
        body.problem("jwks_uri", "must be an https URL");
    }
    body.finish()?;
    let agent_id = format!("agt_{}", ulid::Ulid::new().to_string().to_lowercase());
    let new = NewAgent {
        agent_id,
        client_id,
        name,
        description,
        capabilities,
        secret_hash: None,
        key_hash: None,
        key_prefix: None,
        max_tokens_per_day: None,
        jwks_uri,
        a2a_url: None,
    };
    let Reply::Done(Outcome::Created(agent_id)) = ctx.write(Op::CreateAgent(new)).await? else {
        return Err(ApiError::Internal("register answered no agent id".into()));
    };
    let agent = reply!(
        ctx.read(Query::GetAgent(AgentKey::Public(agent_id)))
            .await?,
        Reply::Agent
    );
    Ok(Json(json!({
        "success": true,
        "agent_id": agent.agent_id,
        "name": agent.name,
        "workload_identity": agent.workload_identity,
    }))
    .into_response())
}

pub(super) async fn ask(
    ctx: Ctx,
    method: Method,
    uri: OriginalUri,
    json: JsonBody,
) -> ApiResult<Response> {
    let context = enriched(&json.0, "context", &ctx, &method, &uri)?;
    let mut body = Body::new(json);
    let action = body.required_str("action", MAX_ACTION_LEN);
    body.finish()?;
    let question = AskQuestion {
        action: action.clone(),
        context: Value::Object(context.clone()).to_string(),
    };
    let (allowed, reason, decided_by, audit_id) = match ctx.write(Op::Ask(question)).await? {
        Reply::Done(Outcome::Decision {
            allowed,
            reason,
            decided_by,
            audit_id,
        }) => (allowed, reason, decided_by, audit_id),
        other => return Err(ApiError::unexpected(other)),
    };
    Ok(Json(json!({
        "allowed": allowed,
        "action": action,
        "context": context,
        "reason": reason,
        "decided_by": decided_by,
        "audit_id": audit_id.to_string(),
    }))
    .into_response())
}
