//! The Raft network of a group. A one-node cluster never sends a Raft RPC; the internal TCP
//! transport between nodes (DESIGN.md section 7) plugs in here with the multi-node cluster, so
//! until then every RPC reports the peer as unreachable.

use std::future::Future;

use openraft::OptionalSend;
use openraft::alias::{SnapshotOf, VoteOf};
use openraft::error::{RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory, v2::RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};

use super::types::{NodeInfo, TypeConfig};

#[derive(Debug, thiserror::Error)]
#[error("node {target} of group {group} is unreachable: this node has no internal RPC transport")]
struct NoTransport {
    target: u64,
    group: u64,
}

/// Creates a [`Network`] per peer of one group.
#[derive(Clone, Debug)]
pub struct NetworkFactory {
    group: u64,
}

impl NetworkFactory {
    /// The factory of `group`.
    pub fn new(group: u64) -> Self {
        NetworkFactory { group }
    }
}

/// The connection of one group to one peer.
pub struct Network {
    target: u64,
    group: u64,
}

impl Network {
    fn unreachable(&self) -> Unreachable<TypeConfig> {
        Unreachable::new(&NoTransport {
            target: self.target,
            group: self.group,
        })
    }
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = Network;

    async fn new_client(&mut self, target: u64, _node: &NodeInfo) -> Network {
        Network {
            target,
            group: self.group,
        }
    }
}

impl RaftNetworkV2<TypeConfig> for Network {
    type SnapshotData = std::io::Cursor<Vec<u8>>;

    async fn append_entries(
        &mut self,
        _rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        Err(RPCError::Unreachable(self.unreachable()))
    }

    async fn vote(
        &mut self,
        _rpc: VoteRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        Err(RPCError::Unreachable(self.unreachable()))
    }

    async fn full_snapshot(
        &mut self,
        _vote: VoteOf<TypeConfig>,
        _snapshot: SnapshotOf<TypeConfig, Self::SnapshotData>,
        _cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        Err(StreamingError::Unreachable(self.unreachable()))
    }
}
