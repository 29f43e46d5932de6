//! Groups and roles share one shape (`name`, `slug`, `description`, `isSystem`), so their
//! create / update / delete live here once.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::clock::Timestamp;
use crate::command::{CommandMeta, NamedPatch, NewNamed};
use crate::error::{ClusterError, Result};
use crate::ids::{GroupId, RoleId};
use crate::model::{AuditEvent, Group, Role};
use crate::query::Outcome;
use crate::relations::{EndKind, unlink_all};
use crate::tables::{OrgTx, Table};

use super::Applied;

/// An entity stored with a unique slug.
pub trait Named: Serialize + DeserializeOwned {
    const TABLE: Table;
    const SLUG_TABLE: Table;
    const KIND: &'static str;
    const END: EndKind;
    fn build(id: [u8; 16], fields: &NewNamed, at: Timestamp) -> Self;
    fn id_text(&self) -> String;
    fn name(&self) -> &str;
    fn slug(&self) -> &str;
    fn is_system(&self) -> bool;
    fn apply(&mut self, patch: &NamedPatch, at: Timestamp) -> Map<String, Value>;
}

fn note(changes: &mut Map<String, Value>, field: &str, from: impl Serialize, to: impl Serialize) {
    changes.insert(field.to_string(), json!({"from": from, "to": to}));
}

macro_rules! named_entity {
    ($ty:ty, $id:ident, $table:ident, $slug_table:ident, $kind:literal, $end:ident) => {
        impl Named for $ty {
            const TABLE: Table = Table::$table;
            const SLUG_TABLE: Table = Table::$slug_table;
            const KIND: &'static str = $kind;
            const END: EndKind = EndKind::$end;

            fn build(id: [u8; 16], fields: &NewNamed, at: Timestamp) -> Self {
                Self {
                    id: $id(ulid::Ulid::from_bytes(id)),
                    name: fields.name.clone(),
                    slug: fields.slug.clone(),
                    description: fields.description.clone(),
                    is_system: false,
                    created_at: at,
                    updated_at: Some(at),
                }
            }
            fn id_text(&self) -> String {
                self.id.to_string()
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn slug(&self) -> &str {
                &self.slug
            }
            fn is_system(&self) -> bool {
                self.is_system
            }
            fn apply(&mut self, patch: &NamedPatch, at: Timestamp) -> Map<String, Value> {
                let mut changes = Map::new();
                if let Some(name) = &patch.name
                    && *name != self.name
                {
                    note(&mut changes, "name", &self.name, name);
                    self.name = name.clone();
                }
                if let Some(slug) = &patch.slug
                    && *slug != self.slug
                {
                    note(&mut changes, "slug", &self.slug, slug);
                    self.slug = slug.clone();
                }
                if let Some(description) = &patch.description
                    && *description != self.description
                {
                    note(&mut changes, "description", &self.description, description);
                    self.description = description.clone();
                }
                self.updated_at = Some(at);
                changes
            }
        }
    };
}

named_entity!(Group, GroupId, Group, GroupSlug, "group", Group);
named_entity!(Role, RoleId, Role, RoleSlug, "role", Role);

fn claim_slug<T: Named>(tx: &mut OrgTx, slug: &str, id: [u8; 16]) -> Result<()> {
    if tx.exists(T::SLUG_TABLE, slug.as_bytes())? {
        return Err(ClusterError::conflict(
            "slug",
            format!("a {} with slug {slug} already exists", T::KIND),
        ));
    }
    tx.put(T::SLUG_TABLE, slug.as_bytes(), &ulid::Ulid::from_bytes(id))
}

fn load<T: Named>(tx: &OrgTx, id: [u8; 16]) -> Result<T> {
    tx.get(T::TABLE, &id)?
        .ok_or_else(|| ClusterError::not_found(T::KIND, ulid::Ulid::from_bytes(id)))
}

pub(super) fn create<T: Named>(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: [u8; 16],
    fields: &NewNamed,
) -> Result<Applied> {
    if tx.exists(T::TABLE, &id)? {
        return Err(ClusterError::conflict(
            "id",
            format!("a {} with this id already exists", T::KIND),
        ));
    }
    claim_slug::<T>(tx, &fields.slug, id)?;
    let entity = T::build(id, fields, meta.at);
    tx.put(T::TABLE, &id, &entity)?;
    let event = AuditEvent::new(
        T::KIND,
        format!("{}.created", T::KIND),
        format!("{} {} created", T::KIND, fields.slug),
    )
    .target(T::KIND, entity.id_text(), entity.name().to_string())
    .new_value(
        json!({"name": fields.name, "slug": fields.slug, "description": fields.description}),
    );
    Ok((Outcome::Created(entity.id_text()), vec![event]))
}

pub(super) fn update<T: Named>(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: [u8; 16],
    patch: &NamedPatch,
) -> Result<Applied> {
    let mut entity: T = load(tx, id)?;
    if entity.is_system() {
        return Err(ClusterError::protected(format!(
            "{} {} is a system {} and cannot be changed",
            T::KIND,
            entity.slug(),
            T::KIND
        )));
    }
    let old_slug = entity.slug().to_string();
    let changes = entity.apply(patch, meta.at);
    if entity.slug() != old_slug {
        claim_slug::<T>(tx, entity.slug(), id)?;
        tx.delete(T::SLUG_TABLE, old_slug.as_bytes());
    }
    tx.put(T::TABLE, &id, &entity)?;
    let event = AuditEvent::new(
        T::KIND,
        format!("{}.updated", T::KIND),
        format!("{} {} updated", T::KIND, entity.slug()),
    )
    .target(T::KIND, entity.id_text(), entity.name().to_string())
    .changes(Value::Object(changes));
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn delete<T: Named>(tx: &mut OrgTx, id: [u8; 16]) -> Result<Applied> {
    let entity: T = load(tx, id)?;
    if entity.is_system() {
        return Err(ClusterError::protected(format!(
            "{} {} is a system {} and cannot be deleted",
            T::KIND,
            entity.slug(),
            T::KIND
        )));
    }
    unlink_all(tx, T::END, &id)?;
    tx.delete(T::SLUG_TABLE, entity.slug().as_bytes());
    tx.delete(T::TABLE, &id);
    let event = AuditEvent::new(
        T::KIND,
        format!("{}.deleted", T::KIND),
        format!("{} {} deleted", T::KIND, entity.slug()),
    )
    .severity("warning")
    .target(T::KIND, entity.id_text(), entity.name().to_string())
    .old_value(json!({"name": entity.name(), "slug": entity.slug()}));
    Ok((Outcome::Done, vec![event]))
}
