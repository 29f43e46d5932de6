//! The inbound `attribute_mapping` (`~/admin/settings/scim`): SCIM attribute, as the client
//! sends it (`title`, `name.middleName`, `emails[type eq "work"]` is not a path here, an
//! extension's `urn:…:User:employeeNumber`), to the Lumo field it fills. Before a user resource
//! is read, each mapped attribute's value is written where Lumo reads that field from, so a
//! directory that keeps, say, the login name in an extension fills Lumo's username.

use lumo_cluster::scim_outbound::set_path;
use serde_json::Value;

use super::filter::member;

/// Lumo fields a mapping may fill, and the core attribute each is read from.
pub const LUMO_FIELDS: &[(&str, &str)] = &[
    ("email", "emails"),
    ("username", "userName"),
    ("name", "displayName"),
    ("given_name", "name.givenName"),
    ("family_name", "name.familyName"),
    ("phone_number", "phoneNumbers"),
    ("locale", "locale"),
    ("zoneinfo", "timezone"),
    ("picture", "photos"),
];

/// The text at `path` of `resource`: a string, a complex value's `value`, or a multi-valued
/// attribute's primary (else first) `value`.
fn read(resource: &Value, path: &str) -> Option<String> {
    let found = match path.strip_prefix("urn:").and(path.rsplit_once(':')) {
        Some((schema, attr)) => member(member(resource, schema)?, attr)?,
        None => path
            .split('.')
            .try_fold(resource, |node, part| member(node, part))?,
    };
    let value = match found {
        Value::Array(items) => items
            .iter()
            .find(|e| member(e, "primary") == Some(&Value::Bool(true)))
            .or_else(|| items.first())?,
        other => other,
    };
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Object(_) => member(value, "value")?.as_str().map(str::to_string),
        _ => None,
    }
}

/// `resource` with the mapped attributes copied to where Lumo reads its fields from.
pub fn apply(resource: &Value, mapping: &Value) -> Value {
    let (Some(pairs), Value::Object(original)) = (mapping.as_object(), resource) else {
        return resource.clone();
    };
    let mut out = original.clone();
    for (source, field) in pairs {
        let target = LUMO_FIELDS
            .iter()
            .find(|(name, _)| Some(*name) == field.as_str())
            .map(|(_, target)| *target);
        if let (Some(target), Some(value)) = (target, read(resource, source)) {
            set_path(&mut out, target, Value::String(value));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn mapped_attributes_fill_lumo_fields() {
        let ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let resource = json!({
            "userName": "u123",
            "emails": [{"value": "home@example.com"}, {"value": "work@example.com", "primary": true}],
            "nickName": "Ada",
            ext: {"employeeNumber": "E-7"},
            "name": {"familyName": "Lovelace"}
        });
        let mapping = json!({
            format!("{ext}:employeeNumber"): "username",
            "nickName": "given_name",
            "emails": "email",
            "missing": "name",
            "title": "no_such_field"
        });
        let out = apply(&resource, &mapping);
        assert_eq!(out["userName"], "E-7");
        assert_eq!(out["name"]["givenName"], "Ada");
        assert_eq!(out["name"]["familyName"], "Lovelace");
        assert_eq!(out["emails"][0]["value"], "work@example.com");
        assert!(out.get("displayName").is_none());
        assert_eq!(apply(&resource, &json!({})), resource);
    }
}
