//! Validation of literal comparison values against their operator.

use std::cmp::Ordering;

use serde_json::Value;

use super::cidr::Cidr;
use super::error::AbacError;
use super::operator::Operator;
use super::order::Orderable;

const ORDERABLE: &str = "a number, an RFC 3339 timestamp or an HH:MM time";

/// Checks that a literal (non-null, non-reference) `value` fits `operator`.
pub(super) fn validate_literal(
    operator: Operator,
    value: &Value,
    path: &str,
) -> Result<(), AbacError> {
    match operator {
        Operator::Equals
        | Operator::NotEquals
        | Operator::Contains
        | Operator::NotContains
        | Operator::Exists
        | Operator::NotExists => Ok(()),
        Operator::In | Operator::NotIn => expect_array(value, path).map(|_| ()),
        Operator::StartsWith | Operator::EndsWith => match value {
            Value::String(_) => Ok(()),
            _ => Err(invalid_type(path, "a string")),
        },
        Operator::GreaterThan
        | Operator::GreaterThanOrEqual
        | Operator::LessThan
        | Operator::LessThanOrEqual => orderable(value, path).map(|_| ()),
        Operator::Between => validate_between(value, path),
        Operator::IpInCidr => validate_cidrs(value, path),
    }
}

fn invalid_type(path: &str, expected: &'static str) -> AbacError {
    AbacError::InvalidType {
        path: path.to_owned(),
        expected,
    }
}

fn invalid_value(path: &str, reason: impl Into<String>) -> AbacError {
    AbacError::InvalidValue {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn expect_array<'a>(value: &'a Value, path: &str) -> Result<&'a [Value], AbacError> {
    value
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| invalid_type(path, "an array"))
}

fn orderable(value: &Value, path: &str) -> Result<Orderable, AbacError> {
    match value {
        Value::Number(_) | Value::String(_) => {
            Orderable::of(value).ok_or_else(|| invalid_value(path, format!("expected {ORDERABLE}")))
        }
        _ => Err(invalid_type(path, "a number or a string")),
    }
}

fn validate_between(value: &Value, path: &str) -> Result<(), AbacError> {
    let [low, high] = expect_array(value, path)? else {
        return Err(invalid_value(
            path,
            "expected exactly two bounds [low, high]",
        ));
    };
    let low_value = orderable(low, &format!("{path}[0]"))?;
    let high_value = orderable(high, &format!("{path}[1]"))?;
    match low_value.compare(high_value) {
        None => Err(invalid_value(path, "bounds must be of the same kind")),
        Some(Ordering::Greater) if !low_value.is_time_of_day() => {
            Err(invalid_value(path, "low bound is greater than high bound"))
        }
        Some(_) => Ok(()),
    }
}

fn validate_cidrs(value: &Value, path: &str) -> Result<(), AbacError> {
    match value {
        Value::String(text) => check_cidr(text, path),
        Value::Array(items) if items.is_empty() => {
            Err(invalid_value(path, "expected at least one CIDR"))
        }
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| {
            let item_path = format!("{path}[{i}]");
            match item {
                Value::String(text) => check_cidr(text, &item_path),
                _ => Err(invalid_type(&item_path, "a CIDR string")),
            }
        }),
        _ => Err(invalid_type(
            path,
            "a CIDR string or an array of CIDR strings",
        )),
    }
}

fn check_cidr(text: &str, path: &str) -> Result<(), AbacError> {
    match Cidr::parse(text) {
        Some(_) => Ok(()),
        None => Err(AbacError::InvalidCidr {
            path: path.to_owned(),
            cidr: text.to_owned(),
        }),
    }
}
