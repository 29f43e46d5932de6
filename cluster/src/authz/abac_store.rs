//! ABAC state read from storage: the attribute catalog, compiled policies, and the attribute
//! values of users and resources. Shared by `apply` (validation) and the runtime checks.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::abac::{AbacError, AttributeCatalog, Effect, Policy, parse_conditions};
use crate::error::{AuthzCode, ClusterError, Result};
use crate::ids::UserId;
use crate::model::{AbacPolicyRecord, AttributeDefinition, AttributeKind, AttributeValue};
use crate::tables::{OrgReader, Table};

/// The caller's error for a condition problem.
pub fn abac_error(e: AbacError) -> ClusterError {
    let code = match e {
        AbacError::UnknownAttribute { .. } => AuthzCode::UnknownAttribute,
        _ => AuthzCode::InvalidConditions,
    };
    ClusterError::authz(code, format!("conditions: {e}"))
}

/// Every attribute definition of the org, by id.
pub fn definitions(reader: &OrgReader) -> Result<Vec<AttributeDefinition>> {
    let mut out = Vec::new();
    reader.scan::<AttributeDefinition>(Table::AbacAttribute, &[], false, |_, def| {
        out.push(def);
        true
    })?;
    Ok(out)
}

/// The attributes conditions may name: built-ins plus the org's definitions.
pub fn catalog(reader: &OrgReader) -> Result<AttributeCatalog> {
    let defs = definitions(reader)?;
    let of = |kind: AttributeKind| {
        defs.iter()
            .filter(move |d| d.kind == kind)
            .map(|d| d.slug.clone())
            .collect::<Vec<_>>()
    };
    Ok(AttributeCatalog::new(
        of(AttributeKind::User),
        of(AttributeKind::Resource),
    ))
}

/// Every policy of the org, compiled (a stored policy that no longer validates is skipped:
/// its attribute was deleted since).
pub fn compiled_policies(reader: &OrgReader) -> Result<Vec<Policy>> {
    let catalog = catalog(reader)?;
    let mut out = Vec::new();
    reader.scan::<AbacPolicyRecord>(Table::AbacPolicy, &[], false, |_, record| {
        if let Some(policy) = compile(&record, &catalog) {
            out.push(policy);
        }
        true
    })?;
    Ok(out)
}

fn compile(record: &AbacPolicyRecord, catalog: &AttributeCatalog) -> Option<Policy> {
    let conditions = parse_conditions(&record.conditions, catalog).ok()?;
    let effect = if record.effect == "deny" {
        Effect::Deny
    } else {
        Effect::Allow
    };
    Some(Policy {
        id: record.id,
        name: record.name.clone(),
        resource_type: record.resource_type.clone(),
        action: record.action.clone(),
        effect,
        priority: record.priority,
        conditions,
        active: record.is_active,
    })
}

/// The storage key of a user's attribute value.
pub fn user_value_key(user: UserId, slug: &str) -> Vec<u8> {
    let mut key = user.to_bytes().to_vec();
    key.extend_from_slice(slug.as_bytes());
    key
}

/// The storage key of a resource's attribute value.
pub fn resource_value_key(resource_type: &str, resource_id: &str, slug: &str) -> Vec<u8> {
    format!("{resource_type}\0{resource_id}\0{slug}").into_bytes()
}

/// A user's custom attribute values (defined user attributes only; defaults filled in).
pub fn user_values(reader: &OrgReader, user: UserId) -> Result<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    for def in definitions(reader)? {
        if def.kind != AttributeKind::User {
            continue;
        }
        let stored =
            reader.get::<AttributeValue>(Table::AbacUserValue, &user_value_key(user, &def.slug))?;
        if let Some(value) = stored.map(|v| v.value).or(def.default_value.clone()) {
            out.insert(def.slug, value);
        }
    }
    Ok(out)
}

/// A resource's attributes: `id`, `type` and its defined attribute values.
pub fn resource_attributes(
    reader: &OrgReader,
    resource_type: &str,
    resource_id: &str,
) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    out.insert("id".into(), json!(resource_id));
    out.insert("type".into(), json!(resource_type));
    for def in definitions(reader)? {
        if def.kind != AttributeKind::Resource {
            continue;
        }
        let key = resource_value_key(resource_type, resource_id, &def.slug);
        let stored = reader.get::<AttributeValue>(Table::AbacResourceValue, &key)?;
        if let Some(value) = stored.map(|v| v.value).or(def.default_value.clone()) {
            out.insert(def.slug, value);
        }
    }
    Ok(out)
}

/// Whether `value` fits an attribute of `data_type`.
pub fn fits(data_type: &str, value: &Value) -> bool {
    match data_type {
        "string" => value.is_string(),
        "number" | "integer" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "date" | "datetime" => value
            .as_str()
            .is_some_and(|s| s.len() >= 10 && s.as_bytes().get(4) == Some(&b'-')),
        _ => true,
    }
}

/// The data types an attribute may have.
pub const DATA_TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "array", "object", "date", "datetime",
];
