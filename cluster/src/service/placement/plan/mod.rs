//! The placement planner: from a [`ClusterView`], the one membership change to make next, or
//! none. Pure and deterministic: no IO, no clock (how long nodes have been silent is in the
//! view), so the same view always yields the same step.
//!
//! Rules, in order; the first that asks for a change wins:
//! 1. meta voters: 1, 3 or 5 of the active nodes ([`meta`]);
//! 2. a shard for every region that has an active node ([`regions`]);
//! 3. each shard in turn: replicas on `replication_factor` eligible nodes, spread over zones,
//!    added before the replica they replace is removed, then replica counts balanced
//!    ([`shards`]);
//! 4. shard leaderships off inactive nodes, then balanced ([`leaders`]).

mod leaders;
mod meta;
mod regions;
mod shards;
#[cfg(test)]
mod tests;

use super::step::Step;
use super::view::ClusterView;

/// The next membership change `view` calls for, if any.
pub(super) fn plan(view: &ClusterView) -> Option<Step> {
    let active = view.active_nodes();
    meta::step(view, &active)
        .or_else(|| regions::step(view, &active))
        .or_else(|| {
            view.shards
                .iter()
                .find_map(|shard| shards::step(view, &active, shard))
        })
        .or_else(|| leaders::step(view, &active))
}
