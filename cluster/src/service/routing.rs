//! Where things are and getting requests there: directory lookups (local meta replica, or the
//! meta leader over RPC), org requests to the shard leader, proposals to a group's leader.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Service;
use super::membership::META_GROUP;
use crate::api_key;
use crate::caller::{Credential, RequestContext};
use crate::command::RaftCommand;
use crate::directory::MetaReader;
use crate::error::{ClusterError, Result};
use crate::model::{DirectoryEntry, NodeRecord, OrgState, ShardDescriptor};
use crate::query::{Outcome, Reply, Request};
use crate::raft::GroupHandle;
use crate::transport::{Rpc, RpcReply};

/// How many times a request may be passed on between nodes.
const MAX_HOPS: u8 = 3;
/// How long a request waits for an org that is moving between shards.
const MOVE_RETRY: Duration = Duration::from_secs(15);
/// Deadline of a forwarded request.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(30);

/// A directory entry with where its shard lives.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LookupAnswer {
    pub entry: Option<DirectoryEntry>,
    pub shard: Option<ShardDescriptor>,
    /// The nodes holding the shard's replicas.
    pub replicas: Vec<NodeRecord>,
    /// Meta voters and their RPC addresses, for later lookups.
    pub meta_members: Vec<(u64, String)>,
    /// For caller-chosen keys: the org the key's hash was registered for.
    pub key_owner: Option<crate::ids::OrgId>,
}

pub(crate) fn unexpected(reply: RpcReply) -> ClusterError {
    match reply {
        RpcReply::Error(e) => {
            serde_json::from_slice(&e).unwrap_or_else(|_| ClusterError::Unavailable {
                message: String::from_utf8_lossy(&e).into_owned(),
            })
        }
        other => ClusterError::internal(format!("unexpected answer {other:?}")),
    }
}

/// A failed call to another node: not applied when the request never left, unknown when it
/// may have been delivered (no answer in time, connection lost while waiting).
fn transport_error(e: crate::transport::TransportError) -> ClusterError {
    use crate::transport::TransportError;
    match e {
        TransportError::Timeout(..) => ClusterError::OutcomeUnknown {
            message: e.to_string(),
        },
        TransportError::Unreachable(_, ref why) if why.contains("connection closed") => {
            ClusterError::OutcomeUnknown {
                message: e.to_string(),
            }
        }
        other => ClusterError::Unavailable {
            message: other.to_string(),
        },
    }
}

/// The leader of a hosted group as `(node id, rpc address)`, if known.
pub(crate) fn leader_of(group: &GroupHandle) -> Option<(u64, String)> {
    use openraft::async_runtime::watch::WatchReceiver;
    let metrics = group.raft.metrics().borrow_watched().clone();
    let leader = metrics.current_leader?;
    let addr = metrics
        .membership_config
        .membership()
        .get_node(&leader)
        .map(|n| n.rpc_addr.clone())
        .unwrap_or_default();
    Some((leader, addr))
}

/// Voters of a hosted group as `(node id, rpc address)`.
pub(crate) fn voters_of(group: &GroupHandle) -> Vec<(u64, String)> {
    use openraft::async_runtime::watch::WatchReceiver;
    let metrics = group.raft.metrics().borrow_watched().clone();
    let membership = metrics.membership_config.membership();
    membership
        .voter_ids()
        .map(|id| {
            let addr = membership
                .get_node(&id)
                .map(|n| n.rpc_addr.clone())
                .unwrap_or_default();
            (id, addr)
        })
        .collect()
}

/// A lookup by org id travels as `#<org id>`, one by a caller-chosen API key as `#key:<key
/// hash>` (no slug starts with `#`).
pub(crate) fn org_id_lookup(key: &str) -> Option<crate::ids::OrgId> {
    key.strip_prefix('#')?.parse().ok()
}

/// The key hash of a `#key:<hash>` lookup.
pub(crate) fn key_hash_lookup(key: &str) -> Option<&str> {
    key.strip_prefix("#key:")
}

impl Service {
    /// Looks `slug` up: from the cache, from the local meta replica when this node leads the
    /// meta group, else from the meta leader over RPC. `fresh` skips the cache.
    pub(crate) async fn lookup(&self, slug: &str, fresh: bool) -> Result<LookupAnswer> {
        if !fresh && let Some(entry) = self.inner.directory.cached(slug) {
            return Ok(LookupAnswer {
                entry: Some(entry),
                ..LookupAnswer::default()
            });
        }
        let answer = match self.group(META_GROUP) {
            Some(meta) if meta.raft.is_leader() => self.local_lookup(&meta, slug, None).await?,
            _ => match self
                .ask_meta_leader(&Rpc::Lookup {
                    slug: slug.to_string(),
                })
                .await?
            {
                RpcReply::Entry(json) => serde_json::from_slice(&json)?,
                other => return Err(unexpected(other)),
            },
        };
        if let Some(entry) = &answer.entry {
            self.inner.directory.remember(entry.clone());
        }
        self.learn_meta_members(&answer.meta_members);
        Ok(answer)
    }

    fn learn_meta_members(&self, members: &[(u64, String)]) {
        if members.is_empty() {
            return;
        }
        if let Ok(mut seeds) = self.inner.seeds.write() {
            for (_, addr) in members {
                if !addr.is_empty() && !seeds.contains(addr) {
                    seeds.push(addr.clone());
                }
            }
        }
    }

    /// A lookup answered from this node's meta replica (the caller checked it leads).
    pub(crate) async fn local_lookup(
        &self,
        meta: &GroupHandle,
        slug: &str,
        key_hash: Option<&str>,
    ) -> Result<LookupAnswer> {
        meta.raft
            .ensure_linearizable(openraft::ReadPolicy::ReadIndex)
            .await
            .map_err(|e| ClusterError::Unavailable {
                message: e.to_string(),
            })?;
        let reader = MetaReader::new(meta.store.clone());
        let org = match key_hash_lookup(slug) {
            Some(hash) => reader.key_route(hash)?,
            None => org_id_lookup(slug),
        };
        let entry = match org {
            Some(org) => match reader.slug_of(org)? {
                Some(slug) => reader.entry(&slug)?,
                None => None,
            },
            None if slug.starts_with('#') => None,
            None => reader.entry(slug)?,
        };
        let shard = match &entry {
            Some(e) => reader.shard(e.shard)?,
            None => None,
        };
        let mut replicas = Vec::new();
        for id in shard.iter().flat_map(|s| s.replicas.iter()) {
            if let Some(node) = reader.node(id.0)? {
                replicas.push(node);
            }
        }
        let membership = voters_of(meta);
        let key_owner = match key_hash {
            Some(hash) => reader.key_route(hash)?,
            None => None,
        };
        Ok(LookupAnswer {
            entry,
            shard,
            replicas,
            meta_members: membership,
            key_owner,
        })
    }

    /// Sends `rpc` to the meta leader: the local hint if this node has a meta replica, else the
    /// seeds (which pass it on).
    pub(crate) async fn ask_meta_leader(&self, rpc: &Rpc) -> Result<RpcReply> {
        self.ask_meta_leader_within(rpc, FORWARD_TIMEOUT).await
    }

    /// Like [`Service::ask_meta_leader`], waiting at most `timeout` for each answer.
    pub(crate) async fn ask_meta_leader_within(
        &self,
        rpc: &Rpc,
        timeout: Duration,
    ) -> Result<RpcReply> {
        let mut targets: Vec<(u64, String)> = Vec::new();
        if let Some(meta) = self.group(META_GROUP)
            && let Some(leader) = leader_of(&meta)
            && leader.0 != self.inner.node_id.0
        {
            targets.push(leader);
        }
        if let Ok(seeds) = self.inner.seeds.read() {
            targets.extend(seeds.iter().map(|s| (0, s.clone())));
        }
        let mut last = ClusterError::Unavailable {
            message: "no meta leader is reachable".into(),
        };
        for (node, addr) in targets {
            if addr == self.inner.node.rpc_addr {
                continue;
            }
            match self
                .inner
                .peers
                .call(node, &addr, rpc, timeout, false)
                .await
            {
                Ok(RpcReply::Error(e)) => last = unexpected(RpcReply::Error(e)),
                Ok(reply) => return Ok(reply),
                Err(e) => {
                    last = ClusterError::Unavailable {
                        message: e.to_string(),
                    }
                }
            }
        }
        Err(last)
    }

    /// Proposes `command` to `group` on its leader, wherever it is.
    pub(crate) async fn propose_to(&self, group: u64, command: RaftCommand) -> Result<Outcome> {
        let deadline = tokio::time::Instant::now() + FORWARD_TIMEOUT;
        loop {
            let attempt = self.propose_once(group, &command).await;
            let retryable = matches!(
                attempt,
                Err(ClusterError::NotLeader { .. } | ClusterError::Unavailable { .. })
            );
            if !retryable || tokio::time::Instant::now() >= deadline {
                return attempt;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn propose_once(&self, group: u64, command: &RaftCommand) -> Result<Outcome> {
        if let Some(handle) = self.group(group) {
            if handle.raft.is_leader() {
                return handle.propose(command.clone()).await;
            }
            if let Some((leader, addr)) = leader_of(&handle) {
                return self.remote_propose(leader, &addr, group, command).await;
            }
        }
        if group == META_GROUP {
            let bytes = crate::transport::to_bytes(command).map_err(ClusterError::internal)?;
            return match self
                .ask_meta_leader(&Rpc::Propose {
                    group,
                    command: bytes,
                })
                .await?
            {
                RpcReply::Proposed(json) => serde_json::from_slice::<Result<Outcome>>(&json)?,
                other => Err(unexpected(other)),
            };
        }
        let (node, addr) = self.shard_target(group).await?;
        self.remote_propose(node, &addr, group, command).await
    }

    async fn remote_propose(
        &self,
        node: u64,
        addr: &str,
        group: u64,
        command: &RaftCommand,
    ) -> Result<Outcome> {
        let bytes = crate::transport::to_bytes(command).map_err(ClusterError::internal)?;
        let rpc = Rpc::Propose {
            group,
            command: bytes,
        };
        match self
            .inner
            .peers
            .call(node, addr, &rpc, FORWARD_TIMEOUT, false)
            .await
        {
            Ok(RpcReply::Proposed(json)) => serde_json::from_slice::<Result<Outcome>>(&json)?,
            Ok(other) => Err(unexpected(other)),
            Err(e) => Err(transport_error(e)),
        }
    }

    /// A replica of shard `group` to send to, for a node that does not host it.
    async fn shard_target(&self, group: u64) -> Result<(u64, String)> {
        let snapshot = self.meta_snapshot().await?;
        let shard = snapshot
            .shards
            .iter()
            .find(|s| s.id.0 == group)
            .ok_or_else(|| ClusterError::not_found("shard", group))?;
        shard
            .replicas
            .iter()
            .find_map(|id| snapshot.nodes.iter().find(|n| n.id == *id))
            .map(|n| (n.id.0, n.rpc_addr.clone()))
            .ok_or_else(|| ClusterError::Unavailable {
                message: format!("shard {group} has no reachable replica"),
            })
    }

    /// The directory entry of an active org, or why it cannot be served.
    pub async fn active_org(&self, slug: &str) -> Result<DirectoryEntry> {
        let answer = self.lookup(slug, false).await?;
        let entry = answer.entry.ok_or_else(|| ClusterError::OrgNotFound {
            slug: slug.to_string(),
        })?;
        match entry.state {
            OrgState::Active => Ok(entry),
            OrgState::Moving { .. } => {
                self.inner.directory.forget(slug);
                Err(ClusterError::OrgMoving {
                    slug: slug.to_string(),
                })
            }
            OrgState::Provisioning => {
                self.inner.directory.forget(slug);
                Err(ClusterError::Unavailable {
                    message: format!("organization {slug} is still being created"),
                })
            }
        }
    }

    /// Refuses a key that names another org than `entry` (by its embedded id, or by the route
    /// registered for a caller-chosen bootstrap key, when this node can see it).
    pub(crate) fn check_key_org(
        &self,
        entry: &DirectoryEntry,
        credential: &Credential,
    ) -> Result<()> {
        let Credential::ApiKey(key) = credential else {
            return Ok(());
        };
        let owner = match api_key::routed_org(key) {
            Some(org) => Some(org),
            None => match self.group(META_GROUP) {
                Some(meta) => {
                    MetaReader::new(meta.store.clone()).key_route(&api_key::hash_key(key))?
                }
                None => None,
            },
        };
        match owner {
            Some(org) if org != entry.org_id => Err(ClusterError::WrongOrganization),
            _ => Ok(()),
        }
    }

    /// Serves one org-scoped request: here when this node leads the org's shard, else on the
    /// node that does.
    pub async fn call(
        &self,
        slug: &str,
        credential: Credential,
        request: Request,
        ctx: RequestContext,
    ) -> Result<Reply> {
        // While an org moves, or after it moved (stale directory entry), retry transparently
        // for a bounded time: a refused request was not applied, so retrying applies it once.
        let deadline = tokio::time::Instant::now() + MOVE_RETRY;
        loop {
            let result = self
                .call_routed(slug, credential.clone(), request.clone(), ctx.clone(), 0)
                .await;
            let retry = matches!(
                result,
                Err(ClusterError::WrongShard | ClusterError::OrgMoving { .. })
            );
            if !retry || tokio::time::Instant::now() >= deadline {
                return result;
            }
            self.inner.directory.forget(slug);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn call_routed(
        &self,
        slug: &str,
        credential: Credential,
        request: Request,
        ctx: RequestContext,
        hops: u8,
    ) -> Result<Reply> {
        let entry = self.active_org(slug).await?;
        self.check_key_org(&entry, &credential)?;
        if let Some(shard) = self.group(entry.shard.0) {
            if let Request::Check(check) = &request {
                // Any replica answers questions; the leader only when this one cannot.
                match self
                    .check_here(slug, &entry, &shard, &credential, check)
                    .await
                {
                    // Counted once answered, so a question the leader answers counts once.
                    Some(answered) => {
                        self.count_request(&entry, &shard, &credential, &request, &ctx)?;
                        return answered;
                    }
                    None if hops < MAX_HOPS => {}
                    None => {
                        return Err(ClusterError::Unavailable {
                            message: "no replica could answer as fresh as asked; retry".into(),
                        });
                    }
                }
            } else if shard.raft.is_leader() {
                self.count_request(&entry, &shard, &credential, &request, &ctx)?;
                let result = self
                    .inner
                    .actors
                    .call(
                        entry.org_id,
                        entry.epoch,
                        &shard,
                        credential.clone(),
                        request.clone(),
                        ctx.clone(),
                    )
                    .await;
                match result {
                    Err(ClusterError::NotLeader { .. }) if hops < MAX_HOPS => {}
                    Err(ClusterError::WrongShard) => {
                        self.inner.directory.forget(slug);
                        return result;
                    }
                    other => return other,
                }
            }
            if hops >= MAX_HOPS {
                return Err(ClusterError::Unavailable {
                    message: "no stable leader for the organization's shard; retry".into(),
                });
            }
            let target = match leader_of(&shard) {
                Some(leader) if leader.0 != self.inner.node_id.0 => leader,
                _ => {
                    return Err(ClusterError::Unavailable {
                        message: format!("shard {} has no leader right now; retry", entry.shard),
                    });
                }
            };
            return self
                .forward(target, slug, credential, request, ctx, hops)
                .await;
        }
        if hops >= MAX_HOPS {
            return Err(ClusterError::Unavailable {
                message: "no stable route to the organization's shard; retry".into(),
            });
        }
        let answer = self.lookup(slug, true).await?;
        let mut last = ClusterError::Unavailable {
            message: format!("no replica of shard {} is reachable", entry.shard),
        };
        let mut replicas = answer.replicas.clone();
        if matches!(request, Request::Check(_)) && !replicas.is_empty() {
            // Any replica answers questions: spread them.
            let start = rand::random::<u64>() % replicas.len() as u64;
            replicas.rotate_left(usize::try_from(start).unwrap_or(0));
        }
        for replica in &replicas {
            let target = (replica.id.0, replica.rpc_addr.clone());
            match self
                .forward(
                    target,
                    slug,
                    credential.clone(),
                    request.clone(),
                    ctx.clone(),
                    hops,
                )
                .await
            {
                Err(e @ ClusterError::Unavailable { .. }) => last = e,
                other => return other,
            }
        }
        Err(last)
    }

    /// Answers an authorization question from this node's replica; `None` when the shard
    /// leader must answer it.
    async fn check_here(
        &self,
        slug: &str,
        entry: &DirectoryEntry,
        shard: &GroupHandle,
        credential: &Credential,
        check: &crate::authz::CheckRequest,
    ) -> Option<Result<Reply>> {
        let now = self.inner.clock.now();
        match crate::decide::answer(shard, entry.org_id, entry.epoch, credential, check, now).await
        {
            Ok(crate::decide::Served::Answered(decision)) => Some(Ok(Reply::Decision(decision))),
            Ok(crate::decide::Served::AskLeader) => None,
            Err(ClusterError::WrongShard) => {
                self.inner.directory.forget(slug);
                Some(Err(ClusterError::WrongShard))
            }
            Err(e) => Some(Err(e)),
        }
    }

    async fn forward(
        &self,
        (node, addr): (u64, String),
        slug: &str,
        credential: Credential,
        request: Request,
        ctx: RequestContext,
        hops: u8,
    ) -> Result<Reply> {
        let span = tracing::info_span!("rpc.forward", to_node = node, org = slug);
        let rpc = Rpc::Forward {
            slug: slug.to_string(),
            credential,
            ctx: RequestContext {
                hops: hops + 1,
                ..ctx
            },
            request: serde_json::to_vec(&request)?,
            trace: span.in_scope(crate::trace_context::current_traceparent),
        };
        let sent = self
            .inner
            .peers
            .call(node, &addr, &rpc, FORWARD_TIMEOUT, false);
        match tracing::Instrument::instrument(sent, span).await {
            Ok(RpcReply::Forwarded { answer, quota }) => {
                if let Some(quota) = quota {
                    crate::rate_limit::record(quota);
                }
                serde_json::from_slice::<Result<Reply>>(&answer)?
            }
            Ok(other) => Err(unexpected(other)),
            Err(e) => Err(transport_error(e)),
        }
    }
}
