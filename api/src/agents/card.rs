//! Signed A2A agent cards: `GET ~/agents/{agentId}/agent-card` (public, cacheable for 300 s)
//! and `POST ~/agents/agent-card/verify` (any credential of the org): the card alone is
//! checked against this org's JWKS; `{card, jwks_uri}` against another issuer's key set,
//! fetched under the same SSRF guard as client metadata documents.

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use lumo_cluster::command::AgentKey;
use lumo_cluster::oauth::agent_card::verify_card;
use lumo_cluster::protocol::{ProtocolReply, ProtocolRequest};
use lumo_cluster::query::{Reply, Request};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Ctx, JsonBody};
use crate::oauth::cimd_fetch::{check_client_id, fetch_document};
use crate::oauth::proto::Proto;

pub(super) async fn card(
    proto: Proto,
    axum::extract::Path((_, agent_id)): axum::extract::Path<(String, String)>,
) -> ApiResult<Response> {
    let agent: AgentKey = agent_id.parse().map_err(|_| {
        ApiError::BadRequest("agentId: an agent is named by its integer id or its agt_… id".into())
    })?;
    let request = ProtocolRequest::AgentCard {
        issuer: proto.issuer.clone(),
        agent,
    };
    match proto.call(request).await? {
        ProtocolReply::Document(card) => Ok((
            [(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            )],
            Json(card),
        )
            .into_response()),
        other => Err(ApiError::unexpected(other)),
    }
}

async fn org_keys(ctx: &Ctx) -> ApiResult<Vec<Value>> {
    match ctx.call(Request::Protocol(ProtocolRequest::Jwks)).await? {
        Reply::Protocol(ProtocolReply::Jwks(keys)) => Ok(keys),
        other => Err(ApiError::unexpected(other)),
    }
}

pub(super) async fn verify(ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult<Response> {
    let (card, jwks_uri) = match (body.get("card"), body.get("jwks_uri")) {
        (Some(card @ Value::Object(_)), jwks_uri) => (card.clone(), jwks_uri.cloned()),
        (Some(_), _) => return Err(ApiError::BadRequest("card must be an object".into())),
        (None, _) => (Value::Object(body.clone()), None),
    };
    let keys = match jwks_uri {
        None | Some(Value::Null) => org_keys(&ctx).await?,
        Some(Value::String(uri)) => {
            let allow_loopback = ctx.state.config.cimd_allow_loopback;
            let url = check_client_id(&uri, allow_loopback)
                .map_err(|f| ApiError::BadRequest(format!("jwks_uri: {}", f.message)))?;
            match fetch_document(&url, allow_loopback).await {
                Ok(document) => document
                    .get("keys")
                    .and_then(Value::as_array)
                    .cloned()
                    .ok_or_else(|| {
                        ApiError::BadRequest("jwks_uri: the document has no keys".into())
                    })?,
                Err(failure) => {
                    return Ok(Json(json!({
                        "valid": false,
                        "error": format!("jwks_uri could not be fetched ({}): {}", failure.reason, failure.message),
                    }))
                    .into_response());
                }
            }
        }
        Some(_) => return Err(ApiError::BadRequest("jwks_uri must be a string".into())),
    };
    Ok(Json(verify_card(&card, &keys)).into_response())
}
