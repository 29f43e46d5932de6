//! Sandbox orgs in `apply`: the parent's record of its sandboxes (a bounded number alive at a
//! time) and the sandbox's seeding with the parent's configuration rows.

use serde_json::{Map, Value, json};

use crate::clock::Timestamp;
use crate::command::{CommandMeta, SandboxWrite};
use crate::error::{ClusterError, Result};
use crate::ids::OrgId;
use crate::lookup::{load_org, save_org};
use crate::model::{AuditEvent, MAX_LIVE_SANDBOXES, OrgCounters, PrincipalKind, SandboxRecord};
use crate::query::Outcome;
use crate::read::sandbox::{COPIED_RELATIONS, COPIED_TABLES};
use crate::tables::{OrgTx, Table};

use super::Applied;

pub(super) fn apply(tx: &mut OrgTx, meta: &CommandMeta, write: &SandboxWrite) -> Result<Applied> {
    match write {
        SandboxWrite::Reserve {
            slug,
            name,
            org_id,
            expires_at,
        } => reserve(tx, meta, slug, name, *org_id, *expires_at),
        SandboxWrite::Seed {
            parent,
            rows,
            counters,
            first,
        } => seed(tx, meta, parent, rows, counters, *first),
        SandboxWrite::Forget { slug } => forget(tx, slug),
    }
}

fn reserve(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    slug: &str,
    name: &str,
    org_id: OrgId,
    expires_at: Timestamp,
) -> Result<Applied> {
    let org = load_org(tx)?;
    if org.sandbox_of.is_some() {
        return Err(ClusterError::invalid(
            "organization",
            "a sandbox cannot spawn sandboxes; spawn from its parent",
        ));
    }
    if tx.exists(Table::Sandbox, slug.as_bytes())? {
        return Err(ClusterError::conflict(
            "slug",
            format!("sandbox {slug} already exists"),
        ));
    }
    let mut live = 0;
    tx.reader()
        .scan::<SandboxRecord>(Table::Sandbox, &[], false, |_, s| {
            if s.expires_at > meta.at {
                live += 1;
            }
            true
        })?;
    if live >= MAX_LIVE_SANDBOXES {
        return Err(ClusterError::QuotaExceeded {
            message: format!(
                "this organization already has {live} live sandboxes (at most {MAX_LIVE_SANDBOXES}); destroy one first"
            ),
        });
    }
    let owner_email = match &meta.actor.kind {
        PrincipalKind::User { email, .. } => Some(email.clone()),
        _ => None,
    };
    let record = SandboxRecord {
        slug: slug.to_string(),
        name: name.to_string(),
        org_id,
        created_at: meta.at,
        expires_at,
        owner_email,
        spawned_from: org.slug.clone(),
    };
    tx.put(Table::Sandbox, slug.as_bytes(), &record)?;
    let event = AuditEvent::new(
        "organization",
        "sandbox.spawned",
        format!("sandbox {slug} spawned from {}", org.slug),
    )
    .target("sandbox", slug, name.to_string())
    .new_value(json!({"expiresAt": expires_at.to_rfc3339()}));
    Ok((Outcome::Created(slug.to_string()), vec![event]))
}

/// Clears what the parent's copy replaces: the sandbox's own system roles, permissions and
/// scopes give way to the parent's (same slugs, the parent's ids).
fn clear_copied(tx: &mut OrgTx) -> Result<()> {
    for table in COPIED_TABLES.iter().chain([&Table::Settings]) {
        tx.delete_prefix(*table, &[])?;
    }
    for relation in COPIED_RELATIONS {
        let (forward, back) = relation.tags();
        for tag in [forward, back] {
            tx.delete_prefix(Table::Edge, &[tag])?;
        }
    }
    Ok(())
}

fn copied(suffix: &[u8]) -> bool {
    let Some(&tag) = suffix.first() else {
        return false;
    };
    if tag == Table::Settings as u8 {
        return true;
    }
    if tag == Table::Edge as u8 {
        return suffix.get(1).is_some_and(|edge| {
            COPIED_RELATIONS.iter().any(|r| {
                let (forward, back) = r.tags();
                *edge == forward || *edge == back
            })
        });
    }
    COPIED_TABLES.iter().any(|t| *t as u8 == tag)
}

/// The larger of each counter, so ids the sandbox makes never reuse a copied one.
fn raise_counters(mine: &OrgCounters, parent: &str) -> Result<OrgCounters> {
    let as_map = |value: Value| match value {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let mut merged = as_map(serde_json::to_value(mine).unwrap_or(Value::Null));
    let theirs = as_map(
        serde_json::from_str(parent)
            .map_err(|_| ClusterError::invalid("counters", "must be a JSON object"))?,
    );
    for (key, value) in theirs {
        let theirs = value.as_u64().unwrap_or(0);
        let mine = merged.get(&key).and_then(Value::as_u64).unwrap_or(0);
        merged.insert(key, json!(mine.max(theirs)));
    }
    serde_json::from_value(Value::Object(merged))
        .map_err(|e| ClusterError::internal(format!("counters: {e}")))
}

fn seed(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    parent: &str,
    rows: &[(Vec<u8>, Vec<u8>)],
    counters: &str,
    first: bool,
) -> Result<Applied> {
    if let Some(bad) = rows.iter().find(|(suffix, _)| !copied(suffix)) {
        return Err(ClusterError::invalid(
            "rows",
            format!("table {:#04x} is not copied into sandboxes", bad.0[0]),
        ));
    }
    if first {
        clear_copied(tx)?;
    }
    let prefix = tx.org().to_bytes();
    for (suffix, value) in rows {
        let mut full = prefix.to_vec();
        full.extend_from_slice(suffix);
        tx.put_raw(&full, value.clone())?;
    }
    let mut org = load_org(tx)?;
    org.counters = raise_counters(&org.counters, counters)?;
    org.sandbox_of = Some(parent.to_string());
    org.updated_at = meta.at;
    save_org(tx, &org)?;
    Ok((Outcome::Done, Vec::new()))
}

fn forget(tx: &mut OrgTx, slug: &str) -> Result<Applied> {
    let Some(record) = tx.get::<SandboxRecord>(Table::Sandbox, slug.as_bytes())? else {
        return Ok((Outcome::Done, Vec::new()));
    };
    tx.delete(Table::Sandbox, slug.as_bytes());
    let event = AuditEvent::new(
        "organization",
        "sandbox.destroyed",
        format!("sandbox {slug} destroyed"),
    )
    .target("sandbox", slug, record.name);
    Ok((Outcome::Done, vec![event]))
}
