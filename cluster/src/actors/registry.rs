//! Finds or starts the actor of an org, with admission control.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ractor::{Actor, ActorRef, ActorStatus};
use tokio::sync::Mutex;

use crate::clock::Clock;
use crate::error::{ClusterError, Result};
use crate::ids::OrgId;
use crate::query::{Reply, Request};
use crate::raft::GroupHandle;

use super::org::{Envelope, OrgActor, OrgArgs, OrgMsg};
use crate::caller::{Credential, RequestContext};

/// Limits of org actors.
#[derive(Debug, Clone, Copy)]
pub struct ActorSettings {
    /// Stop an actor after this long without requests.
    pub idle_after: Duration,
    /// Requests one org may have in flight before new ones get 429.
    pub max_in_flight: usize,
}

impl Default for ActorSettings {
    fn default() -> Self {
        ActorSettings {
            idle_after: Duration::from_secs(300),
            max_in_flight: 2048,
        }
    }
}

#[derive(Clone)]
struct Entry {
    actor: ActorRef<OrgMsg>,
    in_flight: Arc<AtomicUsize>,
    epoch: u64,
}

/// The org actors of this node.
pub struct ActorRegistry {
    actors: std::sync::RwLock<HashMap<OrgId, Entry>>,
    /// Serializes actor starts (lookups do not take it).
    spawning: Mutex<()>,
    settings: ActorSettings,
    clock: Arc<dyn Clock>,
    oauth: Arc<crate::oauth::OAuthRuntime>,
    metrics: Arc<crate::metrics::Metrics>,
}

impl ActorRegistry {
    /// The node's protocol runtime (master key, webhook target policy).
    pub fn oauth_runtime(&self) -> Arc<crate::oauth::OAuthRuntime> {
        self.oauth.clone()
    }

    /// An empty registry.
    pub fn new(
        settings: ActorSettings,
        clock: Arc<dyn Clock>,
        oauth: Arc<crate::oauth::OAuthRuntime>,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Self {
        ActorRegistry {
            actors: std::sync::RwLock::new(HashMap::new()),
            spawning: Mutex::new(()),
            settings,
            clock,
            oauth,
            metrics,
        }
    }

    /// The org actors alive now, and the requests admitted to them and not answered yet.
    pub fn load(&self) -> (usize, usize) {
        match self.actors.read() {
            Ok(actors) => actors.values().filter(|e| is_alive(&e.actor)).fold(
                (0, 0),
                |(running, in_flight), e| {
                    (running + 1, in_flight + e.in_flight.load(Ordering::SeqCst))
                },
            ),
            Err(_) => (0, 0),
        }
    }

    /// Number of org actors running now.
    pub async fn running(&self) -> usize {
        match self.actors.read() {
            Ok(actors) => actors.values().filter(|e| is_alive(&e.actor)).count(),
            Err(_) => 0,
        }
    }

    fn lookup(&self, org: OrgId, epoch: u64) -> Option<Entry> {
        let actors = self.actors.read().ok()?;
        actors
            .get(&org)
            .filter(|e| e.epoch == epoch && is_alive(&e.actor))
            .cloned()
    }

    async fn entry(&self, org: OrgId, epoch: u64, shard: &GroupHandle) -> Result<Entry> {
        if let Some(entry) = self.lookup(org, epoch) {
            return Ok(entry);
        }
        let _spawning = self.spawning.lock().await;
        if let Some(entry) = self.lookup(org, epoch) {
            return Ok(entry);
        }
        let in_flight = Arc::new(AtomicUsize::new(0));
        let args = OrgArgs {
            org,
            epoch,
            shard: shard.clone(),
            clock: self.clock.clone(),
            in_flight: in_flight.clone(),
            idle_after: self.settings.idle_after,
            oauth: self.oauth.clone(),
        };
        let (actor, _) = Actor::spawn(None, OrgActor, args)
            .await
            .map_err(|e| ClusterError::internal(format!("cannot start org actor: {e}")))?;
        let entry = Entry {
            actor,
            in_flight,
            epoch,
        };
        let mut actors = self
            .actors
            .write()
            .map_err(|_| ClusterError::internal("actor registry lock poisoned"))?;
        if let Some(stale) = actors.insert(org, entry.clone()) {
            stale.actor.stop(Some("replaced".into()));
        }
        Ok(entry)
    }

    /// Sends a request to the org's actor (starting it if needed) and waits for the answer.
    pub async fn call(
        &self,
        org: OrgId,
        epoch: u64,
        shard: &GroupHandle,
        credential: Credential,
        request: Request,
        ctx: RequestContext,
    ) -> Result<Reply> {
        // An actor may stop for idleness between lookup and send: retry once with a new one.
        let mut pending = Some((credential, request, ctx));
        for _ in 0..2 {
            let entry = self.entry(org, epoch, shard).await?;
            if entry.in_flight.fetch_add(1, Ordering::SeqCst) >= self.settings.max_in_flight {
                entry.in_flight.fetch_sub(1, Ordering::SeqCst);
                self.metrics.admission_rejected();
                return Err(ClusterError::Overloaded {
                    retry_after_secs: 1,
                });
            }
            let Some((credential, request, ctx)) = pending.take() else {
                break;
            };
            let (tx, rx) = tokio::sync::oneshot::channel();
            let envelope = Envelope {
                credential: credential.clone(),
                request: request.clone(),
                ctx: ctx.clone(),
                reply: tx.into(),
                span: tracing::Span::current(),
            };
            if entry
                .actor
                .send_message(OrgMsg::Handle(Box::new(envelope)))
                .is_err()
            {
                entry.in_flight.fetch_sub(1, Ordering::SeqCst);
                pending = Some((credential, request, ctx));
                continue;
            }
            return match rx.await {
                Ok(result) => result,
                Err(_) => Err(ClusterError::Unavailable {
                    message: "the organization's actor stopped before answering".into(),
                }),
            };
        }
        Err(ClusterError::Unavailable {
            message: "cannot reach the organization's actor".into(),
        })
    }

    /// Stops every actor.
    pub async fn stop_all(&self) {
        let drained: Vec<Entry> = match self.actors.write() {
            Ok(mut actors) => actors.drain().map(|(_, e)| e).collect(),
            Err(_) => Vec::new(),
        };
        for entry in drained {
            entry.actor.stop(Some("shutdown".into()));
        }
    }
}

fn is_alive(actor: &ActorRef<OrgMsg>) -> bool {
    matches!(
        actor.get_status(),
        ActorStatus::Running | ActorStatus::Starting | ActorStatus::Upgrading
    )
}
