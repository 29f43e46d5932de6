//! Settings sections: validate, merge, store secrets (already hashed by the proposer).

use serde_json::{Value, json};

use crate::clock::Timestamp;
use crate::error::{ClusterError, Result};
use crate::lookup::{load_org, save_org};
use crate::model::AuditEvent;
use crate::query::Outcome;
use crate::settings::{self as section_rules, SealedSecret, SettingsSection};
use crate::tables::{OrgTx, Table};

use super::Applied;

pub(super) fn update(
    tx: &mut OrgTx,
    at: Timestamp,
    section: SettingsSection,
    patch: &str,
    secrets: &[SealedSecret],
    sealed: &[(String, String)],
) -> Result<Applied> {
    let patch: Value = serde_json::from_str(patch)
        .map_err(|_| ClusterError::invalid("body", "must be a JSON object"))?;
    section_rules::validate_patch(section, &patch)?;
    let key = section.as_str().as_bytes();
    let mut stored: Value = tx.get(Table::Settings, key)?.unwrap_or_else(|| json!({}));
    let mut patch = patch;
    let mut renamed = None;
    if section == SettingsSection::General
        && let Some(name) = patch.as_object_mut().and_then(|m| m.remove("name"))
        && let Some(name) = name.as_str()
    {
        // The general section's name is the org's name (the tenant profile's `name`).
        let mut org = load_org(tx)?;
        if org.name != name {
            renamed = Some(json!({"from": org.name, "to": name}));
            org.name = name.to_string();
            org.updated_at = at;
            save_org(tx, &org)?;
        }
    }
    section_rules::merge(section, &mut stored, &patch);
    section_rules::store_secrets(section, &mut stored, secrets);
    section_rules::store_sealed(&mut stored, sealed);
    match section {
        SettingsSection::Scim => super::scim_outbound::check(&stored)?,
        SettingsSection::Email => super::email::check_settings(&stored)?,
        _ => {}
    }
    tx.put(Table::Settings, key, &stored)?;
    match section {
        SettingsSection::Scim => super::scim_outbound::sync_webhook(tx, at, &stored)?,
        SettingsSection::Email => super::email::sync_webhook(tx, at, &stored)?,
        _ => {}
    }
    let mut changes = patch;
    if let (Some(renamed), Value::Object(map)) = (renamed, &mut changes) {
        map.insert("name".into(), renamed);
    }
    if let Value::Object(map) = &mut changes {
        for secret in secrets {
            map.insert(
                secret.path.clone(),
                json!(if secret.sha256.is_some() {
                    "set"
                } else {
                    "cleared"
                }),
            );
        }
    }
    let event = AuditEvent::new(
        "settings",
        format!("settings.{}.updated", section.as_str()),
        format!("{} settings updated", section.as_str()),
    )
    .target("settings", section.as_str(), section.as_str().to_string())
    .changes(changes);
    Ok((Outcome::Done, vec![event]))
}
