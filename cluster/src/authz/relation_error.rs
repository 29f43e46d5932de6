//! How the Zanzibar evaluator's errors reach callers: each as the engines' error code.

use super::zanzibar::ZanzibarError;
use crate::error::{AuthzCode, ClusterError};

/// The caller's error for `e`.
pub fn relation_error(e: ZanzibarError) -> ClusterError {
    let code = match &e {
        ZanzibarError::MalformedTuple(_) | ZanzibarError::InvalidTuple(_) => {
            AuthzCode::InvalidTuple
        }
        ZanzibarError::InvalidSchema { .. } => AuthzCode::InvalidSchema,
        ZanzibarError::UnknownType(_) => AuthzCode::UnknownType,
        ZanzibarError::UnknownRelation { .. } => AuthzCode::UnknownRelation,
        ZanzibarError::DepthExceeded { .. } | ZanzibarError::WorkLimitExceeded { .. } => {
            AuthzCode::DepthExceeded
        }
    };
    ClusterError::authz(code, e.to_string())
}
