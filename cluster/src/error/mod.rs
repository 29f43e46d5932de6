//! The one error type of the cluster crate. Domain errors are decided deterministically inside
//! `apply` (every replica reaches the same one) and travel back to the caller; the API maps each
//! variant to an HTTP status in exactly one place (`api/src/error.rs`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod authz_code;
mod mfa_code;
mod oauth_code;

pub use authz_code::AuthzCode;
pub use mfa_code::MfaCode;
pub use oauth_code::ErrorCode;

use crate::ids::NodeId;

/// Everything that can go wrong behind [`crate::Service`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ClusterError {
    /// Input that is well-formed but not acceptable; `details` maps field to problem.
    #[error("{message}")]
    Validation {
        message: String,
        details: BTreeMap<String, String>,
    },
    /// A malformed query parameter (sort field, filter value).
    #[error("{message}")]
    InvalidQuery { message: String },
    /// An id or slug that does not exist in this org.
    #[error("{resource} not found: {id}")]
    NotFound { resource: String, id: String },
    /// A uniqueness rule (email, slug, name) or a state conflict.
    #[error("{message}")]
    Conflict {
        message: String,
        field: Option<String>,
    },
    /// No credential, or one that is unknown, revoked or expired.
    #[error("{message}")]
    Unauthenticated { message: String },
    /// A valid credential without the scope this request needs.
    #[error("{message}")]
    Forbidden {
        message: String,
        required_scopes: Vec<String>,
        granted_scopes: Vec<String>,
    },
    /// The credential belongs to another organization than the one in the path.
    #[error("credential does not belong to this organization")]
    WrongOrganization,
    /// A change to a system (built-in) entity, which is protected.
    #[error("{message}")]
    Protected { message: String },
    /// An endpoint that was removed on purpose.
    #[error("{message}")]
    Gone { message: String },
    /// The org actor has too many requests in flight.
    #[error("organization is overloaded, retry later")]
    Overloaded { retry_after_secs: u64 },
    /// The caller used up a rate limit of `class` for the current window.
    #[error(
        "rate limit exceeded: {limit} {class} requests per window; retry in {retry_after_secs}s"
    )]
    RateLimited {
        class: String,
        limit: u32,
        retry_after_secs: u64,
    },
    /// A limit of the org's (e.g. its live sandboxes) is reached.
    #[error("{message}")]
    QuotaExceeded { message: String },
    /// No organization with this slug.
    #[error("organization not found: {slug}")]
    OrgNotFound { slug: String },
    /// This node does not lead the group; `leader` is the node that does, if known.
    #[error("not the leader")]
    NotLeader { leader: Option<NodeId> },
    /// The org moved to another shard (stale epoch).
    #[error("organization moved, retry")]
    WrongShard,
    /// The org is being moved between shards right now.
    #[error("organization {slug} is moving to another shard; retry")]
    OrgMoving { slug: String },
    /// The cluster cannot serve now (no leader, shutting down); nothing was applied; retryable.
    #[error("{message}")]
    Unavailable { message: String },
    /// A write whose fate is unknown (it may still be applied): a timeout after it was sent,
    /// or a leadership change while it was in flight. Never retried automatically.
    #[error("{message}")]
    OutcomeUnknown { message: String },
    /// An OAuth protocol refusal (RFC 6749 section 5.2 and the extensions' codes): `error` is
    /// the registered code, `status` the HTTP status it is sent with.
    #[error("{error}: {description}")]
    OAuth {
        error: ErrorCode,
        description: String,
        status: u16,
    },
    /// An authorization engine refused the question or the change.
    #[error("{message}")]
    Authz { code: AuthzCode, message: String },
    /// A SCIM protocol refusal (RFC 7644 section 3.12): the HTTP status and the `scimType`
    /// (`mutability`, `invalidValue`, ...; none for a version mismatch).
    #[error("{detail}")]
    Scim {
        status: u16,
        scim_type: Option<String>,
        detail: String,
    },
    /// A capability that is not built yet.
    #[error("{message}")]
    NotImplemented { message: String },
    /// A bug or a storage failure; the detail is logged, not shown.
    #[error("internal error: {message}")]
    Internal { message: String },
    /// Multi-factor authentication refused; a wrong answer says how many attempts are left, a
    /// lockout when to come back.
    #[error("{message}")]
    Mfa {
        code: MfaCode,
        message: String,
        attempts_remaining: Option<u32>,
        retry_after_secs: Option<u64>,
    },
}

impl ClusterError {
    /// A validation error about one field.
    pub fn invalid(field: &str, problem: impl Into<String>) -> Self {
        let problem = problem.into();
        let mut details = BTreeMap::new();
        details.insert(field.to_string(), problem.clone());
        ClusterError::Validation {
            message: format!("{field}: {problem}"),
            details,
        }
    }

    /// A not-found error.
    pub fn not_found(resource: &str, id: impl ToString) -> Self {
        ClusterError::NotFound {
            resource: resource.to_string(),
            id: id.to_string(),
        }
    }

    /// A conflict on `field`.
    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        ClusterError::Conflict {
            message: message.into(),
            field: Some(field.to_string()),
        }
    }

    /// An OAuth refusal with HTTP 400 (`invalid_grant`, `invalid_request`, ...).
    pub fn oauth(error: ErrorCode, description: impl Into<String>) -> Self {
        ClusterError::OAuth {
            error,
            description: description.into(),
            status: 400,
        }
    }

    /// `invalid_client` (HTTP 401): the client could not be authenticated.
    pub fn invalid_client(description: impl Into<String>) -> Self {
        ClusterError::OAuth {
            error: ErrorCode::InvalidClient,
            description: description.into(),
            status: 401,
        }
    }

    /// An AAuth refusal with HTTP 401: a signature or token that does not prove who calls.
    pub fn unauthenticated(error: ErrorCode, description: impl Into<String>) -> Self {
        ClusterError::OAuth {
            error,
            description: description.into(),
            status: 401,
        }
    }

    /// A protected system entity.
    pub fn authz(code: AuthzCode, message: impl Into<String>) -> Self {
        ClusterError::Authz {
            code,
            message: message.into(),
        }
    }

    /// An MFA refusal without attempt or retry details.
    pub fn mfa(code: MfaCode, message: impl Into<String>) -> Self {
        ClusterError::Mfa {
            code,
            message: message.into(),
            attempts_remaining: None,
            retry_after_secs: None,
        }
    }

    /// A SCIM refusal.
    pub fn scim(status: u16, scim_type: Option<&str>, detail: impl Into<String>) -> Self {
        ClusterError::Scim {
            status,
            scim_type: scim_type.map(str::to_string),
            detail: detail.into(),
        }
    }

    pub fn protected(message: impl Into<String>) -> Self {
        ClusterError::Protected {
            message: message.into(),
        }
    }

    /// An internal failure.
    pub fn internal(message: impl ToString) -> Self {
        ClusterError::Internal {
            message: message.to_string(),
        }
    }
}

impl From<lumo_storage::StorageError> for ClusterError {
    fn from(e: lumo_storage::StorageError) -> Self {
        ClusterError::internal(format!("storage: {e}"))
    }
}

impl From<serde_json::Error> for ClusterError {
    fn from(e: serde_json::Error) -> Self {
        ClusterError::internal(format!("codec: {e}"))
    }
}

/// Result alias of this crate.
pub type Result<T, E = ClusterError> = std::result::Result<T, E>;
