//! The LumoAuth JSON encoder: `{"error": "<code>", "error_description", "message", "status",
//! "details"?}` with the headers the classification calls for.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lumo_cluster::ClusterError;
use lumo_cluster::protocol::ErrorCode;
use serde_json::{Value, json};

use super::{ApiError, Classified};

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let Classified {
            status,
            code,
            message,
            details,
        } = self.classify();
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
        if let ApiError::Cluster(ClusterError::RateLimited {
            retry_after_secs, ..
        }) = &self
        {
            // The contract's rate-limit shape also has it at the top.
            body["retry_after"] = json!(retry_after_secs);
        }
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::Cluster(
                ClusterError::Overloaded { retry_after_secs }
                | ClusterError::RateLimited {
                    retry_after_secs, ..
                },
            ) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            ApiError::Cluster(ClusterError::Mfa {
                retry_after_secs: Some(secs),
                ..
            }) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*secs));
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
