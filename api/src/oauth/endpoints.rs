//! The JSON protocol endpoints: token, introspection, revocation, PAR, device authorization,
//! CIBA, userinfo, dynamic client registration.

use axum::Json;
use axum::body::Bytes;
use axum::extract::Path;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lumo_cluster::ClusterError;
use lumo_cluster::oauth::{ClientAuth, Params, ProtocolReply, ProtocolRequest};
use serde_json::{Value, json};

use super::params::{self, client_auth};
use super::proto::Proto;
use crate::error::{ApiError, ApiResult};

/// The body bytes, or 413 when over the limit.
pub fn bytes(body: Result<Bytes, BytesRejection>) -> ApiResult<Bytes> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::BadRequest(format!("cannot read the body: {e}"))
        }
    })
}

/// Token responses and errors must not be cached (RFC 6749 section 5.1).
pub fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn finish(result: ApiResult<Response>) -> Response {
    no_store(result.unwrap_or_else(IntoResponse::into_response))
}

/// The parameters of a protocol request and the client authentication it carries (HTTP Basic
/// or the body).
fn authenticated_params(
    proto: &Proto,
    body: Result<Bytes, BytesRejection>,
    json_too: bool,
) -> ApiResult<(Params, ClientAuth)> {
    let mut params = params::body(&proto.headers, &bytes(body)?, json_too)?;
    let client = client_auth(&proto.headers, &mut params)?;
    Ok((params, client))
}

fn unexpected(reply: ProtocolReply) -> ApiError {
    ApiError::unexpected(reply)
}

pub async fn token(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    finish(token_inner(proto, body).await)
}

async fn token_inner(proto: Proto, body: Result<Bytes, BytesRejection>) -> ApiResult<Response> {
    let (params, client) = authenticated_params(&proto, body, true)?;
    let reply = proto
        .call(ProtocolRequest::Token {
            issuer: proto.issuer.clone(),
            client,
            params,
        })
        .await?;
    let ProtocolReply::Token(token) = reply else {
        return Err(unexpected(reply));
    };
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
    Ok(Json(body).into_response())
}

pub async fn introspect(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    finish(
        async {
            let (mut params, client) = authenticated_params(&proto, body, false)?;
            let token = params
                .remove("token")
                .ok_or_else(|| ClusterError::oauth("invalid_request", "token is required"))?;
            let reply = proto
                .call(ProtocolRequest::Introspect {
                    issuer: proto.issuer.clone(),
                    client,
                    token,
                    hint: params.remove("token_type_hint"),
                })
                .await?;
            match reply {
                ProtocolReply::Document(doc) => Ok(Json(doc).into_response()),
                other => Err(unexpected(other)),
            }
        }
        .await,
    )
}

pub async fn revoke(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    finish(
        async {
            let (mut params, client) = authenticated_params(&proto, body, false)?;
            let token = params
                .remove("token")
                .ok_or_else(|| ClusterError::oauth("invalid_request", "token is required"))?;
            proto
                .call(ProtocolRequest::Revoke {
                    client,
                    token,
                    hint: params.remove("token_type_hint"),
                })
                .await?;
            Ok(Json(json!({})).into_response())
        }
        .await,
    )
}

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

pub async fn device_authorization(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    finish(
        async {
            let (mut params, client) = authenticated_params(&proto, body, false)?;
            match proto
                .call(ProtocolRequest::DeviceAuthorize {
                    issuer: proto.issuer.clone(),
                    client,
                    scope: params.remove("scope"),
                })
                .await?
            {
                ProtocolReply::DeviceAuthorization {
                    device_code,
                    user_code,
                    expires_in,
                    interval,
                } => {
                    let verification = proto.url("/oauth/device");
                    let complete = format!(
                        "{verification}?user_code={}",
                        lumo_cluster::oauth::urlencode(&user_code)
                    );
                    Ok(Json(json!({
                        "device_code": device_code,
                        "user_code": user_code,
                        "verification_uri": verification,
                        "verification_uri_complete": complete,
                        "expires_in": expires_in,
                        "interval": interval,
                    }))
                    .into_response())
                }
                other => Err(unexpected(other)),
            }
        }
        .await,
    )
}

pub async fn backchannel(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    finish(
        async {
            let (params, client) = authenticated_params(&proto, body, false)?;
            match proto.call(ProtocolRequest::Ciba { client, params }).await? {
                ProtocolReply::Ciba {
                    auth_req_id,
                    expires_in,
                    interval,
                } => Ok(Json(json!({
                    "auth_req_id": auth_req_id,
                    "expires_in": expires_in,
                    "interval": interval,
                }))
                .into_response()),
                other => Err(unexpected(other)),
            }
        }
        .await,
    )
}

/// A `WWW-Authenticate: Bearer` challenge (RFC 6750 section 3).
fn bearer_challenge(status: StatusCode, error: Option<&str>, description: &str) -> Response {
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

pub async fn userinfo_get(proto: Proto) -> Response {
    userinfo(proto, None).await
}

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
    let from_header = proto
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string());
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
                ClusterError::oauth("invalid_client_metadata", "the body is not valid JSON")
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

pub async fn registration(proto: Proto, Path((_, client_id)): Path<(String, String)>) -> Response {
    let token = proto
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string());
    let Some(token) = token else {
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
