//! Meta group voters: one while fewer than three nodes are active, then three, then five.
//! Voters that are no longer active are removed once enough active ones vote.

use std::collections::BTreeSet;

use super::super::step::Step;
use super::super::view::{ClusterView, NodeView};

/// How many meta voters `active` active nodes should provide.
fn desired_voters(active: usize) -> usize {
    match active {
        n if n >= 5 => 5,
        n if n >= 3 => 3,
        _ => 1,
    }
}

/// Adds the first reachable active non-voter while active voters are too few; otherwise
/// removes the lowest voter that is not active, when enough active voters remain.
pub(super) fn step(view: &ClusterView, active: &[&NodeView]) -> Option<Step> {
    let voters: BTreeSet<u64> = view.meta_voters.iter().copied().collect();
    let desired = desired_voters(active.len());
    let healthy: BTreeSet<u64> = voters
        .iter()
        .copied()
        .filter(|v| active.iter().any(|n| n.id == *v))
        .collect();
    if healthy.len() < desired
        && let Some(candidate) = active
            .iter()
            .find(|n| !voters.contains(&n.id) && view.is_reachable(n.id))
    {
        return Some(Step::AddMetaVoter { node: candidate.id });
    }
    if let Some(stale) = voters.iter().copied().find(|v| !healthy.contains(v))
        && voters.len() > 1
        && healthy.len() >= desired.min(active.len()).max(1)
    {
        return Some(Step::RemoveMetaVoter { node: stale });
    }
    None
}
