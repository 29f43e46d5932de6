//! The outbound SCIM client on the shard leader: the webhook dispatcher hands it the due
//! deliveries of an org's hidden `scim` webhook (`service/webhooks.rs`); it connects to the
//! downstream service once per round, pushes each delivery's resource (`scim_outbound::Pusher`)
//! and returns the attempts and the downstream ids learnt, which the dispatcher records in one
//! Raft entry. A full sync (`scim.batch_sync`) goes over every user and group and records the
//! ids it learns every [`FLUSH_LINKS`], so a big org's sync never makes one huge entry. The
//! batch interval is kept by [`Service::schedule_scim_batches`].

use serde_json::{Value, json};

use crate::command::{Op, ScimBatchResult, ScimPushReport};
use crate::error::Result;
use crate::ids::{GroupId, UserId};
use crate::model::{DirectoryEntry, Webhook, WebhookDelivery};
use crate::scim_outbound::{BATCH_EVENT, Pusher, ScimClient, is_enabled};
use crate::settings::{SettingsSection, sealed_value, secret_context};
use crate::tables::{OrgReader, Table};
use crate::webhooks::Attempt;

use super::Service;
use super::webhooks::recorded;

/// Links recorded per Raft entry during a full sync.
const FLUSH_LINKS: usize = 500;

fn interval_ms(name: &str) -> i64 {
    match name {
        "hourly" => 3_600_000,
        "weekly" => 7 * 86_400_000,
        _ => 86_400_000,
    }
}

fn settings(reader: &OrgReader) -> Result<(Value, Value)> {
    let stored: Value = reader
        .get(Table::Settings, SettingsSection::Scim.as_str().as_bytes())?
        .unwrap_or_else(|| json!({}));
    let outbound = crate::settings::scim_outbound(Some(&stored));
    Ok((stored, outbound))
}

impl Service {
    /// Pushes deliveries `seqs` of the outbound webhook in order, stopping at the first
    /// failure; returns what to record and whether all succeeded.
    pub(super) async fn push_scim(
        &self,
        entry: &DirectoryEntry,
        reader: &OrgReader,
        webhook: &Webhook,
        seqs: &[u64],
    ) -> Result<(ScimPushReport, bool)> {
        let runtime = self.inner.actors.oauth_runtime();
        let (stored, outbound) = settings(reader)?;
        let secret = |path: &str| -> std::result::Result<String, String> {
            let sealed = sealed_value(&stored, path).ok_or_else(|| {
                format!(
                    "{path} is not set (a value saved before secrets were sealed must be set again)"
                )
            })?;
            let context = secret_context(SettingsSection::Scim, path);
            let plain = runtime
                .open_secret(entry.org_id, &context, sealed)
                .map_err(|e| e.to_string())?;
            String::from_utf8(plain).map_err(|_| format!("{path} is not text"))
        };
        let mut report = ScimPushReport::default();
        let client = ScimClient::connect(&outbound, secret, runtime.webhook_targets()).await;
        let mut pusher = match client {
            Ok(client) => Pusher::new(client, reader.clone(), outbound),
            Err(why) => {
                // The first delivery fails with why; the others wait behind it.
                if let Some(&seq) = seqs.first() {
                    let attempt = Attempt::failed(format!("connecting: {why}"));
                    report
                        .attempts
                        .push(recorded(webhook.id, seq, self.now(), attempt));
                }
                return Ok((report, false));
            }
        };
        for &seq in seqs {
            let key = crate::lookup::webhook_delivery_key(webhook.id, seq);
            let Some(delivery) = reader.get::<WebhookDelivery>(Table::WebhookDelivery, &key)?
            else {
                continue;
            };
            let attempt = if delivery.event_name == BATCH_EVENT {
                let (attempt, result) = self.full_sync(entry, &mut pusher).await?;
                report.batch = Some(result);
                attempt
            } else {
                pusher.deliver(&delivery.payload).await
            };
            let attempt = recorded(webhook.id, seq, self.now(), attempt);
            let ok = attempt.succeeded();
            report.attempts.push(attempt);
            if !ok {
                break;
            }
        }
        report.links = pusher.take_links();
        let all_ok = report.attempts.iter().all(|a| a.succeeded());
        Ok((report, all_ok))
    }

    /// Every user and group pushed, and what Lumo no longer has deleted downstream. The sync
    /// counts as delivered unless nothing at all went through (a partial one is reported in
    /// `last_batch_sync_*`, and later events push the rest).
    async fn full_sync(
        &self,
        entry: &DirectoryEntry,
        pusher: &mut Pusher,
    ) -> Result<(Attempt, ScimBatchResult)> {
        let work = pusher.batch_work()?;
        let mut result = ScimBatchResult {
            at: self.now(),
            users: 0,
            groups: 0,
            failed: 0,
            error: None,
        };
        let note = |attempt: Attempt, result: &mut ScimBatchResult| {
            if let Some(error) = attempt.error {
                result.failed += 1;
                result.error.get_or_insert(error);
            }
        };
        for id in &work.users {
            let Some(user) = UserId::from_bytes(id) else {
                continue;
            };
            result.users += 1;
            note(pusher.user(user).await, &mut result);
            self.flush_links(entry, pusher).await?;
        }
        for id in &work.groups {
            let Some(group) = GroupId::from_bytes(id) else {
                continue;
            };
            result.groups += 1;
            note(pusher.group(group).await, &mut result);
            self.flush_links(entry, pusher).await?;
        }
        for (kind, local, remote) in &work.orphans {
            note(pusher.remove(*kind, *local, remote).await, &mut result);
            self.flush_links(entry, pusher).await?;
        }
        result.at = self.now();
        let total = result.users + result.groups + work.orphans.len() as u64;
        let summary = format!(
            "synced {} users and {} groups, removed {} gone from Lumo; {} failed",
            result.users,
            result.groups,
            work.orphans.len(),
            result.failed
        );
        let attempt = if total > 0 && result.failed == total {
            Attempt::failed(format!(
                "{summary}: {}",
                result.error.clone().unwrap_or_default()
            ))
        } else {
            Attempt {
                status_code: None,
                response_body: Some(summary),
                error: None,
            }
        };
        Ok((attempt, result))
    }

    async fn flush_links(&self, entry: &DirectoryEntry, pusher: &mut Pusher) -> Result<()> {
        if pusher.pending_links() < FLUSH_LINKS {
            return Ok(());
        }
        let Some(shard) = self.group(entry.shard.0) else {
            return Ok(());
        };
        let report = ScimPushReport {
            links: pusher.take_links(),
            ..ScimPushReport::default()
        };
        shard
            .propose(self.system_command(entry, Op::RecordScimPushes(Box::new(report))))
            .await?;
        Ok(())
    }

    /// Queues a full sync for each led org whose batch interval has passed.
    pub(super) async fn schedule_scim_batches(&self, orgs: &[DirectoryEntry]) {
        for entry in orgs {
            let Some(shard) = self.group(entry.shard.0) else {
                continue;
            };
            if !shard.raft.is_leader() {
                continue;
            }
            let reader = OrgReader::new(shard.store.clone(), entry.org_id);
            let Ok((_, outbound)) = settings(&reader) else {
                continue;
            };
            if !is_enabled(&outbound)
                || outbound["batch_sync_enabled"] != Value::Bool(true)
                || outbound["last_batch_sync_status"] == "queued"
            {
                continue;
            }
            let every = interval_ms(outbound["batch_sync_interval"].as_str().unwrap_or("daily"));
            let last = outbound["last_batch_sync_at"]
                .as_str()
                .and_then(crate::clock::Timestamp::parse);
            if last.is_some_and(|at| at.plus_millis(every) > self.now()) {
                continue;
            }
            let command = self.system_command(entry, Op::QueueScimBatchSync);
            if let Err(e) = shard.propose(command).await {
                tracing::debug!(org = %entry.slug, error = %e, "scim batch sync");
            }
        }
    }
}
