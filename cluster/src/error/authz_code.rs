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
    /// The relation schema does not parse or validate (syntax, unknown names, cycles, size).
    InvalidSchema,
    /// A tuple, object or subject string is malformed or does not fit the schema.
    InvalidTuple,
    /// The object type is not defined in the schema.
    UnknownType,
    /// The relation or permission is not defined on the object type.
    UnknownRelation,
    /// Tuples were written before any schema.
    SchemaRequired,
    /// The new schema would no longer admit tuples that exist.
    SchemaConflict,
    /// A tuple precondition did not hold; nothing was written.
    PreconditionFailed,
    /// An evaluation went deeper, or did more work, than allowed.
    DepthExceeded,
    /// ABAC policy conditions are malformed (JSON types, operators, values, nesting).
    InvalidConditions,
    /// A condition or a value names an attribute the org has not defined.
    UnknownAttribute,
    /// An attribute value does not fit the attribute's data type.
    InvalidAttributeValue,
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
            AuthzCode::InvalidSchema => "INVALID_SCHEMA",
            AuthzCode::InvalidTuple => "INVALID_TUPLE",
            AuthzCode::UnknownType => "UNKNOWN_TYPE",
            AuthzCode::UnknownRelation => "UNKNOWN_RELATION",
            AuthzCode::SchemaRequired => "SCHEMA_REQUIRED",
            AuthzCode::SchemaConflict => "SCHEMA_CONFLICT",
            AuthzCode::PreconditionFailed => "PRECONDITION_FAILED",
            AuthzCode::DepthExceeded => "DEPTH_EXCEEDED",
            AuthzCode::InvalidConditions => "INVALID_CONDITIONS",
            AuthzCode::UnknownAttribute => "UNKNOWN_ATTRIBUTE",
            AuthzCode::InvalidAttributeValue => "INVALID_ATTRIBUTE_VALUE",
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
            | AuthzCode::InvalidSubject
            | AuthzCode::InvalidSchema
            | AuthzCode::InvalidTuple
            | AuthzCode::UnknownType
            | AuthzCode::UnknownRelation
            | AuthzCode::SchemaRequired
            | AuthzCode::DepthExceeded
            | AuthzCode::InvalidConditions
            | AuthzCode::UnknownAttribute
            | AuthzCode::InvalidAttributeValue => 400,
            AuthzCode::SchemaConflict | AuthzCode::PreconditionFailed => 409,
        }
    }
}
