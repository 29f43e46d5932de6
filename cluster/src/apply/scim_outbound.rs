//! Outbound SCIM in `apply`: the settings' cross-field rules, the hidden webhook the settings
//! keep in step (its events follow the switches), queuing a full sync, and recording what the
//! client did (attempts, downstream ids, the `last_sync_*` and `last_batch_sync_*` fields).

use serde_json::{Map, Value, json};

use crate::clock::Timestamp;
use crate::command::{CommandMeta, ScimPushReport};
use crate::error::{ClusterError, Result};
use crate::model::{
    AuditEvent, BATCH_EVENT, SCIM_KIND, SCIM_MAPPABLE_FIELDS, Webhook, is_enabled, scim_link_key,
    subscribed_events,
};
use crate::query::Outcome;
use crate::settings::{SettingsSection, render};
use crate::tables::{OrgTx, Table};

use super::Applied;

const SECTION: &[u8] = b"scim";
/// Attempts per delivery before it is dead-lettered (the backoff caps at an hour).
const MAX_ATTEMPTS: u64 = 12;

fn configured(outbound: &Value, field: &str) -> bool {
    outbound[field]["configured"] == Value::Bool(true)
}

fn text(outbound: &Value, field: &str) -> bool {
    outbound[field]
        .as_str()
        .is_some_and(|s| !s.trim().is_empty())
}

/// Refuses a mapping to a field Lumo does not have.
fn check_mapping(doc: &Value, side: &str, fields: &[&str]) -> Result<()> {
    let Some(mapping) = doc[side]["attribute_mapping"].as_object() else {
        return Ok(());
    };
    for (attribute, field) in mapping {
        if !field.as_str().is_some_and(|f| fields.contains(&f)) {
            return Err(ClusterError::invalid(
                &format!("{side}.attribute_mapping"),
                format!(
                    "{attribute}: {field} is not a Lumo field (one of {})",
                    fields.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses SCIM settings that could not work: mappings to unknown fields, and a switched-on
/// outbound client without a URL or without the credential its `auth_type` needs.
pub(super) fn check(stored: &Value) -> Result<()> {
    let doc = render(SettingsSection::Scim, Some(stored));
    check_mapping(&doc, "inbound", &SCIM_MAPPABLE_FIELDS[1..])?;
    check_mapping(&doc, "outbound", SCIM_MAPPABLE_FIELDS)?;
    let outbound = &doc["outbound"];
    if outbound["enabled"] != Value::Bool(true) {
        return Ok(());
    }
    let url = outbound["endpoint_url"].as_str().unwrap_or_default();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(ClusterError::invalid(
            "outbound.endpoint_url",
            "must be the downstream service's SCIM base URL when outbound is enabled",
        ));
    }
    let needs: Vec<(&str, bool)> = match outbound["auth_type"].as_str().unwrap_or("bearer") {
        "basic" => vec![
            ("basic_username", text(outbound, "basic_username")),
            ("basic_password", configured(outbound, "basic_password")),
        ],
        "oauth2" => vec![
            ("oauth2_client_id", text(outbound, "oauth2_client_id")),
            ("oauth2_token_url", text(outbound, "oauth2_token_url")),
            (
                "oauth2_client_secret",
                configured(outbound, "oauth2_client_secret"),
            ),
        ],
        _ => vec![("bearer_token", configured(outbound, "bearer_token"))],
    };
    let missing: Vec<&str> = needs
        .into_iter()
        .filter(|(_, present)| !present)
        .map(|(field, _)| field)
        .collect();
    match missing.first() {
        Some(field) => Err(ClusterError::invalid(
            &format!("outbound.{field}"),
            format!(
                "is required for auth_type {}",
                outbound["auth_type"].as_str().unwrap_or("bearer")
            ),
        )),
        None => Ok(()),
    }
}

/// The org's outbound SCIM webhook, if it has one.
pub(super) fn find_webhook(tx: &OrgTx) -> Result<Option<Webhook>> {
    super::webhooks::find_hidden(tx, SCIM_KIND)
}

/// Keeps the hidden webhook in step with the saved settings.
pub(super) fn sync_webhook(tx: &mut OrgTx, at: Timestamp, stored: &Value) -> Result<()> {
    let outbound = crate::settings::scim_outbound(Some(stored));
    let carrier = super::webhooks::HiddenWebhook {
        kind: SCIM_KIND,
        active: is_enabled(&outbound),
        url: outbound["endpoint_url"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        events: subscribed_events(&outbound),
        max_attempts: MAX_ATTEMPTS,
    };
    super::webhooks::keep_hidden(tx, at, carrier)
}

/// Changes the server-kept fields of the outbound settings.
fn set_status(tx: &mut OrgTx, fields: &[(&str, Value)]) -> Result<()> {
    let mut stored: Value = tx
        .get(Table::Settings, SECTION)?
        .unwrap_or_else(|| json!({}));
    if !stored.is_object() {
        stored = json!({});
    }
    let Value::Object(root) = &mut stored else {
        return Ok(());
    };
    let outbound = root
        .entry("outbound")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(outbound) = outbound {
        for (name, value) in fields {
            outbound.insert((*name).to_string(), value.clone());
        }
    }
    tx.put(Table::Settings, SECTION, &stored)
}

/// Queues a full sync on the outbound webhook.
pub(super) fn queue_batch(tx: &mut OrgTx, meta: &CommandMeta) -> Result<Applied> {
    let webhook = find_webhook(tx)?.filter(|w| w.is_active).ok_or_else(|| {
        ClusterError::conflict(
            "outbound",
            "outbound SCIM is not enabled (set outbound.enabled and outbound.endpoint_url)",
        )
    })?;
    let event_id = format!("evt_scim_sync_{}", meta.at.0);
    let payload = json!({
        "id": event_id,
        "type": BATCH_EVENT,
        "timestamp": meta.at.to_rfc3339(),
        "data": {},
    });
    let delivery =
        super::webhooks::new_delivery(tx, webhook.id, &event_id, BATCH_EVENT, payload, meta.at)?;
    set_status(tx, &[("last_batch_sync_status", json!("queued"))])?;
    let event = AuditEvent::new(
        "settings",
        "scim.outbound.sync_queued",
        "outbound SCIM full sync queued",
    )
    .target("settings", "scim", "scim".to_string());
    Ok((Outcome::Created(delivery.public_id()), vec![event]))
}

/// Records a round of the outbound client.
pub(super) fn record(tx: &mut OrgTx, report: &ScimPushReport) -> Result<Applied> {
    super::webhooks::record_attempts(tx, &report.attempts, &[])?;
    for link in &report.links {
        let key = scim_link_key(link.kind, &link.local);
        match &link.remote {
            Some(remote) => tx.put(Table::ScimOutboundLink, &key, remote)?,
            None => tx.delete(Table::ScimOutboundLink, &key),
        }
    }
    let mut fields = Vec::new();
    if let Some(last) = report.attempts.last() {
        let status = if last.succeeded() {
            "success"
        } else {
            "failed"
        };
        fields.push(("last_sync_at", json!(last.at.to_rfc3339())));
        fields.push(("last_sync_status", json!(status)));
        fields.push(("last_sync_error", json!(last.error)));
    }
    if let Some(batch) = &report.batch {
        let status = match (batch.failed, batch.users + batch.groups) {
            (0, _) => "success",
            (failed, total) if failed < total => "partial",
            _ => "failed",
        };
        fields.push(("last_batch_sync_at", json!(batch.at.to_rfc3339())));
        fields.push(("last_batch_sync_status", json!(status)));
        fields.push(("last_batch_sync_error", json!(batch.error)));
        fields.push((
            "last_batch_sync_counts",
            json!({"users": batch.users, "groups": batch.groups, "failed": batch.failed}),
        ));
    }
    if !fields.is_empty() {
        set_status(tx, &fields)?;
    }
    Ok((Outcome::Done, Vec::new()))
}
