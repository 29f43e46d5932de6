//! The JSON body of a signed AAuth request, parsed from the bytes the signature's digest
//! covers (never re-serialized before checking).

use serde_json::{Map, Value};

use crate::error::{ClusterError, Result};
use crate::protocol::ErrorCode;

/// Longest string field accepted.
const MAX_FIELD: usize = 16 * 1024;

pub struct Body(Map<String, Value>);

fn bad(description: String) -> ClusterError {
    ClusterError::oauth(ErrorCode::InvalidRequest, description)
}

impl Body {
    /// Parses `bytes` (empty is `{}`) as a JSON object.
    pub fn parse(bytes: &[u8]) -> Result<Body> {
        if bytes.is_empty() {
            return Ok(Body(Map::new()));
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(Body(map)),
            Ok(_) => Err(bad("the body must be a JSON object".into())),
            Err(e) => Err(bad(format!("the body is not valid JSON: {e}"))),
        }
    }

    /// A string field that may be absent (or null).
    pub fn optional_text(&self, name: &str) -> Result<Option<String>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Err(bad(format!("{name} is empty"))),
            Some(Value::String(s)) if s.len() > MAX_FIELD => {
                Err(bad(format!("{name} is too long")))
            }
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(format!("{name} must be a string"))),
        }
    }

    /// A required string field.
    pub fn text(&self, name: &str) -> Result<String> {
        self.optional_text(name)?
            .ok_or_else(|| bad(format!("{name} is required")))
    }

    /// Any field, as sent.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }
}
