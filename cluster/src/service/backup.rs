//! Online backup: a RocksDB checkpoint of a node that holds a replica of every group, taken
//! after each replica applied everything committed when the backup began, plus metadata.

use std::path::Path;
use std::time::Duration;

use openraft::async_runtime::watch::WatchReceiver;
use serde::{Deserialize, Serialize};

use super::Service;
use super::membership::META_GROUP;
use super::status::group_status;
use crate::error::{ClusterError, Result};
use crate::raft::GroupKind;

/// What a backup holds (written as `backup.json` next to the checkpoint).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupManifest {
    pub cluster_id: String,
    pub node_id: u64,
    pub created_at: String,
    pub groups: Vec<BackupGroup>,
}

/// One group in a backup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupGroup {
    pub id: u64,
    pub kind: GroupKind,
    pub applied_index: Option<u64>,
}

impl Service {
    /// Writes a backup of every group into `dir` (which must not exist yet).
    pub async fn backup(&self, dir: &Path) -> Result<BackupManifest> {
        if dir.exists() {
            return Err(ClusterError::conflict(
                "dir",
                format!("{} already exists", dir.display()),
            ));
        }
        let db = self.data()?.clone();
        let meta = self.meta_snapshot().await?;
        let mut missing: Vec<u64> = meta
            .shards
            .iter()
            .map(|s| s.id.0)
            .chain(std::iter::once(META_GROUP))
            .filter(|id| self.group(*id).is_none())
            .collect();
        missing.sort_unstable();
        if !missing.is_empty() {
            return Err(ClusterError::conflict(
                "node",
                format!(
                    "node {} holds no replica of group(s) {missing:?}; run the backup on a node that holds every group",
                    self.inner.node_id
                ),
            ));
        }
        let status = self.cluster_status().await?;
        let mut groups = Vec::new();
        for handle in self.inner.groups.all() {
            // Wait until this replica applied what its leader had committed when we asked.
            let committed = status
                .nodes
                .iter()
                .flat_map(|n| n.groups.iter())
                .filter(|g| g.group == handle.id && g.state == "leader")
                .filter_map(|g| g.committed)
                .max()
                .unwrap_or(0);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            let mut metrics = handle.raft.metrics();
            loop {
                let applied = metrics
                    .borrow_watched()
                    .last_applied
                    .as_ref()
                    .map(|l| l.index())
                    .unwrap_or(0);
                if applied >= committed {
                    break;
                }
                if tokio::time::timeout_at(deadline, metrics.changed())
                    .await
                    .is_err()
                {
                    return Err(ClusterError::Unavailable {
                        message: format!("group {} did not catch up for the backup", handle.id),
                    });
                }
            }
            groups.push(BackupGroup {
                id: handle.id,
                kind: handle.kind,
                applied_index: group_status(&handle).last_applied,
            });
        }
        std::fs::create_dir_all(dir).map_err(ClusterError::internal)?;
        db.checkpoint(&dir.join("db"))?;
        let manifest = BackupManifest {
            cluster_id: self.inner.cluster_id.clone(),
            node_id: self.inner.node_id.0,
            created_at: self.now().to_rfc3339(),
            groups,
        };
        std::fs::write(
            dir.join("backup.json"),
            serde_json::to_vec_pretty(&manifest)?,
        )
        .map_err(ClusterError::internal)?;
        Ok(manifest)
    }
}
