//! Building a snapshot of a group on this node now (an operator compacting a replica's log
//! before a backup or a move, without waiting for the snapshot policy's 20,000 entries).

use std::time::Duration;

use openraft::async_runtime::watch::WatchReceiver;

use super::Service;
use crate::error::{ClusterError, Result};
use crate::raft::LAST_APPLIED_META;

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

/// What a replica of a group holds, summed up (see [`Service::replica_digest`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaDigest {
    /// The last log index applied into the data summed up.
    pub applied_index: u64,
    pub pairs: u64,
    pub sha256: String,
}

impl Service {
    /// The digest of this node's replica of `group`, data and applied index read together:
    /// two replicas at the same applied index must have the same digest.
    pub async fn replica_digest(&self, group: u64) -> Result<ReplicaDigest> {
        let handle = self
            .group(group)
            .ok_or_else(|| ClusterError::not_found("group", group))?;
        let store = handle.store.clone();
        let digest = tokio::task::spawn_blocking(move || store.digest(LAST_APPLIED_META))
            .await
            .map_err(ClusterError::internal)??;
        let applied_index = match digest.meta {
            Some(bytes) => {
                bincode::serde::decode_from_slice::<
                    openraft::alias::LogIdOf<crate::raft::TypeConfig>,
                    _,
                >(&bytes, bincode::config::standard())
                .map_err(ClusterError::internal)?
                .0
                .index
            }
            None => 0,
        };
        Ok(ReplicaDigest {
            applied_index,
            pairs: digest.pairs,
            sha256: hex::encode(digest.sha256),
        })
    }
}
