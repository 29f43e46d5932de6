//! Zanzibar relations as stored: the org's schema, its tuples (keyed by their text form, so a
//! prefix scan lists an object type or one object), and the change feed.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;

/// The org's relation schema, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSchema {
    pub text: String,
    pub updated_at: Timestamp,
    /// The log index of the write that set it.
    pub revision: u64,
}

/// One relation tuple (the key is its text, `document:1#viewer@user:bob`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTuple {
    pub written_at: Timestamp,
    pub revision: u64,
}

/// What happened to a tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TupleChangeKind {
    Write,
    Delete,
}

/// One entry of the change feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TupleChange {
    pub seq: u64,
    /// The log index of the write that made it.
    pub revision: u64,
    pub at: Timestamp,
    pub kind: TupleChangeKind,
    pub tuple: String,
}
