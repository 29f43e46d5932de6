//! Which class of limit a request counts against, and whose count it is.

use std::hash::{BuildHasher, Hash};

/// The classes of the contract's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RateClass {
    /// Admin API reads (1000 a minute by default).
    AdminRead,
    /// Admin API writes (100 a minute).
    AdminWrite,
    /// `POST ~/oauth/token` per client (30 a minute).
    Token,
    /// Authorization questions: RBAC, relations, AuthZEN, ABAC (10 000 a minute).
    Check,
    /// Audit log exports (10 an hour).
    AuditExport,
}

impl RateClass {
    /// The name used in metrics and error details.
    pub fn as_str(self) -> &'static str {
        match self {
            RateClass::AdminRead => "admin_read",
            RateClass::AdminWrite => "admin_write",
            RateClass::Token => "token",
            RateClass::Check => "check",
            RateClass::AuditExport => "audit_export",
        }
    }

    /// The window the class is counted over, in seconds.
    pub fn window_secs(self) -> i64 {
        match self {
            RateClass::AuditExport => 3_600,
            _ => 60,
        }
    }
}

/// Whose count a request adds to: a hash of its credential (API key or token), of the OAuth
/// client it names, or of the address it came from when it carries neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subject(pub u64);

impl Subject {
    /// The subject named by `value` (hashed with the limiter's keyed hasher).
    pub fn of(hasher: &impl BuildHasher, value: impl Hash) -> Subject {
        Subject(hasher.hash_one(value))
    }
}
