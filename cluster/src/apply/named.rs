//! Groups and roles share one shape ([`NamedEntity`]: `name`, `slug`, `description`,
//! `isSystem`), so their create / update / delete live here once.

use std::fmt::Display;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use ulid::Ulid;

use crate::clock::Timestamp;
use crate::command::{CommandMeta, NamedPatch, NewNamed};
use crate::error::{ClusterError, Result};
use crate::ids::{GroupId, RoleId};
use crate::model::{AuditEvent, NamedEntity};
use crate::query::Outcome;
use crate::relations::{EndKind, unlink_all};
use crate::tables::{OrgTx, Table};

use super::Applied;

/// What tells groups from roles in storage: their id type names their tables, their audit
/// kind and their end in relations.
pub trait NamedKind: Copy + Display + Serialize + DeserializeOwned {
    const TABLE: Table;
    const SLUG_TABLE: Table;
    const KIND: &'static str;
    const END: EndKind;
    fn from_ulid(id: Ulid) -> Self;
}

impl NamedKind for GroupId {
    const TABLE: Table = Table::Group;
    const SLUG_TABLE: Table = Table::GroupSlug;
    const KIND: &'static str = "group";
    const END: EndKind = EndKind::Group;
    fn from_ulid(id: Ulid) -> Self {
        GroupId(id)
    }
}

impl NamedKind for RoleId {
    const TABLE: Table = Table::Role;
    const SLUG_TABLE: Table = Table::RoleSlug;
    const KIND: &'static str = "role";
    const END: EndKind = EndKind::Role;
    fn from_ulid(id: Ulid) -> Self {
        RoleId(id)
    }
}

fn note(changes: &mut Map<String, Value>, field: &str, from: impl Serialize, to: impl Serialize) {
    changes.insert(field.to_string(), json!({"from": from, "to": to}));
}

fn build<I: NamedKind>(id: [u8; 16], fields: &NewNamed, at: Timestamp) -> NamedEntity<I> {
    NamedEntity {
        id: I::from_ulid(Ulid::from_bytes(id)),
        name: fields.name.clone(),
        slug: fields.slug.clone(),
        description: fields.description.clone(),
        is_system: false,
        created_at: at,
        updated_at: Some(at),
    }
}

/// Applies `patch`; returns the audit `changes` (`{field: {from, to}}`).
fn apply_patch<I>(
    entity: &mut NamedEntity<I>,
    patch: &NamedPatch,
    at: Timestamp,
) -> Map<String, Value> {
    let mut changes = Map::new();
    if let Some(name) = &patch.name
        && *name != entity.name
    {
        note(&mut changes, "name", &entity.name, name);
        entity.name = name.clone();
    }
    if let Some(slug) = &patch.slug
        && *slug != entity.slug
    {
        note(&mut changes, "slug", &entity.slug, slug);
        entity.slug = slug.clone();
    }
    if let Some(description) = &patch.description
        && *description != entity.description
    {
        note(
            &mut changes,
            "description",
            &entity.description,
            description,
        );
        entity.description = description.clone();
    }
    entity.updated_at = Some(at);
    changes
}

fn claim_slug<I: NamedKind>(tx: &mut OrgTx, slug: &str, id: [u8; 16]) -> Result<()> {
    if tx.exists(I::SLUG_TABLE, slug.as_bytes())? {
        return Err(ClusterError::conflict(
            "slug",
            format!("a {} with slug {slug} already exists", I::KIND),
        ));
    }
    tx.put(I::SLUG_TABLE, slug.as_bytes(), &Ulid::from_bytes(id))
}

fn load<I: NamedKind>(tx: &OrgTx, id: [u8; 16]) -> Result<NamedEntity<I>> {
    tx.get(I::TABLE, &id)?
        .ok_or_else(|| ClusterError::not_found(I::KIND, Ulid::from_bytes(id)))
}

pub(super) fn create<I: NamedKind>(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: [u8; 16],
    fields: &NewNamed,
) -> Result<Applied> {
    if tx.exists(I::TABLE, &id)? {
        return Err(ClusterError::conflict(
            "id",
            format!("a {} with this id already exists", I::KIND),
        ));
    }
    claim_slug::<I>(tx, &fields.slug, id)?;
    let entity: NamedEntity<I> = build(id, fields, meta.at);
    tx.put(I::TABLE, &id, &entity)?;
    let event = AuditEvent::new(
        I::KIND,
        format!("{}.created", I::KIND),
        format!("{} {} created", I::KIND, fields.slug),
    )
    .target(I::KIND, entity.id.to_string(), entity.name.clone())
    .new_value(
        json!({"name": fields.name, "slug": fields.slug, "description": fields.description}),
    );
    Ok((Outcome::Created(entity.id.to_string()), vec![event]))
}

pub(super) fn update<I: NamedKind>(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: [u8; 16],
    patch: &NamedPatch,
) -> Result<Applied> {
    let mut entity = load::<I>(tx, id)?;
    if entity.is_system {
        return Err(ClusterError::protected(format!(
            "{} {} is a system {} and cannot be changed",
            I::KIND,
            entity.slug,
            I::KIND
        )));
    }
    let old_slug = entity.slug.clone();
    let changes = apply_patch(&mut entity, patch, meta.at);
    if entity.slug != old_slug {
        claim_slug::<I>(tx, &entity.slug, id)?;
        tx.delete(I::SLUG_TABLE, old_slug.as_bytes());
    }
    tx.put(I::TABLE, &id, &entity)?;
    let event = AuditEvent::new(
        I::KIND,
        format!("{}.updated", I::KIND),
        format!("{} {} updated", I::KIND, entity.slug),
    )
    .target(I::KIND, entity.id.to_string(), entity.name.clone())
    .changes(Value::Object(changes));
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn delete<I: NamedKind>(tx: &mut OrgTx, id: [u8; 16]) -> Result<Applied> {
    // SCIM's attributes of a group (none for roles).
    tx.delete(Table::ScimExtra, &id);
    let entity = load::<I>(tx, id)?;
    if entity.is_system {
        return Err(ClusterError::protected(format!(
            "{} {} is a system {} and cannot be deleted",
            I::KIND,
            entity.slug,
            I::KIND
        )));
    }
    unlink_all(tx, I::END, &id)?;
    tx.delete(I::SLUG_TABLE, entity.slug.as_bytes());
    tx.delete(I::TABLE, &id);
    let event = AuditEvent::new(
        I::KIND,
        format!("{}.deleted", I::KIND),
        format!("{} {} deleted", I::KIND, entity.slug),
    )
    .severity("warning")
    .target(I::KIND, entity.id.to_string(), entity.name.clone())
    .old_value(json!({"name": entity.name, "slug": entity.slug}));
    Ok((Outcome::Done, vec![event]))
}
