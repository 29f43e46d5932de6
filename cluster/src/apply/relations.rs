//! Adding, removing and replacing relations (user roles, group members, role permissions, ...).

use std::collections::BTreeSet;

use serde_json::json;

use crate::command::{EntityKey, RelateMode, Relation};
use crate::error::{ClusterError, Result};
use crate::lookup;
use crate::model::AuditEvent;
use crate::query::Outcome;
use crate::relations::{Direction, EndKind, display_id, link, neighbours, unlink};
use crate::tables::OrgTx;

use super::Applied;

/// A resolved relation end.
struct End {
    kind: EndKind,
    id: Vec<u8>,
    label: String,
    display_id: String,
    is_system: bool,
}

fn kind_name(kind: EndKind) -> &'static str {
    match kind {
        EndKind::User => "user",
        EndKind::Group => "group",
        EndKind::Role => "role",
        EndKind::Permission => "permission",
    }
}

fn resolve(tx: &OrgTx, key: &EntityKey) -> Result<End> {
    Ok(match key {
        EntityKey::User(k) => {
            let u = lookup::user(tx, k)?;
            End {
                kind: EndKind::User,
                id: u.id.to_bytes().to_vec(),
                label: u.email.clone(),
                display_id: u.id.to_string(),
                is_system: false,
            }
        }
        EntityKey::Group(k) => {
            let g = lookup::group(tx, k)?;
            End {
                kind: EndKind::Group,
                id: g.id.to_bytes().to_vec(),
                label: g.slug.clone(),
                display_id: g.id.to_string(),
                is_system: g.is_system,
            }
        }
        EntityKey::Role(k) => {
            let r = lookup::role(tx, k)?;
            End {
                kind: EndKind::Role,
                id: r.id.to_bytes().to_vec(),
                label: r.slug.clone(),
                display_id: r.id.to_string(),
                is_system: r.is_system,
            }
        }
        EntityKey::Permission(k) => {
            let p = lookup::permission(tx, k)?;
            End {
                kind: EndKind::Permission,
                id: p.id.0.to_be_bytes().to_vec(),
                label: p.slug.clone(),
                display_id: p.id.to_string(),
                is_system: p.is_system,
            }
        }
    })
}

pub(super) fn relate(
    tx: &mut OrgTx,
    relation: Relation,
    anchor: &EntityKey,
    others: &[EntityKey],
    mode: RelateMode,
) -> Result<Applied> {
    let (from_kind, to_kind) = relation.ends();
    let anchor = resolve(tx, anchor)?;
    let forward = if anchor.kind == from_kind {
        true
    } else if anchor.kind == to_kind {
        false
    } else {
        return Err(ClusterError::internal(
            "relation does not involve the anchor",
        ));
    };
    let other_kind = if forward { to_kind } else { from_kind };
    if relation == Relation::RolePermission && anchor.kind == EndKind::Role && anchor.is_system {
        return Err(ClusterError::protected(format!(
            "role {} is a system role; its permissions cannot be changed",
            anchor.label
        )));
    }
    let mut resolved = Vec::with_capacity(others.len());
    for key in others {
        let end = resolve(tx, key)?;
        if end.kind != other_kind {
            return Err(ClusterError::internal("relation end of the wrong kind"));
        }
        resolved.push(end);
    }
    let pair = |other: &End| -> (Vec<u8>, Vec<u8>) {
        if forward {
            (anchor.id.clone(), other.id.clone())
        } else {
            (other.id.clone(), anchor.id.clone())
        }
    };
    let mut added = Vec::new();
    let mut removed = Vec::new();
    match mode {
        RelateMode::Add => {
            for other in &resolved {
                let (from, to) = pair(other);
                if link(tx, relation, &from, &to)? {
                    added.push(other.display_id.clone());
                }
            }
        }
        RelateMode::Remove => {
            for other in &resolved {
                let (from, to) = pair(other);
                if !unlink(tx, relation, &from, &to)? {
                    return Err(ClusterError::NotFound {
                        resource: format!(
                            "{} on {} {}",
                            kind_name(other_kind),
                            kind_name(anchor.kind),
                            anchor.label
                        ),
                        id: other.label.clone(),
                    });
                }
                removed.push(other.display_id.clone());
            }
        }
        RelateMode::Replace => {
            let direction = if forward {
                Direction::Forward
            } else {
                Direction::Backward
            };
            let wanted: BTreeSet<Vec<u8>> = resolved.iter().map(|o| o.id.clone()).collect();
            let current: BTreeSet<Vec<u8>> =
                neighbours(tx.reader(), relation, direction, &anchor.id)?
                    .into_iter()
                    .collect();
            for stale in current.difference(&wanted) {
                let (from, to) = if forward {
                    (anchor.id.clone(), stale.clone())
                } else {
                    (stale.clone(), anchor.id.clone())
                };
                unlink(tx, relation, &from, &to)?;
                removed.push(display_id(other_kind, stale));
            }
            for other in &resolved {
                if !current.contains(&other.id) {
                    let (from, to) = pair(other);
                    link(tx, relation, &from, &to)?;
                    added.push(other.display_id.clone());
                }
            }
        }
    }
    let verb = match mode {
        RelateMode::Add => "added",
        RelateMode::Remove => "removed",
        RelateMode::Replace => "replaced",
    };
    let anchor_name = kind_name(anchor.kind);
    let other_name = kind_name(other_kind);
    let event = AuditEvent::new(
        anchor_name,
        format!("{anchor_name}.{other_name}.{verb}"),
        format!("{other_name}s {verb} on {anchor_name} {}", anchor.label),
    )
    .target(anchor_name, &anchor.display_id, anchor.label.clone())
    .changes(json!({"added": added, "removed": removed}));
    Ok((Outcome::Done, vec![event]))
}
