//! The org's settings sections as protocol handlers read them (defaults applied).

use serde_json::Value;

use crate::error::Result;
use crate::settings::{SettingsSection, render};
use crate::tables::{OrgReader, Table};

/// A settings section with defaults applied.
pub(crate) fn settings(reader: &OrgReader, section: SettingsSection) -> Result<Value> {
    let stored: Option<Value> = reader.get(Table::Settings, section.as_str().as_bytes())?;
    Ok(render(section, stored.as_ref()))
}
