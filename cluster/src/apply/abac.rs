//! ABAC attribute definitions, policies and attribute values. Conditions are validated here
//! against the org's attributes, so every replica stores the same canonical form.

use serde_json::{Value, json};

use crate::authz::abac::parse_conditions;
use crate::authz::abac_store::{
    DATA_TYPES, abac_error, catalog, fits, resource_value_key, user_value_key,
};
use crate::command::{
    AbacAttributePatch, AbacPolicyPatch, AbacValueTarget, CommandMeta, NewAbacAttribute,
    NewAbacPolicy,
};
use crate::error::{AuthzCode, ClusterError, Result};
use crate::lookup::{load_org, save_org};
use crate::model::{
    AbacPolicyRecord, AttributeDefinition, AttributeKind, AttributeValue, AuditEvent,
};
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;

fn json_text(field: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| {
        ClusterError::authz(
            AuthzCode::InvalidConditions,
            format!("{field}: invalid JSON: {e}"),
        )
    })
}

fn check_data_type(data_type: &str) -> Result<()> {
    if DATA_TYPES.contains(&data_type) {
        return Ok(());
    }
    Err(ClusterError::invalid(
        "dataType",
        format!("must be one of {}", DATA_TYPES.join(", ")),
    ))
}

fn attribute(tx: &OrgTx, id: u64) -> Result<AttributeDefinition> {
    tx.get(Table::AbacAttribute, &id.to_be_bytes())?
        .ok_or_else(|| ClusterError::not_found("attribute", id))
}

fn policy(tx: &OrgTx, id: u64) -> Result<AbacPolicyRecord> {
    tx.get(Table::AbacPolicy, &id.to_be_bytes())?
        .ok_or_else(|| ClusterError::not_found("policy", id))
}

fn optional_json(field: &str, text: &Option<String>) -> Result<Option<Value>> {
    text.as_deref().map(|t| json_text(field, t)).transpose()
}

pub(super) fn create_attribute(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    new: &NewAbacAttribute,
) -> Result<Applied> {
    if tx.exists(Table::AbacAttributeSlug, new.slug.as_bytes())? {
        return Err(ClusterError::conflict(
            "slug",
            format!("an attribute with slug {} already exists", new.slug),
        ));
    }
    check_data_type(&new.data_type)?;
    let default_value = optional_json("defaultValue", &new.default_value)?;
    if let Some(value) = &default_value
        && !fits(&new.data_type, value)
    {
        return Err(ClusterError::invalid(
            "defaultValue",
            format!("must be a {}", new.data_type),
        ));
    }
    let mut org = load_org(tx)?;
    org.counters.abac_attribute += 1;
    save_org(tx, &org)?;
    let definition = AttributeDefinition {
        id: org.counters.abac_attribute,
        name: new.name.clone(),
        slug: new.slug.clone(),
        description: new.description.clone(),
        kind: new.kind,
        data_type: new.data_type.clone(),
        validation_rules: optional_json("validationRules", &new.validation_rules)?,
        default_value,
        is_required: new.is_required,
        is_system: false,
        created_at: meta.at,
        updated_at: Some(meta.at),
    };
    tx.put(
        Table::AbacAttribute,
        &definition.id.to_be_bytes(),
        &definition,
    )?;
    tx.put(
        Table::AbacAttributeSlug,
        new.slug.as_bytes(),
        &definition.id,
    )?;
    let event = AuditEvent::new(
        "authorization",
        "abac.attribute.created",
        format!("ABAC attribute {} created", new.slug),
    )
    .target("abac_attribute", definition.id, new.name.clone())
    .new_value(
        json!({"slug": new.slug, "attributeType": new.kind.as_str(), "dataType": new.data_type}),
    );
    Ok((Outcome::Created(definition.id.to_string()), vec![event]))
}

pub(super) fn update_attribute(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: u64,
    patch: &AbacAttributePatch,
) -> Result<Applied> {
    let mut definition = attribute(tx, id)?;
    if definition.is_system {
        return Err(ClusterError::protected(format!(
            "attribute {} is a system attribute and cannot be changed",
            definition.slug
        )));
    }
    if let Some(name) = &patch.name {
        definition.name = name.clone();
    }
    if let Some(description) = &patch.description {
        definition.description = description.clone();
    }
    if let Some(data_type) = &patch.data_type {
        check_data_type(data_type)?;
        definition.data_type = data_type.clone();
    }
    if let Some(rules) = &patch.validation_rules {
        definition.validation_rules = optional_json("validationRules", rules)?;
    }
    if let Some(value) = &patch.default_value {
        definition.default_value = optional_json("defaultValue", value)?;
    }
    if let Some(required) = patch.is_required {
        definition.is_required = required;
    }
    if let Some(value) = &definition.default_value
        && !fits(&definition.data_type, value)
    {
        return Err(ClusterError::invalid(
            "defaultValue",
            format!("must be a {}", definition.data_type),
        ));
    }
    definition.updated_at = Some(meta.at);
    tx.put(Table::AbacAttribute, &id.to_be_bytes(), &definition)?;
    let event = AuditEvent::new(
        "authorization",
        "abac.attribute.updated",
        format!("ABAC attribute {} updated", definition.slug),
    )
    .target("abac_attribute", id, definition.name.clone());
    Ok((Outcome::Created(id.to_string()), vec![event]))
}

/// Whether `conditions` (canonical JSON) name `reference` (`user.department`), alone or with
/// a nested path, as an attribute or as a value reference.
fn names_attribute(conditions: &Value, reference: &str) -> bool {
    match conditions {
        Value::Object(map) => map.iter().any(|(key, value)| {
            let hit = key == "attribute"
                && value.as_str().is_some_and(|a| {
                    a == reference
                        || a.strip_prefix(reference)
                            .is_some_and(|rest| rest.starts_with('.'))
                });
            hit || names_attribute(value, reference)
        }),
        Value::Array(items) => items.iter().any(|v| names_attribute(v, reference)),
        _ => false,
    }
}

pub(super) fn delete_attribute(tx: &mut OrgTx, id: u64) -> Result<Applied> {
    let definition = attribute(tx, id)?;
    if definition.is_system {
        return Err(ClusterError::protected(format!(
            "attribute {} is a system attribute and cannot be deleted",
            definition.slug
        )));
    }
    // A policy naming the attribute would stop validating (and a deny stop denying).
    let reference = format!("{}.{}", definition.kind.as_str(), definition.slug);
    let mut users: Vec<String> = Vec::new();
    tx.reader()
        .scan::<AbacPolicyRecord>(Table::AbacPolicy, &[], false, |_, p| {
            if names_attribute(&p.conditions, &reference) {
                users.push(p.slug);
            }
            true
        })?;
    if !users.is_empty() {
        return Err(ClusterError::Conflict {
            message: format!(
                "attribute {} is used by policies {}; change or delete them first",
                definition.slug,
                users.join(", ")
            ),
            field: Some("slug".into()),
        });
    }
    tx.delete(Table::AbacAttribute, &id.to_be_bytes());
    tx.delete(Table::AbacAttributeSlug, definition.slug.as_bytes());
    let event = AuditEvent::new(
        "authorization",
        "abac.attribute.deleted",
        format!("ABAC attribute {} deleted", definition.slug),
    )
    .target("abac_attribute", id, definition.name);
    Ok((Outcome::Done, vec![event]))
}

fn check_effect(effect: &str) -> Result<()> {
    if effect == "allow" || effect == "deny" {
        return Ok(());
    }
    Err(ClusterError::invalid("effect", "must be allow or deny"))
}

/// Parses and validates conditions; returns their canonical JSON.
fn canonical_conditions(tx: &OrgTx, text: &str) -> Result<Value> {
    let raw = json_text("conditions", text)?;
    let parsed = parse_conditions(&raw, &catalog(tx.reader())?).map_err(abac_error)?;
    Ok(parsed.to_json())
}

pub(super) fn create_policy(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    new: &NewAbacPolicy,
) -> Result<Applied> {
    if tx.exists(Table::AbacPolicySlug, new.slug.as_bytes())? {
        return Err(ClusterError::conflict(
            "slug",
            format!("a policy with slug {} already exists", new.slug),
        ));
    }
    check_effect(&new.effect)?;
    let conditions = canonical_conditions(tx, &new.conditions)?;
    let mut org = load_org(tx)?;
    org.counters.abac_policy += 1;
    save_org(tx, &org)?;
    let record = AbacPolicyRecord {
        id: org.counters.abac_policy,
        name: new.name.clone(),
        slug: new.slug.clone(),
        description: new.description.clone(),
        resource_type: new.resource_type.clone(),
        action: new.action.clone(),
        effect: new.effect.clone(),
        priority: new.priority,
        conditions,
        is_active: new.is_active,
        is_system: false,
        created_at: meta.at,
        updated_at: Some(meta.at),
    };
    tx.put(Table::AbacPolicy, &record.id.to_be_bytes(), &record)?;
    tx.put(Table::AbacPolicySlug, new.slug.as_bytes(), &record.id)?;
    let event = AuditEvent::new(
        "authorization",
        "abac.policy.created",
        format!("ABAC policy {} created", new.slug),
    )
    .target("abac_policy", record.id, new.name.clone())
    .new_value(json!({"slug": new.slug, "resourceType": new.resource_type, "action": new.action, "effect": new.effect, "priority": new.priority, "conditions": record.conditions}));
    Ok((Outcome::Created(record.id.to_string()), vec![event]))
}

pub(super) fn update_policy(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: u64,
    patch: &AbacPolicyPatch,
) -> Result<Applied> {
    let mut record = policy(tx, id)?;
    if record.is_system {
        return Err(ClusterError::protected(format!(
            "policy {} is a system policy and cannot be changed",
            record.slug
        )));
    }
    let old = json!({"resourceType": record.resource_type, "action": record.action, "effect": record.effect, "priority": record.priority, "conditions": record.conditions, "isActive": record.is_active});
    if let Some(name) = &patch.name {
        record.name = name.clone();
    }
    if let Some(description) = &patch.description {
        record.description = description.clone();
    }
    if let Some(resource_type) = &patch.resource_type {
        record.resource_type = resource_type.clone();
    }
    if let Some(action) = &patch.action {
        record.action = action.clone();
    }
    if let Some(effect) = &patch.effect {
        check_effect(effect)?;
        record.effect = effect.clone();
    }
    if let Some(priority) = patch.priority {
        record.priority = priority;
    }
    if let Some(conditions) = &patch.conditions {
        record.conditions = canonical_conditions(tx, conditions)?;
    }
    if let Some(active) = patch.is_active {
        record.is_active = active;
    }
    record.updated_at = Some(meta.at);
    tx.put(Table::AbacPolicy, &id.to_be_bytes(), &record)?;
    let event = AuditEvent::new(
        "authorization",
        "abac.policy.updated",
        format!("ABAC policy {} updated", record.slug),
    )
    .target("abac_policy", id, record.name.clone())
    .old_value(old)
    .new_value(json!({"resourceType": record.resource_type, "action": record.action, "effect": record.effect, "priority": record.priority, "conditions": record.conditions, "isActive": record.is_active}));
    Ok((Outcome::Created(id.to_string()), vec![event]))
}

pub(super) fn delete_policy(tx: &mut OrgTx, id: u64) -> Result<Applied> {
    let record = policy(tx, id)?;
    if record.is_system {
        return Err(ClusterError::protected(format!(
            "policy {} is a system policy and cannot be deleted",
            record.slug
        )));
    }
    tx.delete(Table::AbacPolicy, &id.to_be_bytes());
    tx.delete(Table::AbacPolicySlug, record.slug.as_bytes());
    let event = AuditEvent::new(
        "authorization",
        "abac.policy.deleted",
        format!("ABAC policy {} deleted", record.slug),
    )
    .target("abac_policy", id, record.name);
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn toggle_policy(tx: &mut OrgTx, meta: &CommandMeta, id: u64) -> Result<Applied> {
    let patch = AbacPolicyPatch {
        is_active: Some(!policy(tx, id)?.is_active),
        ..AbacPolicyPatch::default()
    };
    update_policy(tx, meta, id, &patch)
}

pub(super) fn set_value(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    target: &AbacValueTarget,
    slug: &str,
    text: &str,
) -> Result<Applied> {
    let unknown = || {
        ClusterError::authz(
            AuthzCode::UnknownAttribute,
            format!("no attribute {slug} is defined for this kind of subject"),
        )
    };
    let id: u64 = tx
        .get(Table::AbacAttributeSlug, slug.as_bytes())?
        .ok_or_else(unknown)?;
    let definition = attribute(tx, id)?;
    let (table, key, kind, target_id) = match target {
        AbacValueTarget::User(user) => {
            if !tx.exists(Table::User, &user.to_bytes())? {
                return Err(ClusterError::not_found("user", user));
            }
            (
                Table::AbacUserValue,
                user_value_key(*user, slug),
                AttributeKind::User,
                user.to_string(),
            )
        }
        AbacValueTarget::Resource {
            resource_type,
            resource_id,
        } => {
            let key = resource_value_key(resource_type, resource_id, slug);
            (
                Table::AbacResourceValue,
                key,
                AttributeKind::Resource,
                format!("{resource_type}:{resource_id}"),
            )
        }
    };
    if definition.kind != kind {
        return Err(unknown());
    }
    let value = json_text("value", text)?;
    if !fits(&definition.data_type, &value) {
        return Err(ClusterError::authz(
            AuthzCode::InvalidAttributeValue,
            format!(
                "{slug} holds a {}; the value does not fit",
                definition.data_type
            ),
        ));
    }
    let existing: Option<AttributeValue> = tx.get(table, &key)?;
    let stored = match existing {
        Some(mut old) => {
            old.value = value.clone();
            old.updated_at = Some(meta.at);
            old
        }
        None => {
            let mut org = load_org(tx)?;
            org.counters.abac_value += 1;
            save_org(tx, &org)?;
            AttributeValue {
                id: org.counters.abac_value,
                value: value.clone(),
                created_at: meta.at,
                updated_at: Some(meta.at),
            }
        }
    };
    tx.put(table, &key, &stored)?;
    let event = AuditEvent::new(
        "authorization",
        "abac.value.set",
        format!("ABAC attribute {slug} set on {target_id}"),
    )
    .target("abac_value", stored.id, target_id)
    .new_value(json!({"attributeSlug": slug, "value": value}));
    Ok((Outcome::Created(stored.id.to_string()), vec![event]))
}
