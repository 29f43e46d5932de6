//! Starting a node (bootstrap a cluster, join one, or reopen), hosting groups, and joins.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use lumo_storage::Db;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::{GroupRegistry, Inner, Role, Service, ServiceConfig};
use crate::actors::ActorRegistry;
use crate::clock::Clock;
use crate::command::{MetaCommand, MetaOp, RaftCommand};
use crate::directory::{Directory, MetaReader};
use crate::error::{ClusterError, Result};
use crate::ids::{NodeId, ShardId};
use crate::model::{DirectoryEntry, NodeRecord, ShardDescriptor};
use crate::node_identity::NodeIdentity;
use crate::query::Outcome;
use crate::raft::{GroupHandle, GroupKind, start_group};
use crate::transport::{Faults, Peers, Rpc, RpcReply, serve};

/// The meta group's id.
pub const META_GROUP: u64 = 0;

/// Nodes, shards and orgs as the meta leader sees them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetaSnapshot {
    pub nodes: Vec<NodeRecord>,
    pub shards: Vec<ShardDescriptor>,
    pub orgs: Vec<DirectoryEntry>,
    pub meta_voters: Vec<u64>,
}

pub(super) async fn open(
    config: ServiceConfig,
    clock: Arc<dyn Clock>,
    rpc: Option<TcpListener>,
) -> Result<Service> {
    if config.role == Role::Data {
        std::fs::create_dir_all(&config.data_dir).map_err(ClusterError::internal)?;
    }
    let faults = Arc::new(Faults::new(config.fault_injection));
    let (stop, stopped) = watch::channel(false);
    let (db, identity) = match config.role {
        Role::Data => {
            let identity = NodeIdentity::load_or_create(&config.data_dir)?;
            let db = Db::open(&config.data_dir.join("db"))?;
            (Some(db), Some(identity))
        }
        Role::Frontend => (None, None),
    };
    let mut identity = identity;
    let peers = Arc::new(
        Peers::new(
            identity.as_ref().map(|i| i.node_id.0).unwrap_or(0),
            &config.cluster_token,
            faults.clone(),
        )
        .with_snapshot_chunk(config.snapshot_chunk_bytes),
    );
    // A fresh data node with seeds joins before anything else, to learn its id (and the
    // cluster's master key).
    let mut joined_key = None;
    if let Some(id) = identity.as_mut()
        && id.fresh
        && !config.join.is_empty()
    {
        let (node_id, cluster_id, master_key) = join(&peers, &config).await?;
        id.node_id = NodeId(node_id);
        id.cluster_id = cluster_id;
        peers.set_self_id(node_id);
        joined_key = master_key;
    }
    let master_key = match config.role {
        Role::Data => Some(crate::crypto::resolve_master_key(
            &config.data_dir,
            config.master_key.clone(),
            joined_key.as_deref(),
        )?),
        Role::Frontend => None,
    };
    let node_id = identity.as_ref().map(|i| i.node_id).unwrap_or(NodeId(0));
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let service = Service {
        inner: Arc::new(Inner {
            node_id,
            cluster_id: identity
                .as_ref()
                .map(|i| i.cluster_id.clone())
                .unwrap_or_default(),
            node: config.node.clone(),
            db,
            groups: GroupRegistry::default(),
            directory: Directory::default(),
            actors: ActorRegistry::new(
                config.actors,
                clock.clone(),
                Arc::new(crate::oauth::OAuthRuntime::new(
                    master_key.clone(),
                    config.webhook_targets,
                    config.mail_dir.clone().map(|dir| {
                        Arc::new(crate::mail::DirMailer::new(dir)) as Arc<dyn crate::mail::Mailer>
                    }),
                )),
                metrics.clone(),
            ),
            master_key,
            clock,
            seeds: RwLock::new(config.join.clone()),
            limiter: crate::rate_limit::Limiter::new(config.rate_limits),
            config,
            peers,
            background: std::sync::Mutex::new(Vec::new()),
            stop,
            last_seen: std::sync::Mutex::new(std::collections::HashMap::new()),
            placement: tokio::sync::Mutex::new(()),
            rebalancing: std::sync::atomic::AtomicBool::new(false),
            metrics,
        }),
    };
    if let Some(listener) = rpc {
        let handler = Arc::new(service.clone());
        let task = tokio::spawn(serve(
            listener,
            handler,
            service.inner.config.cluster_token.clone(),
            faults,
            stopped,
        ));
        service.spawn_background(task);
    }
    if let Some(identity) = identity {
        service.start_groups(&identity).await?;
        if identity.fresh {
            identity.persist(&service.inner.config.data_dir)?;
        } else {
            service.announce_addresses().await;
        }
        service.spawn_placement();
        service.spawn_move_reconciler();
        service.spawn_address_refresh();
        service.spawn_compaction();
        service.spawn_webhook_dispatcher();
    }
    Ok(service)
}

/// Asks the seeds to admit this node; retries for a bounded time.
async fn join(peers: &Peers, config: &ServiceConfig) -> Result<(u64, String, Option<String>)> {
    let nonce_path = config.data_dir.join("join-nonce");
    let nonce = match std::fs::read_to_string(&nonce_path) {
        Ok(n) => n.trim().to_string(),
        Err(_) => {
            let n = ulid::Ulid::new().to_string();
            std::fs::write(&nonce_path, &n).map_err(ClusterError::internal)?;
            n
        }
    };
    let rpc = Rpc::Join {
        nonce,
        info: config.node.clone(),
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    while tokio::time::Instant::now() < deadline {
        for seed in &config.join {
            match peers
                .call(0, seed, &rpc, Duration::from_secs(10), false)
                .await
            {
                Ok(RpcReply::Joined {
                    node_id,
                    cluster_id,
                    master_key,
                }) => return Ok((node_id, cluster_id, master_key)),
                Ok(RpcReply::Error(e)) => last = String::from_utf8_lossy(&e).into_owned(),
                Ok(other) => last = format!("unexpected answer {other:?}"),
                Err(e @ crate::transport::TransportError::Refused(..)) => {
                    return Err(ClusterError::Unauthenticated {
                        message: format!("joining through {seed} was refused: {e}"),
                    });
                }
                Err(e) => last = e.to_string(),
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(ClusterError::Unavailable {
        message: format!("could not join through {:?}: {last}", config.join),
    })
}

impl Service {
    /// Opens this node's groups: a new cluster's meta group and first shard, or whatever the
    /// data dir holds.
    async fn start_groups(&self, identity: &NodeIdentity) -> Result<()> {
        let db = self.data()?.clone();
        if identity.fresh && self.inner.config.join.is_empty() {
            let meta = self.host_group(META_GROUP, GroupKind::Meta, true).await?;
            wait_for_leader(&meta, Duration::from_secs(30)).await?;
            let node = &self.inner.node;
            let register_self = MetaOp::JoinNode {
                nonce: format!("bootstrap-{}", identity.cluster_id),
                rpc_addr: node.rpc_addr.clone(),
                http_addr: node.http_addr.clone(),
                region: node.region.clone(),
                zone: node.zone.clone(),
            };
            self.propose_meta(register_self).await?;
            let shard = MetaOp::RegisterShard {
                shard: ShardId(1),
                region: node.region.clone(),
                replicas: vec![self.inner.node_id.0],
            };
            self.propose_meta(shard).await?;
            let first = self.host_group(1, GroupKind::Shard, true).await?;
            wait_for_leader(&first, Duration::from_secs(30)).await?;
            return Ok(());
        }
        if !identity.restored.is_empty() {
            for group in &identity.restored {
                let kind = if *group == META_GROUP {
                    GroupKind::Meta
                } else {
                    GroupKind::Shard
                };
                let handle = self.host_group(*group, kind, true).await?;
                wait_for_leader(&handle, Duration::from_secs(30)).await?;
            }
            identity.persist(&self.inner.config.data_dir)?;
            return Ok(());
        }
        let mut reopened = Vec::new();
        for group in db.hosted_groups()? {
            let kind = if group == META_GROUP {
                GroupKind::Meta
            } else {
                GroupKind::Shard
            };
            reopened.push(self.host_group(group, kind, false).await?);
        }
        // Give elections a moment so the node serves at once when it can; peers that are still
        // down (a whole-cluster restart) only delay readiness, never the start.
        for group in &reopened {
            if let Err(e) = wait_for_leader(group, Duration::from_secs(10)).await {
                tracing::warn!(group = group.id, error = %e, "no leader yet; continuing");
            }
        }
        Ok(())
    }

    /// Starts hosting `group` (no-op when already hosted); with `bootstrap`, initializes it with
    /// this node as its only voter.
    pub(crate) async fn host_group(
        &self,
        group: u64,
        kind: GroupKind,
        bootstrap: bool,
    ) -> Result<GroupHandle> {
        if let Some(handle) = self.group(group) {
            return Ok(handle);
        }
        let db = self.data()?.clone();
        let handle = start_group(
            &db,
            &self.inner.config.data_dir,
            self.inner.peers.clone(),
            self.inner.node_id.0,
            &self.inner.node,
            group,
            kind,
            bootstrap,
            self.inner.metrics.clone(),
        )
        .await?;
        self.inner.groups.insert(handle.clone());
        Ok(handle)
    }

    /// Stops hosting `group` and deletes its data.
    pub(crate) async fn drop_group(&self, group: u64) -> Result<()> {
        if let Some(handle) = self.inner.groups.remove(group) {
            let _ = handle.raft.shutdown().await;
            self.data()?.drop_group(group)?;
        }
        Ok(())
    }

    /// After a restart, tells the meta group this node's current addresses.
    async fn announce_addresses(&self) {
        let service = self.clone();
        let task = tokio::spawn(async move {
            for _ in 0..120 {
                let node = &service.inner.node;
                let op = MetaOp::UpdateNode {
                    node: service.inner.node_id.0,
                    rpc_addr: node.rpc_addr.clone(),
                    http_addr: node.http_addr.clone(),
                };
                match service.propose_meta(op).await {
                    Ok(_) => return,
                    Err(e) => tracing::debug!(error = %e, "announcing addresses, will retry"),
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        self.spawn_background(task);
    }

    /// Proposes a meta command on the meta leader, wherever it is.
    pub(crate) async fn propose_meta(&self, op: MetaOp) -> Result<Outcome> {
        let command = RaftCommand::Meta(MetaCommand { at: self.now(), op });
        self.propose_to(META_GROUP, command).await
    }

    /// Admits a node (on any node: proposed on the meta leader).
    pub(crate) async fn admit_node(
        &self,
        nonce: String,
        info: crate::raft::NodeInfo,
    ) -> Result<NodeRecord> {
        let op = MetaOp::JoinNode {
            nonce,
            rpc_addr: info.rpc_addr,
            http_addr: info.http_addr,
            region: info.region,
            zone: info.zone,
        };
        match self.propose_meta(op).await? {
            Outcome::Node(record) => Ok(record),
            other => Err(ClusterError::internal(format!(
                "unexpected join outcome {other:?}"
            ))),
        }
    }

    /// Nodes, shards, orgs and meta voters, read on the meta leader.
    pub async fn meta_snapshot(&self) -> Result<MetaSnapshot> {
        if let Some(meta) = self.group(META_GROUP)
            && meta.raft.is_leader()
        {
            meta.raft
                .ensure_linearizable(openraft::ReadPolicy::ReadIndex)
                .await
                .map_err(|e| ClusterError::Unavailable {
                    message: e.to_string(),
                })?;
            let reader = MetaReader::new(meta.store.clone());
            let voters = meta.raft.voter_ids().collect();
            return Ok(MetaSnapshot {
                nodes: reader.nodes()?,
                shards: reader.shards()?,
                orgs: reader.orgs()?,
                meta_voters: voters,
            });
        }
        match self.ask_meta_leader(&Rpc::MetaState).await? {
            RpcReply::Meta(json) => Ok(serde_json::from_slice(&json)?),
            other => Err(super::routing::unexpected(other)),
        }
    }
}

/// Waits until `group` has a leader and has applied what it committed.
pub(crate) async fn wait_for_leader(group: &GroupHandle, timeout: Duration) -> Result<()> {
    use openraft::async_runtime::watch::WatchReceiver;
    let mut metrics = group.raft.metrics();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let ready = {
            let m = metrics.borrow_watched();
            m.current_leader.is_some()
                && m.last_applied.as_ref().map(|l| l.index())
                    >= m.local_committed.as_ref().map(|l| l.index())
        };
        if ready {
            group
                .recovered
                .store(true, std::sync::atomic::Ordering::SeqCst);
            return Ok(());
        }
        match tokio::time::timeout_at(deadline, metrics.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => {
                return Err(ClusterError::Unavailable {
                    message: format!("raft group {} stopped while starting", group.id),
                });
            }
            Err(_) => {
                return Err(ClusterError::Unavailable {
                    message: format!("raft group {} has no leader after {timeout:?}", group.id),
                });
            }
        }
    }
}
