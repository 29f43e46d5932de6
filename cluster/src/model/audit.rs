use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::ids::AuditId;

/// What an `apply` function says happened; the actor fields come from the command.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditEvent {
    pub event_type: &'static str,
    pub action: String,
    pub severity: &'static str,
    pub message: String,
    pub target_type: Option<&'static str>,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    pub old_value: Option<serde_json::Value>,
    pub new_value: Option<serde_json::Value>,
    pub changes: Option<serde_json::Value>,
    pub context: Option<serde_json::Value>,
}

impl AuditEvent {
    /// An event with its type, action and message, at `info` severity.
    pub fn new(
        event_type: &'static str,
        action: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        AuditEvent {
            event_type,
            action: action.into(),
            severity: "info",
            message: message.into(),
            ..AuditEvent::default()
        }
    }

    /// Sets the severity (`info`, `warning`, `critical`).
    pub fn severity(mut self, severity: &'static str) -> Self {
        self.severity = severity;
        self
    }

    /// Sets the target.
    pub fn target(
        mut self,
        kind: &'static str,
        id: impl ToString,
        name: impl Into<String>,
    ) -> Self {
        self.target_type = Some(kind);
        self.target_id = Some(id.to_string());
        self.target_name = Some(name.into());
        self
    }

    /// Sets the field changes (`{field: {from, to}}`).
    pub fn changes(mut self, changes: serde_json::Value) -> Self {
        self.changes = Some(changes);
        self
    }

    /// Sets the value after the change.
    pub fn new_value(mut self, value: serde_json::Value) -> Self {
        self.new_value = Some(value);
        self
    }

    /// Sets the value before the change.
    pub fn old_value(mut self, value: serde_json::Value) -> Self {
        self.old_value = Some(value);
        self
    }
}

/// The hashed part of an audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditBody {
    pub id: AuditId,
    /// The log's time: never earlier than the record before it, so id order is time order.
    pub created_at: Timestamp,
    /// The proposer's clock when the command was made.
    pub event_time: Timestamp,
    pub event_type: String,
    pub action: String,
    pub severity: String,
    pub message: String,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub actor_type: Option<String>,
    pub auth_method: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub status: String,
    pub old_value: Option<serde_json::Value>,
    pub new_value: Option<serde_json::Value>,
    pub changes: Option<serde_json::Value>,
    pub context: Option<serde_json::Value>,
}

/// A stored audit record: the body, chained to the previous record by hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    #[serde(flatten)]
    pub body: AuditBody,
    /// Hex SHA-256 of the previous record (64 zeros for the first record of an org).
    pub prev_hash: String,
    /// Hex `sha256(prev_hash bytes || canonical JSON of body)`.
    pub hash: String,
}

impl AuditRecord {
    /// Seals `body` after `prev_hash`.
    pub fn seal(body: AuditBody, prev_hash: &str) -> AuditRecord {
        let hash = Self::compute_hash(&body, prev_hash);
        AuditRecord {
            body,
            prev_hash: prev_hash.to_string(),
            hash,
        }
    }

    /// The hash this record should carry.
    pub fn compute_hash(body: &AuditBody, prev_hash: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(hex::decode(prev_hash).unwrap_or_default());
        hasher.update(serde_json::to_vec(body).unwrap_or_default());
        hex::encode(hasher.finalize())
    }

    /// True when the stored hash matches the body and `prev_hash`.
    pub fn is_intact(&self) -> bool {
        Self::compute_hash(&self.body, &self.prev_hash) == self.hash
    }
}

/// The end of an org's audit chain, plus the anchor left by compaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditChainHead {
    pub last_id: u64,
    pub last_hash: String,
    /// Hash of the last record removed by retention (the first kept record chains to it).
    pub anchor_hash: String,
    pub compacted_through: u64,
    /// `created_at` of the last record (records never go back in time).
    #[serde(default)]
    pub last_at: Timestamp,
}

impl Default for AuditChainHead {
    fn default() -> Self {
        AuditChainHead {
            last_id: 0,
            last_hash: GENESIS_HASH.to_string(),
            anchor_hash: GENESIS_HASH.to_string(),
            compacted_through: 0,
            last_at: Timestamp(0),
        }
    }
}

/// The `prev_hash` of an org's first audit record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Audit retention settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRetention {
    pub retention_days: u32,
    pub auto_delete: bool,
}

impl Default for AuditRetention {
    fn default() -> Self {
        AuditRetention {
            retention_days: 90,
            auto_delete: true,
        }
    }
}
