use serde::{Deserialize, Serialize};

use crate::command::RaftCommand;
use crate::error::ClusterError;
use crate::query::Outcome;

pub use crate::model::NodeInfo;

/// The result of applying one entry, returned by `client_write`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplyResult(pub Result<Outcome, ClusterError>);

openraft::declare_raft_types!(
    /// Lumo's Raft types: every group (meta and shards) carries [`RaftCommand`]s.
    pub TypeConfig:
        D = RaftCommand,
        R = ApplyResult,
        Node = NodeInfo,
);

/// A Raft group handle.
pub type Raft = openraft::Raft<TypeConfig, super::StateMachine>;
