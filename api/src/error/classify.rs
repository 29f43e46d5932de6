//! The one classification of an error: its HTTP status, its code, a message safe to show the
//! caller (internal errors never leak), and structured details.

use axum::http::StatusCode;
use lumo_cluster::ClusterError;
use lumo_cluster::protocol::ErrorCode;
use serde_json::{Value, json};

use super::ApiError;

/// What every encoder of an error starts from.
#[derive(Debug, Clone)]
pub struct Classified {
    pub status: StatusCode,
    /// The LumoAuth (and OAuth) error code.
    pub code: &'static str,
    /// Safe to show the caller.
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    /// Classifies the error (status, code, safe message, details).
    pub fn classify(&self) -> Classified {
        let (status, code, message, details) = self.parts();
        Classified {
            status,
            code,
            message,
            details,
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, String, Option<Value>) {
        use ClusterError as C;
        match self {
            ApiError::Cluster(e) => match e {
                C::Validation { message, details } => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_error",
                    message.clone(),
                    Some(json!(details)),
                ),
                C::InvalidQuery { message } => (
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    message.clone(),
                    None,
                ),
                C::NotFound { resource, id } => (
                    StatusCode::NOT_FOUND,
                    "resource_not_found",
                    format!("{resource} not found: {id}"),
                    Some(json!({"resource": resource, "id": id})),
                ),
                C::Conflict { message, field } => (
                    StatusCode::CONFLICT,
                    "duplicate_resource",
                    message.clone(),
                    field.as_ref().map(|f| json!({"field": f})),
                ),
                C::Unauthenticated { message } => (
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    message.clone(),
                    None,
                ),
                C::Forbidden {
                    message,
                    required_scopes,
                    granted_scopes,
                } => (
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    message.clone(),
                    Some(
                        json!({"required_scopes": required_scopes, "granted_scopes": granted_scopes}),
                    ),
                ),
                C::WrongOrganization => (
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "this credential belongs to another organization".into(),
                    None,
                ),
                C::Protected { message } => (
                    StatusCode::FORBIDDEN,
                    "system_resource",
                    message.clone(),
                    None,
                ),
                C::Gone { message } => (StatusCode::GONE, "gone", message.clone(), None),
                C::Overloaded { .. } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limit_exceeded",
                    "too many requests in flight for this organization; retry later".into(),
                    None,
                ),
                C::RateLimited {
                    class,
                    limit,
                    retry_after_secs,
                } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limit_exceeded",
                    format!(
                        "rate limit exceeded: {limit} {class} requests per window; retry in {retry_after_secs}s"
                    ),
                    Some(json!({"class": class, "limit": limit, "retry_after": retry_after_secs})),
                ),
                C::QuotaExceeded { message } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "quota_exceeded",
                    message.clone(),
                    None,
                ),
                C::OrgNotFound { slug } => (
                    StatusCode::NOT_FOUND,
                    "tenant_not_found",
                    format!("organization not found: {slug}"),
                    None,
                ),
                C::OrgMoving { slug } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    format!("organization {slug} is moving to another shard; retry"),
                    Some(json!({"outcome": "not_applied"})),
                ),
                C::NotLeader { .. } | C::WrongShard => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "the organization's shard is changing leader; retry".into(),
                    Some(json!({"outcome": "not_applied"})),
                ),
                C::Unavailable { message } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    message.clone(),
                    Some(json!({"outcome": "not_applied"})),
                ),
                C::OutcomeUnknown { message } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    message.clone(),
                    Some(json!({"outcome": "unknown"})),
                ),
                C::OAuth {
                    error,
                    description,
                    status,
                } => (
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST),
                    oauth_code(*error),
                    description.clone(),
                    None,
                ),
                C::Scim {
                    status,
                    scim_type,
                    detail,
                } => (
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST),
                    match (*status, scim_type.as_deref()) {
                        (_, Some("mutability")) => "immutable_attribute",
                        (_, Some("uniqueness")) => "duplicate_resource",
                        (412, _) => "precondition_failed",
                        (403, _) => "forbidden",
                        _ => "invalid_request",
                    },
                    detail.clone(),
                    scim_type.as_ref().map(|t| json!({"scimType": t})),
                ),
                C::Authz { code, message } => (
                    StatusCode::from_u16(code.status()).unwrap_or(StatusCode::BAD_REQUEST),
                    code.as_str(),
                    message.clone(),
                    None,
                ),
                C::Mfa {
                    code,
                    message,
                    attempts_remaining,
                    retry_after_secs,
                } => (
                    StatusCode::from_u16(code.status()).unwrap_or(StatusCode::BAD_REQUEST),
                    code.as_str(),
                    message.clone(),
                    (attempts_remaining.is_some() || retry_after_secs.is_some()).then(|| {
                        json!({
                            "attempts_remaining": attempts_remaining,
                            "retry_after": retry_after_secs,
                        })
                    }),
                ),
                C::NotImplemented { message } => (
                    StatusCode::NOT_IMPLEMENTED,
                    "not_implemented",
                    message.clone(),
                    None,
                ),
                C::Internal { .. } => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "internal error".into(),
                    None,
                ),
            },
            ApiError::BadRequest(message) => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                message.clone(),
                None,
            ),
            ApiError::Invalid { message, details } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_error",
                message.clone(),
                Some(json!(details)),
            ),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                self.to_string(),
                None,
            ),
            ApiError::UnsupportedMediaType(message) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                message.clone(),
                None,
            ),
            ApiError::RouteNotFound(_) => {
                (StatusCode::NOT_FOUND, "not_found", self.to_string(), None)
            }
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                self.to_string(),
                None,
            ),
            ApiError::ClusterTokenRejected => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                self.to_string(),
                None,
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal error".into(),
                None,
            ),
        }
    }
}

/// The code a JSON answer carries for an OAuth refusal: the registered code, except
/// `invalid_binding_message`, which is answered as `invalid_request` (as LumoAuth clients read it).
fn oauth_code(error: ErrorCode) -> &'static str {
    match error {
        ErrorCode::InvalidBindingMessage => "invalid_request",
        other => other.as_str(),
    }
}
