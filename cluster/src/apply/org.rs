//! The org itself: initialization (with its system roles, permissions, scopes and first admin
//! key), the tenant profile, and API keys.

use serde_json::{Value, json};

use crate::clock::Timestamp;
use crate::command::{CommandMeta, Relation};
use crate::error::{ClusterError, Result};
use crate::ids::{ApiKeyId, PermissionId, RoleId, ScopeId};
use crate::lookup::{derive_ulid, load_org, save_org};
use crate::model::{
    ApiKey, AuditEvent, NewApiKey, OrgCounters, OrgRecord, Permission, Role, Scope,
};
use crate::query::Outcome;
use crate::relations::link;
use crate::tables::{OrgTx, Table};

use super::Applied;

/// System permissions every org starts with: `(slug, name)`.
pub const SYSTEM_PERMISSIONS: &[(&str, &str)] = &[
    ("users:read", "Read users"),
    ("users:write", "Create and update users"),
    ("users:delete", "Delete users"),
    ("groups:read", "Read groups"),
    ("groups:write", "Manage groups"),
    ("roles:read", "Read roles"),
    ("roles:write", "Manage roles"),
    ("permissions:read", "Read permissions"),
    ("permissions:write", "Manage permissions"),
    ("audit:read", "Read audit logs"),
    ("settings:read", "Read settings"),
    ("settings:write", "Change settings"),
    ("clients:read", "Read OAuth clients"),
    ("clients:write", "Manage OAuth clients"),
];

/// Which system permissions (by slug) a system role holds.
type Grants = fn(&str) -> bool;

/// System roles: `(slug, name, description, permission filter)`.
const SYSTEM_ROLES: &[(&str, &str, &str, Grants)] = &[
    (
        "admin",
        "Administrator",
        "Full access to the organization",
        |_| true,
    ),
    (
        "viewer",
        "Viewer",
        "Read-only access to the organization",
        |slug| slug.ends_with(":read"),
    ),
];

/// Standard OpenID Connect scopes: `(name, description, default)`.
const SYSTEM_SCOPES: &[(&str, &str, bool)] = &[
    ("openid", "Sign in with OpenID Connect", true),
    ("profile", "Basic profile (name, picture)", true),
    ("email", "Email address", true),
    ("phone", "Phone number", false),
    ("address", "Postal address", false),
    ("offline_access", "Refresh tokens", false),
];

pub(super) struct InitOrg<'a> {
    pub number: u64,
    pub slug: &'a str,
    pub name: &'a str,
    pub region: Option<&'a str>,
    pub admin_key: &'a NewApiKey,
    pub epoch: u64,
}

pub(super) fn init_org(tx: &mut OrgTx, meta: &CommandMeta, init: InitOrg<'_>) -> Result<Applied> {
    if let Some(existing) = tx.get::<OrgRecord>(Table::Org, &[])? {
        if existing.slug == init.slug {
            // Re-proposed after a crash between the meta and shard steps: nothing to do.
            return Ok((Outcome::Done, Vec::new()));
        }
        return Err(ClusterError::conflict(
            "slug",
            "organization id already in use",
        ));
    }
    let at = meta.at;
    let mut org = OrgRecord {
        id: tx.org(),
        number: init.number,
        slug: init.slug.to_string(),
        name: init.name.to_string(),
        region: init.region.map(str::to_string),
        status: "active".into(),
        epoch: init.epoch,
        created_at: at,
        updated_at: at,
        settings: json!({}),
        counters: OrgCounters::default(),
        user_count: 0,
        sandbox_of: None,
    };
    let mut permission_ids = Vec::new();
    for (slug, name) in SYSTEM_PERMISSIONS {
        org.counters.permission += 1;
        let id = PermissionId(org.counters.permission);
        let (resource, action) = slug.split_once(':').unwrap_or((slug, ""));
        let permission = Permission {
            id,
            name: name.to_string(),
            slug: slug.to_string(),
            description: None,
            resource: Some(resource.to_string()),
            action: Some(action.to_string()),
            is_system: true,
            created_at: at,
            updated_at: None,
        };
        tx.put(Table::Permission, &id.0.to_be_bytes(), &permission)?;
        tx.put(Table::PermissionSlug, slug.as_bytes(), &id)?;
        permission_ids.push((id, *slug));
    }
    for (slug, name, description, grants) in SYSTEM_ROLES {
        let id = RoleId(derive_ulid(
            at,
            format!("{}/role/{slug}", tx.org()).as_bytes(),
        ));
        let role = Role {
            id,
            name: name.to_string(),
            slug: slug.to_string(),
            description: Some(description.to_string()),
            is_system: true,
            created_at: at,
            updated_at: None,
        };
        tx.put(Table::Role, &id.to_bytes(), &role)?;
        tx.put(Table::RoleSlug, slug.as_bytes(), &id)?;
        for (permission, permission_slug) in &permission_ids {
            if grants(permission_slug) {
                link(
                    tx,
                    Relation::RolePermission,
                    &id.to_bytes(),
                    &permission.0.to_be_bytes(),
                )?;
            }
        }
    }
    for (name, description, is_default) in SYSTEM_SCOPES {
        org.counters.scope += 1;
        let id = ScopeId(org.counters.scope);
        let scope = Scope {
            id,
            name: name.to_string(),
            description: Some(description.to_string()),
            is_default: *is_default,
            is_system: true,
            created_at: at,
        };
        tx.put(Table::Scope, &id.0.to_be_bytes(), &scope)?;
        tx.put(Table::ScopeName, name.as_bytes(), &id)?;
    }
    save_org(tx, &org)?;
    let (_, mut events) = create_api_key(tx, meta, init.admin_key)?;
    let created = AuditEvent::new(
        "organization",
        "organization.created",
        format!("organization {} created", init.slug),
    )
    .target("organization", init.number, init.name.to_string())
    .new_value(json!({"slug": init.slug, "name": init.name, "region": init.region}));
    events.insert(0, created);
    Ok((Outcome::Done, events))
}

/// Status of an org that is being moved away from this shard.
pub const FROZEN: &str = "frozen";

pub(super) fn freeze_org(tx: &mut OrgTx, meta: &CommandMeta) -> Result<Applied> {
    let mut org = load_org(tx)?;
    org.status = FROZEN.to_string();
    org.updated_at = meta.at;
    save_org(tx, &org)?;
    let event = AuditEvent::new(
        "organization",
        "organization.move.started",
        format!("organization {} is moving to another shard", org.slug),
    )
    .severity("warning")
    .target("organization", org.number, org.name.clone());
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn import_org(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    epoch: u64,
    rows: &[(Vec<u8>, Vec<u8>)],
    first: bool,
    last: bool,
) -> Result<Applied> {
    if let Some(existing) = tx.get::<OrgRecord>(Table::Org, &[])?
        && existing.status != FROZEN
        && existing.epoch >= epoch
    {
        // Already imported and active here (a repeated final chunk): nothing to do.
        return Ok((Outcome::Done, Vec::new()));
    }
    if first {
        for (suffix, _) in tx.reader().export_rows()? {
            tx.delete_raw(&suffix);
        }
    }
    for (suffix, value) in rows {
        tx.put_raw(suffix, value.clone())?;
    }
    if !last {
        return Ok((Outcome::Done, Vec::new()));
    }
    let mut org = load_org(tx)?;
    org.epoch = epoch;
    org.status = "active".into();
    org.updated_at = meta.at;
    save_org(tx, &org)?;
    let event = AuditEvent::new(
        "organization",
        "organization.moved",
        format!(
            "organization {} moved to this shard (epoch {epoch})",
            org.slug
        ),
    )
    .severity("warning")
    .target("organization", org.number, org.name.clone());
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn thaw_org(tx: &mut OrgTx, meta: &CommandMeta) -> Result<Applied> {
    let mut org = load_org(tx)?;
    org.status = "active".into();
    org.updated_at = meta.at;
    save_org(tx, &org)?;
    let event = AuditEvent::new(
        "organization",
        "organization.move.aborted",
        format!("move of organization {} was given up", org.slug),
    )
    .severity("warning")
    .target("organization", org.number, org.name.clone());
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn drop_org(tx: &mut OrgTx) -> Result<Applied> {
    for (suffix, _) in tx.reader().export_rows()? {
        tx.delete_raw(&suffix);
    }
    Ok((Outcome::Done, Vec::new()))
}

pub(super) fn update_tenant(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    name: &Option<String>,
    settings_patch: &Option<String>,
) -> Result<Applied> {
    let mut org = load_org(tx)?;
    let mut changes = serde_json::Map::new();
    if let Some(name) = name
        && *name != org.name
    {
        changes.insert("name".into(), json!({"from": org.name, "to": name}));
        org.name = name.clone();
    }
    if let Some(patch) = settings_patch {
        let patch: Value = serde_json::from_str(patch)
            .map_err(|_| ClusterError::invalid("settings", "must be a JSON object"))?;
        let Value::Object(patch) = patch else {
            return Err(ClusterError::invalid("settings", "must be a JSON object"));
        };
        if !org.settings.is_object() {
            org.settings = json!({});
        }
        if let Value::Object(settings) = &mut org.settings {
            for (key, value) in patch {
                if value.is_null() {
                    settings.remove(&key);
                } else {
                    settings.insert(key.clone(), value.clone());
                }
                changes.insert(format!("settings.{key}"), value);
            }
        }
    }
    org.updated_at = meta.at;
    save_org(tx, &org)?;
    let event = AuditEvent::new(
        "organization",
        "organization.updated",
        format!("organization {} updated", org.slug),
    )
    .target("organization", org.number, org.name.clone())
    .changes(Value::Object(changes));
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn create_api_key(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    new: &NewApiKey,
) -> Result<Applied> {
    if tx.exists(Table::ApiKeyHash, new.hash.as_bytes())? {
        return Err(ClusterError::conflict(
            "key",
            "this API key is already registered",
        ));
    }
    let mut org = load_org(tx)?;
    org.counters.api_key += 1;
    save_org(tx, &org)?;
    let key = ApiKey {
        id: ApiKeyId(org.counters.api_key),
        name: new.name.clone(),
        prefix: new.prefix.clone(),
        hash: new.hash.clone(),
        scopes: new.scopes.clone(),
        created_at: meta.at,
        expires_at: new.expires_at,
        revoked_at: None,
        created_by: Some(meta.actor.actor_id()),
    };
    tx.put(Table::ApiKey, &key.id.0.to_be_bytes(), &key)?;
    tx.put(Table::ApiKeyHash, key.hash.as_bytes(), &key.id)?;
    let event = AuditEvent::new(
        "api_key",
        "api_key.created",
        format!("API key {} created", key.name),
    )
    .severity("critical")
    .target("api_key", key.id, key.name.clone())
    .new_value(json!({"name": key.name, "prefix": key.prefix, "scopes": key.scopes}));
    Ok((Outcome::ApiKey(key), vec![event]))
}

fn is_full_admin(key: &ApiKey, now: Timestamp) -> bool {
    key.is_usable(now) && key.scopes.iter().any(|s| s == "admin")
}

pub(super) fn revoke_api_key(tx: &mut OrgTx, meta: &CommandMeta, id: ApiKeyId) -> Result<Applied> {
    let Some(mut key) = tx.get::<ApiKey>(Table::ApiKey, &id.0.to_be_bytes())? else {
        return Err(ClusterError::not_found("api key", id));
    };
    if key.revoked_at.is_some() {
        return Err(ClusterError::conflict(
            "id",
            "this API key is already revoked",
        ));
    }
    if is_full_admin(&key, meta.at) {
        let mut other_admins = 0;
        tx.reader()
            .scan::<ApiKey>(Table::ApiKey, &[], false, |_, other| {
                if other.id != key.id && is_full_admin(&other, meta.at) {
                    other_admins += 1;
                }
                true
            })?;
        if other_admins == 0 {
            return Err(ClusterError::conflict(
                "id",
                "this is the last usable key with the admin scope; create another before revoking it",
            ));
        }
    }
    key.revoked_at = Some(meta.at);
    tx.put(Table::ApiKey, &id.0.to_be_bytes(), &key)?;
    tx.delete(Table::ApiKeyHash, key.hash.as_bytes());
    let event = AuditEvent::new(
        "api_key",
        "api_key.revoked",
        format!("API key {} revoked", key.name),
    )
    .severity("critical")
    .target("api_key", key.id, key.name.clone());
    Ok((Outcome::Done, vec![event]))
}
