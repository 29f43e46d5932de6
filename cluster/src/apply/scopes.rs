//! Custom OAuth scopes (the OpenID Connect scopes are system scopes).

use serde_json::json;

use crate::command::CommandMeta;
use crate::error::{ClusterError, Result};
use crate::ids::ScopeId;
use crate::lookup::{load_org, save_org};
use crate::model::{AuditEvent, Scope};
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;

pub(super) fn create(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    name: &str,
    description: &Option<String>,
    is_default: bool,
) -> Result<Applied> {
    if tx.exists(Table::ScopeName, name.as_bytes())? {
        return Err(ClusterError::conflict(
            "name",
            format!("a scope named {name} already exists"),
        ));
    }
    let mut org = load_org(tx)?;
    org.counters.scope += 1;
    save_org(tx, &org)?;
    let scope = Scope {
        id: ScopeId(org.counters.scope),
        name: name.to_string(),
        description: description.clone(),
        is_default,
        is_system: false,
        created_at: meta.at,
    };
    tx.put(Table::Scope, &scope.id.0.to_be_bytes(), &scope)?;
    tx.put(Table::ScopeName, name.as_bytes(), &scope.id)?;
    let event = AuditEvent::new("scope", "scope.created", format!("scope {name} created"))
        .target("scope", scope.id, name.to_string())
        .new_value(json!({"name": name, "description": description, "isDefault": is_default}));
    Ok((Outcome::Created(scope.id.to_string()), vec![event]))
}

pub(super) fn delete(tx: &mut OrgTx, id: ScopeId) -> Result<Applied> {
    let Some(scope) = tx.get::<Scope>(Table::Scope, &id.0.to_be_bytes())? else {
        return Err(ClusterError::not_found("scope", id));
    };
    if scope.is_system {
        return Err(ClusterError::protected(format!(
            "scope {} is a system scope and cannot be deleted",
            scope.name
        )));
    }
    tx.delete(Table::Scope, &id.0.to_be_bytes());
    tx.delete(Table::ScopeName, scope.name.as_bytes());
    let event = AuditEvent::new(
        "scope",
        "scope.deleted",
        format!("scope {} deleted", scope.name),
    )
    .severity("warning")
    .target("scope", scope.id, scope.name.clone());
    Ok((Outcome::Done, vec![event]))
}
