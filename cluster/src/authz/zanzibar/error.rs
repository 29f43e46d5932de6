//! Error type shared by every part of the evaluator.

use std::fmt;

/// Errors returned by parsing, validation and evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZanzibarError {
    /// A tuple, object or subject string (or struct) is malformed.
    MalformedTuple(String),
    /// The schema text is invalid; `line` is 1-based when known.
    InvalidSchema {
        /// Human-readable description.
        message: String,
        /// 1-based line number, when the error can be located.
        line: Option<usize>,
    },
    /// A tuple does not conform to the schema.
    InvalidTuple(String),
    /// The object or subject type is not defined in the schema.
    UnknownType(String),
    /// The relation or permission is not defined on the type.
    UnknownRelation {
        /// Type that was looked up.
        object_type: String,
        /// Missing relation or permission name.
        relation: String,
    },
    /// Evaluation needed more than `max` nested frames.
    DepthExceeded {
        /// The limit that was hit.
        max: usize,
    },
    /// Evaluation needed more than `max` steps (frame visits or expand nodes).
    WorkLimitExceeded {
        /// The limit that was hit.
        max: usize,
    },
}

impl ZanzibarError {
    pub(crate) fn schema(message: impl Into<String>, line: Option<usize>) -> Self {
        Self::InvalidSchema {
            message: message.into(),
            line,
        }
    }
}

impl fmt::Display for ZanzibarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MalformedTuple(m) => write!(f, "malformed tuple: {m}"),
            Self::InvalidSchema {
                message,
                line: Some(l),
            } => write!(f, "invalid schema (line {l}): {message}"),
            Self::InvalidSchema {
                message,
                line: None,
            } => write!(f, "invalid schema: {message}"),
            Self::InvalidTuple(m) => write!(f, "tuple does not match schema: {m}"),
            Self::UnknownType(t) => write!(f, "unknown type `{t}`"),
            Self::UnknownRelation {
                object_type,
                relation,
            } => write!(f, "unknown relation `{relation}` on type `{object_type}`"),
            Self::DepthExceeded { max } => write!(f, "evaluation depth exceeded (max {max})"),
            Self::WorkLimitExceeded { max } => {
                write!(f, "evaluation work limit exceeded (max {max})")
            }
        }
    }
}

impl std::error::Error for ZanzibarError {}
