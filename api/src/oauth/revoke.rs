//! `POST ~/oauth/revoke` (RFC 7009).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use lumo_cluster::ClusterError;
use lumo_cluster::protocol::{ErrorCode, ProtocolRequest, TokenTypeHint};
use serde_json::json;

use super::params::authenticated_params;
use super::proto::Proto;
use super::response::finish;

/// `POST ~/oauth/revoke`: always `200 {}` once the client is authenticated.
pub async fn revoke(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    finish(
        async {
            let (mut params, client) = authenticated_params(&proto, body, false)?;
            let token = params.remove("token").ok_or_else(|| {
                ClusterError::oauth(ErrorCode::InvalidRequest, "token is required")
            })?;
            proto
                .call(ProtocolRequest::Revoke {
                    client,
                    token,
                    hint: params
                        .remove("token_type_hint")
                        .as_deref()
                        .and_then(TokenTypeHint::parse),
                })
                .await?;
            Ok(Json(json!({})).into_response())
        }
        .await,
    )
}
