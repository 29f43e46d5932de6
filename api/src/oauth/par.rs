//! `POST ~/oauth/par`: pushed authorization requests (RFC 9126).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lumo_cluster::protocol::{ProtocolReply, ProtocolRequest};
use serde_json::json;

use super::params::authenticated_params;
use super::proto::Proto;
use super::response::{finish, unexpected};

/// `POST ~/oauth/par`: `201` with the `request_uri` the browser then names.
pub async fn par(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    finish(
        async {
            let (params, client) = authenticated_params(&proto, body, false)?;
            match proto
                .call(ProtocolRequest::Par {
                    issuer: proto.issuer.clone(),
                    client,
                    params,
                })
                .await?
            {
                ProtocolReply::Par {
                    request_uri,
                    expires_in,
                } => Ok((
                    StatusCode::CREATED,
                    Json(json!({"request_uri": request_uri, "expires_in": expires_in})),
                )
                    .into_response()),
                other => Err(unexpected(other)),
            }
        }
        .await,
    )
}
