//! Shard leaderships: off nodes that are not active first, then from the node leading the most
//! shards to the one leading the fewest, when they differ by two or more.

use std::collections::BTreeMap;

use super::super::step::{LeaderMove, Step};
use super::super::view::{ClusterView, NodeView};
use crate::ids::ShardId;

/// The next leadership move, if one is due.
pub(super) fn step(view: &ClusterView, active: &[&NodeView]) -> Option<Step> {
    let is_active = |node: u64| active.iter().any(|n| n.id == node);
    // Shards (with their voters) each node leads; every active node appears, if only empty.
    let mut leaders: BTreeMap<u64, Vec<(ShardId, &[u64])>> =
        active.iter().map(|n| (n.id, Vec::new())).collect();
    for shard in &view.shards {
        if let Some(members) = view.group(shard.id.0) {
            leaders
                .entry(members.leader)
                .or_default()
                .push((shard.id, members.voters));
        }
    }
    // Leadership on a node that is not active (draining) moves first.
    for (node, shards) in &leaders {
        if is_active(*node) {
            continue;
        }
        if let Some((shard, voters)) = shards.first()
            && let Some(to) = voters.iter().copied().find(|v| is_active(*v))
        {
            return Some(Step::TransferLeader {
                shard: *shard,
                from: *node,
                to,
                why: LeaderMove::OffInactiveNode,
            });
        }
    }
    let (busiest, shards) = leaders.iter().max_by_key(|(id, s)| (s.len(), **id))?;
    let (idlest, idle_shards) = leaders.iter().min_by_key(|(id, s)| (s.len(), **id))?;
    if shards.len() < idle_shards.len() + 2 {
        return None;
    }
    shards
        .iter()
        .find(|(_, voters)| voters.contains(idlest))
        .map(|(shard, _)| Step::TransferLeader {
            shard: *shard,
            from: *busiest,
            to: *idlest,
            why: LeaderMove::Balance,
        })
}
