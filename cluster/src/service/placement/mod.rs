//! The placement driver (runs on the meta leader): each tick it builds a [`ClusterView`] from
//! the meta group's records and the nodes that answer, asks the pure [`plan`] for the next
//! membership change and carries it out. One change per tick, adding before removing, so a
//! group never drops below its replica count. The membership operations of the cluster admin
//! API live here too, since they take the same lock.

mod execute;
mod liveness;
mod on_leader;
mod operations;
mod plan;
mod step;
mod view;

use std::time::Duration;

use super::Service;
use super::membership::META_GROUP;
use crate::error::{ClusterError, Result};
use plan::plan;
use view::ClusterView;

/// How long a membership change may take (the learner may need a snapshot).
const MEMBERSHIP_TIMEOUT: Duration = Duration::from_secs(120);

impl Service {
    pub(crate) fn spawn_placement(&self) {
        self.spawn_every(self.inner.config.placement_interval, |service| async move {
            if !service.leads_meta() {
                return;
            }
            // A rebalance request or a node removal is changing memberships: skip a tick.
            let Ok(_step) = service.inner.placement.try_lock() else {
                return;
            };
            match service.place_once().await {
                Ok(Some(action)) => tracing::info!(%action, "placement"),
                Ok(None) => {}
                Err(e) => tracing::debug!(error = %e, "placement step failed"),
            }
        });
    }

    /// One placement step; returns what it changed, if anything. Callers hold `placement`.
    async fn place_once(&self) -> Result<Option<String>> {
        let status = self.cluster_status().await?;
        let liveness = self.liveness(&status);
        let view = ClusterView::new(&status, liveness, self.inner.config.replication_factor);
        let Some(step) = plan(&view) else {
            return Ok(None);
        };
        self.carry_out(&status, &step).await?;
        Ok(Some(step.to_string()))
    }

    pub(super) fn leads_meta(&self) -> bool {
        self.group(META_GROUP).is_some_and(|m| m.raft.is_leader())
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
