//! Starting one Raft group (log store + state machine over the shared RocksDB).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use lumo_storage::{Db, RaftLogStore, SmStore};
use openraft::{Config, SnapshotPolicy};

use super::network::NetworkFactory;
use super::state_machine::StateMachine;
use super::types::{NodeInfo, Raft, TypeConfig};
use crate::error::{ClusterError, Result};
pub use crate::model::GroupKind;
use crate::transport::Peers;

/// A running group: its Raft handle and its state-machine data.
#[derive(Clone)]
pub struct GroupHandle {
    pub id: u64,
    pub kind: GroupKind,
    pub raft: Raft,
    pub store: SmStore,
    /// Set once the replica has applied everything committed when it started (after that,
    /// entries in flight do not make the node unready).
    pub recovered: Arc<std::sync::atomic::AtomicBool>,
    /// Decisions derived from what this replica applied.
    pub authz: Arc<crate::authz::AuthzIndex>,
    /// The node's metrics (write latencies are recorded here).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Read barriers shared by concurrent reads.
    pub(crate) reads: Arc<super::read_batch::ReadBatcher>,
    /// Where snapshots sent by the group's leader arrive.
    pub(crate) inbox: Arc<super::snapshot_transfer::SnapshotInbox>,
}

/// Raft timing and log compaction for every group.
pub fn raft_config() -> Result<Arc<Config>> {
    let config = Config {
        cluster_name: "lumo".into(),
        heartbeat_interval: 100,
        election_timeout_min: 300,
        election_timeout_max: 600,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(20_000),
        max_in_snapshot_log_to_keep: 1_000,
        // A restarted or reconnected node must not disrupt a healthy leader.
        enable_pre_vote: Some(true),
        ..Config::default()
    };
    Ok(Arc::new(config.validate().map_err(ClusterError::internal)?))
}

/// Opens group `id` on this node; on a fresh data dir with `bootstrap`, makes this node its
/// only voter.
#[allow(clippy::too_many_arguments)]
pub async fn start_group(
    db: &Db,
    data_dir: &Path,
    peers: Arc<Peers>,
    node_id: u64,
    node: &NodeInfo,
    id: u64,
    kind: GroupKind,
    bootstrap: bool,
    metrics: Arc<crate::metrics::Metrics>,
) -> Result<GroupHandle> {
    let store = SmStore::new(db.clone(), id);
    let snapshots = data_dir.join("snapshots").join(format!("group-{id}"));
    let authz = Arc::new(crate::authz::AuthzIndex::default());
    let inbox = Arc::new(super::snapshot_transfer::SnapshotInbox::new(
        snapshots.join("incoming"),
    ));
    let state_machine = StateMachine::new(
        store.clone(),
        kind,
        snapshots,
        authz.clone(),
        metrics.clone(),
    )
    .map_err(ClusterError::internal)?;
    let log_store = RaftLogStore::<TypeConfig>::new(db.clone(), id);
    let raft = Raft::new(
        node_id,
        raft_config()?,
        NetworkFactory::new(id, peers),
        log_store,
        state_machine,
    )
    .await
    .map_err(ClusterError::internal)?;
    if bootstrap
        && !raft
            .is_initialized()
            .await
            .map_err(ClusterError::internal)?
    {
        let mut members = BTreeMap::new();
        members.insert(node_id, node.clone());
        raft.initialize(members)
            .await
            .map_err(ClusterError::internal)?;
    }
    Ok(GroupHandle {
        id,
        kind,
        raft,
        store,
        recovered: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        authz,
        metrics,
        reads: Arc::default(),
        inbox,
    })
}
