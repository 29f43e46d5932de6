//! The error codes of the authorization engines, as the LumoAuth SDK reads them
//! (UPPER_SNAKE, each with its HTTP status).

use serde::{Deserialize, Serialize};

/// Why an authorization question or an authorization admin change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthzCode {
    /// The subject is not a user or agent of the org.
    SubjectNotFound,
    /// The caller may not ask about another subject, or expand.
    InsufficientPermissions,
    /// `permission` is missing or empty.
    MissingPermission,
    /// A required field is missing.
    MissingFields,
    /// `permissions` is not a list of 1 to 100 non-empty strings.
    InvalidPermissions,
    /// `subject` is not `{type: user|agent, id}`.
    InvalidSubject,
}

impl AuthzCode {
    /// The code on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthzCode::SubjectNotFound => "SUBJECT_NOT_FOUND",
            AuthzCode::InsufficientPermissions => "INSUFFICIENT_PERMISSIONS",
            AuthzCode::MissingPermission => "MISSING_PERMISSION",
            AuthzCode::MissingFields => "MISSING_FIELDS",
            AuthzCode::InvalidPermissions => "INVALID_PERMISSIONS",
            AuthzCode::InvalidSubject => "INVALID_SUBJECT",
        }
    }

    /// The HTTP status it is answered with.
    pub const fn status(self) -> u16 {
        match self {
            AuthzCode::SubjectNotFound => 404,
            AuthzCode::InsufficientPermissions => 403,
            AuthzCode::MissingPermission
            | AuthzCode::MissingFields
            | AuthzCode::InvalidPermissions
            | AuthzCode::InvalidSubject => 400,
        }
    }
}
