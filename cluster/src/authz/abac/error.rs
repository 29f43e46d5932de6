//! Validation errors raised while parsing condition JSON.

use std::fmt;

use super::attribute::Scope;

/// A condition document failed validation. Every variant carries the JSON
/// path of the offending item, e.g. `conditions.all[2].value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AbacError {
    /// A JSON value has the wrong type.
    InvalidType {
        /// JSON path of the value.
        path: String,
        /// Human description of the expected type.
        expected: &'static str,
    },
    /// An object contains a field that is not allowed there.
    UnknownField {
        /// JSON path of the field.
        path: String,
    },
    /// A required field is missing.
    MissingField {
        /// JSON path of the missing field.
        path: String,
    },
    /// An attribute reference is malformed or has an unknown prefix.
    InvalidAttribute {
        /// JSON path of the reference.
        path: String,
        /// The reference as written.
        attribute: String,
    },
    /// A `user.`/`resource.` reference names a key missing from the catalog.
    UnknownAttribute {
        /// JSON path of the reference.
        path: String,
        /// Scope of the reference (user or resource).
        scope: Scope,
        /// The unknown attribute slug (first key after the prefix).
        slug: String,
    },
    /// The operator name is not known.
    UnknownOperator {
        /// JSON path of the operator.
        path: String,
        /// The operator as written.
        operator: String,
    },
    /// The comparison value does not fit the operator.
    InvalidValue {
        /// JSON path of the value.
        path: String,
        /// Why the value was rejected.
        reason: String,
    },
    /// A CIDR string for `ip_in_cidr` is malformed.
    InvalidCidr {
        /// JSON path of the CIDR string.
        path: String,
        /// The CIDR as written.
        cidr: String,
    },
    /// Groups are nested deeper than [`super::MAX_DEPTH`].
    TooDeep {
        /// JSON path of the group that is too deep.
        path: String,
        /// The maximum depth.
        max: usize,
    },
    /// More than [`super::MAX_LEAVES`] leaf conditions.
    TooManyLeaves {
        /// JSON path of the first leaf over the limit.
        path: String,
        /// The maximum number of leaves.
        max: usize,
    },
}

impl AbacError {
    /// JSON path of the offending item.
    pub fn path(&self) -> &str {
        match self {
            Self::InvalidType { path, .. }
            | Self::UnknownField { path }
            | Self::MissingField { path }
            | Self::InvalidAttribute { path, .. }
            | Self::UnknownAttribute { path, .. }
            | Self::UnknownOperator { path, .. }
            | Self::InvalidValue { path, .. }
            | Self::InvalidCidr { path, .. }
            | Self::TooDeep { path, .. }
            | Self::TooManyLeaves { path, .. } => path,
        }
    }
}

impl fmt::Display for AbacError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidType { path, expected } => write!(f, "{path}: expected {expected}"),
            Self::UnknownField { path } => write!(f, "{path}: unknown field"),
            Self::MissingField { path } => write!(f, "{path}: missing required field"),
            Self::InvalidAttribute { path, attribute } => write!(
                f,
                "{path}: invalid attribute reference `{attribute}` (expected user.<key>, \
                 subject.<key>, resource.<key>, environment.<key>, env.<key>, action or resourceType)"
            ),
            Self::UnknownAttribute { path, scope, slug } => {
                write!(f, "{path}: unknown {} attribute `{slug}`", scope.as_str())
            }
            Self::UnknownOperator { path, operator } => {
                write!(f, "{path}: unknown operator `{operator}`")
            }
            Self::InvalidValue { path, reason } => write!(f, "{path}: {reason}"),
            Self::InvalidCidr { path, cidr } => write!(f, "{path}: invalid CIDR `{cidr}`"),
            Self::TooDeep { path, max } => {
                write!(f, "{path}: groups nested deeper than {max} levels")
            }
            Self::TooManyLeaves { path, max } => {
                write!(f, "{path}: more than {max} conditions")
            }
        }
    }
}

impl std::error::Error for AbacError {}
