//! Users and groups as SCIM resources: their JSON (core schema, the enterprise extension, the
//! LumoAuth soft-delete extension, `meta` with the version), and the state a JSON resource
//! sets (validated: what the store needs, what SCIM may not set).

use lumo_cluster::command::{ScimGroupState, ScimUserState};
use lumo_cluster::ids::UserId;
use lumo_cluster::model::{group_version, user_version};
use lumo_cluster::query::{ScimGroupView, ScimUserView};
use serde_json::{Map, Value, json};

use super::filter::member;
use crate::extract::body::is_email;

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const SOFT_DELETE: &str = "urn:ietf:params:scim:schemas:extension:lumoauth:1.0:SoftDelete";
pub const PASSWORD: &str = "urn:ietf:params:scim:schemas:extension:lumoauth:1.0:Password";

/// A refusal of a resource body: the `scimType` and the detail.
pub type Invalid = (&'static str, String);

fn time(t: lumo_cluster::clock::Timestamp) -> String {
    t.to_rfc3339()
}

/// A user's JSON (`base` is the SCIM root URL).
pub fn user_json(view: &ScimUserView, base: &str) -> Value {
    let u = &view.user;
    let shows = |attr: &str| {
        view.extra
            .sent
            .as_ref()
            .is_none_or(|sent| sent.iter().any(|s| s.eq_ignore_ascii_case(attr)))
    };
    let mut schemas = vec![json!(USER)];
    let mut out: Map<String, Value> = match &view.extra.attributes {
        Some(Value::Object(kept)) => kept.clone(),
        _ => Map::new(),
    };
    out.insert("id".into(), json!(u.id.to_string()));
    if let Some(external) = &view.extra.external_id {
        out.insert("externalId".into(), json!(external));
    }
    out.insert(
        "userName".into(),
        json!(u.username.clone().unwrap_or_else(|| u.email.clone())),
    );
    let mut name = match out.remove("name") {
        Some(Value::Object(kept)) => kept,
        _ => Map::new(),
    };
    for field in ["givenName", "familyName"] {
        name.remove(field);
    }
    if let Some(n) = u.name.as_ref().filter(|_| shows("displayName")) {
        out.insert("displayName".into(), json!(n));
    }
    if view.extra.sent.is_none()
        && let Some(n) = &u.name
    {
        name.insert("formatted".into(), json!(n));
    }
    if let Some(g) = &u.given_name {
        name.insert("givenName".into(), json!(g));
    }
    if let Some(f) = &u.family_name {
        name.insert("familyName".into(), json!(f));
    }
    if !name.is_empty() {
        out.insert("name".into(), Value::Object(name));
    }
    let real = Some(&u.email).filter(|e| !is_placeholder(e) && shows("emails"));
    keep_primary(&mut out, "emails", real, "work");
    let phone = u.phone_number.as_ref().filter(|_| shows("phoneNumbers"));
    keep_primary(&mut out, "phoneNumbers", phone, "work");
    keep_primary(
        &mut out,
        "photos",
        u.picture.as_ref().filter(|_| shows("photos")),
        "photo",
    );
    if let Some(locale) = u.locale.as_ref().filter(|_| shows("locale")) {
        out.insert("locale".into(), json!(locale));
    }
    if let Some(zone) = u.zoneinfo.as_ref().filter(|_| shows("timezone")) {
        out.insert("timezone".into(), json!(zone));
    }
    if shows("active") {
        out.insert("active".into(), json!(u.is_active));
    }
    if !view.groups.is_empty() {
        let groups: Vec<Value> = view
            .groups
            .iter()
            .map(|(id, name)| {
                json!({"value": id.to_string(), "display": name, "$ref": format!("{base}/Groups/{id}"), "type": "direct"})
            })
            .collect();
        out.insert("groups".into(), Value::Array(groups));
    }
    if let Some(enterprise) = &view.extra.enterprise {
        schemas.push(json!(ENTERPRISE));
        out.insert(ENTERPRISE.into(), enterprise.clone());
    }
    // The LumoAuth soft-delete extension shows on soft-deleted users only (listed with an
    // `isSoftDeleted` filter); the password extension has nothing to show (write-only).
    if let Some(at) = view.extra.soft_deleted_at {
        schemas.push(json!(SOFT_DELETE));
        out.insert(
            SOFT_DELETE.into(),
            json!({"isSoftDeleted": true, "softDeletedAt": time(at)}),
        );
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": time(u.created_at),
            "lastModified": time(u.updated_at.unwrap_or(u.created_at)),
            "location": format!("{base}/Users/{}", u.id),
            "version": user_version(u),
        }),
    );
    out.insert("schemas".into(), Value::Array(schemas));
    Value::Object(out)
}

/// The multi-valued attribute `name` as sent, when its primary value is still the one the
/// admin API keeps (`current`); otherwise just that value.
fn keep_primary(out: &mut Map<String, Value>, name: &str, current: Option<&String>, kind: &str) {
    let sent = out.remove(name);
    let Some(current) = current else { return };
    let still = sent.as_ref().is_some_and(|list| {
        let probe = json!({ name: list });
        matches!(primary(&probe, name), Ok(Some(p)) if member(&p, "value").and_then(Value::as_str) == Some(current.as_str()))
    });
    let value = match sent {
        Some(list) if still => list,
        _ => json!([{"value": current, "type": kind, "primary": true}]),
    };
    out.insert(name.to_string(), value);
}

/// A group's JSON.
pub fn group_json(view: &ScimGroupView, base: &str) -> Value {
    let g = &view.group;
    let members: Vec<Value> = view
        .members
        .iter()
        .map(|(id, _)| {
            json!({"value": id.to_string(), "type": "User", "$ref": format!("{base}/Users/{id}")})
        })
        .collect();
    let mut out = json!({
        "schemas": [GROUP],
        "id": g.id.to_string(),
        "displayName": g.name,
        "members": members,
        "meta": {
            "resourceType": "Group",
            "created": time(g.created_at),
            "lastModified": time(g.updated_at.unwrap_or(g.created_at)),
            "location": format!("{base}/Groups/{}", g.id),
            "version": group_version(g),
        },
    });
    if let Some(external) = &view.extra.external_id {
        out["externalId"] = json!(external);
    }
    out
}

fn text(resource: &Value, name: &str, max: usize) -> Result<Option<String>, Invalid> {
    match member(resource, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s.trim().to_string())),
        Some(Value::String(_)) => Err((
            "invalidValue",
            format!("{name} must be at most {max} characters"),
        )),
        Some(_) => Err(("invalidValue", format!("{name} must be a string"))),
    }
}

/// The element of a multi-valued attribute to use: the primary one, else the first.
fn primary(resource: &Value, name: &str) -> Result<Option<Value>, Invalid> {
    match member(resource, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => Ok(items
            .iter()
            .find(|e| member(e, "primary") == Some(&Value::Bool(true)))
            .or_else(|| items.first())
            .cloned()),
        Some(_) => Err(("invalidValue", format!("{name} must be a list"))),
    }
}

fn primary_value(resource: &Value, name: &str, max: usize) -> Result<Option<String>, Invalid> {
    match primary(resource, name)? {
        Some(element) => text(&element, "value", max),
        None => Ok(None),
    }
}

/// The domain of the addresses SCIM users without one get.
pub const PLACEHOLDER_DOMAIN: &str = "scim.invalid";

/// The placeholder address of the user `id`.
pub fn placeholder(id: &impl std::fmt::Display) -> String {
    format!("user-{id}@{PLACEHOLDER_DOMAIN}")
}

fn is_placeholder(email: &str) -> bool {
    email.ends_with(&format!("@{PLACEHOLDER_DOMAIN}"))
}

/// The password a body sets (core `password`, or the LumoAuth Password extension's).
pub fn password(resource: &Value) -> Result<Option<String>, Invalid> {
    if let Some(p) = text(resource, "password", 256)? {
        return Ok(Some(p));
    }
    match member(resource, PASSWORD) {
        Some(ext) => text(ext, "password", 256),
        None => Ok(None),
    }
}

/// The user state a JSON resource sets; `current` keeps what SCIM does not show (the email's
/// verification).
pub fn user_state(
    resource: &Value,
    current: Option<&ScimUserView>,
    placeholder: &str,
) -> Result<ScimUserState, Invalid> {
    if !resource.is_object() {
        return Err(("invalidSyntax", "the resource must be an object".into()));
    }
    let user_name = text(resource, "userName", 100)?
        .ok_or(("invalidValue", "userName is required".to_string()))?;
    // Every user here has an address; a SCIM user sent without one keeps the one it has, or
    // gets a placeholder under the reserved `.invalid` domain (never mailed, not shown).
    let email = match primary_value(resource, "emails", 254)? {
        Some(email) => email,
        None if is_email(&user_name) => user_name.clone(),
        None => match current {
            Some(c) => c.user.email.clone(),
            None => placeholder.to_string(),
        },
    };
    if !is_email(&email) {
        return Err(("invalidValue", format!("{email} is not an email address")));
    }
    let name = member(resource, "name").cloned().unwrap_or(Value::Null);
    if !(name.is_object() || name.is_null()) {
        return Err(("invalidValue", "name must be an object".into()));
    }
    let display = text(resource, "displayName", 200)?;
    let sent: Vec<String> = resource
        .as_object()
        .map(|o| {
            o.keys()
                .filter(|k| !k.starts_with("urn:"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let active = match member(resource, "active") {
        // Absent: a new user is active; an existing one stays as it is.
        None | Some(Value::Null) => current.is_none_or(|c| c.user.is_active),
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
        Some(_) => return Err(("invalidValue", "active must be a boolean".into())),
    };
    let enterprise = match member(resource, ENTERPRISE) {
        None | Some(Value::Null) => None,
        Some(Value::Object(o)) if Value::Object(o.clone()).to_string().len() <= 16_384 => {
            let mut kept = o.clone();
            kept.remove("schemas");
            (!kept.is_empty()).then(|| Value::Object(kept).to_string())
        }
        Some(_) => {
            return Err((
                "invalidValue",
                "the enterprise extension must be an object of at most 16 KiB".into(),
            ));
        }
    };
    let email_verified = match primary(resource, "emails")?
        .as_ref()
        .and_then(|e| member(e, "verified"))
    {
        Some(Value::Bool(b)) => *b,
        _ => current
            .is_none_or(|c| c.user.email_verified && c.user.email.eq_ignore_ascii_case(&email)),
    };
    let attributes = kept_attributes(resource)?;
    Ok(ScimUserState {
        attributes,
        sent,
        user_name,
        email,
        email_verified,
        name: display,
        given_name: text(&name, "givenName", 200)?,
        family_name: text(&name, "familyName", 200)?,
        picture: primary_value(resource, "photos", 2048)?,
        phone_number: primary_value(resource, "phoneNumbers", 32)?,
        locale: text(resource, "locale", 64)?,
        zoneinfo: text(resource, "timezone", 64)?,
        active,
        external_id: text(resource, "externalId", 255)?,
        enterprise,
        password_hash: None,
    })
}

/// Attributes the store has no field for, kept as sent (the modeled, read-only and
/// extension ones are left out).
fn kept_attributes(resource: &Value) -> Result<Option<String>, Invalid> {
    const MODELED: [&str; 11] = [
        "schemas",
        "id",
        "meta",
        "groups",
        "userName",
        "externalId",
        "displayName",
        "locale",
        "timezone",
        "active",
        "password",
    ];
    let Some(object) = resource.as_object() else {
        return Ok(None);
    };
    let kept: Map<String, Value> = object
        .iter()
        .filter(|(k, _)| {
            !MODELED.iter().any(|m| m.eq_ignore_ascii_case(k))
                && !k.to_ascii_lowercase().starts_with("urn:")
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if kept.is_empty() {
        return Ok(None);
    }
    let text = Value::Object(kept).to_string();
    if text.len() > 65_536 {
        return Err((
            "invalidValue",
            "the user's attributes are larger than 64 KiB".into(),
        ));
    }
    Ok(Some(text))
}

/// The group state a JSON resource sets.
pub fn group_state(resource: &Value) -> Result<ScimGroupState, Invalid> {
    if !resource.is_object() {
        return Err(("invalidSyntax", "the resource must be an object".into()));
    }
    let display_name = text(resource, "displayName", 200)?
        .ok_or(("invalidValue", "displayName is required".to_string()))?;
    let mut members = Vec::new();
    match member(resource, "members") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            if items.len() > 10_000 {
                return Err((
                    "invalidValue",
                    "a group has at most 10000 members here".into(),
                ));
            }
            for item in items {
                // A member's `$ref` names the user where it is this server's URL.
                let by_ref = member(item, "$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.rsplit_once("/Users/"))
                    .map(|(_, id)| id)
                    .filter(|id| id.parse::<UserId>().is_ok());
                let value = by_ref
                    .or_else(|| member(item, "value").and_then(Value::as_str))
                    .ok_or(("invalidValue", "every member needs a value".to_string()))?;
                let id: UserId = value
                    .parse()
                    .map_err(|_| ("invalidValue", format!("member {value} is not a user id")))?;
                if !members.contains(&id) {
                    members.push(id);
                }
            }
        }
        Some(_) => return Err(("invalidValue", "members must be a list".into())),
    }
    Ok(ScimGroupState {
        display_name,
        external_id: text(resource, "externalId", 255)?,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_body_needs_a_name_and_an_address() {
        assert!(
            user_state(
                &json!({"userName": "a@example.com"}),
                None,
                "p@scim.invalid"
            )
            .is_ok()
        );
        assert_eq!(
            user_state(&json!({"userName": "alice"}), None, "p@scim.invalid").map(|s| s.email),
            Ok("p@scim.invalid".to_string())
        );
        let state = user_state(
            &json!({"userName": "alice", "emails": [{"value": "x@example.com"}, {"value": "A@Example.com", "primary": true}],
                    "name": {"givenName": "Alice", "formatted": "Alice A"}, "active": false}),
            None,
            "p@scim.invalid",
        )
        .expect("state");
        assert_eq!(state.email, "A@Example.com");
        assert_eq!(state.name, None);
        assert!(!state.active);
        assert!(user_state(&json!({"userName": 5}), None, "p@scim.invalid").is_err());
        assert!(
            user_state(
                &json!({"userName": "a@example.com", "active": "maybe"}),
                None,
                "p@scim.invalid"
            )
            .is_err()
        );
    }

    #[test]
    fn a_group_body_names_members_by_user_id() {
        let id = UserId::generate().to_string();
        let state =
            group_state(&json!({"displayName": "Ops", "members": [{"value": id}]})).expect("state");
        assert_eq!(state.members.len(), 1);
        assert!(
            group_state(&json!({"displayName": "Ops", "members": [{"value": "nope"}]})).is_err()
        );
        assert!(group_state(&json!({"members": []})).is_err());
    }
}
