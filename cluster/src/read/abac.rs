//! Reads of the ABAC configuration: attribute definitions and policies.

use crate::authz::abac_store::{definitions, resource_value_key, user_value_key};
use crate::command::AbacValueTarget;
use crate::error::{ClusterError, Result};
use crate::model::{AbacPolicyRecord, AttributeDefinition, AttributeKind, AttributeValue};
use crate::query::{PageParams, Reply};
use crate::tables::{OrgReader, Table};

use super::page::paginate;

pub(super) fn attributes(
    reader: &OrgReader,
    kind: Option<AttributeKind>,
    page: PageParams,
) -> Result<Reply> {
    let all = definitions(reader)?
        .into_iter()
        .filter(|d| kind.is_none_or(|k| d.kind == k))
        .collect();
    Ok(Reply::AbacAttributes(paginate(all, page)))
}

pub(super) fn attribute(reader: &OrgReader, id: u64) -> Result<Reply> {
    let found: AttributeDefinition = reader
        .get(Table::AbacAttribute, &id.to_be_bytes())?
        .ok_or_else(|| ClusterError::not_found("attribute", id))?;
    Ok(Reply::AbacAttribute(found))
}

pub(super) fn policies(reader: &OrgReader, page: PageParams) -> Result<Reply> {
    let mut all: Vec<AbacPolicyRecord> = Vec::new();
    reader.scan::<AbacPolicyRecord>(Table::AbacPolicy, &[], false, |_, p| {
        all.push(p);
        true
    })?;
    all.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.id.cmp(&b.id)));
    Ok(Reply::AbacPolicies(paginate(all, page)))
}

pub(super) fn policy(reader: &OrgReader, id: u64) -> Result<Reply> {
    let found: AbacPolicyRecord = reader
        .get(Table::AbacPolicy, &id.to_be_bytes())?
        .ok_or_else(|| ClusterError::not_found("policy", id))?;
    Ok(Reply::AbacPolicy(found))
}

pub(super) fn value(reader: &OrgReader, target: &AbacValueTarget, slug: &str) -> Result<Reply> {
    let (table, key) = match target {
        AbacValueTarget::User(user) => (Table::AbacUserValue, user_value_key(*user, slug)),
        AbacValueTarget::Resource {
            resource_type,
            resource_id,
        } => {
            let key = resource_value_key(resource_type, resource_id, slug);
            (Table::AbacResourceValue, key)
        }
    };
    let value: AttributeValue = reader
        .get(table, &key)?
        .ok_or_else(|| ClusterError::not_found("attribute value", slug))?;
    let name = reader
        .get::<u64>(Table::AbacAttributeSlug, slug.as_bytes())?
        .map(|id| reader.get::<AttributeDefinition>(Table::AbacAttribute, &id.to_be_bytes()))
        .transpose()?
        .flatten()
        .map_or_else(|| slug.to_string(), |d| d.name);
    Ok(Reply::AbacValue { value, name })
}
