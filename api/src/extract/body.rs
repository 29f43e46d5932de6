//! Strict JSON bodies: content type checked (415), size limited (413), syntax checked (400),
//! fields read one by one with every problem reported at once (422 with per-field details).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// A request body that must be a JSON object.
pub struct JsonBody(pub Map<String, Value>);

fn is_json(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// A JSON object body that may be left out (an empty body reads as `{}`).
pub struct OptionalJsonBody(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for OptionalJsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<OptionalJsonBody> {
        let empty = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "0")
            || (!req
                .headers()
                .contains_key(axum::http::header::CONTENT_LENGTH)
                && !req
                    .headers()
                    .contains_key(axum::http::header::TRANSFER_ENCODING));
        if empty {
            return Ok(OptionalJsonBody(Map::new()));
        }
        match JsonBody::from_request(req, state).await {
            Ok(JsonBody(map)) => Ok(OptionalJsonBody(map)),
            Err(ApiError::BadRequest(m)) if m == EMPTY_BODY => Ok(OptionalJsonBody(Map::new())),
            Err(e) => Err(e),
        }
    }
}

const EMPTY_BODY: &str = "a JSON object body is required";

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<JsonBody> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest(format!("cannot read the request body: {rejection}"))
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::BadRequest(EMPTY_BODY.into()));
        }
        match content_type.as_deref() {
            Some(ct) if is_json(ct) => {}
            Some(ct) => {
                return Err(ApiError::UnsupportedMediaType(format!(
                    "content type {ct} is not supported; send application/json"
                )));
            }
            None => {
                return Err(ApiError::UnsupportedMediaType(
                    "missing Content-Type; send application/json".into(),
                ));
            }
        }
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
        match value {
            Value::Object(map) => Ok(JsonBody(map)),
            _ => Err(ApiError::BadRequest(
                "the body must be a JSON object".into(),
            )),
        }
    }
}

/// Reads fields of a JSON object, collecting problems per field.
pub struct Body {
    map: Map<String, Value>,
    problems: BTreeMap<String, String>,
}

impl Body {
    /// Wraps a parsed object.
    pub fn new(JsonBody(map): JsonBody) -> Self {
        Body {
            map,
            problems: BTreeMap::new(),
        }
    }

    /// An empty body (for endpoints whose body is optional).
    pub fn empty() -> Self {
        Body {
            map: Map::new(),
            problems: BTreeMap::new(),
        }
    }

    /// Records a problem with `field`.
    pub fn problem(&mut self, field: &str, problem: impl Into<String>) {
        self.problems
            .entry(field.to_string())
            .or_insert_with(|| problem.into());
    }

    /// True when `field` is present (even as null).
    pub fn has(&self, field: &str) -> bool {
        self.map.contains_key(field)
    }

    /// The raw value of `field`.
    pub fn raw(&self, field: &str) -> Option<&Value> {
        self.map.get(field)
    }

    /// The first of `names` that is present.
    pub fn first_present<'a>(&self, names: &[&'a str]) -> Option<&'a str> {
        names.iter().copied().find(|n| self.map.contains_key(*n))
    }

    fn check_len(&mut self, field: &str, value: &str, max: usize) -> bool {
        if value.chars().count() > max {
            self.problem(field, format!("must be at most {max} characters"));
            return false;
        }
        true
    }

    /// A secret taken verbatim (never trimmed): absent or null give `None`, empty is refused.
    pub fn secret(&mut self, field: &str, max: usize) -> Option<String> {
        match self.map.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => {
                self.problem(field, "may not be empty");
                None
            }
            Some(Value::String(s)) => {
                let s = s.clone();
                self.check_len(field, &s, max).then_some(s)
            }
            Some(_) => {
                self.problem(field, "must be a string");
                None
            }
        }
    }

    /// A required non-empty string.
    pub fn required_str(&mut self, field: &str, max: usize) -> String {
        match self.map.get(field) {
            Some(Value::String(s)) if !s.trim().is_empty() => {
                let s = s.trim().to_string();
                if self.check_len(field, &s, max) {
                    s
                } else {
                    String::new()
                }
            }
            Some(Value::String(_)) => {
                self.problem(field, "may not be empty");
                String::new()
            }
            Some(Value::Null) | None => {
                self.problem(field, "is required");
                String::new()
            }
            Some(_) => {
                self.problem(field, "must be a string");
                String::new()
            }
        }
    }

    /// An optional string: absent or null give `None`.
    pub fn opt_str(&mut self, field: &str, max: usize) -> Option<String> {
        self.nullable_str(field, max).flatten()
    }

    /// A string that may be cleared: absent `None`, null `Some(None)`.
    pub fn nullable_str(&mut self, field: &str, max: usize) -> Option<Option<String>> {
        match self.map.get(field) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) => {
                let s = s.trim().to_string();
                if !self.check_len(field, &s, max) {
                    return None;
                }
                Some(if s.is_empty() { None } else { Some(s) })
            }
            Some(_) => {
                self.problem(field, "must be a string or null");
                None
            }
        }
    }

    /// An optional boolean.
    pub fn opt_bool(&mut self, field: &str) -> Option<bool> {
        match self.map.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.problem(field, "must be a boolean");
                None
            }
        }
    }

    /// An optional non-negative integer.
    pub fn opt_u64(&mut self, field: &str) -> Option<u64> {
        match self.map.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
            Some(_) => {
                self.problem(field, "must be a non-negative integer");
                None
            }
        }
    }

    /// A list of ids or slugs (strings or integers), or one such value.
    pub fn id_list(&mut self, field: &str) -> Option<Vec<String>> {
        let value = self.map.get(field)?.clone();
        let items = match value {
            Value::Array(items) => items,
            Value::String(_) | Value::Number(_) => vec![value],
            _ => {
                self.problem(field, "must be a list of ids or slugs");
                return None;
            }
        };
        if items.len() > 1000 {
            self.problem(field, "must have at most 1000 items");
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Value::String(s) if !s.trim().is_empty() => out.push(s.trim().to_string()),
                Value::Number(n) => out.push(n.to_string()),
                Value::Object(o) => match o.get("id").or_else(|| o.get("slug")) {
                    Some(Value::String(s)) => out.push(s.clone()),
                    Some(Value::Number(n)) => out.push(n.to_string()),
                    _ => {
                        self.problem(field, "objects in the list need an id or slug");
                        return None;
                    }
                },
                _ => {
                    self.problem(field, "items must be ids or slugs");
                    return None;
                }
            }
        }
        Some(out)
    }

    /// A list of strings.
    pub fn str_list(&mut self, field: &str, max_items: usize) -> Option<Vec<String>> {
        match self.map.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Array(items))
                if items.len() <= max_items && items.iter().all(Value::is_string) =>
            {
                Some(
                    items
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect(),
                )
            }
            Some(_) => {
                self.problem(
                    field,
                    format!("must be a list of at most {max_items} strings"),
                );
                None
            }
        }
    }

    /// Fails with every recorded problem, or succeeds.
    pub fn finish(self) -> ApiResult<Map<String, Value>> {
        if self.problems.is_empty() {
            return Ok(self.map);
        }
        let message = self
            .problems
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join("; ");
        Err(ApiError::Invalid {
            message,
            details: self.problems,
        })
    }
}

/// A simple, strict email check (one `@`, a dotted domain, no spaces).
pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && value.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}
