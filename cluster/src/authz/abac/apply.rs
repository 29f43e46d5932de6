//! Operator semantics on two resolved (present, non-null) values.

use std::cmp::Ordering;
use std::net::IpAddr;

use serde_json::Value;

use super::cidr::Cidr;
use super::operator::Operator;
use super::order::{Orderable, compare};

/// Applies `operator` to the attribute value and the comparison value.
/// Type mismatches yield `false`, also for the negated operators.
pub(super) fn apply(operator: Operator, actual: &Value, expected: &Value) -> bool {
    match operator {
        Operator::Equals => values_equal(actual, expected),
        Operator::NotEquals => same_type(actual, expected) && !values_equal(actual, expected),
        Operator::In => membership(actual, expected).unwrap_or(false),
        Operator::NotIn => membership(actual, expected).is_some_and(|found| !found),
        Operator::Contains => contains(actual, expected).unwrap_or(false),
        Operator::NotContains => contains(actual, expected).is_some_and(|found| !found),
        Operator::StartsWith => strings(actual, expected).is_some_and(|(a, e)| a.starts_with(e)),
        Operator::EndsWith => strings(actual, expected).is_some_and(|(a, e)| a.ends_with(e)),
        Operator::GreaterThan => compare(actual, expected) == Some(Ordering::Greater),
        Operator::GreaterThanOrEqual => {
            matches!(
                compare(actual, expected),
                Some(Ordering::Greater | Ordering::Equal)
            )
        }
        Operator::LessThan => compare(actual, expected) == Some(Ordering::Less),
        Operator::LessThanOrEqual => {
            matches!(
                compare(actual, expected),
                Some(Ordering::Less | Ordering::Equal)
            )
        }
        Operator::Between => between(actual, expected).unwrap_or(false),
        Operator::IpInCidr => ip_in_cidr(actual, expected),
        Operator::Exists | Operator::NotExists => false,
    }
}

/// JSON equality, except that numbers compare by value (`1 == 1.0`).
fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => compare(a, b) == Some(Ordering::Equal),
        _ => a == b,
    }
}

/// Whether both values have the same JSON type (`not_equals` across types
/// is a type mismatch, hence false).
fn same_type(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// `in`: `None` unless `list` is an array. An array attribute is "in" the
/// list when any of its elements is.
fn membership(actual: &Value, list: &Value) -> Option<bool> {
    let list = list.as_array()?;
    let is_member = |item: &Value| list.iter().any(|entry| values_equal(item, entry));
    Some(match actual {
        Value::Array(items) => items.iter().any(is_member),
        _ => is_member(actual),
    })
}

/// `contains`: substring for strings, element for arrays, `None` otherwise.
fn contains(actual: &Value, needle: &Value) -> Option<bool> {
    match (actual, needle) {
        (Value::String(haystack), Value::String(needle)) => {
            Some(haystack.contains(needle.as_str()))
        }
        (Value::Array(items), _) => Some(items.iter().any(|item| values_equal(item, needle))),
        _ => None,
    }
}

fn strings<'a>(a: &'a Value, b: &'a Value) -> Option<(&'a str, &'a str)> {
    Some((a.as_str()?, b.as_str()?))
}

/// Inclusive `[low, high]`. For times of day, `low > high` wraps midnight
/// (`["22:00", "06:00"]` matches 23:00 and 05:00).
fn between(actual: &Value, bounds: &Value) -> Option<bool> {
    let [low, high] = bounds.as_array()?.as_slice() else {
        return None;
    };
    let (value, low, high) = (
        Orderable::of(actual)?,
        Orderable::of(low)?,
        Orderable::of(high)?,
    );
    let above_low = value.compare(low)? != Ordering::Less;
    let below_high = value.compare(high)? != Ordering::Greater;
    if value.is_time_of_day() && low.compare(high)? == Ordering::Greater {
        return Some(above_low || below_high);
    }
    Some(above_low && below_high)
}

fn ip_in_cidr(actual: &Value, networks: &Value) -> bool {
    let Some(ip) = actual.as_str().and_then(|s| s.parse::<IpAddr>().ok()) else {
        return false;
    };
    let matches = |network: &Value| {
        network
            .as_str()
            .and_then(Cidr::parse)
            .is_some_and(|cidr| cidr.contains(ip))
    };
    match networks {
        Value::Array(list) => list.iter().any(matches),
        single => matches(single),
    }
}
