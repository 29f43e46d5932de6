//! How protocol endpoints answer: never cached, and `WWW-Authenticate: Bearer` challenges.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lumo_cluster::protocol::ProtocolReply;
use serde_json::json;

use crate::error::{ApiError, ApiResult};

/// Token responses and errors must not be cached (RFC 6749 section 5.1).
pub fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

pub fn finish(result: ApiResult<Response>) -> Response {
    no_store(result.unwrap_or_else(IntoResponse::into_response))
}

/// A reply of the wrong kind.
pub fn unexpected(reply: ProtocolReply) -> ApiError {
    ApiError::unexpected(reply)
}

/// A `WWW-Authenticate: Bearer` challenge (RFC 6750 section 3).
pub fn bearer_challenge(status: StatusCode, error: Option<&str>, description: &str) -> Response {
    let (code, challenge) = match error {
        Some(error) => (
            error,
            format!(
                "Bearer error=\"{error}\", error_description=\"{}\"",
                description.replace('"', "'")
            ),
        ),
        None => ("invalid_token", "Bearer".to_string()),
    };
    let body = json!({
        "error": code,
        "error_description": description,
        "message": description,
        "status": status.as_u16(),
    });
    let mut response = (status, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The token of an `Authorization: Bearer` header.
pub fn bearer_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string())
}
