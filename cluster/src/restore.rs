//! Restoring a backup into a fresh single-node cluster (offline): the checkpoint's state
//! machines keep their data, lose their Raft logs and memberships, and the meta records are
//! rewritten so this node (id 1) holds every group; it initializes them when it starts.

use std::path::Path;

use lumo_storage::{Db, SmStore};

use crate::error::{ClusterError, Result};
use crate::ids::{NodeId, OrgId};
use crate::model::{NodeRecord, NodeState, ShardDescriptor};
use crate::node_identity::NodeIdentity;
use crate::service::BackupManifest;
use crate::tables::{OrgTx, Table};

/// What was restored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RestoreReport {
    pub groups: Vec<u64>,
    pub cluster_id: String,
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Restores the backup in `backup_dir` into the empty `data_dir`.
pub fn restore(backup_dir: &Path, data_dir: &Path) -> Result<RestoreReport> {
    let manifest: BackupManifest =
        serde_json::from_slice(&std::fs::read(backup_dir.join("backup.json")).map_err(|e| {
            ClusterError::invalid(
                "from",
                format!("no backup.json in {}: {e}", backup_dir.display()),
            )
        })?)?;
    if data_dir.join("db").exists() || data_dir.join("node.json").exists() {
        return Err(ClusterError::conflict(
            "data_dir",
            format!("{} is not empty", data_dir.display()),
        ));
    }
    copy_dir(&backup_dir.join("db"), &data_dir.join("db")).map_err(ClusterError::internal)?;
    let db = Db::open(&data_dir.join("db"))?;
    let mut groups = Vec::new();
    for group in &manifest.groups {
        let store = SmStore::new(db.clone(), group.id);
        // Keep the data, forget the Raft history: the group starts over with one voter.
        let mut pairs = store.export(&[])?;
        pairs.meta.clear();
        db.drop_group(group.id)?;
        store.install(pairs)?;
        groups.push(group.id);
    }
    rewrite_meta(&SmStore::new(db.clone(), 0))?;
    let identity = NodeIdentity {
        node_id: NodeId(1),
        cluster_id: ulid::Ulid::new().to_string(),
        fresh: false,
        restored: groups.clone(),
    };
    identity.persist_restored(data_dir, &groups)?;
    Ok(RestoreReport {
        groups,
        cluster_id: identity.cluster_id,
    })
}

/// Node 1 is the only active node and holds every shard; other nodes are removed (their ids
/// stay used).
fn rewrite_meta(meta: &SmStore) -> Result<()> {
    let mut tx = OrgTx::new(meta.clone(), OrgId::SYSTEM);
    let mut nodes: Vec<NodeRecord> = Vec::new();
    tx.reader()
        .scan::<NodeRecord>(Table::Node, &[], false, |_, n| {
            nodes.push(n);
            true
        })?;
    for mut node in nodes {
        node.state = if node.id == NodeId(1) {
            NodeState::Active
        } else {
            NodeState::Removed
        };
        tx.put(Table::Node, &node.id.0.to_be_bytes(), &node)?;
    }
    let mut shards: Vec<ShardDescriptor> = Vec::new();
    tx.reader()
        .scan::<ShardDescriptor>(Table::Shard, &[], false, |_, s| {
            shards.push(s);
            true
        })?;
    for mut shard in shards {
        shard.replicas = vec![NodeId(1)];
        tx.put(Table::Shard, &shard.id.0.to_be_bytes(), &shard)?;
    }
    meta.write(tx.into_batch())?;
    Ok(())
}
