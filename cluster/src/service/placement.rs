//! The placement driver (runs on the meta leader) and the membership operations it and the
//! cluster admin API use: replicas per shard, meta voters, shards per region, leader balance,
//! draining and removing nodes. One change per tick, adding before removing, so a group never
//! drops below its replica count.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use openraft::ChangeMembers;

use super::membership::META_GROUP;
use super::{ClusterStatus, Service};
use crate::command::MetaOp;
use crate::error::{ClusterError, Result};
use crate::ids::{NodeId, ShardId};
use crate::model::{NodeRecord, NodeState};
use crate::raft::{GroupKind, NodeInfo};
use crate::transport::{Rpc, RpcReply};

/// How long a membership change may take (the learner may need a snapshot).
const MEMBERSHIP_TIMEOUT: Duration = Duration::from_secs(120);

fn info_of(record: &NodeRecord) -> NodeInfo {
    NodeInfo {
        rpc_addr: record.rpc_addr.clone(),
        http_addr: record.http_addr.clone(),
        region: record.region.clone(),
        zone: record.zone.clone(),
    }
}

/// Voters, learners and leader of `group`, from the node that leads it.
fn group_view(status: &ClusterStatus, group: u64) -> Option<(u64, Vec<u64>, Vec<u64>)> {
    status.nodes.iter().find_map(|node| {
        node.groups
            .iter()
            .find(|g| g.group == group && g.state == "leader")
            .map(|g| (node.node, g.voters.clone(), g.learners.clone()))
    })
}

fn desired_meta_voters(active: usize) -> usize {
    match active {
        n if n >= 5 => 5,
        n if n >= 3 => 3,
        _ => 1,
    }
}

impl Service {
    pub(crate) fn spawn_placement(&self) {
        let weak = std::sync::Arc::downgrade(&self.inner);
        let interval = self.inner.config.placement_interval;
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            loop {
                ticker.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                let service = Service { inner };
                if !service.leads_meta() {
                    continue;
                }
                // A rebalance request or a node removal is changing memberships: skip a tick.
                let Ok(_step) = service.inner.placement.try_lock() else {
                    continue;
                };
                match service.place_once().await {
                    Ok(Some(action)) => tracing::info!(%action, "placement"),
                    Ok(None) => {}
                    Err(e) => tracing::debug!(error = %e, "placement step failed"),
                }
            }
        });
        self.spawn_background(task);
    }

    /// Nodes that answered recently enough to keep their replicas: reachable now, or seen
    /// within `down_after` (a restarting node is not replaced at once).
    fn alive(&self, status: &ClusterStatus) -> BTreeSet<u64> {
        let now = std::time::Instant::now();
        let down_after = self.inner.config.down_after;
        let Ok(mut seen) = self.inner.last_seen.lock() else {
            return status.nodes.iter().map(|n| n.node).collect();
        };
        for node in &status.nodes {
            seen.insert(node.node, now);
        }
        status
            .meta
            .nodes
            .iter()
            .map(|n| n.id.0)
            .filter(|id| {
                let last = *seen.entry(*id).or_insert(now);
                now.duration_since(last) < down_after
            })
            .collect()
    }

    /// One placement step; returns what it changed, if anything. Callers hold `placement`.
    async fn place_once(&self) -> Result<Option<String>> {
        let status = self.cluster_status().await?;
        let reachable: BTreeSet<u64> = status.nodes.iter().map(|n| n.node).collect();
        let alive = self.alive(&status);
        // Nodes that may keep replicas (alive) and nodes that may receive new ones (reachable).
        let active: Vec<&NodeRecord> = status
            .meta
            .nodes
            .iter()
            .filter(|n| n.state == NodeState::Active && alive.contains(&n.id.0))
            .collect();
        if let Some(action) = self.place_meta(&status, &active, &reachable).await? {
            return Ok(Some(action));
        }
        if let Some(action) = self.place_regions(&status, &active, &reachable).await? {
            return Ok(Some(action));
        }
        for shard in &status.meta.shards {
            if let Some(action) = self
                .place_shard(&status, &active, &reachable, shard.id)
                .await?
            {
                return Ok(Some(action));
            }
        }
        self.balance_leaders(&status, &active).await
    }

    async fn place_meta(
        &self,
        status: &ClusterStatus,
        active: &[&NodeRecord],
        reachable: &BTreeSet<u64>,
    ) -> Result<Option<String>> {
        let voters: BTreeSet<u64> = status.meta.meta_voters.iter().copied().collect();
        let desired = desired_meta_voters(active.len());
        let healthy: BTreeSet<u64> = voters
            .iter()
            .copied()
            .filter(|v| active.iter().any(|n| n.id.0 == *v))
            .collect();
        if healthy.len() < desired
            && let Some(candidate) = active
                .iter()
                .find(|n| !voters.contains(&n.id.0) && reachable.contains(&n.id.0))
        {
            self.add_replica(META_GROUP, GroupKind::Meta, candidate, self.inner.node_id.0)
                .await?;
            return Ok(Some(format!("meta group: added voter {}", candidate.id)));
        }
        if let Some(stale) = voters.iter().find(|v| !healthy.contains(v))
            && voters.len() > 1
            && healthy.len() >= desired.min(active.len()).max(1)
        {
            self.remove_replica(META_GROUP, *stale, self.inner.node_id.0)
                .await?;
            return Ok(Some(format!("meta group: removed voter {stale}")));
        }
        Ok(None)
    }

    async fn place_regions(
        &self,
        status: &ClusterStatus,
        active: &[&NodeRecord],
        reachable: &BTreeSet<u64>,
    ) -> Result<Option<String>> {
        let covered: BTreeSet<Option<String>> = status
            .meta
            .shards
            .iter()
            .map(|s| s.region.clone())
            .collect();
        let Some(node) = active
            .iter()
            .find(|n| !covered.contains(&n.region) && reachable.contains(&n.id.0))
        else {
            return Ok(None);
        };
        let id = status.meta.shards.iter().map(|s| s.id.0).max().unwrap_or(0) + 1;
        self.propose_meta(MetaOp::RegisterShard {
            shard: ShardId(id),
            region: node.region.clone(),
            replicas: vec![node.id.0],
        })
        .await?;
        self.call_node(
            node,
            Rpc::HostGroup {
                group: id,
                kind: GroupKind::Shard,
                bootstrap: true,
            },
        )
        .await?;
        Ok(Some(format!(
            "created shard {id} for region {} on node {}",
            node.region.as_deref().unwrap_or("(none)"),
            node.id
        )))
    }

    async fn place_shard(
        &self,
        status: &ClusterStatus,
        active: &[&NodeRecord],
        reachable: &BTreeSet<u64>,
        shard: ShardId,
    ) -> Result<Option<String>> {
        let Some(descriptor) = status.meta.shards.iter().find(|s| s.id == shard) else {
            return Ok(None);
        };
        let Some((leader, voters, _learners)) = group_view(status, shard.0) else {
            return Ok(None);
        };
        let eligible: Vec<&&NodeRecord> = active
            .iter()
            .filter(|n| n.region == descriptor.region)
            .collect();
        let desired = self
            .inner
            .config
            .replication_factor
            .min(eligible.len())
            .max(1);
        let healthy: Vec<u64> = voters
            .iter()
            .copied()
            .filter(|v| eligible.iter().any(|n| n.id.0 == *v))
            .collect();
        if healthy.len() < desired {
            let mut replicas_per_node: BTreeMap<u64, usize> = BTreeMap::new();
            for node in &status.nodes {
                replicas_per_node.insert(
                    node.node,
                    node.groups.iter().filter(|g| g.group != META_GROUP).count(),
                );
            }
            let zones: BTreeSet<Option<String>> = eligible
                .iter()
                .filter(|n| voters.contains(&n.id.0))
                .map(|n| n.zone.clone())
                .collect();
            let candidate = eligible
                .iter()
                .filter(|n| !voters.contains(&n.id.0) && reachable.contains(&n.id.0))
                .min_by_key(|n| {
                    (
                        zones.contains(&n.zone),
                        replicas_per_node.get(&n.id.0).copied().unwrap_or(0),
                        n.id.0,
                    )
                });
            if let Some(candidate) = candidate {
                self.add_replica(shard.0, GroupKind::Shard, candidate, leader)
                    .await?;
                let mut replicas = voters.clone();
                replicas.push(candidate.id.0);
                self.propose_meta(MetaOp::SetShardReplicas { shard, replicas })
                    .await?;
                return Ok(Some(format!(
                    "shard {shard}: added replica on node {}",
                    candidate.id
                )));
            }
        }
        if let Some(stale) = voters.iter().find(|v| !healthy.contains(v)).copied()
            && voters.len() > 1
            && healthy.len() >= desired
        {
            if stale == leader {
                if let Some(next) = healthy.first() {
                    self.transfer_leader(shard, NodeId(*next)).await?;
                    return Ok(Some(format!(
                        "shard {shard}: moved leadership off node {stale}"
                    )));
                }
                return Ok(None);
            }
            self.remove_replica(shard.0, stale, leader).await?;
            let replicas: Vec<u64> = voters.iter().copied().filter(|v| *v != stale).collect();
            self.propose_meta(MetaOp::SetShardReplicas { shard, replicas })
                .await?;
            if let Some(record) = status.meta.nodes.iter().find(|n| n.id.0 == stale) {
                let _ = self
                    .call_node(record, Rpc::DropGroup { group: shard.0 })
                    .await;
            }
            return Ok(Some(format!(
                "shard {shard}: removed replica on node {stale}"
            )));
        }
        // Balance: move a replica from the most loaded eligible node to the least loaded one
        // (add first; the extra voter is removed on a later step, never below `desired`).
        let load = |id: u64| {
            status
                .nodes
                .iter()
                .find(|n| n.node == id)
                .map(|n| n.groups.iter().filter(|g| g.group != META_GROUP).count())
                .unwrap_or(0)
        };
        if voters.len() > desired {
            let heaviest = voters
                .iter()
                .copied()
                .filter(|v| *v != leader)
                .max_by_key(|v| (load(*v), *v));
            if let Some(extra) = heaviest {
                self.remove_replica(shard.0, extra, leader).await?;
                let replicas: Vec<u64> = voters.iter().copied().filter(|v| *v != extra).collect();
                self.propose_meta(MetaOp::SetShardReplicas { shard, replicas })
                    .await?;
                if let Some(record) = status.meta.nodes.iter().find(|n| n.id.0 == extra) {
                    let _ = self
                        .call_node(record, Rpc::DropGroup { group: shard.0 })
                        .await;
                }
                return Ok(Some(format!(
                    "shard {shard}: moved a replica off node {extra}"
                )));
            }
        }
        if voters.len() == desired {
            let heavy = voters.iter().copied().max_by_key(|v| (load(*v), *v));
            let light = eligible
                .iter()
                .filter(|n| !voters.contains(&n.id.0) && reachable.contains(&n.id.0))
                .min_by_key(|n| (load(n.id.0), n.id.0));
            if let (Some(heavy), Some(light)) = (heavy, light)
                && load(heavy) >= load(light.id.0) + 2
            {
                self.add_replica(shard.0, GroupKind::Shard, light, leader)
                    .await?;
                return Ok(Some(format!(
                    "shard {shard}: added a replica on node {} to balance node {heavy}",
                    light.id
                )));
            }
        }
        let recorded: BTreeSet<u64> = descriptor.replicas.iter().map(|n| n.0).collect();
        let actual: BTreeSet<u64> = voters.iter().copied().collect();
        if recorded != actual {
            self.propose_meta(MetaOp::SetShardReplicas {
                shard,
                replicas: voters.clone(),
            })
            .await?;
            return Ok(Some(format!("shard {shard}: recorded replicas {voters:?}")));
        }
        Ok(None)
    }

    async fn balance_leaders(
        &self,
        status: &ClusterStatus,
        active: &[&NodeRecord],
    ) -> Result<Option<String>> {
        let mut leaders: BTreeMap<u64, Vec<(u64, Vec<u64>)>> =
            active.iter().map(|n| (n.id.0, Vec::new())).collect();
        for shard in &status.meta.shards {
            if let Some((leader, voters, _)) = group_view(status, shard.id.0) {
                leaders
                    .entry(leader)
                    .or_default()
                    .push((shard.id.0, voters));
            }
        }
        // Leadership on a node that is not active (draining) moves first.
        for (node, shards) in &leaders {
            if active.iter().any(|n| n.id.0 == *node) {
                continue;
            }
            if let Some((shard, voters)) = shards.first()
                && let Some(target) = voters.iter().find(|v| active.iter().any(|n| n.id.0 == **v))
            {
                self.transfer_leader(ShardId(*shard), NodeId(*target))
                    .await?;
                return Ok(Some(format!(
                    "shard {shard}: moved leadership off inactive node {node}"
                )));
            }
        }
        let Some((busiest, shards)) = leaders.iter().max_by_key(|(id, s)| (s.len(), *id)) else {
            return Ok(None);
        };
        let Some((idlest, idle_shards)) = leaders.iter().min_by_key(|(id, s)| (s.len(), *id))
        else {
            return Ok(None);
        };
        if shards.len() < idle_shards.len() + 2 {
            return Ok(None);
        }
        if let Some((shard, _)) = shards.iter().find(|(_, voters)| voters.contains(idlest)) {
            self.transfer_leader(ShardId(*shard), NodeId(*idlest))
                .await?;
            return Ok(Some(format!(
                "shard {shard}: moved leadership from node {busiest} to node {idlest}"
            )));
        }
        Ok(None)
    }

    async fn call_node(&self, record: &NodeRecord, rpc: Rpc) -> Result<RpcReply> {
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
            Ok(RpcReply::Error(e)) => Err(super::routing::unexpected(RpcReply::Error(e))),
            Ok(reply) => Ok(reply),
            Err(e) => Err(ClusterError::Unavailable {
                message: e.to_string(),
            }),
        }
    }

    async fn node_record(&self, id: u64) -> Result<NodeRecord> {
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

    /// On the leader of `group`: adds a voter (as a learner first) and/or removes one.
    pub(crate) async fn change_membership_here(
        &self,
        group: u64,
        add: Option<(u64, NodeInfo)>,
        remove: Option<u64>,
    ) -> Result<()> {
        let handle = self
            .group(group)
            .filter(|g| g.raft.is_leader())
            .ok_or(ClusterError::NotLeader { leader: None })?;
        let map = |e: openraft::error::RaftError<
            crate::raft::TypeConfig,
            openraft::error::ClientWriteError<crate::raft::TypeConfig>,
        >| { crate::raft::write_error(e) };
        if let Some((id, info)) = add {
            handle.raft.add_learner(id, info, true).await.map_err(map)?;
            let voters: BTreeSet<u64> = [id].into_iter().collect();
            handle
                .raft
                .change_membership(ChangeMembers::AddVoterIds(voters), false)
                .await
                .map_err(map)?;
        }
        if let Some(id) = remove {
            if handle.raft.voter_ids().count() <= 1 {
                return Err(ClusterError::conflict(
                    "node",
                    format!("node {id} holds the last replica of group {group}"),
                ));
            }
            let voters: BTreeSet<u64> = [id].into_iter().collect();
            handle
                .raft
                .change_membership(ChangeMembers::RemoveVoters(voters), false)
                .await
                .map_err(map)?;
        }
        Ok(())
    }

    /// On the leader of `group`: hands leadership to `to`.
    pub(crate) async fn transfer_leader_here(&self, group: u64, to: u64) -> Result<()> {
        let handle = self
            .group(group)
            .filter(|g| g.raft.is_leader())
            .ok_or(ClusterError::NotLeader { leader: None })?;
        if !handle.raft.voter_ids().any(|v| v == to) {
            return Err(ClusterError::invalid(
                "to",
                format!("node {to} is not a voter of group {group}"),
            ));
        }
        handle
            .raft
            .trigger()
            .transfer_leader(to)
            .await
            .map_err(|e| ClusterError::Unavailable {
                message: e.to_string(),
            })
    }

    /// Moves the leadership of `shard` to node `to` (which must hold a replica).
    pub async fn transfer_leader(&self, shard: ShardId, to: NodeId) -> Result<()> {
        let status = self.cluster_status().await?;
        if !status.meta.shards.iter().any(|s| s.id == shard) && shard.0 != META_GROUP {
            return Err(ClusterError::not_found("shard", shard));
        }
        let (leader, voters, _) =
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

    fn leads_meta(&self) -> bool {
        self.group(META_GROUP).is_some_and(|m| m.raft.is_leader())
    }

    /// Sends a placement request to the meta leader and decodes its JSON result.
    async fn on_meta_leader<T: serde::de::DeserializeOwned>(
        &self,
        rpc: Rpc,
        timeout: Duration,
    ) -> Result<T> {
        match self.ask_meta_leader_within(&rpc, timeout).await? {
            RpcReply::Placed(json) => serde_json::from_slice::<Result<T>>(&json)?,
            other => Err(super::routing::unexpected(other)),
        }
    }

    /// Waits for the placement step in progress (the driver's or a removal's) to end.
    async fn placement_step(&self) -> Result<tokio::sync::MutexGuard<'_, ()>> {
        tokio::time::timeout(MEMBERSHIP_TIMEOUT, self.inner.placement.lock())
            .await
            .map_err(|_| ClusterError::Unavailable {
                message: "a membership change is still in progress; retry later".into(),
            })
    }
}

/// Clears a flag when dropped (also when the request is cancelled).
struct ClearOnDrop<'a>(&'a AtomicBool);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}
