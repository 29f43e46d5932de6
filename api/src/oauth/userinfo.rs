//! `GET|POST ~/oauth/userinfo` (OpenID Connect Core section 5.3), with bearer challenges
//! (RFC 6750).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lumo_cluster::ClusterError;
use lumo_cluster::protocol::{ProtocolReply, ProtocolRequest};

use super::params::{self, bytes};
use super::proto::Proto;
use super::response::{bearer_challenge, bearer_token, no_store, unexpected};
use crate::error::ApiError;

/// `GET ~/oauth/userinfo`: the token in `Authorization: Bearer`.
pub async fn userinfo_get(proto: Proto) -> Response {
    userinfo(proto, None).await
}

/// `POST ~/oauth/userinfo`: the token in the header or the form's `access_token`.
pub async fn userinfo_post(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    let from_body = match bytes(body) {
        Ok(bytes) if !bytes.is_empty() => match params::body(&proto.headers, &bytes, false) {
            Ok(mut params) => params.remove("access_token"),
            Err(e) => return no_store(e.into_response()),
        },
        Ok(_) => None,
        Err(e) => return no_store(e.into_response()),
    };
    userinfo(proto, from_body).await
}

async fn userinfo(proto: Proto, from_body: Option<String>) -> Response {
    let from_header = bearer_token(&proto.headers);
    let token = match (from_header, from_body) {
        (Some(_), Some(_)) => {
            return bearer_challenge(
                StatusCode::BAD_REQUEST,
                Some("invalid_request"),
                "send the access token once",
            );
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => {
            return bearer_challenge(
                StatusCode::UNAUTHORIZED,
                None,
                "an access token is required (Authorization: Bearer)",
            );
        }
    };
    let result = proto.call(ProtocolRequest::Userinfo { token }).await;
    no_store(match result {
        Ok(ProtocolReply::Document(doc)) => Json(doc).into_response(),
        Ok(other) => unexpected(other).into_response(),
        Err(ApiError::Cluster(ClusterError::Unauthenticated { message })) => {
            bearer_challenge(StatusCode::UNAUTHORIZED, Some("invalid_token"), &message)
        }
        Err(ApiError::Cluster(ClusterError::Forbidden { message, .. })) => {
            bearer_challenge(StatusCode::FORBIDDEN, Some("insufficient_scope"), &message)
        }
        Err(e) => e.into_response(),
    })
}
