//! Raft messages as they cross the internal RPC: the transport carries them as opaque bytes
//! (`Rpc::Raft`, `Rpc::Snapshot`), this module gives those bytes their openraft types.

use std::io::Cursor;

use openraft::alias::{SnapshotMetaOf, SnapshotOf, VoteOf};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use serde::{Deserialize, Serialize};

use super::{GroupHandle, TypeConfig};
use crate::error::{ClusterError, Result};

/// Raft messages for one group, other than snapshots.
#[derive(Debug, Serialize, Deserialize)]
pub enum RaftRpc {
    Append(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<TypeConfig>),
    PreVote(VoteRequest<TypeConfig>),
    TransferLeader(TransferLeaderRequest<TypeConfig>),
}

/// What travels ahead of a snapshot's data.
#[derive(Debug, Serialize, Deserialize)]
pub struct SnapshotHeader {
    pub vote: VoteOf<TypeConfig>,
    pub meta: SnapshotMetaOf<TypeConfig>,
}

/// Answers to [`RaftRpc`] and to snapshots.
#[derive(Debug, Serialize, Deserialize)]
pub enum RaftRpcReply {
    Append(AppendEntriesResponse<TypeConfig>),
    Vote(VoteResponse<TypeConfig>),
    Snapshot(SnapshotResponse<TypeConfig>),
    TransferLeader(TransferLeaderResponse<TypeConfig>),
}

/// bincode of a Raft message.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    crate::transport::to_bytes(value)
}

/// A Raft message from bincode.
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    crate::transport::from_bytes(bytes)
}

fn unavailable(e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Unavailable {
        message: e.to_string(),
    }
}

impl GroupHandle {
    /// Hands a peer's Raft message to this replica; the answer is bincode [`RaftRpcReply`].
    pub async fn answer_raft_message(&self, rpc: &[u8]) -> Result<Vec<u8>> {
        let rpc: RaftRpc = decode(rpc)
            .map_err(|e| ClusterError::internal(format!("undecodable raft message: {e}")))?;
        let reply = match rpc {
            RaftRpc::Append(req) => {
                RaftRpcReply::Append(self.raft.append_entries(req).await.map_err(unavailable)?)
            }
            RaftRpc::Vote(req) => {
                RaftRpcReply::Vote(self.raft.vote(req).await.map_err(unavailable)?)
            }
            RaftRpc::PreVote(req) => {
                RaftRpcReply::Vote(self.raft.pre_vote(req).await.map_err(unavailable)?)
            }
            RaftRpc::TransferLeader(req) => RaftRpcReply::TransferLeader(
                self.raft
                    .handle_transfer_leader(req)
                    .await
                    .map_err(unavailable)?,
            ),
        };
        encode(&reply).map_err(ClusterError::internal)
    }

    /// Installs a whole snapshot sent by the group's leader.
    pub async fn install_snapshot(&self, header: &[u8], data: Vec<u8>) -> Result<Vec<u8>> {
        let SnapshotHeader { vote, meta } = decode(header)
            .map_err(|e| ClusterError::internal(format!("undecodable snapshot header: {e}")))?;
        let snapshot = SnapshotOf::<TypeConfig, Cursor<Vec<u8>>> {
            meta,
            snapshot: Cursor::new(data),
        };
        let reply = self
            .raft
            .install_full_snapshot(vote, snapshot)
            .await
            .map_err(unavailable)?;
        encode(&RaftRpcReply::Snapshot(reply)).map_err(ClusterError::internal)
    }
}
