//! Building a snapshot of a group on this node now (an operator compacting a replica's log
//! before a backup or a move, without waiting for the snapshot policy's 20,000 entries).

use std::time::Duration;

use openraft::async_runtime::watch::WatchReceiver;

use super::Service;
use crate::error::{ClusterError, Result};

/// How long a snapshot may take before the call gives up waiting (it still completes).
const SNAPSHOT_WAIT: Duration = Duration::from_secs(60);

impl Service {
    /// Builds a snapshot of this node's replica of `group`; answers the last log index it
    /// covers.
    pub async fn snapshot_here(&self, group: u64) -> Result<u64> {
        let handle = self
            .group(group)
            .ok_or_else(|| ClusterError::not_found("group", group))?;
        let applied = handle
            .raft
            .metrics()
            .borrow_watched()
            .last_applied
            .as_ref()
            .map_or(0, |l| l.index());
        handle
            .raft
            .trigger()
            .snapshot()
            .await
            .map_err(|e| ClusterError::Unavailable {
                message: format!("cannot start a snapshot: {e}"),
            })?;
        let mut watch = handle.raft.metrics();
        tokio::time::timeout(SNAPSHOT_WAIT, async {
            loop {
                let index = watch
                    .borrow_watched()
                    .snapshot
                    .as_ref()
                    .map_or(0, |l| l.index());
                if index >= applied {
                    return Ok(index);
                }
                if watch.changed().await.is_err() {
                    return Err(ClusterError::Unavailable {
                        message: "the group stopped".into(),
                    });
                }
            }
        })
        .await
        .map_err(|_| ClusterError::Unavailable {
            message: "the snapshot is still being built; check the group's status later".into(),
        })?
    }
}
