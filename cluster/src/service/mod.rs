//! `Service`: the one entry point the API calls. It owns this node's Raft groups, the org
//! directory, the org actors and the internal RPC endpoint, and routes every org request to the
//! node leading the org's shard.

mod abandoned_moves;
mod addresses;
mod backup;
mod credential_org;
mod email;
mod groups;
mod membership;
mod move_recovery;
mod moves;
mod orgs;
mod placement;
mod rate_limits;
mod routing;
mod rpc;
mod sandbox;
mod scim_outbound;
mod snapshots;
mod status;
mod webhooks;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use lumo_storage::Db;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::actors::{ActorRegistry, ActorSettings};
use crate::clock::{Clock, Timestamp};
use crate::directory::Directory;
use crate::error::{ClusterError, Result};
use crate::ids::NodeId;
use crate::model::DirectoryEntry;
use crate::raft::{GroupHandle, NodeInfo};
use crate::transport::{Faults, Peers};

pub use backup::BackupManifest;
pub use groups::GroupRegistry;
pub use membership::MetaSnapshot;
pub use orgs::{CreatedOrg, NewOrg};
pub use routing::LookupAnswer;
pub use snapshots::ReplicaDigest;
pub use status::{ClusterStatus, GroupStatus, Readiness};

/// What a node does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Hosts Raft groups (and serves the API).
    Data,
    /// Serves the API only; holds no data and forwards every request.
    Frontend,
}

/// How to start the cluster side of a node.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub data_dir: PathBuf,
    pub node: NodeInfo,
    pub role: Role,
    /// RPC addresses of nodes to join (empty: start a new cluster).
    pub join: Vec<String>,
    pub cluster_token: String,
    pub fault_injection: bool,
    pub actors: ActorSettings,
    /// How often retention compaction runs over the audit logs.
    pub compaction_interval: Duration,
    /// How often the placement driver looks at replicas and leaders (on the meta leader).
    pub placement_interval: Duration,
    /// Replicas per shard (fewer while fewer nodes exist).
    pub replication_factor: usize,
    /// How long a node must be unreachable before its replicas are replaced elsewhere.
    pub down_after: Duration,
    /// Seals and opens token signing keys (the same on every data node of a cluster).
    pub master_key: Option<crate::crypto::MasterKey>,
    /// Which webhook receivers this node may call (private addresses only when allowed).
    pub webhook_targets: crate::webhooks::TargetPolicy,
    /// Where outgoing mail is dropped (`--mail-dir`); none: no mail is sent.
    pub mail_dir: Option<std::path::PathBuf>,
    /// Whether requests are counted against the orgs' rate limits (`--rate-limits`).
    pub rate_limits: bool,
    /// Bytes of snapshot per message when a replica is brought up to date.
    pub snapshot_chunk_bytes: usize,
}

pub(crate) struct Inner {
    pub(crate) node_id: NodeId,
    pub(crate) cluster_id: String,
    pub(crate) node: NodeInfo,
    pub(crate) db: Option<Db>,
    pub(crate) groups: GroupRegistry,
    pub(crate) directory: Directory,
    pub(crate) actors: ActorRegistry,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: ServiceConfig,
    pub(crate) peers: Arc<Peers>,
    /// RPC addresses to ask when no local replica knows (join seeds, then meta members seen).
    pub(crate) seeds: RwLock<Vec<String>>,
    pub(crate) background: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
    pub(crate) stop: watch::Sender<bool>,
    /// When the placement driver last reached each node.
    pub(crate) last_seen: std::sync::Mutex<std::collections::HashMap<u64, std::time::Instant>>,
    /// Held while a placement step or a node removal runs, so membership changes never
    /// interleave (the placement driver, `rebalance` and `remove` all take it).
    pub(crate) placement: tokio::sync::Mutex<()>,
    /// The cluster master key (data nodes).
    pub(crate) master_key: Option<crate::crypto::MasterKey>,
    /// Set while a `rebalance` request runs; a second one is refused.
    pub(crate) rebalancing: std::sync::atomic::AtomicBool,
    /// The node's Prometheus metrics.
    pub(crate) metrics: Arc<crate::metrics::Metrics>,
    /// The rate-limit counters of the requests this node serves.
    pub(crate) limiter: crate::rate_limit::Limiter,
}

/// The cluster service of one node.
#[derive(Clone)]
pub struct Service {
    pub(crate) inner: Arc<Inner>,
}

impl Service {
    /// Starts the node: opens storage, starts the RPC endpoint on `rpc` (data nodes), then
    /// bootstraps a new cluster, joins an existing one, or reopens the groups on disk.
    pub async fn open(
        config: ServiceConfig,
        clock: Arc<dyn Clock>,
        rpc: Option<TcpListener>,
    ) -> Result<Service> {
        membership::open(config, clock, rpc).await
    }

    /// This node's id (0 for a frontend).
    pub fn node_id(&self) -> NodeId {
        self.inner.node_id
    }

    /// The cluster this node belongs to.
    pub fn cluster_id(&self) -> &str {
        &self.inner.cluster_id
    }

    /// Which webhook receivers this node may call.
    pub fn webhook_targets(&self) -> crate::webhooks::TargetPolicy {
        self.inner.config.webhook_targets
    }

    /// The node's clock.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// The node's storage (absent on frontends).
    pub fn db(&self) -> Option<&Db> {
        self.inner.db.as_ref()
    }

    /// Fault injection rules of this node.
    pub fn faults(&self) -> &Arc<Faults> {
        self.inner.peers.faults()
    }

    pub(crate) fn group(&self, id: u64) -> Option<GroupHandle> {
        self.inner.groups.get(id)
    }

    /// The directory entry of `slug` in any state.
    pub async fn org_entry(&self, slug: &str) -> Result<Option<DirectoryEntry>> {
        Ok(self.lookup(slug, false).await?.entry)
    }

    /// Number of org actors running on this node.
    pub async fn running_actors(&self) -> usize {
        self.inner.actors.running().await
    }

    /// Stops background work, the RPC endpoint, actors and Raft groups; syncs the WAL.
    pub async fn shutdown(&self) {
        let _ = self.inner.stop.send(true);
        if let Ok(mut tasks) = self.inner.background.lock() {
            for task in tasks.drain(..) {
                task.abort();
            }
        }
        self.inner.actors.stop_all().await;
        for group in self.inner.groups.all().iter().rev() {
            if let Err(e) = group.raft.shutdown().await {
                tracing::warn!(group = group.id, error = %e, "raft shutdown failed");
            }
        }
        if let Some(db) = &self.inner.db
            && let Err(e) = db.sync_wal()
        {
            tracing::warn!(error = %e, "final wal sync failed");
        }
    }

    /// Runs `tick` every `interval` (the first time after one interval) in a background task
    /// that ends with the service.
    pub(crate) fn spawn_every<F, Fut>(&self, interval: std::time::Duration, tick: F)
    where
        F: Fn(Service) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let weak = Arc::downgrade(&self.inner);
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                tick(Service { inner }).await;
            }
        });
        self.spawn_background(task);
    }

    pub(crate) fn spawn_background(&self, task: tokio::task::JoinHandle<()>) {
        if let Ok(mut tasks) = self.inner.background.lock() {
            tasks.push(task);
        }
    }

    pub(crate) fn data(&self) -> Result<&Db> {
        self.inner
            .db
            .as_ref()
            .ok_or_else(|| ClusterError::Unavailable {
                message: "a frontend holds no data".into(),
            })
    }
}
