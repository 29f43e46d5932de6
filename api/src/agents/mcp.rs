//! MCP servers: the admin family (`~/admin/mcp/servers`, and the management reads under
//! `~/mcp/servers`), per-tool authorization for agents (`~/agents/me/mcp/authorize`), and the
//! public side: RFC 9728 protected-resource metadata and the challenge endpoint.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use lumo_cluster::ClusterError;
use lumo_cluster::command::{McpToolQuestion, NewMcpServer, Op};
use lumo_cluster::model::{MCP_TOKEN_LIFETIME, McpServer, server_id_of};
use lumo_cluster::protocol::{ProtocolReply, ProtocolRequest};
use lumo_cluster::query::{Outcome, Query, Reply};
use serde_json::{Value, json};

use crate::envelope;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody, ListQuery};
use crate::oauth::proto::Proto;
use crate::reply;

const TRANSPORTS: &[&str] = &["http_streamable", "sse", "stdio"];
const AUTH_MODES: &[&str] = &["oauth", "jit"];
/// How long the public metadata may be cached.
const METADATA_CACHE: &str = "public, max-age=3600";

pub fn server_json(server: &McpServer) -> Value {
    json!({
        "id": server.id,
        "server_id": server.server_id,
        "name": server.name,
        "description": server.description,
        "resource_uri": server.resource_uri,
        "endpoint_url": server.endpoint_url,
        "transport": server.transport,
        "auth_mode": server.auth_mode,
        "status": "active",
        "scopes_supported": server.scopes_supported,
        "scope_descriptions": {},
        "allowed_client_ids": server.allowed_client_ids,
        "require_pkce": server.require_pkce,
        "require_resource_param": server.require_resource_param,
        "require_dpop": server.require_dpop,
        "token_lifetime": server.token_lifetime,
        "capabilities": [],
        "created_at": server.created_at.to_rfc3339(),
    })
}

/// `scopes_supported`: a list, or one space- or comma-separated string.
fn scopes(body: &mut Body) -> Vec<String> {
    match body.raw("scopes_supported").cloned() {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => text
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Some(_) => body.str_list("scopes_supported", 100).unwrap_or_default(),
    }
}

fn choice(body: &mut Body, field: &str, allowed: &[&str], default: &str) -> String {
    let value = body
        .opt_str(field, 40)
        .unwrap_or_else(|| default.to_string());
    if !allowed.contains(&value.as_str()) {
        body.problem(field, format!("must be one of {}", allowed.join(", ")));
    }
    value
}

fn url_problem(url: &str) -> Option<String> {
    lumo_cluster::oauth::resource::check_resource(url)
        .err()
        .map(|e| e.to_string())
}

pub(super) async fn create(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let name = body.required_str("name", 200);
    let resource_uri = body.required_str("resource_uri", 2000);
    if !resource_uri.is_empty()
        && let Some(problem) = url_problem(&resource_uri)
    {
        body.problem("resource_uri", problem);
    }
    let endpoint_url = body.opt_str("endpoint_url", 2000);
    if let Some(problem) = endpoint_url.as_deref().and_then(url_problem) {
        body.problem("endpoint_url", problem);
    }
    let server_id = server_id_of(&name);
    if !name.is_empty() && server_id.is_empty() {
        body.problem("name", "must hold letters or digits");
    }
    let (low, high) = MCP_TOKEN_LIFETIME;
    let token_lifetime = body
        .opt_u64("token_lifetime")
        .unwrap_or(3600)
        .clamp(low, high);
    let new = NewMcpServer {
        server_id: server_id.clone(),
        description: body.opt_str("description", 2000),
        endpoint_url,
        transport: choice(&mut body, "transport", TRANSPORTS, "http_streamable"),
        auth_mode: choice(&mut body, "auth_mode", AUTH_MODES, "oauth"),
        scopes_supported: scopes(&mut body),
        allowed_client_ids: body.str_list("allowed_client_ids", 100).unwrap_or_default(),
        require_pkce: body.opt_bool("require_pkce").unwrap_or(true),
        require_resource_param: body.opt_bool("require_resource_param").unwrap_or(true),
        require_dpop: body.opt_bool("require_dpop").unwrap_or(false),
        token_lifetime,
        name,
        resource_uri,
    };
    body.finish()?;
    if new.require_dpop {
        return Err(ApiError::invalid(
            "require_dpop",
            "DPoP-bound tokens are not issued by this server yet",
        ));
    }
    let server = reply!(
        ctx.write_then(Op::CreateMcpServer(new), Query::McpServer(server_id))
            .await?,
        Reply::McpServer
    );
    Ok(envelope::created(
        server_json(&server),
        "MCP server registered",
    ))
}

pub(super) async fn list(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let page = reply!(
        ctx.read(Query::McpServers(query.page()?)).await?,
        Reply::McpServers
    );
    let items: Vec<Value> = page.items.iter().map(server_json).collect();
    Ok(Json(json!({
        "data": items,
        "meta": {"total": page.total, "page": page.page, "limit": page.limit},
        "pagination": envelope::pagination(&page),
    }))
    .into_response())
}

async fn read_server(ctx: &Ctx) -> ApiResult<McpServer> {
    let id = ctx.param("serverId")?.to_string();
    Ok(reply!(
        ctx.read(Query::McpServer(id)).await?,
        Reply::McpServer
    ))
}

pub(super) async fn show(ctx: Ctx) -> ApiResult<Response> {
    Ok(envelope::data(server_json(&read_server(&ctx).await?)))
}

pub(super) async fn remove(ctx: Ctx) -> ApiResult<Response> {
    let id = ctx.param("serverId")?.to_string();
    ctx.write(Op::DeleteMcpServer(id)).await?;
    Ok(envelope::message("MCP server deleted"))
}

/// `GET ~/mcp/servers`: the management list, with the historical `servers` key.
pub(super) async fn management_list(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let page = reply!(
        ctx.read(Query::McpServers(query.page()?)).await?,
        Reply::McpServers
    );
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "server_id": s.server_id,
                "name": s.name,
                "resource_uri": s.resource_uri,
                "transport": s.transport,
                "auth_mode": s.auth_mode,
                "status": "active",
            })
        })
        .collect();
    Ok(Json(json!({
        "servers": items,
        "data": items,
        "pagination": envelope::pagination(&page),
    }))
    .into_response())
}

/// `GET ~/mcp/servers/{id}`: the management read (flat).
pub(super) async fn management_show(ctx: Ctx) -> ApiResult<Response> {
    Ok(Json(server_json(&read_server(&ctx).await?)).into_response())
}

pub(super) async fn authorize_tool(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let server_id = body.required_str("server_id", 64);
    let tool = body.required_str("tool", 200);
    body.finish()?;
    let question = McpToolQuestion {
        server_id: server_id.clone(),
        tool: tool.clone(),
    };
    match ctx.write(Op::AuthorizeMcpTool(question)).await? {
        Reply::Done(Outcome::McpDecision {
            allowed,
            reason,
            agent_id,
            resource_uri,
        }) => Ok(Json(json!({
            "allowed": allowed,
            "agent_id": agent_id,
            "reason": reason,
            "resource": {"server_id": server_id, "tool": tool, "resource_uri": resource_uri},
        }))
        .into_response()),
        other => Err(ApiError::unexpected(other)),
    }
}

fn cached(doc: Value) -> Response {
    (
        [(
            header::CACHE_CONTROL,
            HeaderValue::from_static(METADATA_CACHE),
        )],
        Json(doc),
    )
        .into_response()
}

async fn metadata(proto: Proto, server_id: Option<String>) -> ApiResult<Response> {
    let request = ProtocolRequest::McpMetadata {
        issuer: proto.issuer.clone(),
        server_id,
    };
    match proto.call(request).await? {
        ProtocolReply::Document(doc) => Ok(cached(doc)),
        other => Err(ApiError::unexpected(other)),
    }
}

/// `GET ~/.well-known/oauth-protected-resource`.
pub(super) async fn metadata_root(proto: Proto) -> ApiResult<Response> {
    metadata(proto, None).await
}

/// `GET ~/.well-known/oauth-protected-resource/mcp/{serverId}`.
pub(super) async fn metadata_server(
    proto: Proto,
    axum::extract::Path((_, server_id)): axum::extract::Path<(String, String)>,
) -> ApiResult<Response> {
    metadata(proto, Some(server_id)).await
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// `GET|POST ~/mcp/{serverId}/challenge`: answers as the MCP server would (RFC 9728 section
/// 5.1 `WWW-Authenticate` on 401; `Insufficient-Authorization-Details` on 403 for JIT-mode
/// servers, which the SDK's `call_with_escalation` turns into a JIT request).
pub(super) async fn challenge(
    proto: Proto,
    axum::extract::Path((_, server_id)): axum::extract::Path<(String, String)>,
) -> ApiResult<Response> {
    let metadata_url = format!(
        "{}/.well-known/oauth-protected-resource/mcp/{server_id}",
        proto.issuer
    );
    let request = ProtocolRequest::McpChallenge {
        server_id: server_id.clone(),
        token: bearer(&proto.headers),
    };
    match proto.call(request).await {
        Ok(ProtocolReply::Document(doc)) => match doc.get("required_authorization_details") {
            Some(details) => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(details.to_string());
                let mut response = (
                    StatusCode::FORBIDDEN,
                    Json(json!({
                        "error": "insufficient_authorization_details",
                        "error_description": "this server needs a JIT grant naming it; request the authorization_details in the Insufficient-Authorization-Details header",
                        "message": "a JIT grant for this server is required",
                        "status": 403,
                        "authorization_details": details,
                    })),
                )
                    .into_response();
                if let Ok(value) = HeaderValue::from_str(&encoded) {
                    response
                        .headers_mut()
                        .insert("insufficient-authorization-details", value);
                }
                Ok(response)
            }
            None => Ok(Json(doc).into_response()),
        },
        Ok(other) => Err(ApiError::unexpected(other)),
        Err(ApiError::Cluster(ClusterError::Unauthenticated { message })) => {
            let challenge = format!(
                "Bearer resource_metadata=\"{metadata_url}\", error=\"invalid_token\", error_description=\"{}\"",
                message.replace('"', "'")
            );
            let mut response = (
                StatusCode::UNAUTHORIZED,
                Json(json!({
                    "error": "invalid_token",
                    "error_description": message,
                    "message": message,
                    "status": 401,
                    "resource_metadata": metadata_url,
                })),
            )
                .into_response();
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
            Ok(response)
        }
        Err(e) => Err(e),
    }
}
