//! The webhook dispatcher: on every node, for the orgs whose shard it leads, sends the due
//! deliveries of the replicated outbox and records each attempt through Raft. A new leader
//! resumes from the same outbox, so every event is delivered at least once; receivers dedupe
//! on the event id. Deliveries of one webhook go in sequence order, one at a time unless its
//! `concurrency` allows more; a slow receiver holds up only its own webhook.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::command::{Op, WebhookAttempt};
use crate::ids::{OrgId, WebhookId};
use crate::model::{DirectoryEntry, EMAIL_KIND, OrgState, Webhook, WebhookDelivery};
use crate::scim_outbound::SCIM_KIND;
use crate::tables::{OrgReader, Table};
use crate::webhooks::{Attempt, SendLimits, Sender, TUNNEL_KIND, signature_headers, ssf};

use super::Service;

/// How often due deliveries are looked for.
const TICK: Duration = Duration::from_millis(100);
/// How often the list of orgs is refreshed.
const ORGS_EVERY: Duration = Duration::from_secs(2);
/// How often outbound SCIM batch intervals are looked at.
const BATCHES_EVERY: Duration = Duration::from_secs(60);
/// Deliveries of one webhook in flight at once, unless its configuration says otherwise: one,
/// so a webhook's events arrive in order (more start in order but may finish out of it).
const DEFAULT_CONCURRENCY: usize = 1;
/// Deliveries one webhook's task takes per round (one Raft write records them).
const BATCH: usize = 128;
/// How long one webhook's task keeps draining before the next tick takes over.
const MAX_TASK: Duration = Duration::from_secs(5);

/// Header fields of one delivery request.
type Headers = Vec<(&'static str, String)>;

type InFlight = Arc<Mutex<HashSet<(OrgId, WebhookId)>>>;

fn number(webhook: &Webhook, name: &str) -> Option<u64> {
    webhook
        .configuration
        .as_ref()
        .and_then(|c| c[name].as_u64())
}

impl Service {
    pub(crate) fn spawn_webhook_dispatcher(&self) {
        let weak = Arc::downgrade(&self.inner);
        let task = tokio::spawn(async move {
            let in_flight: InFlight = Arc::default();
            let mut orgs: Vec<DirectoryEntry> = Vec::new();
            let mut refreshed: Option<Instant> = None;
            let mut scheduled: Option<Instant> = None;
            let mut ticker = tokio::time::interval(TICK);
            loop {
                ticker.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                let service = Service { inner };
                if refreshed.is_none_or(|at| at.elapsed() >= ORGS_EVERY) {
                    if let Ok(snapshot) = service.meta_snapshot().await {
                        orgs = snapshot
                            .orgs
                            .into_iter()
                            .filter(|o| o.state == OrgState::Active)
                            .collect();
                    }
                    refreshed = Some(Instant::now());
                }
                if scheduled.is_none_or(|at| at.elapsed() >= BATCHES_EVERY) {
                    service.schedule_scim_batches(&orgs).await;
                    scheduled = Some(Instant::now());
                }
                let mut backlog = 0;
                for entry in &orgs {
                    match service.dispatch_org(entry, &in_flight) {
                        Ok(pending) => backlog += pending,
                        Err(e) => {
                            tracing::debug!(org = %entry.slug, error = %e, "webhook dispatch")
                        }
                    }
                }
                service.inner.metrics.outbox_backlog(backlog);
            }
        });
        self.spawn_background(task);
    }

    /// Starts a task per webhook of `entry` with a due delivery and none in flight; answers
    /// how many deliveries (webhooks, emails, SCIM pushes) wait in the org's outbox here.
    fn dispatch_org(&self, entry: &DirectoryEntry, in_flight: &InFlight) -> crate::Result<usize> {
        let Some(shard) = self.group(entry.shard.0) else {
            return Ok(0);
        };
        if !shard.raft.is_leader() {
            return Ok(0);
        }
        let reader = OrgReader::new(shard.store.clone(), entry.org_id);
        let now = self.now();
        // The first pending delivery of each webhook (the lowest sequence) decides.
        let mut due = Vec::new();
        let mut seen = HashSet::new();
        let mut pending = 0;
        reader.scan::<crate::clock::Timestamp>(Table::WebhookPending, &[], false, |key, at| {
            pending += 1;
            if let Some(webhook) = key.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
                let webhook = u64::from_be_bytes(webhook);
                if seen.insert(webhook) && at <= now {
                    due.push(WebhookId(webhook));
                }
            }
            true
        })?;
        for id in due {
            let Ok(mut flying) = in_flight.lock() else {
                return Ok(pending);
            };
            if !flying.insert((entry.org_id, id)) {
                continue;
            }
            drop(flying);
            let (service, entry, reader, in_flight) = (
                self.clone(),
                entry.clone(),
                reader.clone(),
                in_flight.clone(),
            );
            tokio::spawn(async move {
                if let Err(e) = service.drain(&entry, &reader, id).await {
                    tracing::debug!(org = %entry.slug, webhook = id.0, error = %e, "webhook delivery");
                }
                if let Ok(mut flying) = in_flight.lock() {
                    flying.remove(&(entry.org_id, id));
                }
            });
        }
        Ok(pending)
    }

    /// Due deliveries of `id` in sequence order, at most [`BATCH`]; the first one not due yet
    /// holds back the later ones.
    fn due_deliveries(&self, reader: &OrgReader, id: WebhookId) -> crate::Result<Vec<u64>> {
        let now = self.now();
        let mut seqs = Vec::new();
        reader.scan::<crate::clock::Timestamp>(
            Table::WebhookPending,
            &id.0.to_be_bytes(),
            false,
            |key, at| {
                if at > now {
                    return false;
                }
                if let Some(seq) = key.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
                    seqs.push(u64::from_be_bytes(seq));
                }
                seqs.len() < BATCH
            },
        )?;
        Ok(seqs)
    }

    /// Sends `id`'s due deliveries round after round until none is due (or the task has run
    /// long enough to let the next tick take over), recording each round through Raft.
    async fn drain(
        &self,
        entry: &DirectoryEntry,
        reader: &OrgReader,
        id: WebhookId,
    ) -> crate::Result<()> {
        let webhook = crate::lookup::webhook(reader, id)?;
        // A tunnel's deliveries are taken by its event stream, not pushed.
        if !webhook.is_active || webhook.kind == TUNNEL_KIND {
            return Ok(());
        }
        let outlet = if webhook.kind == SCIM_KIND || webhook.kind == EMAIL_KIND {
            None
        } else {
            Some(self.outlet(entry, webhook.clone()).await?)
        };
        let started = Instant::now();
        while started.elapsed() < MAX_TASK {
            let Some(shard) = self.group(entry.shard.0) else {
                return Ok(());
            };
            if !shard.raft.is_leader() {
                return Ok(());
            }
            let seqs = self.due_deliveries(reader, id)?;
            if seqs.is_empty() {
                return Ok(());
            }
            let (op, all_ok) = match &outlet {
                Some(outlet) => {
                    let (attempts, all_ok) = self.deliver(entry, reader, outlet, &seqs).await?;
                    if attempts.is_empty() {
                        return Ok(());
                    }
                    (Op::RecordWebhookAttempts(attempts), all_ok)
                }
                None if webhook.kind == EMAIL_KIND => {
                    match self.send_emails(entry, reader, &webhook, &seqs).await? {
                        Some(round) => round,
                        None => return Ok(()),
                    }
                }
                None => {
                    let (report, all_ok) = self.push_scim(entry, reader, &webhook, &seqs).await?;
                    if report.attempts.is_empty() {
                        return Ok(());
                    }
                    (Op::RecordScimPushes(Box::new(report)), all_ok)
                }
            };
            shard.propose(self.system_command(entry, op)).await?;
            if !all_ok {
                // The failed delivery waits for its backoff; so do the ones behind it.
                return Ok(());
            }
        }
        Ok(())
    }

    /// What a task sends `webhook`'s deliveries with, prepared once per task: its secrets
    /// opened, its address checked and pinned.
    async fn outlet(&self, entry: &DirectoryEntry, webhook: Webhook) -> crate::Result<Outlet> {
        let runtime = self.inner.actors.oauth_runtime();
        let secrets =
            crate::oauth::webhooks::signing_secrets(&runtime, entry.org_id, &webhook, self.now())?;
        let limits = SendLimits {
            timeout: Duration::from_millis(
                number(&webhook, "timeoutMs").map_or(10_000, |t| t.clamp(100, 30_000)),
            ),
            ..SendLimits::default()
        };
        let concurrency = number(&webhook, "concurrency")
            .map_or(DEFAULT_CONCURRENCY, |c| c.clamp(1, 16) as usize);
        let sender = Sender::new(&webhook.url, runtime.webhook_targets(), limits).await;
        Ok(Outlet {
            webhook,
            secrets,
            sender,
            concurrency,
        })
    }

    /// The body and headers of `delivery`: a signed SET for an SSF stream, else the signed
    /// JSON payload.
    fn request(
        &self,
        entry: &DirectoryEntry,
        reader: &OrgReader,
        outlet: &Outlet,
        delivery: &WebhookDelivery,
    ) -> crate::Result<(Vec<u8>, Headers)> {
        if outlet.webhook.kind != ssf::SSF_KIND {
            let body = serde_json::to_vec(&delivery.payload)?;
            let headers = signature_headers(
                &outlet.secrets,
                &delivery.event_id,
                self.now().0 / 1000,
                &body,
            );
            return Ok((body, headers));
        }
        let set = crate::oauth::webhooks::security_event_token(
            &self.inner.actors.oauth_runtime(),
            reader,
            entry.org_id,
            &outlet.webhook,
            &delivery.payload,
            self.now(),
        )?;
        let mut headers = vec![
            ("content-type", "application/secevent+jwt".to_string()),
            ("accept", "application/json".to_string()),
        ];
        if let Some(auth) = outlet.secrets.first().filter(|a| !a.is_empty()) {
            headers.push(("authorization", auth.clone()));
        }
        Ok((set.into_bytes(), headers))
    }

    /// Sends deliveries `seqs` `outlet.concurrency` at a time, stopping after a round with a
    /// failure; returns the attempts and whether all succeeded.
    async fn deliver(
        &self,
        entry: &DirectoryEntry,
        reader: &OrgReader,
        outlet: &Outlet,
        seqs: &[u64],
    ) -> crate::Result<(Vec<WebhookAttempt>, bool)> {
        let mut attempts = Vec::with_capacity(seqs.len());
        for chunk in seqs.chunks(outlet.concurrency) {
            let mut sends = Vec::with_capacity(chunk.len());
            for &seq in chunk {
                let key = crate::lookup::webhook_delivery_key(outlet.webhook.id, seq);
                let Some(delivery) = reader.get::<WebhookDelivery>(Table::WebhookDelivery, &key)?
                else {
                    continue;
                };
                let (body, headers) = self.request(entry, reader, outlet, &delivery)?;
                sends.push(async move {
                    let attempt = match &outlet.sender {
                        Ok(sender) => sender.post(&headers, body).await,
                        Err(why) => Attempt::failed(why.clone()),
                    };
                    (seq, attempt)
                });
            }
            for (seq, attempt) in futures::future::join_all(sends).await {
                attempts.push(recorded(outlet.webhook.id, seq, self.now(), attempt));
            }
            if attempts.iter().any(|a| !a.succeeded()) {
                return Ok((attempts, false));
            }
        }
        Ok((attempts, true))
    }
}

/// A webhook with what its deliveries are sent with.
struct Outlet {
    webhook: Webhook,
    /// Signing secrets (for an SSF stream: the receiver's `Authorization` header).
    secrets: Vec<String>,
    /// The pinned client, or why the receiver cannot be called (each attempt fails with it).
    sender: Result<Sender, String>,
    concurrency: usize,
}

/// An attempt as recorded through Raft: the receiver's answer cut to what is kept.
pub(super) fn recorded(
    webhook: WebhookId,
    seq: u64,
    at: crate::clock::Timestamp,
    attempt: Attempt,
) -> WebhookAttempt {
    let mut response_body = attempt.response_body;
    if let Some(text) = response_body.as_mut() {
        let mut end = text.len().min(crate::apply::KEPT_RESPONSE_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    WebhookAttempt {
        webhook,
        seq,
        at,
        status_code: attempt.status_code,
        response_body,
        error: attempt.error,
    }
}
