//! Raft messages as they cross the internal RPC: the transport carries them as opaque bytes
//! (`Rpc::Raft`, `Rpc::Snapshot`), this module gives those bytes their openraft types.

use openraft::alias::{SnapshotMetaOf, SnapshotOf, VoteOf};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use serde::{Deserialize, Serialize};

use super::{GroupHandle, SnapshotFile, TypeConfig};
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
    /// How many bytes of a snapshot transfer the receiver holds.
    Received {
        held: u64,
    },
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

    /// Writes a chunk of a snapshot the group's leader is sending; answers the bytes held.
    pub async fn receive_snapshot_chunk(
        &self,
        transfer: &str,
        len: u64,
        offset: u64,
        data: &[u8],
    ) -> Result<Vec<u8>> {
        let held = self
            .inbox
            .receive(transfer, len, offset, data)
            .await
            .map_err(|e| ClusterError::internal(format!("snapshot chunk: {e}")))?;
        encode(&RaftRpcReply::Received { held }).map_err(ClusterError::internal)
    }

    /// Checks and installs a snapshot whose bytes were all received.
    pub async fn install_snapshot(
        &self,
        header: &[u8],
        transfer: &str,
        len: u64,
        checksum: [u8; 32],
    ) -> Result<Vec<u8>> {
        let SnapshotHeader { vote, meta } = decode(header)
            .map_err(|e| ClusterError::internal(format!("undecodable snapshot header: {e}")))?;
        let (_, file) = self
            .inbox
            .complete(transfer, len, checksum)
            .await
            .map_err(|e| ClusterError::internal(format!("received snapshot: {e}")))?;
        let snapshot = SnapshotOf::<TypeConfig, SnapshotFile> {
            meta,
            snapshot: file,
        };
        let reply = self
            .raft
            .install_full_snapshot(vote, snapshot)
            .await
            .map_err(unavailable)?;
        encode(&RaftRpcReply::Snapshot(reply)).map_err(ClusterError::internal)
    }
}
