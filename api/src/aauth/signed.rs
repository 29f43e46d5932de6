//! The signed AAuth endpoints: the request is handed to the org's leader as received
//! (method, authority, path, headers, the body's bytes), where the signature is verified;
//! the answer is JSON with the status the protocol gives it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::OriginalUri;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lumo_cluster::crypto::http_signature::HttpMessage;
use lumo_cluster::protocol::{AAuthEndpoint, ProtocolReply, ProtocolRequest};

use crate::error::{ApiError, ApiResult};
use crate::oauth::proto::Proto;

/// Largest signed body accepted.
const MAX_SIGNED_BODY: usize = 64 * 1024;
/// Header fields passed on (the covered ones are among the first few; the rest is bounded).
const MAX_HEADERS: usize = 64;

fn message(
    proto: &Proto,
    method: &Method,
    uri: &OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<HttpMessage> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::BadRequest(format!("unreadable body: {e}"))
        }
    })?;
    if body.len() > MAX_SIGNED_BODY {
        return Err(ApiError::PayloadTooLarge);
    }
    let headers: Vec<(String, String)> = proto
        .headers
        .iter()
        .take(MAX_HEADERS)
        .filter(|(name, _)| *name != header::COOKIE)
        .filter_map(|(name, value)| {
            Some((name.as_str().to_string(), value.to_str().ok()?.to_string()))
        })
        .collect();
    let authority = proto
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| uri.0.authority().map(|a| a.to_string()))
        .ok_or_else(|| ApiError::BadRequest("the request has no Host".into()))?;
    let scheme = if proto.issuer.starts_with("https://") {
        "https"
    } else {
        "http"
    };
    Ok(HttpMessage {
        method: method.as_str().to_string(),
        authority,
        scheme: scheme.into(),
        path: uri.0.path().to_string(),
        query: uri.0.query().map(str::to_string),
        headers,
        body: body.to_vec(),
    })
}

async fn serve(
    endpoint: AAuthEndpoint,
    proto: Proto,
    method: Method,
    uri: OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let message = message(&proto, &method, &uri, body)?;
    let reply = proto
        .call(ProtocolRequest::AAuthSigned {
            issuer: proto.issuer.clone(),
            endpoint,
            message,
        })
        .await?;
    match reply {
        ProtocolReply::AAuth { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response = (status, Json(body)).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(response)
        }
        other => Err(ApiError::unexpected(other)),
    }
}

macro_rules! signed_handler {
    ($name:ident, $endpoint:expr) => {
        pub(super) async fn $name(
            proto: Proto,
            method: Method,
            uri: OriginalUri,
            body: Result<Bytes, BytesRejection>,
        ) -> ApiResult<Response> {
            serve($endpoint, proto, method, uri, body).await
        }
    };
}

signed_handler!(agent_token, AAuthEndpoint::AgentToken);
signed_handler!(issue_agent_token, AAuthEndpoint::IssueAgentToken);
signed_handler!(platform_token, AAuthEndpoint::PlatformToken);
signed_handler!(resource_token, AAuthEndpoint::ResourceToken);
signed_handler!(revoke, AAuthEndpoint::Revoke);
signed_handler!(verify_auth_token, AAuthEndpoint::VerifyAuthToken);
signed_handler!(verify_resource_token, AAuthEndpoint::VerifyResourceToken);
