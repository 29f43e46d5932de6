use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::{NodeId, OrgId, ShardId};

/// Lifecycle of an org in the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrgState {
    /// Registered in the directory, not yet initialized in its shard.
    Provisioning,
    /// Serving.
    Active,
    /// Being copied to another shard; requests get a retryable 503 until it is done.
    Moving { to: ShardId },
}

/// One org in the meta group's directory: where it lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryEntry {
    pub org_id: OrgId,
    pub slug: String,
    pub name: String,
    pub number: u64,
    pub shard: ShardId,
    pub epoch: u64,
    pub region: Option<String>,
    pub state: OrgState,
    pub created_at: Timestamp,
}

/// Lifecycle of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeState {
    /// Holds replicas and serves.
    Active,
    /// Replicas and leaders are being moved off it.
    Draining,
    /// Out of the cluster for good (its id is never reused).
    Removed,
}

/// A node as the meta group knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub id: NodeId,
    pub rpc_addr: String,
    pub http_addr: String,
    pub region: Option<String>,
    pub zone: Option<String>,
    pub state: NodeState,
    pub joined_at: Timestamp,
}

/// A shard group as the meta group knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardDescriptor {
    pub id: ShardId,
    pub region: Option<String>,
    pub replicas: Vec<NodeId>,
}
