//! `POST ~/connect/register` (RFC 7591) and `GET ~/connect/register/{clientId}` (RFC 7592).

use axum::Json;
use axum::body::Bytes;
use axum::extract::Path;
use axum::extract::rejection::BytesRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use lumo_cluster::ClusterError;
use lumo_cluster::protocol::{ErrorCode, ProtocolReply, ProtocolRequest};
use serde_json::Value;

use super::params::bytes;
use super::proto::Proto;
use super::response::{bearer_challenge, bearer_token, finish, no_store, unexpected};
use crate::error::ApiError;

/// `POST ~/connect/register`: `201` with the client's metadata, secret and registration access token.
pub async fn register(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    finish(
        async {
            let bytes = bytes(body)?;
            let json_type = proto
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().starts_with("application/json"));
            if !json_type {
                return Err(ApiError::UnsupportedMediaType(
                    "client metadata must be sent as application/json".into(),
                ));
            }
            let metadata: Value = serde_json::from_slice(&bytes).map_err(|_| {
                ClusterError::oauth(
                    ErrorCode::InvalidClientMetadata,
                    "the body is not valid JSON",
                )
            })?;
            let credential = crate::extract::ctx::credential(&proto.headers);
            match proto
                .call(ProtocolRequest::Register {
                    issuer: proto.issuer.clone(),
                    credential,
                    metadata,
                })
                .await?
            {
                ProtocolReply::Document(doc) => {
                    Ok((StatusCode::CREATED, Json(doc)).into_response())
                }
                other => Err(unexpected(other)),
            }
        }
        .await,
    )
}

/// `GET ~/connect/register/{clientId}`: the metadata, for the registration access token's holder.
pub async fn registration(proto: Proto, Path((_, client_id)): Path<(String, String)>) -> Response {
    let Some(token) = bearer_token(&proto.headers) else {
        return bearer_challenge(
            StatusCode::UNAUTHORIZED,
            None,
            "the registration access token is required (Authorization: Bearer)",
        );
    };
    let result = proto
        .call(ProtocolRequest::ReadRegistration {
            issuer: proto.issuer.clone(),
            client_id,
            token,
        })
        .await;
    no_store(match result {
        Ok(ProtocolReply::Document(doc)) => Json(doc).into_response(),
        Ok(other) => unexpected(other).into_response(),
        Err(ApiError::Cluster(ClusterError::Unauthenticated { message })) => {
            bearer_challenge(StatusCode::UNAUTHORIZED, Some("invalid_token"), &message)
        }
        Err(e) => e.into_response(),
    })
}
