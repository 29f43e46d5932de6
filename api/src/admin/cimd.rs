//! `POST ~/admin/clients/cimd/check`: Client ID Metadata Documents are not supported by this
//! server yet (discovery says `client_id_metadata_document_supported: false`).

use axum::response::Response;
use lumo_cluster::ClusterError;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Ctx, JsonBody};

pub async fn check(_ctx: Ctx, _json: JsonBody) -> ApiResult<Response> {
    Err(ApiError::Cluster(ClusterError::NotImplemented {
        message: "Client ID Metadata Documents (URL client_ids) are not supported by this server \
                  yet; register clients under /admin/clients or /connect/register"
            .into(),
    }))
}
