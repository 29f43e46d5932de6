//! Audit log entries, statistics, exports and chain reports.

use lumo_cluster::model::AuditRecord;
use lumo_cluster::query::{AuditStats, ChainReport};
use serde::Serialize;
use serde_json::{Value, json};

/// The `AuditLogEntry` model (detail fields included; they are optional in lists).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntryDto {
    pub id: u64,
    pub created_at: String,
    pub event_type: String,
    pub action: String,
    pub severity: String,
    pub message: String,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub actor_type: Option<String>,
    pub auth_method: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    pub ip_address: Option<String>,
    pub event_time: String,
    pub duration_ms: Option<u64>,
    pub initiated_by: Option<String>,
    pub client_id: Option<String>,
    pub user_agent: Option<String>,
    pub geo_location: Option<Value>,
    pub session_id: Option<String>,
    pub request_id: Option<String>,
    pub status: String,
    pub status_reason: Option<String>,
    pub old_value: Option<Value>,
    pub new_value: Option<Value>,
    pub changes: Option<Value>,
    pub context: Option<Value>,
    /// Hash-chain fields (an extension of the model).
    pub hash: String,
    pub prev_hash: String,
}

fn object_or_null(value: Option<Value>) -> Option<Value> {
    match value {
        Some(Value::Object(map)) => Some(Value::Object(map)),
        Some(Value::Null) | None => None,
        Some(other) => Some(json!({"value": other})),
    }
}

impl From<AuditRecord> for AuditEntryDto {
    fn from(r: AuditRecord) -> Self {
        let b = r.body;
        AuditEntryDto {
            id: b.id.0,
            created_at: b.created_at.to_rfc3339(),
            event_type: b.event_type,
            action: b.action,
            severity: b.severity,
            message: b.message,
            actor_id: b.actor_id.clone(),
            actor_name: b.actor_name,
            initiated_by: b.actor_id,
            actor_type: b.actor_type,
            auth_method: b.auth_method,
            target_type: b.target_type,
            target_id: b.target_id,
            target_name: b.target_name,
            ip_address: b.ip_address,
            event_time: b.event_time.to_rfc3339(),
            duration_ms: None,
            client_id: None,
            user_agent: b.user_agent,
            geo_location: None,
            session_id: None,
            request_id: b.request_id,
            status: b.status,
            status_reason: None,
            old_value: object_or_null(b.old_value),
            new_value: object_or_null(b.new_value),
            changes: object_or_null(b.changes),
            context: object_or_null(b.context),
            hash: r.hash,
            prev_hash: r.prev_hash,
        }
    }
}

/// `AdminAuditLogsStatsResponseData`.
pub fn stats(s: AuditStats) -> Value {
    json!({
        "total": s.total,
        "period": {"from": s.from.to_rfc3339(), "to": s.to.to_rfc3339()},
        "byEventType": s.by_event_type,
        "byAction": s.by_action,
        "bySeverity": s.by_severity,
    })
}

/// The chain verification report (extension endpoint).
pub fn chain(r: ChainReport) -> Value {
    json!({
        "valid": r.valid,
        "checked": r.checked,
        "firstId": r.first_id,
        "lastId": r.last_id,
        "brokenAt": r.broken_at,
        "reason": r.reason,
        "headHash": r.head_hash,
    })
}

/// Columns of the CSV export.
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "createdAt",
    "eventType",
    "action",
    "severity",
    "status",
    "message",
    "actorType",
    "actorId",
    "actorName",
    "targetType",
    "targetId",
    "targetName",
    "ipAddress",
    "userAgent",
    "requestId",
    "hash",
];

/// The export as CSV text.
pub fn csv(records: Vec<AuditRecord>) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(CSV_COLUMNS)?;
    for r in records {
        let b = r.body;
        let opt = |v: Option<String>| v.unwrap_or_default();
        writer.write_record([
            b.id.0.to_string(),
            b.created_at.to_rfc3339(),
            b.event_type,
            b.action,
            b.severity,
            b.status,
            b.message,
            opt(b.actor_type),
            opt(b.actor_id),
            opt(b.actor_name),
            opt(b.target_type),
            opt(b.target_id),
            opt(b.target_name),
            opt(b.ip_address),
            opt(b.user_agent),
            opt(b.request_id),
            r.hash,
        ])?;
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
