//! `POST ~/oauth/revoke` (RFC 7009).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use lumo_cluster::protocol::ProtocolRequest;
use serde_json::json;

use super::params::{authenticated_params, token_and_hint};
use super::proto::Proto;
use super::response::finish;

/// `POST ~/oauth/revoke`: always `200 {}` once the client is authenticated.
pub async fn revoke(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    finish(
        async {
            let (mut params, client) = authenticated_params(&proto, body, false)?;
            let (token, hint) = token_and_hint(&mut params)?;
            proto
                .call(ProtocolRequest::Revoke {
                    client,
                    token,
                    hint,
                })
                .await?;
            Ok(Json(json!({})).into_response())
        }
        .await,
    )
}
