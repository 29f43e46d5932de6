//! SCIM lists: `filter`, `sortBy`/`sortOrder`, `startIndex`/`count` and
//! `attributes`/`excludedAttributes`, from a query string or a `.search` body, applied to the
//! resources' JSON.

use std::cmp::Ordering;

use serde_json::{Map, Value, json};

use super::ScimError;
use super::discovery::MAX_RESULTS;
use super::filter::{self, AttrPath, Filter, member};

pub const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const DEFAULT_COUNT: usize = 100;

/// What a list asks for.
#[derive(Debug, Default)]
pub struct ListParams {
    pub filter: Option<Filter>,
    /// The filter names the soft-delete flag: soft-deleted users are listed.
    pub soft_deleted: bool,
    pub start: usize,
    pub count: usize,
    pub sort_by: Option<AttrPath>,
    pub descending: bool,
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

fn names(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn number(name: &str, text: &str) -> Result<i64, ScimError> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| ScimError::bad("invalidValue", format!("{name} must be an integer")))
}

impl ListParams {
    /// From `(name, value)` pairs (a query string, or a search body's members as text).
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<ListParams, ScimError> {
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let mut params = ListParams {
            start: 1,
            count: DEFAULT_COUNT,
            ..ListParams::default()
        };
        if let Some(text) = get("filter").filter(|t| !t.trim().is_empty()) {
            params.filter =
                Some(filter::parse(text).map_err(|e| ScimError::bad("invalidFilter", e))?);
            params.soft_deleted = text.to_ascii_lowercase().contains("issoftdeleted");
        }
        if let Some(text) = get("startIndex") {
            params.start = number("startIndex", text)?.max(1) as usize;
        }
        if let Some(text) = get("count") {
            params.count = (number("count", text)?.max(0) as usize).min(MAX_RESULTS);
        }
        if let Some(text) = get("sortBy") {
            params.sort_by = Some(AttrPath::parse(text.trim()).ok_or_else(|| {
                ScimError::bad(
                    "invalidValue",
                    format!("sortBy {text} is not an attribute path"),
                )
            })?);
        }
        match get("sortOrder").map(str::to_ascii_lowercase).as_deref() {
            None | Some("ascending") => {}
            Some("descending") => params.descending = true,
            Some(_) => {
                return Err(ScimError::bad(
                    "invalidValue",
                    "sortOrder must be ascending or descending",
                ));
            }
        }
        params.attributes = get("attributes").map(names).unwrap_or_default();
        params.excluded = get("excludedAttributes").map(names).unwrap_or_default();
        Ok(params)
    }

    /// From a `.search` body.
    pub fn from_search(body: &Map<String, Value>) -> Result<ListParams, ScimError> {
        let mut pairs = Vec::new();
        for (key, value) in body {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                _ => continue,
            };
            pairs.push((key.clone(), text));
        }
        ListParams::from_pairs(&pairs)
    }
}

fn sort_key(resource: &Value, path: &AttrPath) -> Option<Value> {
    filter::values(resource, path).into_iter().next()
}

fn order(a: &Option<Value>, b: &Option<Value>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, _) => Ordering::Greater,
        (_, None) => Ordering::Less,
        (Some(Value::String(x)), Some(Value::String(y))) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
    }
}

/// Copies the attribute `path` names from `source` into `out`.
fn copy_path(source: &Value, out: &mut Map<String, Value>, path: &str) {
    let Some(parsed) = AttrPath::parse(path) else {
        return;
    };
    let (from, into): (Option<&Value>, &mut Map<String, Value>) = match &parsed.schema {
        Some(schema) if !schema.to_ascii_lowercase().contains(":core:2.0:") => {
            let Some(ext) = member(source, schema) else {
                return;
            };
            let key = source
                .as_object()
                .and_then(|o| o.keys().find(|k| k.eq_ignore_ascii_case(schema)).cloned())
                .unwrap_or_else(|| schema.clone());
            let slot = out.entry(key).or_insert_with(|| json!({}));
            let Some(slot) = slot.as_object_mut() else {
                return;
            };
            (Some(ext), slot)
        }
        _ => (Some(source), out),
    };
    let Some(from) = from else { return };
    let Some((key, value)) = from
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(&parsed.attr)))
    else {
        return;
    };
    match (&parsed.sub, value) {
        (None, v) => {
            into.insert(key.clone(), v.clone());
        }
        (Some(sub), Value::Object(fields)) => {
            if let Some((k, v)) = fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(sub)) {
                let slot = into.entry(key.clone()).or_insert_with(|| json!({}));
                if let Some(slot) = slot.as_object_mut() {
                    slot.insert(k.clone(), v.clone());
                }
            }
        }
        (Some(sub), Value::Array(items)) => {
            let picked: Vec<Value> = items
                .iter()
                .filter_map(|item| {
                    let (k, v) = item
                        .as_object()?
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(sub))?;
                    Some(json!({ k.clone(): v.clone() }))
                })
                .collect();
            into.insert(key.clone(), Value::Array(picked));
        }
        _ => {}
    }
}

/// Removes the attribute `path` names from `resource`.
fn remove_path(resource: &mut Value, path: &str) {
    let Some(parsed) = AttrPath::parse(path) else {
        return;
    };
    let target = match &parsed.schema {
        Some(schema) if !schema.to_ascii_lowercase().contains(":core:2.0:") => resource
            .as_object_mut()
            .and_then(|o| o.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(schema)))
            .map(|(_, v)| v),
        _ => Some(resource),
    };
    let Some(Value::Object(object)) = target else {
        return;
    };
    let Some(key) = object
        .keys()
        .find(|k| k.eq_ignore_ascii_case(&parsed.attr))
        .cloned()
    else {
        return;
    };
    if ["id", "schemas"].contains(&key.as_str()) {
        return;
    }
    match &parsed.sub {
        None => {
            object.remove(&key);
        }
        Some(sub) => {
            if let Some(Value::Object(fields)) = object.get_mut(&key)
                && let Some(k) = fields.keys().find(|k| k.eq_ignore_ascii_case(sub)).cloned()
            {
                fields.remove(&k);
            }
        }
    }
}

/// `resource` with only the asked attributes (plus `id` and `schemas`), or without the
/// excluded ones.
pub fn project(resource: Value, attributes: &[String], excluded: &[String]) -> Value {
    if !attributes.is_empty() {
        let mut out = Map::new();
        for always in ["schemas", "id"] {
            if let Some(v) = resource.get(always) {
                out.insert(always.to_string(), v.clone());
            }
        }
        for path in attributes {
            copy_path(&resource, &mut out, path);
        }
        return Value::Object(out);
    }
    let mut resource = resource;
    for path in excluded {
        remove_path(&mut resource, path);
    }
    resource
}

/// The ListResponse of `resources` under `params`.
pub fn respond(resources: Vec<Value>, params: &ListParams) -> Value {
    let mut matching: Vec<Value> = resources
        .into_iter()
        .filter(|r| params.filter.as_ref().is_none_or(|f| filter::matches(f, r)))
        .collect();
    if let Some(path) = &params.sort_by {
        matching.sort_by(|a, b| {
            let ordering = order(&sort_key(a, path), &sort_key(b, path));
            if params.descending {
                ordering.reverse()
            } else {
                ordering
            }
        });
    }
    let total = matching.len();
    let page: Vec<Value> = matching
        .into_iter()
        .skip(params.start - 1)
        .take(params.count)
        .map(|r| project(r, &params.attributes, &params.excluded))
        .collect();
    json!({
        "schemas": [LIST_URN],
        "totalResults": total,
        "startIndex": params.start,
        "itemsPerPage": page.len(),
        "Resources": page,
    })
}
