//! Reads of the org profile, settings and API keys, and whether this shard serves the org.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::Result;
use crate::lookup::load_org;
use crate::model::ApiKey;
use crate::query::{AllSettings, Reply};
use crate::settings::{SettingsSection, render};
use crate::tables::{OrgReader, Table};

fn section_doc(reader: &OrgReader, section: SettingsSection, org_name: &str) -> Result<Value> {
    let stored: Option<Value> = reader.get(Table::Settings, section.as_str().as_bytes())?;
    let mut doc = render(section, stored.as_ref());
    if section == SettingsSection::General
        && let Value::Object(map) = &mut doc
    {
        map.insert("name".into(), Value::String(org_name.to_string()));
        let display_empty = map
            .get("displayName")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if display_empty {
            map.insert("displayName".into(), Value::String(org_name.to_string()));
        }
    }
    Ok(doc)
}

pub(super) fn settings(reader: &OrgReader, section: SettingsSection) -> Result<Reply> {
    let org = load_org(reader)?;
    Ok(Reply::Json(
        section_doc(reader, section, &org.name)?.to_string(),
    ))
}

pub(super) fn all_settings(reader: &OrgReader) -> Result<Reply> {
    let org = load_org(reader)?;
    let mut sections = BTreeMap::new();
    for section in SettingsSection::ALL {
        sections.insert(
            section.as_str().to_string(),
            section_doc(reader, section, &org.name)?.to_string(),
        );
    }
    Ok(Reply::AllSettings(AllSettings {
        org_name: org.name,
        sections,
    }))
}

pub(super) fn tenant(reader: &OrgReader) -> Result<Reply> {
    Ok(Reply::Tenant(load_org(reader)?))
}

pub(super) fn api_keys(reader: &OrgReader) -> Result<Reply> {
    let mut keys = Vec::new();
    reader.scan::<ApiKey>(Table::ApiKey, &[], false, |_, key| {
        keys.push(key);
        true
    })?;
    Ok(Reply::ApiKeys(keys))
}
