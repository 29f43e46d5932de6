//! A shard for every region that has nodes: the first reachable active node of a region
//! without a shard gets a new one, the only replica until the shard rules add more.

use std::collections::BTreeSet;

use super::super::step::Step;
use super::super::view::{ClusterView, NodeView};
use crate::ids::ShardId;

/// Creates the next shard id for the first uncovered region, on its first reachable node.
pub(super) fn step(view: &ClusterView, active: &[&NodeView]) -> Option<Step> {
    let covered: BTreeSet<&Option<String>> = view.shards.iter().map(|s| &s.region).collect();
    let node = active
        .iter()
        .find(|n| !covered.contains(&n.region) && view.is_reachable(n.id))?;
    let id = view.shards.iter().map(|s| s.id.0).max().unwrap_or(0) + 1;
    Some(Step::CreateShard {
        shard: ShardId(id),
        region: node.region.clone(),
        node: node.id,
    })
}
