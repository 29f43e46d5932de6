//! Just-in-time permissions: an agent's ephemeral tasks, the RFC 9396 permission requests made
//! in them, and the time-boxed grants a request turns into.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::{AgentId, UserId};

/// Longest lifetime of a JIT grant and its token (15 minutes).
pub const MAX_JIT_TTL_SECS: u64 = 900;
/// A grant's lifetime when the request names none.
pub const DEFAULT_JIT_TTL_SECS: u64 = 600;
/// How long a pending request waits for a reviewer.
pub const PENDING_TTL_SECS: u64 = 900;
/// How long a task lives.
pub const TASK_TTL_SECS: u64 = 3600;

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskStatus {
    Active,
    Completed,
    Failed,
    Cancelled,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Active => "active",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
        }
    }
}

/// An ephemeral task (sub-identity) of an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JitTask {
    /// `task_…`.
    pub id: String,
    pub agent: AgentId,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub parent_task_id: Option<String>,
    /// The user the agent acts for.
    pub on_behalf_of: Option<UserId>,
    pub caep_session_id: String,
    pub status: TaskStatus,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// Requests made in the task (their grants end with it).
    #[serde(default)]
    pub requests: Vec<String>,
}

impl JitTask {
    /// True while requests may be made and grants used.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.status == TaskStatus::Active && self.expires_at > now
    }
}

/// How risky a request is, judged from its `authorization_details`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RiskLevel {
    Low,
    Medium,
    High,
    Critical,
}

impl RiskLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
            RiskLevel::Critical => "critical",
        }
    }
}

/// Where a request is: waiting for a reviewer, decided, or ended with its task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RequestStatus {
    Pending,
    Approved,
    Denied,
    /// Its grant ended (its task finished, or it was never used before it expired).
    Revoked,
}

/// A JIT permission request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JitRequest {
    /// `jit_…`.
    pub id: String,
    pub task_id: String,
    pub agent: AgentId,
    pub on_behalf_of: Option<UserId>,
    /// The RFC 9396 `authorization_details` (JSON text: the log codec carries no free JSON).
    pub authorization_details: String,
    pub justification: Option<String>,
    pub callback_url: Option<String>,
    pub requested_ttl: u64,
    pub risk: RiskLevel,
    pub status: RequestStatus,
    pub created_at: Timestamp,
    /// Until when a pending request waits.
    pub pending_until: Timestamp,
    pub decided_at: Option<Timestamp>,
    pub decided_by: Option<UserId>,
    pub granted_ttl: Option<u64>,
    /// When the grant ends (decision time + granted ttl).
    pub grant_expires_at: Option<Timestamp>,
    pub notes: Option<String>,
    pub agent_message: Option<String>,
    pub deny_reason: Option<String>,
    /// Tokens issued for the grant (revoked with it).
    #[serde(default)]
    pub token_jtis: Vec<String>,
}

impl JitRequest {
    /// The status as callers see it at `now` (a pending request past its wait is `expired`).
    pub fn status_at(&self, now: Timestamp) -> &'static str {
        match self.status {
            RequestStatus::Pending if self.pending_until <= now => "expired",
            RequestStatus::Pending => "pending",
            RequestStatus::Approved if self.grant_expires_at.is_some_and(|t| t <= now) => "expired",
            RequestStatus::Approved => "approved",
            RequestStatus::Denied => "denied",
            RequestStatus::Revoked => "revoked",
        }
    }

    /// True when a token may be issued for the grant at `now`.
    pub fn grant_usable(&self, now: Timestamp) -> bool {
        self.status == RequestStatus::Approved && self.grant_expires_at.is_some_and(|t| t > now)
    }
}

/// Verbs that only read.
const READ_ACTIONS: &[&str] = &["read", "list", "view", "get", "search", "query", "describe"];
/// Verbs that destroy, move money or touch access.
const CRITICAL_ACTIONS: &[&str] = &[
    "delete",
    "destroy",
    "admin",
    "transfer",
    "pay",
    "grant",
    "revoke",
    "impersonate",
];

/// The risk of `authorization_details` (an object or a list of objects): reads of named
/// resources are low, anything unnamed or wildcard at least high, destructive verbs critical,
/// other writes medium.
pub fn assess_risk(details: &serde_json::Value) -> RiskLevel {
    let items: Vec<&serde_json::Value> = match details {
        serde_json::Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut risk = RiskLevel::Low;
    for item in items {
        let actions: Vec<String> = item
            .get("actions")
            .and_then(|a| a.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_lowercase))
                    .collect()
            })
            .unwrap_or_default();
        let named = item
            .get("identifier")
            .and_then(|i| i.as_str())
            .is_some_and(|i| !i.is_empty() && !i.contains('*'))
            || item
                .get("locations")
                .and_then(|l| l.as_array())
                .is_some_and(|l| {
                    !l.is_empty()
                        && l.iter()
                            .all(|v| v.as_str().is_some_and(|s| !s.contains('*')))
                });
        let item_risk = if actions
            .iter()
            .any(|a| CRITICAL_ACTIONS.contains(&a.as_str()))
        {
            RiskLevel::Critical
        } else if actions.is_empty() || !named {
            RiskLevel::High
        } else if actions.iter().all(|a| READ_ACTIONS.contains(&a.as_str())) {
            RiskLevel::Low
        } else {
            RiskLevel::Medium
        };
        risk = risk.max(item_risk);
    }
    risk
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_of_named_resources_are_low_risk() {
        let read = json!({"type": "file_access", "actions": ["read"], "identifier": "q4.pdf"});
        assert_eq!(assess_risk(&read), RiskLevel::Low);
        let write = json!({"type": "file_access", "actions": ["write"], "identifier": "q4.pdf"});
        assert_eq!(assess_risk(&write), RiskLevel::Medium);
        let any = json!({"type": "file_access", "actions": ["read"], "identifier": "*"});
        assert_eq!(assess_risk(&any), RiskLevel::High);
        let delete = json!([read, {"type": "db", "actions": ["delete"], "identifier": "t"}]);
        assert_eq!(assess_risk(&delete), RiskLevel::Critical);
    }
}
