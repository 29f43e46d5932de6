//! `~/admin/webhooks` (scope `admin:webhooks`): receivers of the org's events, their secrets,
//! test sends, the delivery log and replays. Secrets are sealed on the org's leader
//! (`ProtocolRequest::WebhookSecret`); deliveries are sent by the leader's dispatcher.

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use lumo_cluster::ClusterError;
use lumo_cluster::command::{Op, WebhookFields, WebhookPatch};
use lumo_cluster::ids::WebhookId;
use lumo_cluster::model::{
    DeliveryStatus, Family, Webhook, WebhookDelivery, is_webhook_event, webhook_event_catalog,
};
use lumo_cluster::protocol::{ProtocolReply, ProtocolRequest, WebhookSecretChange};
use lumo_cluster::query::{Query, Reply, Request, WebhookFilter};
use lumo_cluster::webhooks::{check_url, generate_secret};
use serde_json::{Map, Value, json};

use crate::envelope::{self, ListShape};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody, ListQuery, OptionalJsonBody};
use crate::reply;
use crate::state::AppState;

use super::webhook_tunnel;

/// How long a rotated-out secret still signs, unless the request says otherwise.
const DEFAULT_GRACE_SECS: u64 = 24 * 3600;
const MAX_GRACE_SECS: u64 = 7 * 24 * 3600;
const MAX_EVENTS: usize = 200;
/// Default and largest page of the delivery log.
const DEFAULT_DELIVERIES: u32 = 50;
const MAX_DELIVERIES: u32 = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/webhooks", get(list).post(create))
        .route("/admin/webhooks/events", get(events))
        .route("/admin/webhooks/tunnel/start", post(webhook_tunnel::start))
        .route(
            "/admin/webhooks/tunnel/{webhookId}/stop",
            post(webhook_tunnel::stop),
        )
        .route(
            "/admin/webhooks/tunnel/{webhookId}/stream",
            get(webhook_tunnel::stream),
        )
        .route(
            "/admin/webhooks/{webhookId}",
            get(show).put(replace).patch(patch).delete(remove),
        )
        .route("/admin/webhooks/{webhookId}/enable", post(enable))
        .route("/admin/webhooks/{webhookId}/disable", post(disable))
        .route("/admin/webhooks/{webhookId}/rotate-secret", post(rotate))
        .route("/admin/webhooks/{webhookId}/test", post(test))
        .route("/admin/webhooks/{webhookId}/deliveries", get(deliveries))
        .route(
            "/admin/webhooks/{webhookId}/deliveries/{deliveryId}",
            get(delivery),
        )
        .route(
            "/admin/webhooks/{webhookId}/deliveries/{deliveryId}/replay",
            post(replay),
        )
}

fn webhook_json(webhook: &Webhook) -> Value {
    json!({
        "id": webhook.id.0,
        "url": webhook.url,
        "events": webhook.events,
        "type": webhook.kind,
        "isActive": webhook.is_active,
        "failureCount": webhook.failure_count,
        "createdAt": webhook.created_at.to_rfc3339(),
        "updatedAt": webhook.updated_at.to_rfc3339(),
        "lastTriggeredAt": webhook.last_triggered_at.map(|t| t.to_rfc3339()),
        "configuration": webhook.configuration,
    })
}

fn delivery_json(delivery: &WebhookDelivery, detail: bool) -> Value {
    let time = |t: Option<lumo_cluster::clock::Timestamp>| t.map(|t| t.to_rfc3339());
    let mut out = json!({
        "id": delivery.public_id(),
        "webhook_id": delivery.webhook_id.0,
        "delivery_id": delivery.event_id,
        "event_name": delivery.event_name,
        "status": delivery.status.as_str(),
        "attempt_count": delivery.attempt_count,
        "last_status_code": delivery.last_status_code,
        "last_response_body": delivery.last_response_body,
        "last_error": delivery.last_error,
        "next_attempt_at": time(delivery.next_attempt_at),
        "succeeded_at": time(delivery.succeeded_at),
        "dead_lettered_at": time(delivery.dead_lettered_at),
        "created_at": delivery.created_at.to_rfc3339(),
        "updated_at": delivery.updated_at.to_rfc3339(),
    });
    if detail {
        out["payload"] = delivery.payload.clone();
        out["attempts"] = delivery
            .attempts
            .iter()
            .map(|a| json!({"at": a.at.to_rfc3339(), "status_code": a.status_code, "error": a.error}))
            .collect();
    }
    out
}

fn webhook_id(ctx: &Ctx) -> ApiResult<WebhookId> {
    ctx.key("webhookId")
}

/// The subscribed events: known names or `*`.
pub(super) fn events_field(body: &mut Body, required: bool) -> Option<Vec<String>> {
    let events = body.str_list("events", MAX_EVENTS);
    match &events {
        None if required => body.problem("events", "is required (event names, or [\"*\"])"),
        Some(list) if list.is_empty() => body.problem("events", "must name at least one event"),
        Some(list) => {
            if let Some(unknown) = list.iter().find(|e| *e != "*" && !is_webhook_event(e)) {
                body.problem(
                    "events",
                    format!("{unknown} is not an event (see GET ~/admin/webhooks/events)"),
                );
            }
        }
        None => {}
    }
    events
}

fn url_field(ctx: &Ctx, body: &mut Body, required: bool) -> Option<String> {
    let url = if required {
        Some(body.required_str("url", 2048))
    } else {
        body.opt_str("url", 2048)
    };
    if let Some(url) = url.as_deref().filter(|u| !u.is_empty())
        && let Err(why) = check_url(url, ctx.state.service.webhook_targets())
    {
        body.problem("url", why);
    }
    url
}

fn kind_field(body: &mut Body) -> Option<String> {
    let kind = body.opt_str("type", 50);
    if let Some(kind) = kind.as_deref()
        && kind != "webhook"
    {
        body.problem("type", "must be webhook");
    }
    kind
}

/// The configuration object as text; `Some(None)` when sent as null.
fn configuration_field(body: &mut Body) -> Option<Option<String>> {
    match body.raw("configuration").cloned() {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::Object(map)) => Some(Some(Value::Object(map).to_string())),
        Some(_) => {
            body.problem("configuration", "must be an object");
            None
        }
    }
}

fn active_field(body: &mut Body) -> Option<bool> {
    body.opt_bool("isActive")
        .or_else(|| body.opt_bool("is_active"))
}

async fn list(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let params = query.list(&[])?;
    let is_active = match query.get("isActive").or_else(|| query.get("is_active")) {
        None => None,
        Some("true" | "1") => Some(true),
        Some("false" | "0") => Some(false),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "isActive must be true or false".into(),
            ));
        }
    };
    let sort_by = params.sort_by.clone();
    if let Some(sort) = sort_by.as_deref()
        && !matches!(sort, "createdAt" | "isActive")
    {
        return Err(ApiError::BadRequest(
            "sortBy must be createdAt or isActive".into(),
        ));
    }
    let filter = WebhookFilter {
        page: params.page,
        is_active,
        event: query.get("event").map(str::to_string),
        sort_by,
        descending: params.sort_desc.unwrap_or(true),
        kind: None,
    };
    let page = reply!(ctx.read(Query::Webhooks(filter)).await?, Reply::Webhooks);
    let items = page.items.iter().map(webhook_json).collect();
    Ok(envelope::list(&page, items, ListShape::Resource("webhook")))
}

async fn create(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let url = url_field(&ctx, &mut body, true).unwrap_or_default();
    let events = events_field(&mut body, true).unwrap_or_default();
    let kind = kind_field(&mut body).unwrap_or_else(|| "webhook".into());
    let is_active = active_field(&mut body).unwrap_or(true);
    let configuration = configuration_field(&mut body).flatten();
    body.finish()?;
    let secret = generate_secret();
    let change = WebhookSecretChange::Create {
        fields: WebhookFields {
            url,
            events,
            kind,
            is_active,
            configuration,
        },
        secret: secret.clone(),
    };
    let webhook = save_secret(&ctx, change).await?;
    let mut data = webhook_json(&webhook);
    data["secret"] = json!(secret);
    data["_note"] = json!("Store the secret now: it is shown only once.");
    Ok(envelope::created(data, "Webhook created"))
}

pub(super) async fn save_secret(ctx: &Ctx, change: WebhookSecretChange) -> ApiResult<Webhook> {
    let request = ProtocolRequest::WebhookSecret {
        credential: ctx.credential.clone(),
        change,
    };
    match ctx.call(Request::Protocol(request)).await? {
        Reply::Protocol(ProtocolReply::Webhook(webhook)) => Ok(webhook),
        other => Err(ApiError::unexpected(other)),
    }
}

async fn show(ctx: Ctx) -> ApiResult<Response> {
    let id = webhook_id(&ctx)?;
    let webhook = reply!(ctx.read(Query::Webhook(id)).await?, Reply::Webhook);
    Ok(envelope::data(webhook_json(&webhook)))
}

async fn update(ctx: Ctx, json: JsonBody, full: bool) -> ApiResult<Response> {
    let id = webhook_id(&ctx)?;
    let mut body = Body::new(json);
    let patch = WebhookPatch {
        url: url_field(&ctx, &mut body, full),
        events: events_field(&mut body, full),
        kind: kind_field(&mut body),
        is_active: active_field(&mut body),
        configuration: configuration_field(&mut body),
    };
    body.finish()?;
    write_then_show(&ctx, Op::UpdateWebhook { id, patch }, id, "Webhook updated").await
}

async fn write_then_show(ctx: &Ctx, op: Op, id: WebhookId, message: &str) -> ApiResult<Response> {
    let webhook = reply!(
        ctx.write_then(op, Query::Webhook(id)).await?,
        Reply::Webhook
    );
    Ok(envelope::data_message(webhook_json(&webhook), message))
}

async fn replace(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    update(ctx, json, true).await
}

async fn patch(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    update(ctx, json, false).await
}

async fn remove(ctx: Ctx) -> ApiResult<Response> {
    let id = webhook_id(&ctx)?;
    ctx.write(Op::DeleteWebhook(id)).await?;
    Ok(envelope::message("Webhook deleted"))
}

async fn switch(ctx: Ctx, active: bool) -> ApiResult<Response> {
    let id = webhook_id(&ctx)?;
    let patch = WebhookPatch {
        is_active: Some(active),
        ..WebhookPatch::default()
    };
    let webhook = reply!(
        ctx.write_then(Op::UpdateWebhook { id, patch }, Query::Webhook(id))
            .await?,
        Reply::Webhook
    );
    let message = if active {
        "Webhook enabled"
    } else {
        "Webhook disabled"
    };
    Ok(Json(json!({"message": message, "webhook": webhook_json(&webhook)})).into_response())
}

async fn enable(ctx: Ctx) -> ApiResult<Response> {
    switch(ctx, true).await
}

async fn disable(ctx: Ctx) -> ApiResult<Response> {
    switch(ctx, false).await
}

async fn rotate(ctx: Ctx, json: OptionalJsonBody) -> ApiResult<Response> {
    let id = webhook_id(&ctx)?;
    let mut body = Body::new(JsonBody(json.0));
    let grace = body
        .opt_u64("gracePeriodSeconds")
        .or_else(|| body.opt_u64("grace_period_seconds"));
    if grace.is_some_and(|g| g > MAX_GRACE_SECS) {
        body.problem(
            "gracePeriodSeconds",
            format!("must be at most {MAX_GRACE_SECS}"),
        );
    }
    body.finish()?;
    let grace_secs = grace.unwrap_or(DEFAULT_GRACE_SECS);
    let secret = generate_secret();
    let change = WebhookSecretChange::Rotate {
        id,
        secret: secret.clone(),
        grace_secs,
    };
    let webhook = save_secret(&ctx, change).await?;
    let note = format!(
        "Store the new secret now: it is shown only once. The previous secret keeps signing for {grace_secs} seconds."
    );
    Ok(envelope::data_message(
        json!({"id": webhook.id.0, "secret": secret, "_note": note}),
        "Webhook secret rotated",
    ))
}

async fn test(ctx: Ctx) -> ApiResult<Response> {
    let id = webhook_id(&ctx)?;
    let request = ProtocolRequest::WebhookTest {
        credential: ctx.credential.clone(),
        id,
    };
    let (status_code, error) = match ctx.call(Request::Protocol(request)).await? {
        Reply::Protocol(ProtocolReply::WebhookTest { status_code, error }) => (status_code, error),
        other => return Err(ApiError::unexpected(other)),
    };
    Ok(match (status_code, error) {
        (Some(code), None) => {
            let success = (200..300).contains(&code);
            let message = if success {
                format!("The receiver answered {code}")
            } else {
                format!("The receiver answered {code}, not 2xx")
            };
            Json(json!({"success": success, "statusCode": code, "message": message}))
                .into_response()
        }
        (_, error) => {
            let why = error.unwrap_or_else(|| "no answer".into());
            (
                StatusCode::BAD_GATEWAY,
                Json(json!({
                    "success": false,
                    "error": "webhook_unreachable",
                    "error_description": format!("The test delivery failed: {why}"),
                    "message": format!("The test delivery failed: {why}"),
                    "status": 502,
                })),
            )
                .into_response()
        }
    })
}

async fn events(ctx: Ctx) -> ApiResult<Response> {
    // The catalog touches no org data; the credential is still judged.
    ctx.admit(Family::Webhooks, false).await?;
    let map: Map<String, Value> = webhook_event_catalog()
        .into_iter()
        .map(|(name, about)| (name, Value::String(about)))
        .collect();
    Ok(envelope::data(Value::Object(map)))
}

async fn deliveries(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let webhook = webhook_id(&ctx)?;
    let status = match query.get("status") {
        None => None,
        Some("pending") => Some(DeliveryStatus::Pending),
        Some("success") => Some(DeliveryStatus::Success),
        Some("failed") => Some(DeliveryStatus::Failed),
        Some("dead_lettered") => Some(DeliveryStatus::DeadLettered),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "status must be pending, success, failed or dead_lettered".into(),
            ));
        }
    };
    let limit = query
        .int("limit", 1, MAX_DELIVERIES)?
        .unwrap_or(DEFAULT_DELIVERIES);
    let query = Query::WebhookDeliveries {
        webhook,
        status,
        limit: u64::from(limit),
    };
    let (items, dead_lettered) = match ctx.read(query).await? {
        Reply::WebhookDeliveries {
            deliveries,
            dead_lettered,
        } => (deliveries, dead_lettered),
        other => return Err(ApiError::unexpected(other)),
    };
    let count = items.len() as u64;
    let page = lumo_cluster::query::Page::<()> {
        items: Vec::new(),
        total: count,
        page: 1,
        limit: u64::from(limit),
    };
    let data: Vec<Value> = items.iter().map(|d| delivery_json(d, false)).collect();
    Ok(Json(json!({
        "data": data,
        "meta": {"count": count, "dead_lettered_count": dead_lettered},
        "pagination": envelope::pagination(&page),
    }))
    .into_response())
}

fn delivery_seq(ctx: &Ctx) -> ApiResult<u64> {
    let id = ctx.param("deliveryId")?;
    WebhookDelivery::parse_public_id(id)
        .ok_or_else(|| ApiError::Cluster(ClusterError::not_found("delivery", id)))
}

async fn delivery(ctx: Ctx) -> ApiResult<Response> {
    let webhook = webhook_id(&ctx)?;
    let seq = delivery_seq(&ctx)?;
    let found = reply!(
        ctx.read(Query::WebhookDelivery { webhook, seq }).await?,
        Reply::WebhookDelivery
    );
    Ok(envelope::data(delivery_json(&found, true)))
}

async fn replay(ctx: Ctx) -> ApiResult<Response> {
    let id = webhook_id(&ctx)?;
    let seq = delivery_seq(&ctx)?;
    let created = match ctx.write(Op::ReplayWebhookDelivery { id, seq }).await? {
        Reply::Done(lumo_cluster::query::Outcome::Created(public)) => public,
        other => return Err(ApiError::unexpected(other)),
    };
    let seq = WebhookDelivery::parse_public_id(&created)
        .ok_or_else(|| ApiError::Internal("a replay has no delivery id".into()))?;
    let copy = reply!(
        ctx.read(Query::WebhookDelivery { webhook: id, seq })
            .await?,
        Reply::WebhookDelivery
    );
    Ok(envelope::data_message(
        delivery_json(&copy, false),
        "Delivery queued again",
    ))
}
