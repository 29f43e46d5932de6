//! Org settings sections: schema, defaults, validation, merge, and secret sealing.
//!
//! A section is stored as the JSON object of what was changed; reads merge it over the defaults.
//! Secrets never enter the Raft log in clear: the proposer replaces them with their SHA-256
//! ([`seal_secrets`]) and `apply` stores only that. A secret the server must use later (a
//! [`Kind::Secret`]: the outbound SCIM credentials, the SMTP password) is also sealed under the
//! master key on the org's leader ([`usable_secrets`], [`store_sealed`]) and opened only where
//! it is used ([`sealed_value`]); renders never show either.

mod defaults;
mod schema;
mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use defaults::defaults;
pub use validate::validate_patch;

use crate::clock::Timestamp;

/// The settings sections of the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SettingsSection {
    Auth,
    Branding,
    Email,
    General,
    Scim,
    Security,
}

impl SettingsSection {
    /// Every section.
    pub const ALL: [SettingsSection; 6] = [
        SettingsSection::Auth,
        SettingsSection::Branding,
        SettingsSection::Email,
        SettingsSection::General,
        SettingsSection::Scim,
        SettingsSection::Security,
    ];

    /// The path segment (`authentication` is accepted as an alias of `auth`).
    pub fn parse(segment: &str) -> Option<SettingsSection> {
        match segment {
            "auth" | "authentication" => Some(SettingsSection::Auth),
            "branding" => Some(SettingsSection::Branding),
            "email" => Some(SettingsSection::Email),
            "general" => Some(SettingsSection::General),
            "scim" => Some(SettingsSection::Scim),
            "security" => Some(SettingsSection::Security),
            _ => None,
        }
    }

    /// Stable name used as storage key and in audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            SettingsSection::Auth => "auth",
            SettingsSection::Branding => "branding",
            SettingsSection::Email => "email",
            SettingsSection::General => "general",
            SettingsSection::Scim => "scim",
            SettingsSection::Security => "security",
        }
    }

    pub(crate) fn fields(self) -> &'static [Field] {
        match self {
            SettingsSection::Auth => schema::AUTHENTICATION_SETTINGS,
            SettingsSection::Branding => schema::BRANDING_SETTINGS,
            SettingsSection::Email => schema::EMAIL_SETTINGS,
            SettingsSection::General => schema::GENERAL_SETTINGS,
            SettingsSection::Scim => schema::SCIM_SETTINGS,
            SettingsSection::Security => schema::SECURITY_SETTINGS,
        }
    }
}

/// One field of a section.
#[derive(Debug)]
pub(crate) struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
}

/// The JSON shape a field takes.
#[derive(Debug)]
pub(crate) enum Kind {
    Bool,
    Int,
    Str,
    Enum(&'static [&'static str]),
    StrList,
    EnumList(&'static [&'static str]),
    ObjList,
    Object,
    StrMap,
    Nested(&'static [Field]),
    /// A secret the server must use later: in clear on input, a redacted marker on output.
    Secret,
    /// A token the server only verifies: stored as hash + preview, never shown.
    WriteOnlyToken,
    /// Server-maintained; ignored on input.
    ReadOnly,
}

/// A secret taken out of a patch before proposing: where it goes and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    /// Dotted path of the field (e.g. `inbound.bearer_token`).
    pub path: String,
    /// `None` clears the secret.
    pub sha256: Option<String>,
    pub preview: Option<String>,
    pub at: Timestamp,
}

/// Shortest token accepted for write-only tokens (e.g. the SCIM bearer token).
pub const MIN_TOKEN_CHARS: usize = 24;

/// Takes every secret out of `patch`, returning what `apply` should store instead. Refuses
/// write-only tokens too short to be secret.
pub fn seal_secrets(
    section: SettingsSection,
    patch: &mut Value,
    at: Timestamp,
) -> Result<Vec<SealedSecret>, crate::error::ClusterError> {
    let mut sealed = Vec::new();
    let mut problems = FieldProblems::new();
    if let Value::Object(map) = patch {
        seal_in(section.fields(), map, "", at, &mut sealed, &mut problems);
    }
    if problems.is_empty() {
        return Ok(sealed);
    }
    let message = problems
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("; ");
    Err(crate::error::ClusterError::Validation {
        message,
        details: problems,
    })
}

fn seal_in(
    fields: &[Field],
    map: &mut Map<String, Value>,
    prefix: &str,
    at: Timestamp,
    out: &mut Vec<SealedSecret>,
    problems: &mut FieldProblems,
) {
    for field in fields {
        let path = format!("{prefix}{}", field.name);
        match &field.kind {
            Kind::Nested(inner) => {
                if let Some(Value::Object(child)) = map.get_mut(field.name) {
                    seal_in(inner, child, &format!("{path}."), at, out, problems);
                }
            }
            Kind::Secret | Kind::WriteOnlyToken => match map.remove(field.name) {
                Some(Value::String(secret))
                    if matches!(field.kind, Kind::WriteOnlyToken)
                        && secret.chars().count() < MIN_TOKEN_CHARS =>
                {
                    problems.insert(
                        path,
                        format!("must be at least {MIN_TOKEN_CHARS} characters"),
                    );
                }
                Some(Value::String(secret)) if !secret.is_empty() => out.push(SealedSecret {
                    path,
                    sha256: Some(hex::encode(Sha256::digest(secret.as_bytes()))),
                    preview: Some(format!("{}…", secret.chars().take(4).collect::<String>())),
                    at,
                }),
                Some(Value::Null) => out.push(SealedSecret {
                    path,
                    sha256: None,
                    preview: None,
                    at,
                }),
                Some(other @ Value::Object(_)) => {
                    // A redacted marker sent back from a GET: keep the stored secret.
                    drop(other);
                }
                Some(other) => {
                    // Leave wrong types for validation to report.
                    map.insert(field.name.to_string(), other);
                }
                None => {}
            },
            _ => {}
        }
    }
}

/// The plain values of the usable secrets (`Kind::Secret`, not write-only tokens) `patch`
/// sets, by dotted path; taken before [`seal_secrets`] replaces them with hashes.
pub fn usable_secrets(section: SettingsSection, patch: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    collect_usable(section.fields(), patch, "", &mut out);
    out
}

fn collect_usable(fields: &[Field], value: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
    let Value::Object(map) = value else { return };
    for field in fields {
        match (&field.kind, map.get(field.name)) {
            (Kind::Nested(inner), Some(child)) => {
                collect_usable(inner, child, &format!("{prefix}{}.", field.name), out)
            }
            (Kind::Secret, Some(Value::String(secret))) if !secret.is_empty() => {
                out.push((format!("{prefix}{}", field.name), secret.clone()));
            }
            _ => {}
        }
    }
}

/// The master-key context a settings secret at `path` of `section` is sealed under.
pub fn secret_context(section: SettingsSection, path: &str) -> String {
    format!("settings:{}:{path}", section.as_str())
}

/// The marker object of the secret at dotted `path` of `stored`, if one is stored.
fn marker_at<'a>(stored: &'a mut Value, path: &str) -> Option<&'a mut Map<String, Value>> {
    let mut node = stored;
    for part in path.split('.') {
        node = node.get_mut(part)?;
    }
    node.as_object_mut()
}

/// Adds what the leader sealed under the master key to the stored markers (after
/// [`store_secrets`]).
pub fn store_sealed(stored: &mut Value, sealed: &[(String, String)]) {
    for (path, ciphertext) in sealed {
        if let Some(marker) = marker_at(stored, path) {
            marker.insert("sealed".into(), Value::String(ciphertext.clone()));
        }
    }
}

/// The master-key-sealed value of the secret at dotted `path`, if one was stored usable.
pub fn sealed_value<'a>(stored: &'a Value, path: &str) -> Option<&'a str> {
    let mut node = stored;
    for part in path.split('.') {
        node = node.get(part)?;
    }
    node.get("sealed")?.as_str()
}

/// Deep-merges `patch` into `stored` along nested sections; other values replace.
pub fn merge(section: SettingsSection, stored: &mut Value, patch: &Value) {
    merge_fields(section.fields(), stored, patch);
}

fn merge_fields(fields: &[Field], stored: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else { return };
    if !stored.is_object() {
        *stored = Value::Object(Map::new());
    }
    let Value::Object(target) = stored else {
        return;
    };
    for (key, value) in patch {
        let Some(field) = fields.iter().find(|f| f.name == key) else {
            continue;
        };
        match &field.kind {
            Kind::ReadOnly | Kind::Secret | Kind::WriteOnlyToken => {}
            Kind::Nested(inner) if value.is_object() => {
                let slot = target
                    .entry(key.clone())
                    .or_insert(Value::Object(Map::new()));
                merge_fields(inner, slot, value);
            }
            _ => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Stores sealed secrets into `stored`.
pub fn store_secrets(section: SettingsSection, stored: &mut Value, secrets: &[SealedSecret]) {
    for secret in secrets {
        let mut parts: Vec<&str> = secret.path.split('.').collect();
        let Some(last) = parts.pop() else { continue };
        let mut node = &mut *stored;
        for part in parts {
            if !node.is_object() {
                *node = Value::Object(Map::new());
            }
            let Value::Object(map) = node else { break };
            node = map
                .entry(part.to_string())
                .or_insert(Value::Object(Map::new()));
        }
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        let Value::Object(map) = node else { continue };
        let write_only = section == SettingsSection::Scim && secret.path == "inbound.bearer_token";
        let marker = secret
            .sha256
            .as_ref()
            .map(|hash| serde_json::json!({"configured": true, "redacted": true, "sha256": hash}));
        if write_only {
            map.insert("bearer_token_hash".into(), marker.unwrap_or(Value::Null));
            map.insert(
                "bearer_token_preview".into(),
                secret
                    .preview
                    .clone()
                    .map(Value::String)
                    .unwrap_or(Value::Null),
            );
            let created = secret
                .sha256
                .as_ref()
                .map(|_| Value::String(secret.at.to_rfc3339()));
            map.insert("token_created_at".into(), created.unwrap_or(Value::Null));
        } else {
            map.insert(last.to_string(), marker.unwrap_or(Value::Null));
        }
    }
}

/// True when a rendered email section sends: enabled, provider `smtp`, and a host.
pub fn email_sends(doc: &Value) -> bool {
    doc["enabled"] == Value::Bool(true)
        && doc["provider"] == Value::String("smtp".into())
        && doc["smtp_host"]
            .as_str()
            .is_some_and(|h| !h.trim().is_empty())
}

/// The outbound SCIM settings as rendered from the stored section (defaults applied).
pub fn scim_outbound(stored: Option<&Value>) -> Value {
    render(SettingsSection::Scim, stored)["outbound"].take()
}

/// The section as the API shows it: defaults overlaid with what is stored, secrets redacted.
pub fn render(section: SettingsSection, stored: Option<&Value>) -> Value {
    let mut doc = defaults(section);
    if let Some(stored) = stored {
        overlay(&mut doc, stored);
    }
    redact(section.fields(), &mut doc);
    doc
}

fn overlay(doc: &mut Value, stored: &Value) {
    match (doc, stored) {
        (Value::Object(doc), Value::Object(stored)) => {
            for (key, value) in stored {
                match doc.get_mut(key) {
                    Some(slot) if slot.is_object() && value.is_object() && !is_marker(value) => {
                        overlay(slot, value)
                    }
                    _ => {
                        doc.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (doc, stored) => *doc = stored.clone(),
    }
}

fn is_marker(value: &Value) -> bool {
    value.get("redacted").is_some()
}

fn redact(fields: &[Field], doc: &mut Value) {
    let Value::Object(map) = doc else { return };
    for field in fields {
        match &field.kind {
            Kind::Nested(inner) => {
                if let Some(child) = map.get_mut(field.name) {
                    redact(inner, child);
                }
            }
            Kind::WriteOnlyToken => {
                map.insert(field.name.to_string(), Value::Null);
            }
            Kind::Secret | Kind::ReadOnly => {
                if let Some(Value::Object(marker)) = map.get_mut(field.name) {
                    marker.remove("sha256");
                    marker.remove("sealed");
                }
            }
            _ => {}
        }
    }
}

/// Problems with a patch, by dotted field path.
pub type FieldProblems = BTreeMap<String, String>;

/// Takes every secret (sealed or hashed) out of a stored section, for a copy that must not
/// carry them (a sandbox's settings).
pub fn strip_secrets(section: SettingsSection, stored: &mut Value) {
    strip_in(section.fields(), stored);
}

fn strip_in(fields: &[Field], value: &mut Value) {
    let Value::Object(map) = value else { return };
    for field in fields {
        match &field.kind {
            Kind::Nested(inner) => {
                if let Some(child) = map.get_mut(field.name) {
                    strip_in(inner, child);
                }
            }
            Kind::Secret | Kind::WriteOnlyToken => {
                map.remove(field.name);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn render_overlays_stored_values_on_defaults() {
        let stored = json!({"password_policy": {"min_length": 12}});
        let doc = render(SettingsSection::Auth, Some(&stored));
        assert_eq!(doc["password_policy"]["min_length"], 12);
        assert_eq!(doc["password_policy"]["template"], "moderate");
        assert_eq!(doc["session_timeout"], 86400);
    }

    #[test]
    fn scim_token_is_sealed_and_never_rendered() {
        let mut patch =
            json!({"inbound": {"enabled": true, "bearer_token": "scim-secret-value-long-enough"}});
        let sealed =
            seal_secrets(SettingsSection::Scim, &mut patch, Timestamp(1)).expect("long enough");
        assert_eq!(sealed.len(), 1);
        assert!(patch["inbound"].get("bearer_token").is_none());
        let mut stored = json!({});
        merge(SettingsSection::Scim, &mut stored, &patch);
        store_secrets(SettingsSection::Scim, &mut stored, &sealed);
        let doc = render(SettingsSection::Scim, Some(&stored));
        assert_eq!(doc["inbound"]["enabled"], true);
        assert_eq!(doc["inbound"]["bearer_token"], Value::Null);
        assert_eq!(
            doc["inbound"]["bearer_token_hash"],
            json!({"configured": true, "redacted": true})
        );
        assert_eq!(doc["inbound"]["bearer_token_preview"], "scim…");
        assert!(!doc.to_string().contains("scim-secret-value"));
        let mut short = json!({"inbound": {"bearer_token": "s3cr3t!!"}});
        assert!(seal_secrets(SettingsSection::Scim, &mut short, Timestamp(1)).is_err());
    }

    #[test]
    fn usable_secrets_are_stored_sealed_and_never_rendered() {
        let patch = json!({"outbound": {"enabled": true, "bearer_token": "downstream-token"},
            "inbound": {"bearer_token": "scim-secret-value-long-enough"}});
        let usable = usable_secrets(SettingsSection::Scim, &patch);
        assert_eq!(
            usable,
            vec![(
                "outbound.bearer_token".to_string(),
                "downstream-token".to_string()
            )]
        );
        let mut patch = patch;
        let hashed = seal_secrets(SettingsSection::Scim, &mut patch, Timestamp(1)).expect("ok");
        let mut stored = json!({});
        merge(SettingsSection::Scim, &mut stored, &patch);
        store_secrets(SettingsSection::Scim, &mut stored, &hashed);
        store_sealed(
            &mut stored,
            &[(
                "outbound.bearer_token".to_string(),
                "CIPHERTEXT".to_string(),
            )],
        );
        assert_eq!(
            sealed_value(&stored, "outbound.bearer_token"),
            Some("CIPHERTEXT")
        );
        let doc = render(SettingsSection::Scim, Some(&stored));
        assert_eq!(
            doc["outbound"]["bearer_token"],
            json!({"configured": true, "redacted": true})
        );
        assert!(!doc.to_string().contains("CIPHERTEXT"));
    }
}
