//! Sandbox reads: a parent's sandboxes, and the configuration a new sandbox copies.

use serde_json::Value;

use crate::command::Relation;
use crate::error::{ClusterError, Result};
use crate::lookup::load_org;
use crate::model::SandboxRecord;
use crate::query::{Reply, SandboxExport};
use crate::settings::{SettingsSection, strip_secrets};
use crate::tables::{OrgReader, Table};

/// The tables a sandbox copies whole: configuration, never users, sessions, tokens, audit,
/// webhooks (a sandbox must not call production endpoints) or anything sealed under the org
/// (signing keys, SAML keys, social and vault secrets).
pub(crate) const COPIED_TABLES: &[Table] = &[
    Table::Role,
    Table::RoleSlug,
    Table::Permission,
    Table::PermissionSlug,
    Table::Scope,
    Table::ScopeName,
    Table::Group,
    Table::GroupSlug,
    Table::AuditRetention,
    Table::EmailTemplate,
    Table::OAuthClient,
    Table::OAuthClientKey,
    Table::RelationSchema,
    Table::AbacAttribute,
    Table::AbacAttributeSlug,
    Table::AbacPolicy,
    Table::AbacPolicySlug,
    Table::McpServer,
    Table::McpResource,
    Table::SamlApp,
    Table::SamlAppEntity,
    Table::SamlHead,
];

/// The relations between configuration entities (not those of users).
pub(crate) const COPIED_RELATIONS: &[Relation] = &[Relation::GroupRole, Relation::RolePermission];

pub(super) fn list(reader: &OrgReader) -> Result<Reply> {
    let mut out = Vec::new();
    reader.scan::<SandboxRecord>(Table::Sandbox, &[], false, |_, row| {
        out.push(row);
        true
    })?;
    out.sort_by_key(|s| s.created_at);
    Ok(Reply::Sandboxes(out))
}

fn raw_rows(reader: &OrgReader, table: Table, out: &mut Vec<(Vec<u8>, Vec<u8>)>) -> Result<()> {
    reader.scan::<Value>(table, &[], false, |key, value| {
        let mut full = vec![table as u8];
        full.extend_from_slice(key);
        out.push((full, serde_json::to_vec(&value).unwrap_or_default()));
        true
    })
}

pub(super) fn export(reader: &OrgReader) -> Result<Reply> {
    let org = load_org(reader)?;
    let mut rows = Vec::new();
    for table in COPIED_TABLES {
        raw_rows(reader, *table, &mut rows)?;
    }
    for relation in COPIED_RELATIONS {
        let (forward, back) = relation.tags();
        for tag in [forward, back] {
            reader.scan::<Value>(Table::Edge, &[tag], false, |key, value| {
                let mut full = vec![Table::Edge as u8, tag];
                full.extend_from_slice(key);
                rows.push((full, serde_json::to_vec(&value).unwrap_or_default()));
                true
            })?;
        }
    }
    for section in SettingsSection::ALL {
        let key = section.as_str().as_bytes();
        if let Some(mut stored) = reader.get::<Value>(Table::Settings, key)? {
            strip_secrets(section, &mut stored);
            let mut full = vec![Table::Settings as u8];
            full.extend_from_slice(key);
            rows.push((full, serde_json::to_vec(&stored).unwrap_or_default()));
        }
    }
    let counters = serde_json::to_string(&org.counters)
        .map_err(|e| ClusterError::internal(format!("counters: {e}")))?;
    Ok(Reply::SandboxExport(SandboxExport {
        rows,
        counters,
        region: org.region,
        sandbox_of: org.sandbox_of,
    }))
}
