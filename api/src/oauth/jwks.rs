//! `GET ~/.well-known/jwks.json`: the org's published signing keys.

use axum::Json;
use axum::response::{IntoResponse, Response};
use lumo_cluster::protocol::{ProtocolReply, ProtocolRequest};
use serde_json::json;

use super::discovery::public;
use super::proto::Proto;
use crate::error::ApiError;

/// `GET ~/.well-known/jwks.json`.
pub async fn jwks(proto: Proto) -> Response {
    match proto.call(ProtocolRequest::Jwks).await {
        Ok(ProtocolReply::Jwks(keys)) => public(Json(json!({"keys": keys})).into_response()),
        Ok(other) => ApiError::unexpected(other).into_response(),
        Err(e) => e.into_response(),
    }
}
