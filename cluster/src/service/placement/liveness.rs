//! The driver's memory of when it last reached each node, turned into how long each node has
//! been silent (the planner reads no clock).

use std::time::{Duration, Instant};

use super::super::{ClusterStatus, Service};
use super::view::Liveness;

impl Service {
    /// Notes the nodes that answered in `status` as seen now, and tells how long every node
    /// the meta group records has gone unanswered (a node never noted counts as seen now).
    pub(super) fn liveness(&self, status: &ClusterStatus) -> Liveness {
        let now = Instant::now();
        let Ok(mut seen) = self.inner.last_seen.lock() else {
            // Without the memory, the nodes that answered now are alive and no other is.
            return Liveness {
                silent_for: status
                    .nodes
                    .iter()
                    .map(|n| (n.node, Duration::ZERO))
                    .collect(),
                down_after: Duration::MAX,
            };
        };
        for node in &status.nodes {
            seen.insert(node.node, now);
        }
        let silent_for = status
            .meta
            .nodes
            .iter()
            .map(|n| {
                let last = *seen.entry(n.id.0).or_insert(now);
                (n.id.0, now.duration_since(last))
            })
            .collect();
        Liveness {
            silent_for,
            down_after: self.inner.config.down_after,
        }
    }
}
