//! The Raft network of a group over the internal RPC transport. Peer addresses come with the
//! membership (`NodeInfo::rpc_addr`); every message names its group so one connection per peer
//! serves all groups.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use openraft::OptionalSend;
use openraft::alias::{SnapshotOf, VoteOf};
use openraft::error::{NetworkError, RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory, v2::RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};

use super::snapshot_file::SnapshotFile;
use super::snapshot_transfer::{self, ChunkLink, PushError};
use super::types::{NodeInfo, TypeConfig};
use super::wire::{self, RaftRpc, RaftRpcReply, SnapshotHeader};
use crate::transport::{Peers, Rpc, RpcReply, TransportError};

/// How long one snapshot chunk may take to be written by the peer.
const CHUNK_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a peer may take to check and install a received snapshot.
const SNAPSHOT_INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

/// Creates a [`Network`] per peer of one group.
#[derive(Clone)]
pub struct NetworkFactory {
    group: u64,
    peers: Arc<Peers>,
}

impl NetworkFactory {
    /// The factory of `group`, sending through `peers`.
    pub fn new(group: u64, peers: Arc<Peers>) -> Self {
        NetworkFactory { group, peers }
    }
}

/// The connection of one group to one peer.
pub struct Network {
    target: u64,
    addr: String,
    group: u64,
    peers: Arc<Peers>,
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = Network;

    async fn new_client(&mut self, target: u64, node: &NodeInfo) -> Network {
        Network {
            target,
            addr: node.rpc_addr.clone(),
            group: self.group,
            peers: self.peers.clone(),
        }
    }
}

fn rpc_error(e: TransportError) -> RPCError<TypeConfig> {
    match e {
        TransportError::Unreachable(..) => RPCError::Unreachable(Unreachable::new(&e)),
        other => RPCError::Network(NetworkError::new(&other)),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("peer answered a raft message with {0}")]
struct WrongAnswer(String);

#[derive(Debug, thiserror::Error)]
#[error("raft message could not be encoded: {0}")]
struct Unencodable(String);

fn unencodable(e: String) -> RPCError<TypeConfig> {
    RPCError::Network(NetworkError::new(&Unencodable(e)))
}

impl Network {
    async fn call(
        &self,
        rpc: RaftRpc,
        timeout: Duration,
        bulk: bool,
    ) -> Result<RaftRpcReply, RPCError<TypeConfig>> {
        let request = Rpc::Raft {
            group: self.group,
            rpc: wire::encode(&rpc).map_err(unencodable)?,
        };
        self.send(request, timeout, bulk).await
    }

    async fn send(
        &self,
        request: Rpc,
        timeout: Duration,
        bulk: bool,
    ) -> Result<RaftRpcReply, RPCError<TypeConfig>> {
        match self
            .peers
            .call(self.target, &self.addr, &request, timeout, bulk)
            .await
        {
            Ok(RpcReply::Raft(reply)) => wire::decode(&reply)
                .map_err(|e| RPCError::Network(NetworkError::new(&WrongAnswer(e)))),
            Ok(RpcReply::Error(e)) => Err(RPCError::Network(NetworkError::new(&WrongAnswer(
                String::from_utf8_lossy(&e).into_owned(),
            )))),
            Ok(other) => Err(RPCError::Network(NetworkError::new(&WrongAnswer(format!(
                "{other:?}"
            ))))),
            Err(e) => Err(rpc_error(e)),
        }
    }
}

fn unexpected(reply: RaftRpcReply) -> RPCError<TypeConfig> {
    RPCError::Network(NetworkError::new(&WrongAnswer(format!("{reply:?}"))))
}

/// Snapshot chunks to one peer, over its bulk connection.
struct ChunkSender<'a> {
    network: &'a Network,
}

impl ChunkLink for ChunkSender<'_> {
    type Error = RPCError<TypeConfig>;

    fn send(
        &mut self,
        transfer: &str,
        len: u64,
        offset: u64,
        data: Vec<u8>,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send {
        let request = Rpc::SnapshotChunk {
            group: self.network.group,
            transfer: transfer.to_string(),
            len,
            offset,
            data,
        };
        async move {
            match self.network.send(request, CHUNK_TIMEOUT, true).await? {
                RaftRpcReply::Received { held } => Ok(held),
                other => Err(unexpected(other)),
            }
        }
    }
}

impl RaftNetworkV2<TypeConfig> for Network {
    type SnapshotData = SnapshotFile;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        match self
            .call(RaftRpc::Append(rpc), option.soft_ttl(), false)
            .await?
        {
            RaftRpcReply::Append(r) => Ok(r),
            other => Err(unexpected(other)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        match self
            .call(RaftRpc::Vote(rpc), option.soft_ttl(), false)
            .await?
        {
            RaftRpcReply::Vote(r) => Ok(r),
            other => Err(unexpected(other)),
        }
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        match self
            .call(RaftRpc::PreVote(rpc), option.soft_ttl(), false)
            .await?
        {
            RaftRpcReply::Vote(r) => Ok(r),
            other => Err(unexpected(other)),
        }
    }

    async fn full_snapshot(
        &mut self,
        vote: VoteOf<TypeConfig>,
        snapshot: SnapshotOf<TypeConfig, Self::SnapshotData>,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let ship = async {
            let file = &snapshot.snapshot;
            let chunk = self.peers.snapshot_chunk();
            let mut link = ChunkSender { network: self };
            match snapshot_transfer::push(file, chunk, &mut link).await {
                Ok(_) => {}
                Err(PushError::Link(e)) => return Err(e),
                Err(PushError::Io(e)) => return Err(RPCError::Network(NetworkError::new(&e))),
                Err(PushError::Confused(held)) => {
                    return Err(RPCError::Network(NetworkError::new(&WrongAnswer(format!(
                        "the peer holds {held} bytes of a {}-byte snapshot",
                        file.len
                    )))));
                }
            }
            let header = SnapshotHeader {
                vote,
                meta: snapshot.meta.clone(),
            };
            let request = Rpc::Snapshot {
                group: self.group,
                header: wire::encode(&header).map_err(unencodable)?,
                transfer: file.transfer_id(),
                len: file.len,
                checksum: file.checksum,
            };
            self.send(request, SNAPSHOT_INSTALL_TIMEOUT, true).await
        };
        tokio::select! {
            result = ship => match result {
                Ok(RaftRpcReply::Snapshot(r)) => Ok(r),
                Ok(other) => Err(StreamingError::Network(NetworkError::new(&WrongAnswer(format!("{other:?}"))))),
                Err(RPCError::Unreachable(u)) => Err(StreamingError::Unreachable(u)),
                Err(RPCError::Network(n)) => Err(StreamingError::Network(n)),
                Err(RPCError::Timeout(t)) => Err(StreamingError::Timeout(t)),
                Err(other) => Err(StreamingError::Network(NetworkError::new(&other))),
            },
            closed = cancel => Err(StreamingError::Closed(closed)),
        }
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RPCError<TypeConfig>> {
        match self
            .call(RaftRpc::TransferLeader(req), option.soft_ttl(), false)
            .await?
        {
            RaftRpcReply::TransferLeader(r) => Ok(r),
            other => Err(unexpected(other)),
        }
    }
}
