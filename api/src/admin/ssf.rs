//! Shared Signals (SSF) transmitter: `~/ssf/stream` (create, read, delete), `~/ssf/verify`,
//! and the public `~/.well-known/ssf-configuration`. Streams are webhooks of kind `ssf`
//! (`admin:webhooks`); their events are CAEP/RISC Security Event Tokens signed with the org's
//! token key and pushed by the same outbox and dispatcher (`lumo_cluster::webhooks::ssf`).

use axum::Json;
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use lumo_cluster::ClusterError;
use lumo_cluster::command::{Op, WebhookFields};
use lumo_cluster::ids::WebhookId;
use lumo_cluster::model::{Family, Webhook};
use lumo_cluster::protocol::WebhookSecretChange;
use lumo_cluster::query::{PageParams, Query, Reply, WebhookFilter};
use lumo_cluster::webhooks::check_url;
use lumo_cluster::webhooks::ssf::{
    PUSH_METHOD, SSF_KIND, VERIFICATION_ACTION, action_of, supported_events,
};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody, ListQuery};
use crate::oauth::proto::{Proto, base_url};
use crate::reply;
use crate::state::AppState;

/// Streams one org may have.
const MAX_STREAMS: u64 = 100;

/// The org-scoped stream routes (scope `admin:webhooks`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ssf/stream", get(read).post(create).delete(remove))
        .route("/ssf/verify", post(verify))
}

fn issuer(state: &AppState, headers: &HeaderMap, org: &str) -> String {
    format!("{}/orgs/{org}/api/v1", base_url(state, headers))
}

/// `~/.well-known/ssf-configuration` (public, cacheable).
pub async fn configuration(proto: Proto) -> ApiResult<Response> {
    proto.state.service.active_org(&proto.org).await?;
    let iss = proto.issuer.clone();
    Ok(crate::oauth::public_document(
        Json(json!({
            "spec_version": "1_0",
            "issuer": iss,
            "jwks_uri": format!("{iss}/.well-known/jwks.json"),
            "delivery_methods_supported": [PUSH_METHOD],
            "configuration_endpoint": format!("{iss}/ssf/stream"),
            "verification_endpoint": format!("{iss}/ssf/verify"),
            "authorization_schemes": [{"spec_urn": "urn:ietf:rfc:6750"}],
            "events_supported": supported_events(),
        }))
        .into_response(),
    ))
}

fn stream_json(stream: &Webhook) -> Value {
    let ssf = stream
        .configuration
        .as_ref()
        .map(|c| c["ssf"].clone())
        .unwrap_or_default();
    let requested: Vec<String> = ssf["events_requested"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect();
    let delivered: Vec<&String> = requested
        .iter()
        .filter(|e| action_of(e).is_some())
        .collect();
    json!({
        "stream_id": stream.id.0.to_string(),
        "iss": ssf["iss"],
        "aud": ssf["aud"],
        "delivery": {
            "method": PUSH_METHOD,
            "endpoint_url": stream.url,
            "authorization_configured": ssf["authorization_configured"].as_bool().unwrap_or(false),
        },
        "events_supported": supported_events(),
        "events_requested": requested,
        "events_delivered": delivered,
        "status": if stream.is_active { "enabled" } else { "disabled" },
        "created_at": stream.created_at.to_rfc3339(),
        "description": ssf["description"],
    })
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into())
}

async fn create(ctx: Ctx, headers: HeaderMap, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let delivery = body.raw("delivery").cloned().unwrap_or(Value::Null);
    let events = body.str_list("events_requested", 50);
    let aud = body.opt_str("aud", 2048);
    let description = body.opt_str("description", 500);
    body.finish().map_err(|e| bad(e.to_string()))?;
    let Value::Object(delivery) = delivery else {
        return Err(bad("delivery is required: {method, endpoint_url}"));
    };
    if let Some(method) = delivery.get("method").and_then(Value::as_str)
        && method != PUSH_METHOD
    {
        return Err(bad(format!("delivery.method must be {PUSH_METHOD} (push)")));
    }
    let endpoint = delivery
        .get("endpoint_url")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("delivery.endpoint_url is required"))?;
    check_url(endpoint, ctx.state.service.webhook_targets())
        .map_err(|why| bad(format!("delivery.endpoint_url {why}")))?;
    let authorization = match delivery.get("authorization_header") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(h)) if !h.is_empty() && h.len() <= 4096 => h.clone(),
        Some(_) => return Err(bad("delivery.authorization_header must be a string")),
    };
    let requested = events.unwrap_or_else(supported_events);
    let mut actions = Vec::new();
    for uri in &requested {
        match action_of(uri) {
            Some(action) => actions.push(action.to_string()),
            None => return Err(bad(format!("event type {uri} is not supported"))),
        }
    }
    if actions.is_empty() {
        return Err(bad("events_requested names no event"));
    }
    let existing = streams(&ctx).await?;
    if existing.len() as u64 >= MAX_STREAMS {
        return Err(ApiError::Cluster(ClusterError::conflict(
            "stream",
            format!("an organization has at most {MAX_STREAMS} streams"),
        )));
    }
    let iss = issuer(&ctx.state, &headers, &ctx.org);
    let configuration = json!({"ssf": {
        "iss": iss,
        "aud": aud.unwrap_or_else(|| endpoint.to_string()),
        "events_requested": requested,
        "authorization_configured": !authorization.is_empty(),
        "description": description,
    }});
    let change = WebhookSecretChange::Create {
        fields: WebhookFields {
            url: endpoint.to_string(),
            events: actions,
            kind: SSF_KIND.to_string(),
            is_active: true,
            configuration: Some(configuration.to_string()),
        },
        secret: authorization,
    };
    let stream = super::webhooks::save_secret(&ctx, change).await?;
    Ok((StatusCode::CREATED, Json(stream_json(&stream))).into_response())
}

async fn streams(ctx: &Ctx) -> ApiResult<Vec<Webhook>> {
    let filter = WebhookFilter {
        page: PageParams {
            page: 1,
            limit: MAX_STREAMS,
        },
        kind: Some(SSF_KIND.to_string()),
        ..WebhookFilter::default()
    };
    Ok(reply!(ctx.read(Query::Webhooks(filter)).await?, Reply::Webhooks).items)
}

/// The stream named by `stream_id` (404 for any other webhook).
async fn stream(ctx: &Ctx, id: &str) -> ApiResult<Webhook> {
    let not_found = || ApiError::Cluster(ClusterError::not_found("stream", id));
    let id: WebhookId = id.parse().map_err(|_| not_found())?;
    let webhook = match ctx.read(Query::Webhook(id)).await {
        Ok(Reply::Webhook(webhook)) => webhook,
        Ok(other) => return Err(ApiError::unexpected(other)),
        Err(ApiError::Cluster(ClusterError::NotFound { .. })) => return Err(not_found()),
        Err(e) => return Err(e),
    };
    if webhook.kind != SSF_KIND {
        return Err(not_found());
    }
    Ok(webhook)
}

async fn read(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    // The credential is judged before the query is.
    ctx.admit(Family::Webhooks, false).await?;
    if let Some(id) = query.get("stream_id") {
        let found = stream(&ctx, id).await?;
        return Ok(Json(stream_json(&found)).into_response());
    }
    let all: Vec<Value> = streams(&ctx).await?.iter().map(stream_json).collect();
    Ok(Json(json!({"streams": all})).into_response())
}

async fn remove(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    ctx.admit(Family::Webhooks, true).await?;
    let id = query
        .get("stream_id")
        .ok_or_else(|| bad("stream_id is required"))?;
    let found = stream(&ctx, id).await?;
    ctx.write(Op::DeleteWebhook(found.id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn verify(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let id = body.opt_str("stream_id", 40);
    let state = body.opt_str("state", 1000);
    body.finish().map_err(|e| bad(e.to_string()))?;
    let id = id.ok_or_else(|| bad("stream_id is required"))?;
    let found = stream(&ctx, &id).await?;
    let op = Op::SendWebhookEvent {
        id: found.id,
        event_id: format!("evt_{}", ulid::Ulid::new().to_string().to_lowercase()),
        event_name: VERIFICATION_ACTION.to_string(),
        data: json!({"state": state}).to_string(),
    };
    ctx.write(op).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
