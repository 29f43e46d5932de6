//! Carrying out a planned [`Step`]: hosting groups on nodes, membership changes asked of the
//! group's leader, leadership transfers and the meta group's records of shards.

use super::super::membership::META_GROUP;
use super::super::{ClusterStatus, Service};
use super::MEMBERSHIP_TIMEOUT;
use super::step::Step;
use crate::command::MetaOp;
use crate::error::{ClusterError, Result};
use crate::ids::NodeId;
use crate::model::NodeRecord;
use crate::raft::{GroupKind, NodeInfo};
use crate::transport::{Rpc, RpcReply};

fn info_of(record: &NodeRecord) -> NodeInfo {
    NodeInfo {
        rpc_addr: record.rpc_addr.clone(),
        http_addr: record.http_addr.clone(),
        region: record.region.clone(),
        zone: record.zone.clone(),
    }
}

/// The meta group's record of node `id` in `status`.
fn record_in(status: &ClusterStatus, id: u64) -> Result<&NodeRecord> {
    status
        .meta
        .nodes
        .iter()
        .find(|n| n.id.0 == id)
        .ok_or_else(|| ClusterError::not_found("node", id))
}

impl Service {
    /// Carries out `step`, planned from `status`. Callers hold `placement`.
    pub(super) async fn carry_out(&self, status: &ClusterStatus, step: &Step) -> Result<()> {
        let meta_leader = self.inner.node_id.0;
        match step {
            Step::AddMetaVoter { node } => {
                let record = record_in(status, *node)?;
                self.add_replica(META_GROUP, GroupKind::Meta, record, meta_leader)
                    .await
            }
            Step::RemoveMetaVoter { node } => {
                self.remove_replica(META_GROUP, *node, meta_leader).await
            }
            Step::CreateShard {
                shard,
                region,
                node,
            } => {
                let record = record_in(status, *node)?;
                self.propose_meta(MetaOp::RegisterShard {
                    shard: *shard,
                    region: region.clone(),
                    replicas: vec![*node],
                })
                .await?;
                self.call_node(
                    record,
                    Rpc::HostGroup {
                        group: shard.0,
                        kind: GroupKind::Shard,
                        bootstrap: true,
                    },
                )
                .await?;
                Ok(())
            }
            Step::AddShardReplica {
                shard,
                leader,
                node,
                replicas,
            } => {
                let record = record_in(status, *node)?;
                self.add_replica(shard.0, GroupKind::Shard, record, *leader)
                    .await?;
                self.propose_meta(MetaOp::SetShardReplicas {
                    shard: *shard,
                    replicas: replicas.clone(),
                })
                .await?;
                Ok(())
            }
            Step::RemoveShardReplica {
                shard,
                leader,
                node,
                replicas,
                ..
            } => {
                self.remove_replica(shard.0, *node, *leader).await?;
                self.propose_meta(MetaOp::SetShardReplicas {
                    shard: *shard,
                    replicas: replicas.clone(),
                })
                .await?;
                // Best effort: the removal stands whether or not the node answers.
                if let Ok(record) = record_in(status, *node) {
                    let _ = self
                        .call_node(record, Rpc::DropGroup { group: shard.0 })
                        .await;
                }
                Ok(())
            }
            Step::AddBalancingReplica {
                shard,
                leader,
                node,
                ..
            } => {
                let record = record_in(status, *node)?;
                self.add_replica(shard.0, GroupKind::Shard, record, *leader)
                    .await
            }
            Step::RecordShardReplicas { shard, replicas } => {
                self.propose_meta(MetaOp::SetShardReplicas {
                    shard: *shard,
                    replicas: replicas.clone(),
                })
                .await?;
                Ok(())
            }
            Step::TransferLeader { shard, to, .. } => {
                self.transfer_leader(*shard, NodeId(*to)).await
            }
        }
    }

    /// Sends `rpc` to the node of `record` (answered here when that is this node).
    pub(super) async fn call_node(&self, record: &NodeRecord, rpc: Rpc) -> Result<RpcReply> {
        if record.id == self.inner.node_id {
            return Ok(std::sync::Arc::new(self.clone()).answer_local(rpc).await);
        }
        match self
            .inner
            .peers
            .call(
                record.id.0,
                &record.rpc_addr,
                &rpc,
                MEMBERSHIP_TIMEOUT,
                false,
            )
            .await
        {
            Ok(RpcReply::Error(e)) => Err(super::super::routing::unexpected(RpcReply::Error(e))),
            Ok(reply) => Ok(reply),
            Err(e) => Err(ClusterError::Unavailable {
                message: e.to_string(),
            }),
        }
    }

    /// The meta group's current record of node `id`.
    pub(super) async fn node_record(&self, id: u64) -> Result<NodeRecord> {
        self.meta_snapshot()
            .await?
            .nodes
            .into_iter()
            .find(|n| n.id.0 == id)
            .ok_or_else(|| ClusterError::not_found("node", id))
    }

    /// Hosts `group` on `node` and makes it a voter (asking the group's leader).
    async fn add_replica(
        &self,
        group: u64,
        kind: GroupKind,
        node: &NodeRecord,
        leader: u64,
    ) -> Result<()> {
        self.call_node(
            node,
            Rpc::HostGroup {
                group,
                kind,
                bootstrap: false,
            },
        )
        .await?;
        let change = Rpc::ChangeMembership {
            group,
            add: Some((node.id.0, info_of(node))),
            remove: None,
        };
        let leader = self.node_record(leader).await?;
        self.call_node(&leader, change).await?;
        Ok(())
    }

    /// Removes `node` from the voters of `group` (asking the group's leader).
    async fn remove_replica(&self, group: u64, node: u64, leader: u64) -> Result<()> {
        let change = Rpc::ChangeMembership {
            group,
            add: None,
            remove: Some(node),
        };
        let leader = self.node_record(leader).await?;
        self.call_node(&leader, change).await?;
        Ok(())
    }
}
