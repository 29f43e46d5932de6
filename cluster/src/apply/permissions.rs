//! Custom permissions (system permissions are read-only).

use serde_json::{Map, Value, json};

use crate::command::{CommandMeta, NewPermission, PermissionKey, PermissionPatch};
use crate::error::{ClusterError, Result};
use crate::ids::PermissionId;
use crate::lookup::{self, load_org, save_org};
use crate::model::{AuditEvent, Permission};
use crate::query::Outcome;
use crate::relations::{EndKind, unlink_all};
use crate::tables::{OrgTx, Table};

use super::Applied;

pub(super) fn create(tx: &mut OrgTx, meta: &CommandMeta, new: &NewPermission) -> Result<Applied> {
    if tx.exists(Table::PermissionSlug, new.slug.as_bytes())? {
        return Err(ClusterError::conflict(
            "slug",
            format!("a permission with slug {} already exists", new.slug),
        ));
    }
    let mut org = load_org(tx)?;
    org.counters.permission += 1;
    save_org(tx, &org)?;
    let id = PermissionId(org.counters.permission);
    let permission = Permission {
        id,
        name: new.name.clone(),
        slug: new.slug.clone(),
        description: new.description.clone(),
        resource: new.resource.clone(),
        action: new.action.clone(),
        is_system: false,
        created_at: meta.at,
        updated_at: Some(meta.at),
    };
    tx.put(Table::Permission, &id.0.to_be_bytes(), &permission)?;
    tx.put(Table::PermissionSlug, new.slug.as_bytes(), &id)?;
    let event = AuditEvent::new(
        "permission",
        "permission.created",
        format!("permission {} created", new.slug),
    )
    .target("permission", id, new.name.clone())
    .new_value(
        json!({"name": new.name, "slug": new.slug, "resource": new.resource, "action": new.action}),
    );
    Ok((Outcome::Created(id.to_string()), vec![event]))
}

fn protect(permission: &Permission, verb: &str) -> Result<()> {
    if permission.is_system {
        return Err(ClusterError::protected(format!(
            "permission {} is a system permission and cannot be {verb}",
            permission.slug
        )));
    }
    Ok(())
}

fn change(
    changes: &mut Map<String, Value>,
    field: &str,
    slot: &mut Option<String>,
    value: &Option<Option<String>>,
) {
    if let Some(value) = value
        && slot != value
    {
        changes.insert(field.into(), json!({"from": slot, "to": value}));
        slot.clone_from(value);
    }
}

pub(super) fn update(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    key: &PermissionKey,
    patch: &PermissionPatch,
) -> Result<Applied> {
    let mut permission = lookup::permission(tx, key)?;
    protect(&permission, "changed")?;
    let mut changes = Map::new();
    if let Some(name) = &patch.name
        && *name != permission.name
    {
        changes.insert("name".into(), json!({"from": permission.name, "to": name}));
        permission.name = name.clone();
    }
    change(
        &mut changes,
        "description",
        &mut permission.description,
        &patch.description,
    );
    change(
        &mut changes,
        "resource",
        &mut permission.resource,
        &patch.resource,
    );
    change(
        &mut changes,
        "action",
        &mut permission.action,
        &patch.action,
    );
    permission.updated_at = Some(meta.at);
    tx.put(
        Table::Permission,
        &permission.id.0.to_be_bytes(),
        &permission,
    )?;
    let event = AuditEvent::new(
        "permission",
        "permission.updated",
        format!("permission {} updated", permission.slug),
    )
    .target("permission", permission.id, permission.name.clone())
    .changes(Value::Object(changes));
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn delete(tx: &mut OrgTx, key: &PermissionKey) -> Result<Applied> {
    let permission = lookup::permission(tx, key)?;
    protect(&permission, "deleted")?;
    let id = permission.id.0.to_be_bytes();
    unlink_all(tx, EndKind::Permission, &id)?;
    tx.delete(Table::PermissionSlug, permission.slug.as_bytes());
    tx.delete(Table::Permission, &id);
    let event = AuditEvent::new(
        "permission",
        "permission.deleted",
        format!("permission {} deleted", permission.slug),
    )
    .severity("warning")
    .target("permission", permission.id, permission.name.clone());
    Ok((Outcome::Done, vec![event]))
}
