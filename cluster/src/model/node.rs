//! What nodes say about themselves and their Raft groups: published in memberships and
//! exchanged in status calls.

use serde::{Deserialize, Serialize};

/// What a node publishes about itself in Raft membership.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub rpc_addr: String,
    pub http_addr: String,
    pub region: Option<String>,
    pub zone: Option<String>,
}

/// What a group holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupKind {
    /// Group 0: the directory.
    Meta,
    /// Org data.
    Shard,
}

impl GroupKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKind::Meta => "meta",
            GroupKind::Shard => "shard",
        }
    }
}

/// The state of one group on one node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupStatus {
    pub group: u64,
    pub kind: String,
    pub leader: Option<u64>,
    pub state: String,
    pub voters: Vec<u64>,
    pub learners: Vec<u64>,
    pub last_log_index: Option<u64>,
    pub committed: Option<u64>,
    pub last_applied: Option<u64>,
}
