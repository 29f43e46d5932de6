//! Push approvals: an agent asks the user it acts for to approve one action; the user answers
//! on a signed-in device (the hosted approvals page).

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::{AgentId, UserId};
use crate::model::RiskLevel;

/// How long an approval waits for the user.
pub const APPROVAL_TTL_SECS: u64 = 300;

/// Where an approval is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Denied,
}

/// One approval request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentApproval {
    /// `apr_…`: the agent polls with it.
    pub token: String,
    pub agent: AgentId,
    pub user: UserId,
    pub task_id: String,
    pub reason: String,
    pub impact: RiskLevel,
    /// The action's metadata (JSON text).
    pub meta: Option<String>,
    pub status: ApprovalStatus,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub responded_at: Option<Timestamp>,
}

impl AgentApproval {
    /// The status callers see at `now` (a pending approval past its time is `expired`).
    pub fn status_at(&self, now: Timestamp) -> &'static str {
        match self.status {
            ApprovalStatus::Pending if self.expires_at <= now => "expired",
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Denied => "denied",
        }
    }
}

/// The integer the LumoAuth contract shows for a user (`approved_by.user_id`): the low 52 bits
/// of the user's id (stable, and exact in every JSON reader).
pub fn user_number(user: UserId) -> u64 {
    (user.0.0 as u64) & ((1 << 52) - 1)
}
