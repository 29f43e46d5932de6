//! `~/oauth/social/{provider}`: social and enterprise identity providers.

use axum::response::{IntoResponse, Response};
use lumo_cluster::ClusterError;

use crate::error::ApiError;

/// Social and enterprise identity providers are not built yet.
pub async fn social() -> Response {
    ApiError::Cluster(ClusterError::NotImplemented {
        message:
            "social and enterprise identity-provider login is not available on this server yet"
                .into(),
    })
    .into_response()
}
