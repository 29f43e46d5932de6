//! The page a browser gets when the authorization server refuses or fails (never a
//! redirect: the client could not be trusted with it).

use axum::http::StatusCode;
use axum::response::Response;
use lumo_cluster::ClusterError;

use super::pages::{self, Look};
use super::proto::Proto;
use crate::error::ApiError;

/// A page for an error the authorization server returned instead of an outcome.
pub async fn error_page(proto: &Proto, error: ApiError) -> Response {
    let class = error.classify();
    let (status, code, text) = match class.status {
        StatusCode::NOT_FOUND if class.code == "tenant_not_found" => (
            StatusCode::NOT_FOUND,
            class.code,
            "This organization does not exist.".to_string(),
        ),
        StatusCode::SERVICE_UNAVAILABLE => (
            StatusCode::SERVICE_UNAVAILABLE,
            class.code,
            "The service is busy. Please try again in a moment.".to_string(),
        ),
        // Refusals of the request itself are shown as they are, as a bad request.
        _ if matches!(
            error,
            ApiError::Cluster(ClusterError::OAuth { .. }) | ApiError::BadRequest(_)
        ) =>
        {
            (StatusCode::BAD_REQUEST, class.code, class.message)
        }
        _ => {
            tracing::error!(error = ?error, "authorization page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "Something went wrong. Please try again.".to_string(),
            )
        }
    };
    let look = if status == StatusCode::NOT_FOUND {
        Look::new(lumo_cluster::protocol::Branding {
            org_name: "Not found".into(),
            primary_color: "#4f46e5".into(),
            background_color: "#f8fafc".into(),
            button_text: "Sign in".into(),
            ..Default::default()
        })
    } else {
        proto.look().await
    };
    pages::message(status, look, "Something is not right", &text, Some(code))
}
