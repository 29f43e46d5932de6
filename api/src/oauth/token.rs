//! `POST ~/oauth/token` (RFC 6749 section 3.2): the form, parsed once into a typed token
//! request, goes to the org's authorization server.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use lumo_cluster::protocol::{ProtocolReply, ProtocolRequest, TokenRequest, TokenResponse};
use serde_json::json;

use super::params::authenticated_params;
use super::proto::Proto;
use super::response::{finish, unexpected};
use crate::error::ApiResult;

/// `POST ~/oauth/token`.
pub async fn token(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    finish(token_inner(proto, body).await)
}

async fn token_inner(proto: Proto, body: Result<Bytes, BytesRejection>) -> ApiResult<Response> {
    let (params, client) = authenticated_params(&proto, body, true)?;
    let reply = proto
        .call(ProtocolRequest::Token {
            issuer: proto.issuer.clone(),
            client,
            request: TokenRequest::from_params(&params),
        })
        .await?;
    let ProtocolReply::Token(token) = reply else {
        return Err(unexpected(reply));
    };
    Ok(Json(response_body(token)).into_response())
}

/// The JSON of a successful token response (RFC 6749 section 5.1).
fn response_body(token: TokenResponse) -> serde_json::Value {
    let mut body = json!({
        "access_token": token.access_token,
        "token_type": token.token_type,
        "expires_in": token.expires_in,
        "scope": token.scope,
    });
    if let Some(refresh) = token.refresh_token {
        body["refresh_token"] = json!(refresh);
    }
    if let Some(id_token) = token.id_token {
        body["id_token"] = json!(id_token);
    }
    if let Some(kind) = token.issued_token_type {
        body["issued_token_type"] = json!(kind);
    }
    body
}
