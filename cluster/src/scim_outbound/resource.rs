//! Lumo users and groups as the SCIM resources pushed downstream, with the outbound
//! `attribute_mapping` (downstream attribute -> Lumo field) applied over the defaults.

use serde_json::{Map, Value, json};

use crate::model::{Group, User};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Addresses SCIM clients created without one get at this domain: never pushed.
const PLACEHOLDER_DOMAIN: &str = "@scim.invalid";
/// Multi-valued attributes a mapping fills with one primary value.
const MULTI_VALUED: &[&str] = &["emails", "phoneNumbers", "photos"];

fn field(user: &User, name: &str) -> Option<String> {
    match name {
        "id" => Some(user.id.to_string()),
        "email" => Some(user.email.clone()).filter(|e| !e.ends_with(PLACEHOLDER_DOMAIN)),
        "username" => user.username.clone(),
        "name" => user.name.clone(),
        "given_name" => user.given_name.clone(),
        "family_name" => user.family_name.clone(),
        "phone_number" => user.phone_number.clone(),
        "picture" => user.picture.clone(),
        "locale" => user.locale.clone(),
        "zoneinfo" => user.zoneinfo.clone(),
        _ => None,
    }
}

fn primary(value: String) -> Value {
    json!([{"value": value, "type": "work", "primary": true}])
}

/// Sets `value` at a SCIM attribute path: `a`, `a.b`, or `urn:…:Schema:attr` (an extension's);
/// a text value of a multi-valued attribute becomes its one primary value.
pub fn set_path(resource: &mut Map<String, Value>, path: &str, value: Value) {
    if let Some((schema, attr)) = path
        .strip_prefix("urn:")
        .and_then(|_| path.rsplit_once(':'))
    {
        if let Some(Value::Array(schemas)) = resource.get_mut("schemas")
            && !schemas.iter().any(|s| s == schema)
        {
            schemas.push(json!(schema));
        }
        let ext = resource.entry(schema).or_insert_with(|| json!({}));
        if let Value::Object(ext) = ext {
            set_path(ext, attr, value);
        }
        return;
    }
    let value = if MULTI_VALUED.contains(&path) {
        value
            .as_str()
            .map(|v| primary(v.to_string()))
            .unwrap_or(value)
    } else {
        value
    };
    match path.split_once('.') {
        Some((parent, child)) => {
            let slot = resource.entry(parent).or_insert_with(|| json!({}));
            if !slot.is_object() {
                *slot = json!({});
            }
            if let Value::Object(inner) = slot {
                inner.insert(child.to_string(), value);
            }
        }
        None => {
            resource.insert(path.to_string(), value);
        }
    }
}

/// The user as a SCIM User: `externalId` is the Lumo id, `userName` the username (or the
/// address), `active` false when deactivated or blocked; then the mapping.
pub fn user_resource(user: &User, mapping: &Value) -> Value {
    let mut out = Map::new();
    out.insert("schemas".into(), json!([USER_SCHEMA]));
    out.insert("externalId".into(), json!(user.id.to_string()));
    out.insert(
        "userName".into(),
        json!(user.username.clone().unwrap_or_else(|| user.email.clone())),
    );
    let mut name = Map::new();
    for (attr, value) in [
        ("formatted", &user.name),
        ("givenName", &user.given_name),
        ("familyName", &user.family_name),
    ] {
        if let Some(value) = value {
            name.insert(attr.into(), json!(value));
        }
    }
    if !name.is_empty() {
        out.insert("name".into(), Value::Object(name));
    }
    if let Some(display) = &user.name {
        out.insert("displayName".into(), json!(display));
    }
    if let Some(email) = field(user, "email") {
        out.insert("emails".into(), primary(email));
    }
    if let Some(phone) = &user.phone_number {
        out.insert("phoneNumbers".into(), primary(phone.clone()));
    }
    if let Some(locale) = &user.locale {
        out.insert("locale".into(), json!(locale));
    }
    if let Some(zone) = &user.zoneinfo {
        out.insert("timezone".into(), json!(zone));
    }
    out.insert("active".into(), json!(user.is_active && !user.blocked));
    if let Value::Object(mapping) = mapping {
        for (path, source) in mapping {
            if let Some(value) = source.as_str().and_then(|s| field(user, s)) {
                set_path(&mut out, path, json!(value));
            }
        }
    }
    Value::Object(out)
}

/// The group as a SCIM Group with the members already known downstream (their remote ids).
pub fn group_resource(group: &Group, members: &[String]) -> Value {
    json!({
        "schemas": [GROUP_SCHEMA],
        "displayName": group.name,
        "externalId": group.id.to_string(),
        "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::ids::UserId;

    fn user() -> User {
        serde_json::from_value(json!({
            "id": UserId::generate(), "email": "ada@example.com", "username": "ada",
            "given_name": "Ada", "family_name": "Lovelace", "email_verified": true,
            "is_active": true, "blocked": true, "created_at": Timestamp(1),
            "phone_number": "+15550100"
        }))
        .expect("a user")
    }

    #[test]
    fn defaults_and_mapping() {
        let user = user();
        let mapping = json!({
            "userName": "email",
            "title": "family_name",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "id",
            "name.middleName": "given_name",
            "nickName": "no_such_field"
        });
        let r = user_resource(&user, &mapping);
        assert_eq!(r["userName"], "ada@example.com");
        assert_eq!(r["externalId"], user.id.to_string());
        assert_eq!(r["active"], false, "a blocked user is inactive downstream");
        assert_eq!(r["emails"][0]["value"], "ada@example.com");
        assert_eq!(r["phoneNumbers"][0]["primary"], true);
        assert_eq!(r["title"], "Lovelace");
        assert_eq!(r["name"]["middleName"], "Ada");
        assert_eq!(r["name"]["givenName"], "Ada");
        assert!(r.get("nickName").is_none());
        let ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        assert_eq!(r[ext]["employeeNumber"], user.id.to_string());
        assert!(r["schemas"].as_array().is_some_and(|s| s.len() == 2));
    }

    #[test]
    fn placeholder_addresses_stay_home() {
        let mut user = user();
        user.email = "x@scim.invalid".into();
        let r = user_resource(&user, &json!({}));
        assert!(r.get("emails").is_none());
    }
}
