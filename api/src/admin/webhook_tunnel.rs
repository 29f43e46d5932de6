//! Webhook tunnels for local development: `tunnel/start` makes a webhook of kind `tunnel`
//! whose deliveries are not pushed but streamed to the developer over SSE
//! (`tunnel/{id}/stream`: polled every 2 s, closed after 10 min), each one recorded as
//! delivered once it is on the stream; `tunnel/{id}/stop` removes the tunnel.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use lumo_cluster::command::{Op, WebhookAttempt, WebhookFields};
use lumo_cluster::ids::WebhookId;
use lumo_cluster::model::{DeliveryStatus, Family, Webhook, WebhookDelivery};
use lumo_cluster::protocol::WebhookSecretChange;
use lumo_cluster::query::{Query, Reply};
use lumo_cluster::webhooks::{TUNNEL_KIND, generate_secret};
use serde_json::json;

use super::webhooks::{events_field, save_secret};
use crate::envelope;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody, OptionalJsonBody};
use crate::oauth::proto::base_url;
use crate::reply;

const POLL: Duration = Duration::from_secs(2);
const LIFETIME: Duration = Duration::from_secs(600);

pub(super) async fn start(
    ctx: Ctx,
    headers: HeaderMap,
    json: OptionalJsonBody,
) -> ApiResult<Response> {
    let mut body = Body::new(JsonBody(json.0));
    let events = events_field(&mut body, false).unwrap_or_else(|| vec!["*".to_string()]);
    body.finish()?;
    let session = format!("tun_{}", ulid::Ulid::new().to_string().to_lowercase());
    let change = WebhookSecretChange::Create {
        fields: WebhookFields {
            url: format!("tunnel:{session}"),
            events,
            kind: TUNNEL_KIND.to_string(),
            is_active: true,
            configuration: Some(json!({"tunnel": {"session_id": session}}).to_string()),
        },
        secret: generate_secret(),
    };
    let tunnel = save_secret(&ctx, change).await?;
    let url = format!(
        "{}/orgs/{}/api/v1/admin/webhooks/tunnel/{}/stream",
        base_url(&ctx.state, &headers),
        ctx.org,
        tunnel.id.0
    );
    Ok(envelope::data(json!({
        "webhook_id": tunnel.id.0,
        "session_id": session,
        "tunnel_url": url,
    })))
}

/// The tunnel `webhookId` names: 404 if there is none, 400 if it is another kind of webhook.
async fn tunnel(ctx: &Ctx, write: bool) -> ApiResult<Webhook> {
    ctx.admit(Family::Webhooks, write).await?;
    let id: WebhookId = ctx.key("webhookId")?;
    let webhook = reply!(ctx.read(Query::Webhook(id)).await?, Reply::Webhook);
    if webhook.kind != TUNNEL_KIND {
        return Err(ApiError::BadRequest(format!(
            "webhook {} is not a tunnel",
            id.0
        )));
    }
    Ok(webhook)
}

pub(super) async fn stop(ctx: Ctx) -> ApiResult<Response> {
    let found = tunnel(&ctx, true).await?;
    ctx.write(Op::DeleteWebhook(found.id)).await?;
    Ok(envelope::message("Tunnel stopped"))
}

/// Deliveries of the tunnel not streamed yet, oldest first.
async fn waiting(ctx: &Ctx, id: WebhookId) -> ApiResult<Vec<WebhookDelivery>> {
    let query = Query::WebhookDeliveries {
        webhook: id,
        status: Some(DeliveryStatus::Pending),
        limit: 200,
    };
    let mut found = match ctx.read(query).await? {
        Reply::WebhookDeliveries { deliveries, .. } => deliveries,
        other => return Err(ApiError::unexpected(other)),
    };
    found.sort_by_key(|d| d.seq);
    Ok(found)
}

/// One poll: the events to send, recorded as delivered; `None` ends the stream.
async fn poll(ctx: &Ctx, id: WebhookId) -> Option<Vec<Event>> {
    let found = waiting(ctx, id).await.ok()?;
    if found.is_empty() {
        return Some(Vec::new());
    }
    let now = ctx.state.service.now();
    let attempts = found
        .iter()
        .map(|d| WebhookAttempt {
            webhook: id,
            seq: d.seq,
            at: now,
            status_code: None,
            response_body: Some("streamed to the tunnel".into()),
            error: None,
        })
        .collect();
    ctx.write(Op::RecordWebhookAttempts(attempts)).await.ok()?;
    Some(
        found
            .iter()
            .map(|d| {
                Event::default()
                    .event(d.event_name.clone())
                    .id(d.public_id())
                    .data(d.payload.to_string())
            })
            .collect(),
    )
}

pub(super) async fn stream(ctx: Ctx) -> ApiResult<Response> {
    let found = tunnel(&ctx, false).await?;
    let id = found.id;
    let started = Instant::now();
    let events = futures::stream::unfold(
        (ctx, Vec::<Event>::new()),
        move |(ctx, mut queued)| async move {
            loop {
                if let Some(event) = queued.pop() {
                    return Some((Ok::<Event, Infallible>(event), (ctx, queued)));
                }
                if started.elapsed() >= LIFETIME {
                    return None;
                }
                // A tunnel stopped (or any read failing) ends the stream.
                let mut batch = poll(&ctx, id).await?;
                if batch.is_empty() {
                    tokio::time::sleep(POLL).await;
                    continue;
                }
                batch.reverse();
                queued = batch;
            }
        },
    );
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}
