//! Replicas of one shard. Only active nodes of the shard's region are eligible (so an EU shard
//! never lands outside the EU). The shard wants `replication_factor` voters, or as many as
//! there are eligible nodes (at least one). A missing replica is added before an unhealthy
//! one is removed, so the shard never drops below its replica count; a leader about to lose
//! its replica hands its leadership over first. Then replica counts are balanced (again
//! adding first), and the meta group's record of the replicas is brought up to date.

use std::collections::{BTreeMap, BTreeSet};

use super::super::step::{LeaderMove, Removal, Step};
use super::super::view::{ClusterView, NodeView};
use crate::model::ShardDescriptor;

/// The next change to the replicas of `shard`, if its leader answered and one is due.
pub(super) fn step(
    view: &ClusterView,
    active: &[&NodeView],
    shard: &ShardDescriptor,
) -> Option<Step> {
    let id = shard.id;
    let members = view.group(id.0)?;
    let (leader, voters) = (members.leader, members.voters);
    let eligible: Vec<&NodeView> = active
        .iter()
        .copied()
        .filter(|n| n.region == shard.region)
        .collect();
    let desired = view.replication_factor.min(eligible.len()).max(1);
    let healthy: Vec<u64> = voters
        .iter()
        .copied()
        .filter(|v| eligible.iter().any(|n| n.id == *v))
        .collect();
    if healthy.len() < desired
        && let Some(node) = replacement(view, &eligible, voters)
    {
        let mut replicas = voters.to_vec();
        replicas.push(node);
        return Some(Step::AddShardReplica {
            shard: id,
            leader,
            node,
            replicas,
        });
    }
    if let Some(stale) = voters.iter().copied().find(|v| !healthy.contains(v))
        && voters.len() > 1
        && healthy.len() >= desired
    {
        if stale == leader {
            return healthy.first().map(|next| Step::TransferLeader {
                shard: id,
                from: stale,
                to: *next,
                why: LeaderMove::OffUnhealthyReplica,
            });
        }
        return Some(Step::RemoveShardReplica {
            shard: id,
            leader,
            node: stale,
            replicas: without(voters, stale),
            why: Removal::Unhealthy,
        });
    }
    // Balance: move a replica from the most loaded eligible node to the least loaded one
    // (add first; the extra voter is removed on a later step, never below `desired`).
    let load = |node: u64| view.shard_load(node);
    if voters.len() > desired
        && let Some(extra) = voters
            .iter()
            .copied()
            .filter(|v| *v != leader)
            .max_by_key(|v| (load(*v), *v))
    {
        return Some(Step::RemoveShardReplica {
            shard: id,
            leader,
            node: extra,
            replicas: without(voters, extra),
            why: Removal::Surplus,
        });
    }
    if voters.len() == desired {
        let heavy = voters.iter().copied().max_by_key(|v| (load(*v), *v));
        let light = eligible
            .iter()
            .filter(|n| !voters.contains(&n.id) && view.is_reachable(n.id))
            .min_by_key(|n| (load(n.id), n.id));
        if let (Some(heavy), Some(light)) = (heavy, light)
            && load(heavy) >= load(light.id) + 2
        {
            return Some(Step::AddBalancingReplica {
                shard: id,
                leader,
                node: light.id,
                relieves: heavy,
            });
        }
    }
    let recorded: BTreeSet<u64> = shard.replicas.iter().map(|n| n.0).collect();
    let actual: BTreeSet<u64> = voters.iter().copied().collect();
    (recorded != actual).then(|| Step::RecordShardReplicas {
        shard: id,
        replicas: voters.to_vec(),
    })
}

/// The eligible, reachable non-voter to receive a missing replica: preferably in a zone where
/// the shard has no voter yet, then the one hosting the fewest shard replicas, then the
/// lowest id.
fn replacement(view: &ClusterView, eligible: &[&NodeView], voters: &[u64]) -> Option<u64> {
    let mut replicas_per_node: BTreeMap<u64, usize> = BTreeMap::new();
    for node in &view.reachable {
        replicas_per_node.insert(node.id, node.shard_replicas());
    }
    let zones: BTreeSet<&Option<String>> = eligible
        .iter()
        .filter(|n| voters.contains(&n.id))
        .map(|n| &n.zone)
        .collect();
    eligible
        .iter()
        .filter(|n| !voters.contains(&n.id) && view.is_reachable(n.id))
        .min_by_key(|n| {
            (
                zones.contains(&n.zone),
                replicas_per_node.get(&n.id).copied().unwrap_or(0),
                n.id,
            )
        })
        .map(|n| n.id)
}

/// `voters` without `node`, in their order.
fn without(voters: &[u64], node: u64) -> Vec<u64> {
    voters.iter().copied().filter(|v| *v != node).collect()
}
