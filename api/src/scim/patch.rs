//! SCIM PATCH (RFC 7644 section 3.5.2) over a resource's JSON: `add`, `replace` and `remove`,
//! with plain paths (`displayName`), sub-attribute paths (`name.givenName`), schema-qualified
//! paths (`urn:…:User:department`), value paths (`emails[type eq "work"].value`,
//! `members[value eq "…"]`), and no path (the value is an object of attributes). The result is
//! validated again as a whole resource by the caller.

use serde_json::{Map, Value};

use super::filter::{self, AttrPath, Filter};

/// Operations one PATCH may carry.
pub const MAX_OPERATIONS: usize = 1000;

/// Why a PATCH was refused: the `scimType` and the detail.
pub type PatchError = (&'static str, String);

/// A PATCH path: an attribute, optionally a value filter on its elements, optionally a
/// sub-attribute of the (filtered) elements.
#[derive(Debug)]
struct Target {
    path: AttrPath,
    filter: Option<Filter>,
}

fn parse_target(text: &str) -> Result<Target, PatchError> {
    let invalid = || ("invalidPath", format!("{text} is not a valid path"));
    if let Some(open) = text.find('[') {
        let close = text.rfind(']').ok_or_else(invalid)?;
        if close < open {
            return Err(invalid());
        }
        let mut path = AttrPath::parse(&text[..open]).ok_or_else(invalid)?;
        let inner = filter::parse(&text[open + 1..close]).map_err(|e| ("invalidFilter", e))?;
        let rest = &text[close + 1..];
        if let Some(sub) = rest.strip_prefix('.') {
            path.sub = Some(sub.to_string());
        } else if !rest.is_empty() {
            return Err(invalid());
        }
        return Ok(Target {
            path,
            filter: Some(inner),
        });
    }
    Ok(Target {
        path: AttrPath::parse(text).ok_or_else(invalid)?,
        filter: None,
    })
}

/// The schema URN when `path` names a whole extension (its last segment is a schema name,
/// capitalized, not an attribute).
fn extension_schema(path: &str) -> Option<String> {
    if !path.to_ascii_lowercase().starts_with("urn:") || path.contains('[') {
        return None;
    }
    let last = path.rsplit(':').next()?;
    (last.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && !last.contains('.'))
        .then(|| path.to_string())
}

/// The key of `object` named `name` without case, or `name` itself.
fn key_of(object: &Map<String, Value>, name: &str) -> String {
    object
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_string())
}

fn is_core(schema: &str) -> bool {
    schema
        .to_ascii_lowercase()
        .starts_with("urn:ietf:params:scim:schemas:core:2.0:")
}

/// The object a path's attribute lives in (the resource, or its extension's object).
fn container<'a>(
    resource: &'a mut Value,
    path: &AttrPath,
    create: bool,
) -> Option<&'a mut Map<String, Value>> {
    let root = resource.as_object_mut()?;
    match &path.schema {
        Some(schema) if !is_core(schema) => {
            let key = key_of(root, schema);
            if create && !root.contains_key(&key) {
                root.insert(key.clone(), Value::Object(Map::new()));
            }
            root.get_mut(&key)?.as_object_mut()
        }
        _ => Some(root),
    }
}

fn read_only(path: &AttrPath) -> bool {
    path.schema.is_none()
        && ["id", "meta", "schemas", "groups"]
            .iter()
            .any(|a| path.attr.eq_ignore_ascii_case(a))
}

/// Merges `value` into the attribute at `key` of `object` (`add`): multi-valued attributes
/// get the new elements (an element with the same `value` is replaced), objects get the new
/// sub-attributes, anything else is set.
fn add_value(object: &mut Map<String, Value>, key: &str, value: Value) {
    let key = key_of(object, key);
    match (object.get_mut(&key), value) {
        (Some(Value::Array(items)), Value::Array(new)) => {
            for element in new {
                let same = |e: &Value| {
                    filter::member(e, "value").is_some()
                        && filter::member(e, "value") == filter::member(&element, "value")
                };
                if let Some(existing) = items.iter_mut().find(|e| same(e)) {
                    *existing = element;
                } else {
                    items.push(element);
                }
            }
        }
        (Some(Value::Array(items)), element) => items.push(element),
        (Some(Value::Object(current)), Value::Object(new)) => {
            for (k, v) in new {
                let k = key_of(current, &k);
                current.insert(k, v);
            }
        }
        (_, value) => {
            object.insert(key, value);
        }
    }
}

fn apply_one(resource: &mut Value, operation: &Value) -> Result<(), PatchError> {
    let op = filter::member(operation, "op")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| ("invalidSyntax", "every operation needs an op".to_string()))?;
    let value = filter::member(operation, "value").cloned();
    let path = filter::member(operation, "path").and_then(Value::as_str);
    if !matches!(op.as_str(), "add" | "replace" | "remove") {
        return Err((
            "invalidSyntax",
            format!("{op} is not add, replace or remove"),
        ));
    }
    let Some(path) = path.filter(|p| !p.is_empty()) else {
        if op == "remove" {
            return Err(("noTarget", "remove needs a path".into()));
        }
        let Some(Value::Object(attributes)) = value else {
            return Err((
                "invalidValue",
                "without a path the value must be an object".into(),
            ));
        };
        for (name, v) in attributes {
            let target = Target {
                path: AttrPath::parse(&name)
                    .ok_or_else(|| ("invalidPath", format!("{name} is not an attribute")))?,
                filter: None,
            };
            if target.path.schema.is_none() && name.to_ascii_lowercase().starts_with("urn:") {
                continue;
            }
            let op_value = if name.to_ascii_lowercase().starts_with("urn:")
                && target.path.sub.is_none()
                && v.is_object()
            {
                // An extension's object: its attributes one by one.
                let Value::Object(inner) = v else { continue };
                for (attr, inner_value) in inner {
                    if attr == "schemas" {
                        continue;
                    }
                    let path = AttrPath::parse(&format!("{name}:{attr}"))
                        .ok_or_else(|| ("invalidPath", format!("{attr} is not an attribute")))?;
                    set(resource, &Target { path, filter: None }, inner_value, &op)?;
                }
                continue;
            } else {
                v
            };
            set(resource, &target, op_value, &op)?;
        }
        return Ok(());
    };
    // A whole extension (`urn:…:enterprise:2.0:User`): its attributes one by one.
    if let Some(schema) = extension_schema(path) {
        return match (op.as_str(), value) {
            ("remove", _) => {
                if let Some(root) = resource.as_object_mut() {
                    let key = key_of(root, &schema);
                    root.remove(&key);
                }
                Ok(())
            }
            (_, Some(Value::Object(attributes))) => {
                for (attr, inner) in attributes {
                    if attr == "schemas" {
                        continue;
                    }
                    let path = AttrPath::parse(&format!("{schema}:{attr}"))
                        .ok_or_else(|| ("invalidPath", format!("{attr} is not an attribute")))?;
                    set(resource, &Target { path, filter: None }, inner, &op)?;
                }
                Ok(())
            }
            _ => Err(("invalidValue", format!("{path} takes an object"))),
        };
    }
    let target = parse_target(path)?;
    if read_only(&target.path) {
        return Err(("mutability", format!("{path} is read-only")));
    }
    match op.as_str() {
        "remove" => remove(resource, &target, value),
        _ => {
            let value = value.ok_or_else(|| ("invalidValue", format!("{op} needs a value")))?;
            set(resource, &target, value, &op)
        }
    }
}

/// `add` or `replace` at `target`.
fn set(resource: &mut Value, target: &Target, value: Value, op: &str) -> Result<(), PatchError> {
    if read_only(&target.path) {
        return Err(("mutability", format!("{} is read-only", target.path.attr)));
    }
    let add = op == "add";
    let object = container(resource, &target.path, true)
        .ok_or_else(|| ("invalidPath", "the resource is not an object".to_string()))?;
    let key = key_of(object, &target.path.attr);
    if let Some(inner) = &target.filter {
        let Some(Value::Array(items)) = object.get_mut(&key) else {
            return Err(("noTarget", format!("{} has no elements", target.path.attr)));
        };
        let mut hit = false;
        for element in items.iter_mut().filter(|e| filter::matches(inner, e)) {
            hit = true;
            match (&target.path.sub, element.as_object_mut()) {
                (Some(sub), Some(fields)) => {
                    let k = key_of(fields, sub);
                    fields.insert(k, value.clone());
                }
                (None, Some(fields)) => {
                    if let Value::Object(new) = &value {
                        for (k, v) in new {
                            let k = key_of(fields, k);
                            fields.insert(k, v.clone());
                        }
                    }
                }
                _ => *element = value.clone(),
            }
        }
        if !hit {
            return Err((
                "noTarget",
                format!("no element of {} matches", target.path.attr),
            ));
        }
        return Ok(());
    }
    match &target.path.sub {
        Some(sub) => {
            let slot = object
                .entry(key)
                .or_insert_with(|| Value::Object(Map::new()));
            match slot {
                Value::Object(fields) => {
                    let k = key_of(fields, sub);
                    fields.insert(k, value);
                }
                Value::Array(items) => {
                    for item in items.iter_mut() {
                        if let Value::Object(fields) = item {
                            let k = key_of(fields, sub);
                            fields.insert(k, value.clone());
                        }
                    }
                }
                other => {
                    *other = Value::Object(Map::from_iter([(sub.clone(), value)]));
                }
            }
        }
        None if add => add_value(object, &key, value),
        None => {
            object.insert(key, value);
        }
    }
    Ok(())
}

/// `remove` at `target`; with a value, only the elements equal to its elements (by `value`).
fn remove(resource: &mut Value, target: &Target, value: Option<Value>) -> Result<(), PatchError> {
    let Some(object) = container(resource, &target.path, false) else {
        return Ok(());
    };
    let key = key_of(object, &target.path.attr);
    if let Some(inner) = &target.filter {
        let Some(Value::Array(items)) = object.get_mut(&key) else {
            return Ok(());
        };
        match &target.path.sub {
            Some(sub) => {
                for element in items.iter_mut().filter(|e| filter::matches(inner, e)) {
                    if let Some(fields) = element.as_object_mut() {
                        let k = key_of(fields, sub);
                        fields.remove(&k);
                    }
                }
            }
            None => items.retain(|e| !filter::matches(inner, e)),
        }
        return Ok(());
    }
    match (&target.path.sub, value) {
        (Some(sub), _) => match object.get_mut(&key) {
            Some(Value::Object(fields)) => {
                let k = key_of(fields, sub);
                fields.remove(&k);
            }
            Some(Value::Array(items)) => {
                for item in items.iter_mut() {
                    if let Some(fields) = item.as_object_mut() {
                        let k = key_of(fields, sub);
                        fields.remove(&k);
                    }
                }
            }
            _ => {}
        },
        (None, Some(Value::Array(gone))) => {
            if let Some(Value::Array(items)) = object.get_mut(&key) {
                let values: Vec<Value> = gone
                    .iter()
                    .filter_map(|g| filter::member(g, "value").cloned())
                    .collect();
                items.retain(|e| filter::member(e, "value").is_none_or(|v| !values.contains(v)));
            }
        }
        (None, _) => {
            object.remove(&key);
        }
    }
    Ok(())
}

/// Applies a PATCH request's `Operations` to `resource`.
pub fn apply(resource: &mut Value, operations: &[Value]) -> Result<(), PatchError> {
    if operations.len() > MAX_OPERATIONS {
        return Err((
            "tooMany",
            format!("a PATCH carries at most {MAX_OPERATIONS} operations"),
        ));
    }
    for operation in operations {
        apply_one(resource, operation)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user() -> Value {
        json!({
            "id": "u1",
            "userName": "bjensen",
            "name": {"givenName": "Barbara"},
            "emails": [{"value": "b@example.com", "type": "work", "primary": true}],
        })
    }

    #[test]
    fn operations_change_what_their_paths_name() {
        let mut u = user();
        let ops = json!([
            {"op": "Replace", "path": "name.familyName", "value": "Jensen"},
            {"op": "add", "path": "emails", "value": [{"value": "h@example.com", "type": "home"}]},
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "w@example.com"},
            {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "R&D"},
            {"op": "replace", "value": {"displayName": "Babs", "active": false}},
            {"op": "remove", "path": "emails[type eq \"home\"]"}
        ]);
        apply(
            &mut u,
            ops.as_array().map(Vec::as_slice).unwrap_or_default(),
        )
        .expect("patch");
        assert_eq!(u["name"]["familyName"], "Jensen");
        assert_eq!(
            u["emails"],
            json!([{"value": "w@example.com", "type": "work", "primary": true}])
        );
        assert_eq!(
            u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
            "R&D"
        );
        assert_eq!(u["displayName"], "Babs");
        assert_eq!(u["active"], false);
    }

    #[test]
    fn members_are_added_and_removed_by_value() {
        let mut g = json!({"displayName": "Ops", "members": [{"value": "a"}, {"value": "b"}]});
        let ops = json!([
            {"op": "add", "path": "members", "value": [{"value": "c"}, {"value": "a"}]},
            {"op": "remove", "path": "members[value eq \"b\"]"},
            {"op": "remove", "path": "members", "value": [{"value": "c"}]}
        ]);
        apply(
            &mut g,
            ops.as_array().map(Vec::as_slice).unwrap_or_default(),
        )
        .expect("patch");
        assert_eq!(g["members"], json!([{"value": "a"}]));
    }

    #[test]
    fn bad_operations_are_refused() {
        for op in [
            json!({"op": "remove"}),
            json!({"op": "move", "path": "userName"}),
            json!({"op": "replace", "path": "id", "value": "x"}),
            json!({"op": "replace", "path": "emails[type eq \"fax\"].value", "value": "x"}),
            json!({"op": "replace", "path": "emails[type eq", "value": "x"}),
            json!({"op": "add", "path": "userName"}),
            json!({"op": "replace", "value": "not an object"}),
        ] {
            let mut u = user();
            assert!(apply(&mut u, std::slice::from_ref(&op)).is_err(), "{op}");
        }
    }
}
