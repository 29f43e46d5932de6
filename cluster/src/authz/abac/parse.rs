//! Validation of stored condition JSON into a [`Conditions`] tree.

use serde_json::{Map, Value};

use super::attribute::{AttributeRef, Scope};
use super::catalog::AttributeCatalog;
use super::condition::{Condition, Conditions, Leaf, Operand};
use super::error::AbacError;
use super::literal::validate_literal;
use super::operator::Operator;

/// Maximum group nesting depth; the top-level object is depth 1.
pub const MAX_DEPTH: usize = 8;

/// Maximum number of leaf conditions in one document.
pub const MAX_LEAVES: usize = 100;

/// Root of the JSON paths reported in errors.
const ROOT: &str = "conditions";

/// Validates condition JSON and builds the condition tree.
///
/// The document is an object with optional `all`/`any`/`none` lists; items
/// are leaves (objects with an `attribute` key) or nested groups. Unknown
/// fields are rejected so typos cannot silently widen a policy.
pub fn parse_conditions(json: &Value, catalog: &AttributeCatalog) -> Result<Conditions, AbacError> {
    Parser { catalog, leaves: 0 }.group(json, ROOT, 1)
}

struct Parser<'c> {
    catalog: &'c AttributeCatalog,
    leaves: usize,
}

impl Parser<'_> {
    fn group(&mut self, json: &Value, path: &str, depth: usize) -> Result<Conditions, AbacError> {
        if depth > MAX_DEPTH {
            return Err(AbacError::TooDeep {
                path: path.to_owned(),
                max: MAX_DEPTH,
            });
        }
        let object = json.as_object().ok_or_else(|| AbacError::InvalidType {
            path: path.to_owned(),
            expected: "an object",
        })?;
        let mut out = Conditions::default();
        for (key, value) in object {
            let list_path = format!("{path}.{key}");
            let list = match key.as_str() {
                "all" => &mut out.all,
                "any" => &mut out.any,
                "none" => &mut out.none,
                _ => return Err(AbacError::UnknownField { path: list_path }),
            };
            let items = value.as_array().ok_or_else(|| AbacError::InvalidType {
                path: list_path.clone(),
                expected: "an array",
            })?;
            for (index, item) in items.iter().enumerate() {
                list.push(self.item(item, &format!("{list_path}[{index}]"), depth)?);
            }
        }
        Ok(out)
    }

    fn item(&mut self, json: &Value, path: &str, depth: usize) -> Result<Condition, AbacError> {
        match json.as_object() {
            Some(object) if object.contains_key("attribute") => {
                self.leaf(object, path).map(Condition::Leaf)
            }
            Some(_) => self.group(json, path, depth + 1).map(Condition::Group),
            None => Err(AbacError::InvalidType {
                path: path.to_owned(),
                expected: "an object (condition or group)",
            }),
        }
    }

    fn leaf(&mut self, object: &Map<String, Value>, path: &str) -> Result<Leaf, AbacError> {
        self.leaves += 1;
        if self.leaves > MAX_LEAVES {
            return Err(AbacError::TooManyLeaves {
                path: path.to_owned(),
                max: MAX_LEAVES,
            });
        }
        reject_unknown_fields(object, path, &["attribute", "operator", "value"])?;
        let attribute = self.attribute(object.get("attribute"), &format!("{path}.attribute"))?;
        let operator_path = format!("{path}.operator");
        let operator = match object.get("operator") {
            None => {
                return Err(AbacError::MissingField {
                    path: operator_path,
                });
            }
            Some(Value::String(name)) => {
                Operator::parse(name).ok_or_else(|| AbacError::UnknownOperator {
                    path: operator_path,
                    operator: name.clone(),
                })?
            }
            Some(_) => {
                return Err(AbacError::InvalidType {
                    path: operator_path,
                    expected: "a string",
                });
            }
        };
        let value = self.operand(operator, object.get("value"), &format!("{path}.value"))?;
        Ok(Leaf {
            attribute,
            operator,
            value,
        })
    }

    fn operand(
        &self,
        operator: Operator,
        json: Option<&Value>,
        path: &str,
    ) -> Result<Operand, AbacError> {
        let json = json.filter(|value| !value.is_null());
        if !operator.takes_value() {
            return match json {
                None => Ok(Operand::Absent),
                Some(_) => Err(AbacError::InvalidValue {
                    path: path.to_owned(),
                    reason: format!("`{operator}` takes no value"),
                }),
            };
        }
        let Some(json) = json else {
            return Err(AbacError::MissingField {
                path: path.to_owned(),
            });
        };
        if let Some(object) = json.as_object().filter(|o| o.contains_key("attribute")) {
            reject_unknown_fields(object, path, &["attribute"])?;
            let reference =
                self.attribute(object.get("attribute"), &format!("{path}.attribute"))?;
            return Ok(Operand::Attribute(reference));
        }
        validate_literal(operator, json, path)?;
        Ok(Operand::Literal(json.clone()))
    }

    fn attribute(&self, json: Option<&Value>, path: &str) -> Result<AttributeRef, AbacError> {
        let text = match json {
            None => {
                return Err(AbacError::MissingField {
                    path: path.to_owned(),
                });
            }
            Some(Value::String(text)) => text,
            Some(_) => {
                return Err(AbacError::InvalidType {
                    path: path.to_owned(),
                    expected: "a string",
                });
            }
        };
        let reference = AttributeRef::parse(text).ok_or_else(|| AbacError::InvalidAttribute {
            path: path.to_owned(),
            attribute: text.clone(),
        })?;
        let known = match (reference.scope(), reference.key()) {
            (Scope::User, Some(key)) => self.catalog.has_user_attribute(key),
            (Scope::Resource, Some(key)) => self.catalog.has_resource_attribute(key),
            _ => true,
        };
        if !known {
            return Err(AbacError::UnknownAttribute {
                path: path.to_owned(),
                scope: reference.scope(),
                slug: reference.key().unwrap_or_default().to_owned(),
            });
        }
        Ok(reference)
    }
}

fn reject_unknown_fields(
    object: &Map<String, Value>,
    path: &str,
    allowed: &[&str],
) -> Result<(), AbacError> {
    match object.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(AbacError::UnknownField {
            path: format!("{path}.{key}"),
        }),
        None => Ok(()),
    }
}
