//! The per-org audit chain: append (inside the same batch as the change), retention, compaction.

use crate::clock::Timestamp;
use crate::command::CommandMeta;
use crate::error::{ClusterError, Result};
use crate::ids::AuditId;
use crate::model::{AuditBody, AuditChainHead, AuditEvent, AuditRecord, AuditRetention};
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;

/// Largest number of records one compaction command removes (bounds apply time).
pub const COMPACTION_BATCH: u64 = 5_000;

/// Appends `event` to the org's chain, stamped with the command's actor and time.
pub fn append_audit(tx: &mut OrgTx, meta: &CommandMeta, event: AuditEvent) -> Result<AuditId> {
    let mut head: AuditChainHead = tx.get(Table::AuditHead, &[])?.unwrap_or_default();
    let id = AuditId(head.last_id + 1);
    // A clock that stepped back (or a new leader whose clock is behind) must not make a newer
    // record look older: the log's time only moves forward.
    let created_at = meta.at.max(head.last_at);
    let body = AuditBody {
        id,
        created_at,
        event_time: meta.at,
        event_type: event.event_type.to_string(),
        action: event.action,
        severity: event.severity.to_string(),
        message: event.message,
        actor_id: Some(meta.actor.actor_id()),
        actor_name: Some(meta.actor.actor_name()),
        actor_type: Some(meta.actor.actor_type().to_string()),
        auth_method: Some(meta.actor.actor_type().to_string()),
        target_type: event.target_type.map(str::to_string),
        target_id: event.target_id,
        target_name: event.target_name,
        ip_address: meta.ip.clone(),
        user_agent: meta.user_agent.clone(),
        request_id: meta.request_id.clone(),
        status: "success".to_string(),
        old_value: event.old_value,
        new_value: event.new_value,
        changes: event.changes,
        context: event.context,
    };
    // The outbox: every audited change is an event, in the same batch as the change.
    super::webhooks::enqueue(tx, &body)?;
    let record = AuditRecord::seal(body, &head.last_hash);
    tx.put(Table::Audit, &id.0.to_be_bytes(), &record)?;
    head.last_id = id.0;
    head.last_hash = record.hash;
    head.last_at = created_at;
    tx.put(Table::AuditHead, &[], &head)?;
    Ok(id)
}

/// Changes the retention settings (each field optional, for PATCH).
pub(super) fn set_retention(
    tx: &mut OrgTx,
    days: Option<u32>,
    auto_delete: Option<bool>,
) -> Result<Applied> {
    let old: AuditRetention = tx.get(Table::AuditRetention, &[])?.unwrap_or_default();
    let mut new = old;
    if let Some(days) = days {
        if !(1..=MAX_RETENTION_DAYS).contains(&days) {
            return Err(ClusterError::invalid(
                "retentionDays",
                format!("must be between 1 and {MAX_RETENTION_DAYS}"),
            ));
        }
        new.retention_days = days;
    }
    if let Some(auto_delete) = auto_delete {
        new.auto_delete = auto_delete;
    }
    tx.put(Table::AuditRetention, &[], &new)?;
    let event = AuditEvent {
        event_type: "audit",
        action: "audit.retention.updated".into(),
        severity: "warning",
        message: format!(
            "audit retention set to {} days (auto delete {})",
            new.retention_days, new.auto_delete
        ),
        target_type: Some("audit_retention"),
        old_value: Some(
            serde_json::json!({"retentionDays": old.retention_days, "autoDelete": old.auto_delete}),
        ),
        new_value: Some(
            serde_json::json!({"retentionDays": new.retention_days, "autoDelete": new.auto_delete}),
        ),
        ..AuditEvent::default()
    };
    Ok((Outcome::Done, vec![event]))
}

/// The longest retention an org can choose.
pub const MAX_RETENTION_DAYS: u32 = 3650;

/// Removes the oldest records created before `cutoff`, keeping the chain verifiable: the hash
/// of the last removed record becomes the anchor the first kept record must chain to.
pub(super) fn compact(tx: &mut OrgTx, cutoff: Timestamp) -> Result<Applied> {
    let retention: AuditRetention = tx.get(Table::AuditRetention, &[])?.unwrap_or_default();
    if !retention.auto_delete {
        return Ok((Outcome::Compacted { removed: 0 }, Vec::new()));
    }
    let mut head: AuditChainHead = tx.get(Table::AuditHead, &[])?.unwrap_or_default();
    let mut doomed: Vec<(u64, String)> = Vec::new();
    tx.reader()
        .scan::<AuditRecord>(Table::Audit, &[], false, |_, record| {
            if record.body.created_at >= cutoff || doomed.len() as u64 >= COMPACTION_BATCH {
                return false;
            }
            doomed.push((record.body.id.0, record.hash));
            true
        })?;
    let Some((last_id, last_hash)) = doomed.last().cloned() else {
        return Ok((Outcome::Compacted { removed: 0 }, Vec::new()));
    };
    for (id, _) in &doomed {
        tx.delete(Table::Audit, &id.to_be_bytes());
    }
    head.anchor_hash = last_hash;
    head.compacted_through = last_id;
    tx.put(Table::AuditHead, &[], &head)?;
    let removed = doomed.len() as u64;
    let event = AuditEvent {
        event_type: "audit",
        action: "audit.compacted".into(),
        severity: "info",
        message: format!("retention removed {removed} audit records up to id {last_id}"),
        target_type: Some("audit_log"),
        context: Some(
            serde_json::json!({"removed": removed, "throughId": last_id, "cutoff": cutoff.to_rfc3339()}),
        ),
        ..AuditEvent::default()
    };
    Ok((Outcome::Compacted { removed }, vec![event]))
}
