//! The one API error type. Every error is classified once ([`Classified`]: status, code, safe
//! message, details, in `classify.rs`); the encoders only present that classification: the
//! LumoAuth JSON shape (`json.rs`), and the browser pages and bearer challenges of the OAuth
//! endpoints (`api/src/oauth/error_page.rs`, `hosted_page.rs`, `userinfo.rs`).

mod classify;
mod json;

pub use classify::Classified;

use std::collections::BTreeMap;

use lumo_cluster::ClusterError;

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
}

/// Result alias of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
