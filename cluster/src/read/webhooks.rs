//! Reads of the webhooks family: the filtered, sorted list and the delivery log.

use crate::error::Result;
use crate::ids::WebhookId;
use crate::model::{DeliveryStatus, Webhook, WebhookDelivery};
use crate::query::{Page, Reply, WebhookFilter};
use crate::tables::{OrgReader, Table};

/// Most deliveries one list answers.
pub const MAX_DELIVERIES: u64 = 200;

pub(super) fn list(reader: &OrgReader, filter: &WebhookFilter) -> Result<Reply> {
    let mut all = Vec::new();
    reader.scan::<Webhook>(Table::Webhook, &[], false, |_, webhook| {
        let active_ok = filter.is_active.is_none_or(|a| webhook.is_active == a);
        let event_ok = filter.event.as_deref().is_none_or(|e| webhook.wants(e));
        let kind_ok = webhook.kind == filter.kind.as_deref().unwrap_or("webhook");
        if active_ok && event_ok && kind_ok {
            all.push(webhook);
        }
        true
    })?;
    match filter.sort_by.as_deref() {
        Some("isActive") => all.sort_by_key(|w| (w.is_active, w.id)),
        _ => all.sort_by_key(|w| (w.created_at, w.id)),
    }
    if filter.descending {
        all.reverse();
    }
    Ok(Reply::Webhooks(Page::of(all, filter.page)))
}

pub(super) fn deliveries(
    reader: &OrgReader,
    webhook: WebhookId,
    status: Option<DeliveryStatus>,
    limit: u64,
) -> Result<Reply> {
    crate::lookup::webhook(reader, webhook)?;
    let limit = limit.clamp(1, MAX_DELIVERIES) as usize;
    let mut deliveries = Vec::new();
    let mut dead_lettered = 0;
    reader.scan::<WebhookDelivery>(
        Table::WebhookDelivery,
        &webhook.0.to_be_bytes(),
        true,
        |_, delivery| {
            if delivery.status == DeliveryStatus::DeadLettered {
                dead_lettered += 1;
            }
            if deliveries.len() < limit && status.is_none_or(|s| s == delivery.status) {
                deliveries.push(delivery);
            }
            true
        },
    )?;
    Ok(Reply::WebhookDeliveries {
        deliveries,
        dead_lettered,
    })
}

pub(super) fn delivery(reader: &OrgReader, webhook: WebhookId, seq: u64) -> Result<Reply> {
    crate::lookup::webhook(reader, webhook)?;
    reader
        .get::<WebhookDelivery>(
            Table::WebhookDelivery,
            &crate::lookup::webhook_delivery_key(webhook, seq),
        )?
        .map(Reply::WebhookDelivery)
        .ok_or_else(|| crate::error::ClusterError::not_found("delivery", format!("dlv_{seq}")))
}
