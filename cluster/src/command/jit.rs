//! The writes of JIT permissions: tasks, requests, reviewer decisions, grant tokens.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::model::{RiskLevel, TaskStatus};

use super::{Issuance, UserKey};

/// A new task of the calling agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTask {
    pub id: String,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub parent_task_id: Option<String>,
    /// The user named in `on_behalf_of` (a delegated token names its user itself).
    pub on_behalf_of: Option<UserKey>,
    pub caep_session_id: String,
    pub expires_at: Timestamp,
}

/// A new permission request in a task of the calling agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewJitRequest {
    pub id: String,
    pub task_id: String,
    /// Validated RFC 9396 `authorization_details` as JSON text.
    pub authorization_details: String,
    pub justification: Option<String>,
    pub callback_url: Option<String>,
    pub requested_ttl: u64,
    pub risk: RiskLevel,
    pub pending_until: Timestamp,
}

/// A reviewer's decision on a pending request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JitDecision {
    pub request_id: String,
    pub approve: bool,
    /// A shorter (or other, at most the maximum) lifetime than requested.
    pub ttl: Option<u64>,
    pub notes: Option<String>,
    pub agent_message: Option<String>,
    pub reason: Option<String>,
}

/// Ends a task (and every grant made in it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishTask {
    pub task_id: String,
    pub status: TaskStatus,
}

/// Records a token for an approved grant (checked in apply: the grant and its task live).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JitIssuance {
    pub request_id: String,
    pub issuance: Issuance,
}

/// An agent's push approval request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApproval {
    pub token: String,
    pub task_id: String,
    pub reason: String,
    pub impact: RiskLevel,
    pub on_behalf_of: UserKey,
    /// JSON text.
    pub meta: Option<String>,
    pub expires_at: Timestamp,
}
