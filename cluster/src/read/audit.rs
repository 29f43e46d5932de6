//! Audit log reads: list, get, actions, stats, export, retention, chain verification.

use std::collections::{BTreeMap, BTreeSet};

use crate::clock::Timestamp;
use crate::error::{ClusterError, Result};
use crate::ids::AuditId;
use crate::model::{AuditChainHead, AuditRecord, AuditRetention};
use crate::query::{AuditQuery, AuditStats, ChainReport, PageParams, Reply};
use crate::tables::{OrgReader, Table};

use super::page::{matches, paginate, sort_field};

/// Most rows one export returns.
pub const EXPORT_LIMIT: usize = 10_000;

fn keep(record: &AuditRecord, q: &AuditQuery) -> bool {
    let b = &record.body;
    let f = &q.list.filters;
    let eq =
        |key: &str, value: Option<&str>| f.get(key).is_none_or(|want| value == Some(want.as_str()));
    q.from.is_none_or(|from| b.created_at >= from)
        && q.to.is_none_or(|to| b.created_at <= to)
        && eq("action", Some(&b.action))
        && eq("eventType", Some(&b.event_type))
        && eq("severity", Some(&b.severity))
        && eq("status", Some(&b.status))
        && eq("actorId", b.actor_id.as_deref())
        && eq("actorType", b.actor_type.as_deref())
        && eq("targetType", b.target_type.as_deref())
        && eq("targetId", b.target_id.as_deref())
        && matches(
            &q.list.search,
            &[
                Some(&b.message),
                Some(&b.action),
                b.target_name.as_deref(),
                b.actor_name.as_deref(),
            ],
        )
}

/// Matching records, newest first unless `sortDir=asc`; stops after `cap` matches when the
/// total is not needed.
fn collect(reader: &OrgReader, q: &AuditQuery, cap: Option<usize>) -> Result<Vec<AuditRecord>> {
    sort_field(&q.list.sort_by, &["createdAt", "id"], "createdAt")?;
    let newest_first = q.list.sort_desc.unwrap_or(true);
    let mut out = Vec::new();
    reader.scan::<AuditRecord>(Table::Audit, &[], newest_first, |_, record| {
        if newest_first && q.from.is_some_and(|from| record.body.created_at < from) {
            return false;
        }
        if keep(&record, q) {
            out.push(record);
        }
        cap.is_none_or(|cap| out.len() < cap)
    })?;
    Ok(out)
}

pub(super) fn list(reader: &OrgReader, q: &AuditQuery) -> Result<Reply> {
    Ok(Reply::AuditPage(paginate(
        collect(reader, q, None)?,
        q.list.page,
    )))
}

pub(super) fn get(reader: &OrgReader, id: AuditId) -> Result<Reply> {
    reader
        .get::<AuditRecord>(Table::Audit, &id.0.to_be_bytes())?
        .map(Reply::Audit)
        .ok_or_else(|| ClusterError::not_found("audit log entry", id))
}

pub(super) fn actions(reader: &OrgReader, page: PageParams) -> Result<Reply> {
    let mut names = BTreeSet::new();
    reader.scan::<AuditRecord>(Table::Audit, &[], false, |_, record| {
        names.insert(record.body.action);
        true
    })?;
    Ok(Reply::AuditActions(paginate(
        names.into_iter().collect(),
        page,
    )))
}

pub(super) fn stats(
    reader: &OrgReader,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    now: Timestamp,
) -> Result<Reply> {
    let to = to.unwrap_or(now);
    let from = from.unwrap_or(to.minus_days(30));
    if from > to {
        return Err(ClusterError::InvalidQuery {
            message: "from must be before to".into(),
        });
    }
    let mut stats = AuditStats {
        total: 0,
        from,
        to,
        by_event_type: BTreeMap::new(),
        by_action: BTreeMap::new(),
        by_severity: BTreeMap::new(),
    };
    reader.scan::<AuditRecord>(Table::Audit, &[], true, |_, record| {
        let b = record.body;
        if b.created_at < from {
            return false;
        }
        if b.created_at <= to {
            stats.total += 1;
            *stats.by_event_type.entry(b.event_type).or_default() += 1;
            *stats.by_action.entry(b.action).or_default() += 1;
            *stats.by_severity.entry(b.severity).or_default() += 1;
        }
        true
    })?;
    Ok(Reply::AuditStats(stats))
}

pub(super) fn export(reader: &OrgReader, q: &AuditQuery) -> Result<Reply> {
    Ok(Reply::AuditExport(collect(reader, q, Some(EXPORT_LIMIT))?))
}

pub(super) fn retention(reader: &OrgReader) -> Result<Reply> {
    let retention: AuditRetention = reader.get(Table::AuditRetention, &[])?.unwrap_or_default();
    Ok(Reply::Retention(retention))
}

/// Walks the org's audit records in order and checks every hash link.
pub fn verify_chain(reader: &OrgReader) -> Result<ChainReport> {
    let head: AuditChainHead = reader.get(Table::AuditHead, &[])?.unwrap_or_default();
    let mut report = ChainReport {
        valid: true,
        checked: 0,
        first_id: None,
        last_id: None,
        broken_at: None,
        reason: None,
        head_hash: head.last_hash.clone(),
    };
    let mut expected_prev = head.anchor_hash.clone();
    let mut expected_id = head.compacted_through + 1;
    let mut broken: Option<(u64, String)> = None;
    reader.scan::<AuditRecord>(Table::Audit, &[], false, |_, record| {
        let id = record.body.id.0;
        report.checked += 1;
        report.first_id.get_or_insert(id);
        report.last_id = Some(id);
        let problem = if id != expected_id {
            Some(format!("record {expected_id} is missing (found {id})"))
        } else if record.prev_hash != expected_prev {
            Some("previous-hash link does not match the record before it".to_string())
        } else if !record.is_intact() {
            Some("record content does not match its hash".to_string())
        } else {
            None
        };
        if let Some(problem) = problem {
            broken = Some((id, problem));
            return false;
        }
        expected_prev = record.hash;
        expected_id = id + 1;
        true
    })?;
    if broken.is_none() && (expected_prev != head.last_hash || expected_id != head.last_id + 1) {
        broken = Some((
            expected_id,
            "chain head does not match the last record (records removed at the end)".into(),
        ));
    }
    if let Some((id, reason)) = broken {
        report.valid = false;
        report.broken_at = Some(id);
        report.reason = Some(reason);
    }
    Ok(report)
}
