//! SCIM 2.0 (RFC 7643/7644) at `~/scim/v2` and `~/scim2.0`: Users, Groups, `.search`, Bulk and
//! discovery, over the same user and group records as the admin API. The credential is the
//! org's inbound SCIM token (settings `scim.inbound`); the org's API keys are not SCIM
//! credentials. Errors use the SCIM error shape with `scimType`.

mod bulk;
mod discovery;
pub mod filter;
mod list;
mod mapping;
pub mod patch;
mod resources;
mod routes;
mod store;

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lumo_cluster::ClusterError;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::Ctx;
use crate::oauth::proto::base_url;

pub use routes::{me_router, router};

pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const MEDIA_TYPE: &str = "application/scim+json";

/// A SCIM error: status, `scimType`, detail.
#[derive(Debug)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<String>,
    pub detail: String,
}

impl ScimError {
    pub fn new(status: StatusCode, scim_type: Option<&str>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type: scim_type.map(str::to_string),
            detail: detail.into(),
        }
    }

    pub fn bad(scim_type: &str, detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn not_found(what: &str) -> Self {
        ScimError::new(StatusCode::NOT_FOUND, None, format!("{what} not found"))
    }

    /// The error as a Bulk operation's `response`.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_URN],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = &self.scim_type {
            body["scimType"] = json!(t);
        }
        body
    }
}

impl From<ApiError> for ScimError {
    fn from(error: ApiError) -> Self {
        let class = error.classify();
        let scim_type = match &error {
            ApiError::Cluster(ClusterError::Scim { scim_type, .. }) => scim_type.clone(),
            ApiError::Cluster(ClusterError::Conflict { .. }) => Some("uniqueness".into()),
            ApiError::Cluster(ClusterError::Validation { .. }) | ApiError::Invalid { .. } => {
                Some("invalidValue".into())
            }
            ApiError::Cluster(ClusterError::InvalidQuery { .. }) => Some("invalidFilter".into()),
            ApiError::BadRequest(_) => Some("invalidSyntax".into()),
            _ => None,
        };
        ScimError {
            status: class.status,
            scim_type,
            detail: class.message,
        }
    }
}

impl From<ClusterError> for ScimError {
    fn from(error: ClusterError) -> Self {
        ApiError::Cluster(error).into()
    }
}

impl From<resources::Invalid> for ScimError {
    fn from((scim_type, detail): resources::Invalid) -> Self {
        ScimError::bad(scim_type, detail)
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
        response
    }
}

pub type ScimResult<T> = Result<T, ScimError>;

/// A SCIM JSON answer (with the resource's version as its ETag, when it has one).
pub fn answer(status: StatusCode, body: Value) -> Response {
    let etag = body["meta"]["version"].as_str().map(str::to_string);
    let location = body["meta"]["location"].as_str().map(str::to_string);
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    if let Some(etag) = etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        headers.insert(header::ETAG, etag);
    }
    if status == StatusCode::CREATED
        && let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok())
    {
        headers.insert(header::LOCATION, location);
    }
    response
}

/// The SCIM root URL of the org, as the caller reaches it.
pub fn base(ctx: &Ctx, headers: &HeaderMap) -> String {
    format!(
        "{}/orgs/{}/api/v1/scim/v2",
        base_url(&ctx.state, headers),
        ctx.org
    )
}
