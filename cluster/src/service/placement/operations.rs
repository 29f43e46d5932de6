//! Membership operations an operator asks for through the cluster admin API: moving a
//! shard's leadership, creating a shard, draining and removing nodes, and rebalancing now.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::super::membership::META_GROUP;
use super::super::{ClusterStatus, Service};
use super::MEMBERSHIP_TIMEOUT;
use crate::command::MetaOp;
use crate::error::{ClusterError, Result};
use crate::ids::{NodeId, ShardId};
use crate::model::{NodeRecord, NodeState};
use crate::raft::GroupKind;
use crate::transport::{Rpc, RpcReply};

/// Leader and voters of `group`, from the node that leads it.
fn group_view(status: &ClusterStatus, group: u64) -> Option<(u64, Vec<u64>)> {
    status.nodes.iter().find_map(|node| {
        node.groups
            .iter()
            .find(|g| g.group == group && g.state == "leader")
            .map(|g| (node.node, g.voters.clone()))
    })
}

impl Service {
    /// Moves the leadership of `shard` to node `to` (which must hold a replica).
    pub async fn transfer_leader(&self, shard: ShardId, to: NodeId) -> Result<()> {
        let status = self.cluster_status().await?;
        if !status.meta.shards.iter().any(|s| s.id == shard) && shard.0 != META_GROUP {
            return Err(ClusterError::not_found("shard", shard));
        }
        let (leader, voters) =
            group_view(&status, shard.0).ok_or_else(|| ClusterError::Unavailable {
                message: format!("shard {shard} has no leader right now"),
            })?;
        if !voters.contains(&to.0) {
            return Err(ClusterError::invalid(
                "to",
                format!("node {to} holds no replica of shard {shard}"),
            ));
        }
        if leader == to.0 {
            return Ok(());
        }
        let record = self.node_record(leader).await?;
        self.call_node(
            &record,
            Rpc::TransferLeader {
                group: shard.0,
                to: to.0,
            },
        )
        .await?;
        Ok(())
    }

    /// Creates a new shard in `region` on the reachable node there with the fewest replicas;
    /// the placement driver then replicates it.
    pub async fn create_shard(&self, region: Option<String>) -> Result<ShardId> {
        let status = self.cluster_status().await?;
        let candidate = status
            .nodes
            .iter()
            .filter(|n| n.info.region == region)
            .filter(|n| {
                status
                    .meta
                    .nodes
                    .iter()
                    .any(|r| r.id.0 == n.node && r.state == NodeState::Active)
            })
            .min_by_key(|n| {
                (
                    n.groups.iter().filter(|g| g.group != META_GROUP).count(),
                    n.node,
                )
            })
            .ok_or_else(|| {
                ClusterError::invalid(
                    "region",
                    format!(
                        "no active node in region {}",
                        region.as_deref().unwrap_or("(none)")
                    ),
                )
            })?;
        let record = self.node_record(candidate.node).await?;
        let id = status.meta.shards.iter().map(|s| s.id.0).max().unwrap_or(0) + 1;
        self.propose_meta(MetaOp::RegisterShard {
            shard: ShardId(id),
            region: region.clone(),
            replicas: vec![record.id.0],
        })
        .await?;
        self.call_node(
            &record,
            Rpc::HostGroup {
                group: id,
                kind: GroupKind::Shard,
                bootstrap: true,
            },
        )
        .await?;
        Ok(ShardId(id))
    }

    /// Marks a node as draining: the placement driver moves its replicas and leaderships off.
    pub async fn drain_node(&self, node: NodeId) -> Result<NodeRecord> {
        let record = self.node_record(node.0).await?;
        if record.state == NodeState::Removed {
            return Err(ClusterError::conflict(
                "node",
                format!("node {node} was removed"),
            ));
        }
        match self
            .propose_meta(MetaOp::SetNodeState {
                node: node.0,
                state: NodeState::Draining,
            })
            .await?
        {
            crate::query::Outcome::Node(record) => Ok(record),
            other => Err(ClusterError::internal(format!(
                "unexpected outcome {other:?}"
            ))),
        }
    }

    /// Removes a drained node for good; refused while it still holds a replica. Runs on the
    /// meta leader, where no placement step may add a replica to the node meanwhile.
    pub async fn remove_node(&self, node: NodeId) -> Result<NodeRecord> {
        if !self.leads_meta() {
            return self
                .on_meta_leader(Rpc::RemoveNode { node: node.0 }, MEMBERSHIP_TIMEOUT)
                .await;
        }
        let _step = self.placement_step().await?;
        let status = self.cluster_status().await?;
        let record = status
            .meta
            .nodes
            .iter()
            .find(|n| n.id == node)
            .ok_or_else(|| ClusterError::not_found("node", node))?;
        if record.state == NodeState::Removed {
            return Err(ClusterError::conflict(
                "node",
                format!("node {node} is already removed"),
            ));
        }
        let holds_shard = status
            .meta
            .shards
            .iter()
            .any(|s| s.replicas.contains(&node));
        let meta_voter = status.meta.meta_voters.contains(&node.0);
        if holds_shard || meta_voter {
            return Err(ClusterError::conflict(
                "node",
                format!("node {node} still holds replicas; drain it and wait until it holds none"),
            ));
        }
        match self
            .propose_meta(MetaOp::SetNodeState {
                node: node.0,
                state: NodeState::Removed,
            })
            .await?
        {
            crate::query::Outcome::Node(record) => Ok(record),
            other => Err(ClusterError::internal(format!(
                "unexpected outcome {other:?}"
            ))),
        }
    }

    /// Runs placement steps on the meta leader until nothing is left to do (at most
    /// `max_steps`). Refused while another rebalance runs.
    pub async fn rebalance(&self, max_steps: usize) -> Result<Vec<String>> {
        if !self.leads_meta() {
            let timeout = MEMBERSHIP_TIMEOUT * max_steps.clamp(1, 10) as u32;
            return self
                .on_meta_leader(Rpc::Rebalance { max_steps }, timeout)
                .await;
        }
        let running = &self.inner.rebalancing;
        if running.swap(true, Ordering::AcqRel) {
            return Err(ClusterError::conflict(
                "rebalance",
                "another rebalance is running; wait for it to finish",
            ));
        }
        let _running = ClearOnDrop(running);
        let mut actions = Vec::new();
        for _ in 0..max_steps {
            let step = self.placement_step().await?;
            if !self.leads_meta() {
                return Err(ClusterError::Unavailable {
                    message: format!(
                        "meta leadership moved during rebalance after {} steps; retry",
                        actions.len()
                    ),
                });
            }
            let action = self.place_once().await?;
            drop(step);
            match action {
                Some(action) => actions.push(action),
                None => break,
            }
        }
        Ok(actions)
    }

    /// Sends a placement request to the meta leader and decodes its JSON result.
    async fn on_meta_leader<T: serde::de::DeserializeOwned>(
        &self,
        rpc: Rpc,
        timeout: Duration,
    ) -> Result<T> {
        match self.ask_meta_leader_within(&rpc, timeout).await? {
            RpcReply::Placed(json) => serde_json::from_slice::<Result<T>>(&json)?,
            other => Err(super::super::routing::unexpected(other)),
        }
    }
}

/// Clears a flag when dropped (also when the request is cancelled).
struct ClearOnDrop<'a>(&'a AtomicBool);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}
