//! The org actor: authenticates and authorizes each request in arrival order, then runs it in
//! its own task so slow Raft round trips never block the mailbox.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use crate::access::{authenticate_memoized, authorize};
use crate::caller::{Credential, RequestContext};
use crate::clock::Clock;
use crate::error::{ClusterError, Result};
use crate::ids::OrgId;
use crate::query::{Reply, Request};
use crate::raft::GroupHandle;
use crate::tables::OrgReader;

use super::exec::execute;

/// Messages of an org actor.
pub enum OrgMsg {
    Handle(Box<Envelope>),
    /// Periodic check for passivation.
    Tick,
}

/// One request and where to answer it.
pub struct Envelope {
    pub credential: Credential,
    pub request: Request,
    pub ctx: RequestContext,
    pub reply: RpcReplyPort<Result<Reply>>,
    /// The caller's span: the request's task continues its trace.
    pub span: tracing::Span,
}

/// Starting arguments of an org actor.
pub struct OrgArgs {
    pub org: OrgId,
    pub epoch: u64,
    pub shard: GroupHandle,
    pub clock: Arc<dyn Clock>,
    pub in_flight: Arc<AtomicUsize>,
    pub idle_after: Duration,
    pub oauth: Arc<crate::oauth::OAuthRuntime>,
}

pub struct OrgState {
    args: OrgArgs,
    last_active: Instant,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

/// The actor type.
pub struct OrgActor;

impl OrgState {
    fn handle(&mut self, envelope: Envelope) {
        self.last_active = Instant::now();
        let Envelope {
            credential,
            request,
            ctx,
            reply,
            span,
        } = envelope;
        let now = self.args.clock.now();
        if self.args.shard.authz.is_installing() {
            // A replica elected while it installs a snapshot holds half a range until it ends.
            self.args.in_flight.fetch_sub(1, Ordering::SeqCst);
            let _ = reply.send(Err(ClusterError::Unavailable {
                message: "the shard's replica is installing a snapshot; retry".into(),
            }));
            return;
        }
        let reader = OrgReader::new(self.args.shard.store.clone(), self.args.org);
        if let Request::Protocol(protocol) = request {
            self.handle_protocol(protocol, ctx, reply, &reader, now, span);
            return;
        }
        let admitted = self
            .args
            .shard
            .authz
            .with_facts(&reader, |facts| {
                facts.check_served(&reader, self.args.epoch)?;
                authenticate_memoized(facts, &reader, &credential, now)
            })
            .and_then(|p| authorize(&reader, &p, &request).map(|()| p));
        let in_flight = self.args.in_flight.clone();
        let principal = match admitted {
            Ok(principal) => principal,
            Err(e) => {
                in_flight.fetch_sub(1, Ordering::SeqCst);
                let _ = reply.send(Err(e));
                return;
            }
        };
        if matches!(request, Request::Admit { .. }) {
            in_flight.fetch_sub(1, Ordering::SeqCst);
            let _ = reply.send(Ok(Reply::Done(crate::query::Outcome::Done)));
            return;
        }
        let shard = self.args.shard.clone();
        let (org, epoch) = (self.args.org, self.args.epoch);
        let work = async move {
            let result = execute(shard, org, epoch, principal, request, ctx, now).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            let _ = reply.send(result);
        };
        tokio::spawn(tracing::Instrument::instrument(work, span));
    }
}

impl OrgState {
    /// Protocol requests authenticate their own callers; the actor only checks the org is
    /// served here, then runs them in their own task.
    fn handle_protocol(
        &mut self,
        protocol: crate::protocol::ProtocolRequest,
        ctx: RequestContext,
        reply: RpcReplyPort<Result<Reply>>,
        reader: &OrgReader,
        now: crate::clock::Timestamp,
        span: tracing::Span,
    ) {
        let in_flight = self.args.in_flight.clone();
        let served = self
            .args
            .shard
            .authz
            .with_facts(reader, |facts| facts.check_served(reader, self.args.epoch));
        if let Err(e) = served {
            in_flight.fetch_sub(1, Ordering::SeqCst);
            let _ = reply.send(Err(e));
            return;
        }
        let protocol_ctx = crate::oauth::ProtocolCtx {
            shard: self.args.shard.clone(),
            org: self.args.org,
            epoch: self.args.epoch,
            now,
            request: ctx,
            runtime: self.args.oauth.clone(),
        };
        let work = async move {
            let result = crate::oauth::handle(protocol_ctx, protocol)
                .await
                .map(Reply::Protocol);
            in_flight.fetch_sub(1, Ordering::SeqCst);
            let _ = reply.send(result);
        };
        tokio::spawn(tracing::Instrument::instrument(work, span));
    }
}

impl Actor for OrgActor {
    type Msg = OrgMsg;
    type State = OrgState;
    type Arguments = OrgArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<OrgMsg>,
        args: OrgArgs,
    ) -> std::result::Result<OrgState, ActorProcessingErr> {
        let period = (args.idle_after / 2).max(Duration::from_millis(50));
        let ticker = myself.send_interval(period, || OrgMsg::Tick);
        Ok(OrgState {
            args,
            last_active: Instant::now(),
            ticker: Some(ticker),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<OrgMsg>,
        message: OrgMsg,
        state: &mut OrgState,
    ) -> std::result::Result<(), ActorProcessingErr> {
        match message {
            OrgMsg::Handle(envelope) => state.handle(*envelope),
            OrgMsg::Tick => {
                let idle = state.last_active.elapsed() >= state.args.idle_after;
                if idle && state.args.in_flight.load(Ordering::SeqCst) == 0 {
                    myself.stop(Some("idle".into()));
                }
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<OrgMsg>,
        state: &mut OrgState,
    ) -> std::result::Result<(), ActorProcessingErr> {
        if let Some(ticker) = state.ticker.take() {
            ticker.abort();
        }
        Ok(())
    }
}
