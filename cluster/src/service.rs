//! `Service`: the one entry point the API calls. It owns this node's Raft groups, the org
//! directory and the org actors.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lumo_storage::Db;
use openraft::ServerState;
use openraft::async_runtime::watch::WatchReceiver;
use serde::{Deserialize, Serialize};

use crate::actors::{ActorRegistry, ActorSettings, Credential, RequestContext};
use crate::api_key;
use crate::authorize::{authenticate, authorize_access};
use crate::clock::{Clock, Timestamp};
use crate::command::{Command, CommandMeta, MetaCommand, MetaOp, Op, RaftCommand};
use crate::directory::{Directory, validate_slug};
use crate::error::{ClusterError, Result};
use crate::ids::{NodeId, OrgId, ShardId};
use crate::model::{AuditRetention, DirectoryEntry, Family, OrgState, Principal, PrincipalKind};
use crate::node_identity::NodeIdentity;
use crate::query::{Outcome, Reply, Request};
use crate::raft::{GroupHandle, GroupKind, NodeInfo, start_group};
use crate::tables::{OrgReader, Table};

/// How to start the cluster side of a node.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub data_dir: PathBuf,
    pub node: NodeInfo,
    pub actors: ActorSettings,
    /// How often retention compaction runs over the audit logs.
    pub compaction_interval: Duration,
}

/// A new organization.
#[derive(Debug, Clone)]
pub struct NewOrg {
    pub slug: String,
    pub name: String,
    pub region: Option<String>,
    /// Use this exact admin API key instead of generating one.
    pub admin_key: Option<String>,
}

/// A created organization and its first admin key (shown once).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedOrg {
    pub entry: DirectoryEntry,
    pub api_key: String,
}

/// Readiness of this node's groups.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Readiness {
    pub ready: bool,
    pub groups: Vec<GroupStatus>,
}

/// The state of one group on this node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupStatus {
    pub group: u64,
    pub kind: String,
    pub leader: Option<u64>,
    pub state: String,
    pub last_log_index: Option<u64>,
    pub committed: Option<u64>,
    pub last_applied: Option<u64>,
}

struct Inner {
    node_id: NodeId,
    db: Db,
    meta: GroupHandle,
    shards: HashMap<ShardId, GroupHandle>,
    directory: Directory,
    actors: ActorRegistry,
    clock: Arc<dyn Clock>,
    config: ServiceConfig,
    background: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// The cluster service of one node.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

fn system_principal(org: OrgId) -> Principal {
    Principal {
        org,
        kind: PrincipalKind::System,
        scopes: vec!["admin".into()],
    }
}

impl Service {
    /// Opens the node's storage and starts its Raft groups (initializing a fresh data dir as a
    /// one-node cluster: the meta group plus shard 1).
    pub async fn open(config: ServiceConfig, clock: Arc<dyn Clock>) -> Result<Service> {
        std::fs::create_dir_all(&config.data_dir).map_err(ClusterError::internal)?;
        let identity = NodeIdentity::load_or_create(&config.data_dir)?;
        let fresh = identity.fresh;
        let db = Db::open(&config.data_dir.join("db"))?;
        let node_id = identity.node_id;
        let meta = start_group(
            &db,
            &config.data_dir,
            node_id.0,
            &config.node,
            0,
            GroupKind::Meta,
            fresh,
        )
        .await?;
        wait_for_leader(&meta, Duration::from_secs(30)).await?;
        let directory = Directory::new(meta.clone());
        if directory.shards()?.is_empty() {
            let register = MetaCommand {
                at: clock.now(),
                op: MetaOp::RegisterShard {
                    shard: ShardId(1),
                    region: config.node.region.clone(),
                    replicas: vec![node_id.0],
                },
            };
            crate::actors::propose_meta(&meta, register).await?;
        }
        let mut shards = HashMap::new();
        for shard in directory.shards()? {
            if !shard.replicas.contains(&node_id) {
                continue;
            }
            let handle = start_group(
                &db,
                &config.data_dir,
                node_id.0,
                &config.node,
                shard.id.0,
                GroupKind::Shard,
                fresh || shard.id.0 == 1,
            )
            .await?;
            shards.insert(shard.id, handle);
        }
        for handle in shards.values() {
            wait_for_leader(handle, Duration::from_secs(30)).await?;
        }
        if fresh {
            identity.persist(&config.data_dir)?;
        }
        let actors = ActorRegistry::new(config.actors, clock.clone());
        let service = Service {
            inner: Arc::new(Inner {
                node_id,
                db,
                meta,
                shards,
                directory,
                actors,
                clock,
                config,
                background: std::sync::Mutex::new(Vec::new()),
            }),
        };
        service.spawn_compaction();
        Ok(service)
    }

    /// This node's id.
    pub fn node_id(&self) -> NodeId {
        self.inner.node_id
    }

    /// The node's clock.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// The node's storage (for checkpoints).
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    fn shard(&self, id: ShardId) -> Result<&GroupHandle> {
        self.inner
            .shards
            .get(&id)
            .ok_or_else(|| ClusterError::Unavailable {
                message: format!("shard {id} is not hosted on this node"),
            })
    }

    /// The directory entry of an active org, or why it cannot be served.
    pub fn active_org(&self, slug: &str) -> Result<DirectoryEntry> {
        let entry =
            self.inner
                .directory
                .lookup(slug)?
                .ok_or_else(|| ClusterError::OrgNotFound {
                    slug: slug.to_string(),
                })?;
        match entry.state {
            OrgState::Active => Ok(entry),
            OrgState::Provisioning => Err(ClusterError::Unavailable {
                message: format!("organization {slug} is still being created"),
            }),
        }
    }

    /// The directory entry of `slug` in any state.
    pub fn org_entry(&self, slug: &str) -> Result<Option<DirectoryEntry>> {
        self.inner.directory.lookup(slug)
    }

    /// Every org of the cluster.
    pub fn orgs(&self) -> Result<Vec<DirectoryEntry>> {
        self.inner.directory.all()
    }

    /// Refuses a key that names another org than `entry` (by its embedded id, or by the route
    /// registered for a caller-chosen bootstrap key).
    fn check_key_org(&self, entry: &DirectoryEntry, credential: &Credential) -> Result<()> {
        let Credential::ApiKey(key) = credential else {
            return Ok(());
        };
        let owner = match api_key::routed_org(key) {
            Some(org) => Some(org),
            None => self.inner.directory.key_route(&api_key::hash_key(key))?,
        };
        match owner {
            Some(org) if org != entry.org_id => Err(ClusterError::WrongOrganization),
            _ => Ok(()),
        }
    }

    /// Checks, before a request body is even read, that `credential` may read (or write)
    /// `family` in the org `slug`: unknown org 404, another org's key 403, bad key 401,
    /// missing scope 403. The org actor checks again when the request arrives.
    pub fn admit(
        &self,
        slug: &str,
        credential: &Credential,
        family: Family,
        write: bool,
    ) -> Result<Principal> {
        let entry = self.active_org(slug)?;
        self.check_key_org(&entry, credential)?;
        let shard = self.shard(entry.shard)?;
        let reader = OrgReader::new(shard.store.clone(), entry.org_id);
        let principal = authenticate(&reader, credential, self.now())?;
        authorize_access(&principal, family, write)?;
        Ok(principal)
    }

    /// Serves one org-scoped request.
    pub async fn call(
        &self,
        slug: &str,
        credential: Credential,
        request: Request,
        ctx: RequestContext,
    ) -> Result<Reply> {
        let entry = self.active_org(slug)?;
        self.check_key_org(&entry, &credential)?;
        let shard = self.shard(entry.shard)?;
        self.inner
            .actors
            .call(entry.org_id, entry.epoch, shard, credential, request, ctx)
            .await
    }

    /// Creates an org: reserve the slug in the meta group, initialize it in its shard with its
    /// first admin key, then activate it.
    pub async fn create_org(&self, new: NewOrg) -> Result<CreatedOrg> {
        validate_slug(&new.slug)?;
        if new.name.trim().is_empty() || new.name.len() > 200 {
            return Err(ClusterError::invalid("name", "must be 1-200 characters"));
        }
        let org = OrgId::generate();
        let key = match &new.admin_key {
            Some(explicit) => {
                validate_explicit_key(explicit)?;
                explicit.clone()
            }
            None => api_key::generate(org, "admin", vec!["admin".into()], None).secret,
        };
        let key_route = new.admin_key.as_ref().map(|k| api_key::hash_key(k));
        let register = MetaCommand {
            at: self.now(),
            op: MetaOp::RegisterOrg {
                org,
                slug: new.slug.clone(),
                name: new.name.clone(),
                region: new.region.clone(),
                key_route,
            },
        };
        let entry = match crate::actors::propose_meta(&self.inner.meta, register).await? {
            Outcome::Directory(entry) => entry,
            other => {
                return Err(ClusterError::internal(format!(
                    "unexpected meta outcome {other:?}"
                )));
            }
        };
        let entry = self.finish_org(entry, &key).await?;
        Ok(CreatedOrg {
            entry,
            api_key: key,
        })
    }

    /// Initializes a registered (provisioning) org in its shard with `admin_key` and activates
    /// it. Safe to repeat after a crash.
    pub async fn finish_org(
        &self,
        entry: DirectoryEntry,
        admin_key: &str,
    ) -> Result<DirectoryEntry> {
        let shard = self.shard(entry.shard)?;
        let generated = api_key::describe(admin_key, "admin", vec!["admin".into()], None);
        let init = Command {
            org: entry.org_id,
            epoch: entry.epoch,
            meta: CommandMeta {
                at: self.now(),
                actor: system_principal(entry.org_id),
                ip: None,
                user_agent: None,
                request_id: None,
            },
            op: Op::InitOrg {
                number: entry.number,
                slug: entry.slug.clone(),
                name: entry.name.clone(),
                region: entry.region.clone(),
                admin_key: generated.record,
            },
        };
        crate::actors::propose(shard, RaftCommand::Org(init)).await?;
        let activate = MetaCommand {
            at: self.now(),
            op: MetaOp::ActivateOrg { org: entry.org_id },
        };
        match crate::actors::propose_meta(&self.inner.meta, activate).await? {
            Outcome::Directory(active) => {
                self.inner.directory.remember(active.clone());
                Ok(active)
            }
            other => Err(ClusterError::internal(format!(
                "unexpected meta outcome {other:?}"
            ))),
        }
    }

    /// Applies audit retention to every org whose shard this node leads: removes records
    /// older than the org's retention, in bounded batches.
    pub async fn compact_audit_logs(&self) -> Result<u64> {
        let now = self.now();
        let mut removed_total = 0;
        for entry in self.inner.directory.all()? {
            if entry.state != OrgState::Active {
                continue;
            }
            let Ok(shard) = self.shard(entry.shard) else {
                continue;
            };
            if !shard.raft.is_leader() {
                continue;
            }
            let reader = OrgReader::new(shard.store.clone(), entry.org_id);
            let retention: AuditRetention =
                reader.get(Table::AuditRetention, &[])?.unwrap_or_default();
            if !retention.auto_delete {
                continue;
            }
            let cutoff = now.minus_days(i64::from(retention.retention_days));
            loop {
                let command = Command {
                    org: entry.org_id,
                    epoch: entry.epoch,
                    meta: CommandMeta {
                        at: now,
                        actor: system_principal(entry.org_id),
                        ip: None,
                        user_agent: None,
                        request_id: None,
                    },
                    op: Op::CompactAudit { cutoff },
                };
                let removed = match crate::actors::propose(shard, RaftCommand::Org(command)).await?
                {
                    Outcome::Compacted { removed } => removed,
                    _ => 0,
                };
                removed_total += removed;
                if removed < crate::apply::COMPACTION_BATCH {
                    break;
                }
            }
        }
        Ok(removed_total)
    }

    fn spawn_compaction(&self) {
        let weak = Arc::downgrade(&self.inner);
        let interval = self.inner.config.compaction_interval;
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                let service = Service { inner };
                if let Err(e) = service.compact_audit_logs().await {
                    tracing::warn!(error = %e, "audit retention compaction failed");
                }
            }
        });
        if let Ok(mut tasks) = self.inner.background.lock() {
            tasks.push(task);
        }
    }

    /// Ready when every group hosted here has a leader and has applied what it committed.
    pub fn readiness(&self) -> Readiness {
        let groups: Vec<GroupStatus> = std::iter::once(&self.inner.meta)
            .chain(self.inner.shards.values())
            .map(group_status)
            .collect();
        let ready = groups.iter().all(|g| {
            g.leader.is_some()
                && g.committed.unwrap_or(0) <= g.last_applied.unwrap_or(0)
                && g.last_applied.is_some()
        });
        Readiness { ready, groups }
    }

    /// Number of org actors running on this node.
    pub async fn running_actors(&self) -> usize {
        self.inner.actors.running().await
    }

    /// Stops actors, background tasks and Raft groups; flushes the WAL.
    pub async fn shutdown(&self) {
        if let Ok(mut tasks) = self.inner.background.lock() {
            for task in tasks.drain(..) {
                task.abort();
            }
        }
        self.inner.actors.stop_all().await;
        for group in self
            .inner
            .shards
            .values()
            .chain(std::iter::once(&self.inner.meta))
        {
            if let Err(e) = group.raft.shutdown().await {
                tracing::warn!(group = group.id, error = %e, "raft shutdown failed");
            }
        }
        if let Err(e) = self.inner.db.sync_wal() {
            tracing::warn!(error = %e, "final wal sync failed");
        }
    }
}

fn validate_explicit_key(key: &str) -> Result<()> {
    let ok = key.starts_with("lmk_")
        && (24..=256).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ClusterError::invalid(
            "api_key",
            "must start with lmk_ and be 24-256 characters of letters, digits, '_' and '-'",
        ))
    }
}

fn group_status(group: &GroupHandle) -> GroupStatus {
    let metrics = group.raft.metrics().borrow_watched().clone();
    GroupStatus {
        group: group.id,
        kind: match group.kind {
            GroupKind::Meta => "meta".into(),
            GroupKind::Shard => "shard".into(),
        },
        leader: metrics.current_leader,
        state: match metrics.state {
            ServerState::Leader => "leader".into(),
            ServerState::Follower => "follower".into(),
            ServerState::Candidate => "candidate".into(),
            ServerState::Learner => "learner".into(),
            ServerState::Shutdown => "shutdown".into(),
        },
        last_log_index: metrics.last_log_index,
        committed: metrics.local_committed.as_ref().map(|l| l.index()),
        last_applied: metrics.last_applied.as_ref().map(|l| l.index()),
    }
}

async fn wait_for_leader(group: &GroupHandle, timeout: Duration) -> Result<()> {
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
            return Ok(());
        }
        let changed = tokio::time::timeout_at(deadline, metrics.changed()).await;
        match changed {
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
