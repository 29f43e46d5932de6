//! The one API error type and its mapping to HTTP, in the LumoAuth error shape:
//! `{"error": "<code>", "error_description", "message", "status", "details"?}`.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lumo_cluster::ClusterError;
use lumo_cluster::protocol::ErrorCode;
use serde_json::{Value, json};

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// Malformed request (bad JSON, bad query parameter, bad path id).
    #[error("{0}")]
    BadRequest(String),
    /// Field-level problems with the body.
    #[error("{message}")]
    Invalid {
        message: String,
        details: BTreeMap<String, String>,
    },
    #[error("request body is larger than the limit")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("no route for {0}")]
    RouteNotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("invalid cluster admin token")]
    ClusterTokenRejected,
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// A field-level validation error.
    pub fn invalid(field: &str, problem: impl Into<String>) -> Self {
        ClusterError::invalid(field, problem).into()
    }

    /// A reply of the wrong kind from the cluster: a bug.
    pub fn unexpected(what: impl std::fmt::Debug) -> Self {
        ApiError::Internal(format!("unexpected reply: {what:?}"))
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
                    oauth_code(error.as_str()),
                    description.clone(),
                    None,
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

/// The registered OAuth error codes this server sends (RFC 6749, 7009, 7662, 8628, 8693, OIDC
/// Core, CIBA, RFC 7591); anything else is reported as `invalid_request`.
const OAUTH_CODES: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "unsupported_response_type",
    "invalid_scope",
    "access_denied",
    "server_error",
    "temporarily_unavailable",
    "authorization_pending",
    "slow_down",
    "expired_token",
    "login_required",
    "consent_required",
    "interaction_required",
    "account_locked",
    "invalid_target",
    "unsupported_token_type",
    "invalid_token",
    "insufficient_scope",
    "invalid_redirect_uri",
    "invalid_client_metadata",
    "invalid_request_uri",
    "unknown_user_id",
    "delegation_depth_exceeded",
];

fn oauth_code(error: &str) -> &'static str {
    OAUTH_CODES
        .iter()
        .find(|c| **c == error)
        .copied()
        .unwrap_or("invalid_request")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message, details) = self.parts();
        if status.is_server_error()
            && status != StatusCode::SERVICE_UNAVAILABLE
            && status != StatusCode::NOT_IMPLEMENTED
        {
            tracing::error!(error = ?self, "request failed");
        } else {
            tracing::debug!(error = %self, status = status.as_u16(), "request refused");
        }
        let mut body = json!({
            "error": code,
            "error_description": message,
            "message": message,
            "status": status.as_u16(),
        });
        if let (Some(details), Value::Object(map)) = (details, &mut body) {
            map.insert("details".into(), details);
        }
        if let ApiError::Cluster(ClusterError::OAuth { error, .. }) = &self
            && *error == ErrorCode::DelegationDepthExceeded
        {
            body["max_depth"] = json!(lumo_cluster::protocol::limits::MAX_DELEGATION_DEPTH);
        }
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::Cluster(ClusterError::Overloaded { retry_after_secs }) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            ApiError::Cluster(
                ClusterError::NotLeader { .. }
                | ClusterError::WrongShard
                | ClusterError::OrgMoving { .. }
                | ClusterError::OutcomeUnknown { .. }
                | ClusterError::Unavailable { .. },
            ) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::Cluster(ClusterError::OAuth { status: 401, .. }) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"lumo\""),
                );
            }
            ApiError::Cluster(ClusterError::Unauthenticated { .. })
            | ApiError::ClusterTokenRejected => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("ApiKey, Bearer"),
                );
            }
            _ => {}
        }
        response
    }
}

/// Result alias of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
