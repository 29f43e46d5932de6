//! The node's id, kept in its data dir. Ids are never reused: a node that lost its data dir
//! comes back as a new node.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ClusterError, Result};
use crate::ids::NodeId;

const FILE: &str = "node.json";

#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    node_id: u64,
    cluster_id: String,
    /// Groups restored from a backup, to initialize with this node as their only voter.
    #[serde(default)]
    restored: Vec<u64>,
}

/// Who this node is, and whether its data dir was just created.
pub struct NodeIdentity {
    pub node_id: NodeId,
    pub cluster_id: String,
    pub fresh: bool,
    /// Groups restored from a backup that still need initializing.
    pub restored: Vec<u64>,
}

impl NodeIdentity {
    /// Reads `data_dir/node.json`; without one, this is the first node of a new cluster.
    pub fn load_or_create(data_dir: &Path) -> Result<NodeIdentity> {
        let path = data_dir.join(FILE);
        if path.exists() {
            let text = std::fs::read_to_string(&path).map_err(ClusterError::internal)?;
            let stored: Stored = serde_json::from_str(&text).map_err(|e| {
                ClusterError::internal(format!("{} is corrupt: {e}", path.display()))
            })?;
            return Ok(NodeIdentity {
                node_id: NodeId(stored.node_id),
                cluster_id: stored.cluster_id,
                fresh: false,
                restored: stored.restored,
            });
        }
        Ok(NodeIdentity {
            node_id: NodeId(1),
            cluster_id: ulid::Ulid::new().to_string(),
            fresh: true,
            restored: Vec::new(),
        })
    }

    /// Writes the identity, once the node's groups are initialized (a crash before this leaves
    /// a data dir that initializes again, which is idempotent).
    pub fn persist(&self, data_dir: &Path) -> Result<()> {
        self.persist_restored(data_dir, &[])
    }

    /// Writes the identity with groups still to initialize after a restore.
    pub fn persist_restored(&self, data_dir: &Path, restored: &[u64]) -> Result<()> {
        let stored = Stored {
            node_id: self.node_id.0,
            cluster_id: self.cluster_id.clone(),
            restored: restored.to_vec(),
        };
        let tmp = data_dir.join("node.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&stored)?)
            .map_err(ClusterError::internal)?;
        std::fs::rename(&tmp, data_dir.join(FILE)).map_err(ClusterError::internal)?;
        Ok(())
    }
}
