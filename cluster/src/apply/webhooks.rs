//! Webhooks: the admin writes, the outbox (a delivery per subscribed webhook, written by
//! [`enqueue`] in the same batch as the audit record of the change), and the dispatcher's
//! results (success, retry with backoff, dead letter) and replays.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::command::{CommandMeta, WebhookAttempt, WebhookFields, WebhookPatch};
use crate::error::{ClusterError, Result};
use crate::ids::WebhookId;
use crate::model::{
    AuditBody, AuditEvent, DeliveryAttempt, DeliveryStatus, Webhook, WebhookDelivery, WebhookHead,
};
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;

/// Attempts kept on a delivery row.
const KEPT_ATTEMPTS: usize = 20;
/// Bytes of a receiver's answer kept.
pub const KEPT_RESPONSE_BYTES: usize = 1024;

/// How a webhook retries: from its `configuration` (`maxAttempts`, `retryBaseMs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    pub max_attempts: u32,
    pub base_ms: i64,
}

impl RetryPolicy {
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
    pub const DEFAULT_BASE_MS: i64 = 2_000;
    /// No wait between attempts is longer than an hour.
    const MAX_DELAY_MS: i64 = 3_600_000;

    pub fn of(webhook: &Webhook) -> RetryPolicy {
        let config = webhook.configuration.as_ref();
        let number = |name: &str| config.and_then(|c| c[name].as_u64());
        RetryPolicy {
            max_attempts: number("maxAttempts")
                .map_or(Self::DEFAULT_MAX_ATTEMPTS, |n| n.clamp(1, 20) as u32),
            base_ms: number("retryBaseMs")
                .map_or(Self::DEFAULT_BASE_MS, |n| n.clamp(10, 600_000) as i64),
        }
    }

    /// The wait after failed attempt number `attempt` (1-based): exponential, with up to 25%
    /// jitter derived from `seed` so every replica computes the same time.
    pub fn delay_ms(self, attempt: u32, seed: u64) -> i64 {
        let exponential = self
            .base_ms
            .saturating_mul(1i64 << attempt.saturating_sub(1).min(20))
            .min(Self::MAX_DELAY_MS);
        let jitter = (seed % 1000) as i64 * exponential / 4000;
        exponential + jitter
    }
}

fn head(tx: &OrgTx) -> Result<WebhookHead> {
    Ok(tx.get(Table::WebhookHead, &[])?.unwrap_or_default())
}

use crate::lookup::{webhook as load, webhook_delivery_key as row_key};

fn parse_configuration(text: Option<&String>) -> Result<Option<Value>> {
    text.map(|t| {
        serde_json::from_str::<Value>(t)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| ClusterError::invalid("configuration", "must be a JSON object"))
    })
    .transpose()
}

/// Refuses admin changes to a webhook the server keeps (its settings own it).
fn admin_editable(webhook: &Webhook) -> Result<()> {
    match crate::model::hidden_owner(&webhook.kind) {
        Some(owner) => Err(ClusterError::conflict(
            "webhookId",
            format!("this webhook carries {owner}"),
        )),
        None => Ok(()),
    }
}

fn event(webhook: &Webhook, action: &str, message: &str) -> AuditEvent {
    AuditEvent::new("webhook", action, format!("{message} {}", webhook.url)).target(
        "webhook",
        webhook.id.0,
        webhook.url.clone(),
    )
}

pub(super) fn create(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    fields: &WebhookFields,
    sealed_secret: &str,
) -> Result<Applied> {
    let configuration = parse_configuration(fields.configuration.as_ref())?;
    let webhook = insert(tx, meta.at, fields, sealed_secret, configuration)?;
    let audit = event(&webhook, "webhook.created", "webhook created for");
    Ok((Outcome::Created(webhook.id.0.to_string()), vec![audit]))
}

/// Writes a new webhook with the org's next id.
pub(super) fn insert(
    tx: &mut OrgTx,
    at: Timestamp,
    fields: &WebhookFields,
    sealed_secret: &str,
    configuration: Option<Value>,
) -> Result<Webhook> {
    let mut counters = head(tx)?;
    counters.last_webhook_id += 1;
    tx.put(Table::WebhookHead, &[], &counters)?;
    let webhook = Webhook {
        id: WebhookId(counters.last_webhook_id),
        url: fields.url.clone(),
        events: fields.events.clone(),
        kind: fields.kind.clone(),
        is_active: fields.is_active,
        sealed_secret: sealed_secret.to_string(),
        previous_sealed_secret: None,
        previous_until: None,
        failure_count: 0,
        configuration,
        created_at: at,
        updated_at: at,
        last_triggered_at: None,
    };
    tx.put(Table::Webhook, &webhook.id.0.to_be_bytes(), &webhook)?;
    Ok(webhook)
}

pub(super) fn update(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: WebhookId,
    patch: &WebhookPatch,
) -> Result<Applied> {
    let mut webhook = load(tx, id)?;
    admin_editable(&webhook)?;
    let was_active = webhook.is_active;
    if let Some(url) = &patch.url {
        webhook.url = url.clone();
    }
    if let Some(events) = &patch.events {
        webhook.events = events.clone();
    }
    if let Some(kind) = &patch.kind {
        webhook.kind = kind.clone();
    }
    if let Some(active) = patch.is_active {
        webhook.is_active = active;
    }
    if let Some(configuration) = &patch.configuration {
        webhook.configuration = parse_configuration(configuration.as_ref())?;
    }
    if webhook.is_active && !was_active {
        // Re-enabled: deliveries held back while disabled become due now.
        webhook.failure_count = 0;
    }
    webhook.updated_at = meta.at;
    tx.put(Table::Webhook, &id.0.to_be_bytes(), &webhook)?;
    let action = match (was_active, webhook.is_active) {
        (true, false) => "webhook.disabled",
        (false, true) => "webhook.enabled",
        _ => "webhook.updated",
    };
    Ok((Outcome::Done, vec![event(&webhook, action, action)]))
}

/// How long a development tunnel lives after it was started.
const TUNNEL_LIFETIME_MS: i64 = 3_600_000;

/// Removes tunnels started more than an hour before `cutoff`, with their deliveries; returns
/// how many rows went.
pub(super) fn expire_tunnels(tx: &mut OrgTx, cutoff: Timestamp) -> Result<u64> {
    let oldest = cutoff.plus_millis(-TUNNEL_LIFETIME_MS);
    let mut doomed = Vec::new();
    tx.reader()
        .scan::<Webhook>(Table::Webhook, &[], false, |_, webhook| {
            if webhook.kind == crate::model::TUNNEL_KIND && webhook.created_at < oldest {
                doomed.push(webhook.id);
            }
            true
        })?;
    let mut removed = 0;
    for id in doomed {
        removed += remove_rows(tx, id)?;
    }
    Ok(removed)
}

/// Deletes webhook `id` and its deliveries; returns how many rows went.
fn remove_rows(tx: &mut OrgTx, id: WebhookId) -> Result<u64> {
    tx.delete(Table::Webhook, &id.0.to_be_bytes());
    let prefix = id.0.to_be_bytes();
    let mut rows = Vec::new();
    tx.reader()
        .scan_keys(Table::WebhookDelivery, &prefix, |k| {
            rows.push(k.to_vec());
            true
        })?;
    for row in &rows {
        let mut key = prefix.to_vec();
        key.extend_from_slice(row);
        tx.delete(Table::WebhookDelivery, &key);
        tx.delete(Table::WebhookPending, &key);
    }
    Ok(1 + rows.len() as u64)
}

pub(super) fn delete(tx: &mut OrgTx, id: WebhookId) -> Result<Applied> {
    let webhook = load(tx, id)?;
    admin_editable(&webhook)?;
    remove_rows(tx, id)?;
    Ok((
        Outcome::Done,
        vec![event(&webhook, "webhook.deleted", "webhook deleted for")],
    ))
}

pub(super) fn rotate_secret(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: WebhookId,
    sealed_secret: &str,
    grace_until: Timestamp,
) -> Result<Applied> {
    let mut webhook = load(tx, id)?;
    admin_editable(&webhook)?;
    let old = std::mem::replace(&mut webhook.sealed_secret, sealed_secret.to_string());
    if grace_until > meta.at {
        webhook.previous_sealed_secret = Some(old);
        webhook.previous_until = Some(grace_until);
    } else {
        webhook.previous_sealed_secret = None;
        webhook.previous_until = None;
    }
    webhook.updated_at = meta.at;
    tx.put(Table::Webhook, &id.0.to_be_bytes(), &webhook)?;
    Ok((
        Outcome::Done,
        vec![event(&webhook, "webhook.secret_rotated", "secret rotated for").severity("warning")],
    ))
}

/// A stable event id for audit record `audit_id` of this org (a ULID at the event's time).
fn event_id(tx: &OrgTx, body: &AuditBody) -> String {
    let digest = Sha256::new()
        .chain_update(tx.org().to_bytes())
        .chain_update(body.id.0.to_be_bytes())
        .finalize();
    let mut random = [0u8; 16];
    random.copy_from_slice(&digest[..16]);
    let ulid = ulid::Ulid::from_parts(body.created_at.0.max(0) as u64, u128::from_be_bytes(random));
    format!("evt_{}", ulid.to_string().to_lowercase())
}

/// What receivers get for an audited change: `{id, type, timestamp, data}`.
fn payload(id: &str, body: &AuditBody) -> Value {
    let mut data = json!({
        "auditId": body.id.0,
        "message": body.message,
        "severity": body.severity,
        "actor": {"id": body.actor_id, "type": body.actor_type, "name": body.actor_name},
    });
    if let Some(kind) = &body.target_type {
        data["object"] = json!({"type": kind, "id": body.target_id, "name": body.target_name});
    }
    for (name, value) in [
        ("changes", &body.changes),
        ("oldValue", &body.old_value),
        ("newValue", &body.new_value),
        ("context", &body.context),
    ] {
        if let Some(value) = value {
            data[name] = value.clone();
        }
    }
    json!({
        "id": id,
        "type": body.action,
        "timestamp": body.created_at.to_rfc3339(),
        "data": data,
    })
}

fn put_delivery(tx: &mut OrgTx, delivery: &WebhookDelivery) -> Result<()> {
    let key = row_key(delivery.webhook_id, delivery.seq);
    tx.put(Table::WebhookDelivery, &key, delivery)?;
    match (delivery.status.is_open(), delivery.next_attempt_at) {
        (true, Some(due)) => tx.put(Table::WebhookPending, &key, &due)?,
        _ => tx.delete(Table::WebhookPending, &key),
    }
    Ok(())
}

/// A new delivery of `payload` to `webhook`, due at once.
pub(super) fn new_delivery(
    tx: &mut OrgTx,
    webhook: WebhookId,
    event_id: &str,
    event_name: &str,
    payload: Value,
    at: Timestamp,
) -> Result<WebhookDelivery> {
    let mut counters = head(tx)?;
    counters.last_seq += 1;
    tx.put(Table::WebhookHead, &[], &counters)?;
    let delivery = WebhookDelivery {
        seq: counters.last_seq,
        webhook_id: webhook,
        event_id: event_id.to_string(),
        event_name: event_name.to_string(),
        status: DeliveryStatus::Pending,
        attempt_count: 0,
        last_status_code: None,
        last_response_body: None,
        last_error: None,
        next_attempt_at: Some(at),
        succeeded_at: None,
        dead_lettered_at: None,
        created_at: at,
        updated_at: at,
        payload,
        attempts: Vec::new(),
    };
    put_delivery(tx, &delivery)?;
    Ok(delivery)
}

/// The outbox: one delivery of the audited change `body` per active webhook subscribed to
/// it, in the same batch as the change.
pub(crate) fn enqueue(tx: &mut OrgTx, body: &AuditBody) -> Result<()> {
    let mut subscribed = Vec::new();
    tx.reader()
        .scan::<Webhook>(Table::Webhook, &[], false, |_, webhook| {
            if webhook.is_active && webhook.wants(&body.action) {
                subscribed.push(webhook.id);
            }
            true
        })?;
    if subscribed.is_empty() {
        return Ok(());
    }
    let id = event_id(tx, body);
    let payload = payload(&id, body);
    for webhook in subscribed {
        new_delivery(
            tx,
            webhook,
            &id,
            &body.action,
            payload.clone(),
            body.created_at,
        )?;
    }
    Ok(())
}

/// A webhook the server keeps for itself (outbound SCIM, email), in step with settings.
pub(super) struct HiddenWebhook {
    pub kind: &'static str,
    pub active: bool,
    pub url: String,
    pub events: Vec<String>,
    pub max_attempts: u64,
}

/// The org's hidden webhook of `kind`, if it has one.
pub(super) fn find_hidden(tx: &OrgTx, kind: &str) -> Result<Option<Webhook>> {
    let mut found = None;
    tx.reader()
        .scan::<Webhook>(Table::Webhook, &[], false, |_, webhook| {
            if webhook.kind == kind {
                found = Some(webhook);
                return false;
            }
            true
        })?;
    Ok(found)
}

/// Creates or updates the hidden webhook `carrier` describes (none is made while inactive).
pub(super) fn keep_hidden(tx: &mut OrgTx, at: Timestamp, carrier: HiddenWebhook) -> Result<()> {
    match find_hidden(tx, carrier.kind)? {
        None if !carrier.active => Ok(()),
        None => {
            let fields = WebhookFields {
                url: carrier.url,
                events: carrier.events,
                kind: carrier.kind.to_string(),
                is_active: true,
                configuration: None,
            };
            let configuration = Some(json!({"maxAttempts": carrier.max_attempts}));
            insert(tx, at, &fields, "", configuration)?;
            Ok(())
        }
        Some(mut webhook) => {
            if carrier.active && !webhook.is_active {
                webhook.failure_count = 0;
            }
            webhook.url = carrier.url;
            webhook.events = carrier.events;
            webhook.is_active = carrier.active;
            webhook.updated_at = at;
            tx.put(Table::Webhook, &webhook.id.0.to_be_bytes(), &webhook)
        }
    }
}

/// Records the dispatcher's attempts. Results for deliveries no longer open (a result recorded
/// twice after a leader change, a deleted webhook) are ignored. A failed delivery whose
/// sequence is in `give_up` is dead-lettered at once (the receiver refused it for good).
pub(super) fn record_attempts(
    tx: &mut OrgTx,
    attempts: &[WebhookAttempt],
    give_up: &[u64],
) -> Result<Applied> {
    for attempt in attempts {
        let key = row_key(attempt.webhook, attempt.seq);
        let Some(mut delivery) = tx.get::<WebhookDelivery>(Table::WebhookDelivery, &key)? else {
            continue;
        };
        let Some(mut webhook) =
            tx.get::<Webhook>(Table::Webhook, &attempt.webhook.0.to_be_bytes())?
        else {
            continue;
        };
        if !delivery.status.is_open() {
            continue;
        }
        delivery.attempt_count += 1;
        delivery.updated_at = attempt.at;
        delivery.last_status_code = attempt.status_code;
        delivery.last_response_body = attempt.response_body.clone();
        delivery.last_error = attempt.error.clone();
        delivery.attempts.push(DeliveryAttempt {
            at: attempt.at,
            status_code: attempt.status_code,
            error: attempt.error.clone(),
        });
        if delivery.attempts.len() > KEPT_ATTEMPTS {
            delivery.attempts.remove(0);
        }
        webhook.last_triggered_at = Some(attempt.at);
        let policy = RetryPolicy::of(&webhook);
        if attempt.succeeded() {
            delivery.status = DeliveryStatus::Success;
            delivery.succeeded_at = Some(attempt.at);
            delivery.next_attempt_at = None;
            webhook.failure_count = 0;
        } else {
            webhook.failure_count += 1;
            if delivery.attempt_count >= policy.max_attempts || give_up.contains(&delivery.seq) {
                delivery.status = DeliveryStatus::DeadLettered;
                delivery.dead_lettered_at = Some(attempt.at);
                delivery.next_attempt_at = None;
            } else {
                delivery.status = DeliveryStatus::Failed;
                let wait = policy.delay_ms(delivery.attempt_count, delivery.seq);
                delivery.next_attempt_at = Some(attempt.at.plus_millis(wait));
            }
        }
        put_delivery(tx, &delivery)?;
        tx.put(Table::Webhook, &webhook.id.0.to_be_bytes(), &webhook)?;
    }
    Ok((Outcome::Done, Vec::new()))
}

/// Sends delivery `seq` again: a new delivery with the same event id and payload.
pub(super) fn replay(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: WebhookId,
    seq: u64,
) -> Result<Applied> {
    load(tx, id)?;
    let original: WebhookDelivery = tx
        .get(Table::WebhookDelivery, &row_key(id, seq))?
        .ok_or_else(|| ClusterError::not_found("delivery", format!("dlv_{seq}")))?;
    let copy = new_delivery(
        tx,
        id,
        &original.event_id,
        &original.event_name,
        original.payload.clone(),
        meta.at,
    )?;
    Ok((Outcome::Created(copy.public_id()), Vec::new()))
}

/// Queues `event_name` with `data` for webhook `id` alone.
pub(super) fn send_event(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: WebhookId,
    event_id: &str,
    event_name: &str,
    data: &str,
) -> Result<Applied> {
    let webhook = load(tx, id)?;
    if !webhook.is_active {
        return Err(ClusterError::conflict(
            "stream_id",
            "the stream is disabled",
        ));
    }
    let data: Value =
        serde_json::from_str(data).map_err(|_| ClusterError::invalid("data", "must be JSON"))?;
    let payload = json!({
        "id": event_id,
        "type": event_name,
        "timestamp": meta.at.to_rfc3339(),
        "data": data,
    });
    let delivery = new_delivery(tx, id, event_id, event_name, payload, meta.at)?;
    Ok((Outcome::Created(delivery.public_id()), Vec::new()))
}
