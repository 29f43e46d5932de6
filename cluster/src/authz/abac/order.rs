//! Ordering of numbers, RFC 3339 timestamps and times of day.

use std::cmp::Ordering;

use serde_json::Value;

use super::timestamp::{parse_rfc3339, parse_time_of_day};

/// A value that the ordering operators can compare.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Orderable {
    /// A JSON integer.
    Int(i64),
    /// Any other JSON number.
    Float(f64),
    /// `HH:MM[:SS]`, as seconds since midnight.
    TimeOfDay(u32),
    /// RFC 3339 timestamp, as UTC seconds and nanoseconds.
    Instant(i64, u32),
}

impl Orderable {
    /// Classifies a JSON value; `None` if it is not orderable.
    pub(super) fn of(value: &Value) -> Option<Self> {
        match value {
            Value::Number(n) => n
                .as_i64()
                .map(Self::Int)
                .or_else(|| n.as_f64().map(Self::Float)),
            Value::String(s) => parse_time_of_day(s)
                .map(Self::TimeOfDay)
                .or_else(|| parse_rfc3339(s).map(|(secs, nanos)| Self::Instant(secs, nanos))),
            _ => None,
        }
    }

    /// Compares two values of the same kind; `None` across kinds.
    pub(super) fn compare(self, other: Self) -> Option<Ordering> {
        match (self, other) {
            (Self::Int(a), Self::Int(b)) => Some(a.cmp(&b)),
            (Self::Int(_) | Self::Float(_), Self::Int(_) | Self::Float(_)) => {
                self.as_f64()?.partial_cmp(&other.as_f64()?)
            }
            (Self::TimeOfDay(a), Self::TimeOfDay(b)) => Some(a.cmp(&b)),
            (Self::Instant(a, an), Self::Instant(b, bn)) => Some((a, an).cmp(&(b, bn))),
            _ => None,
        }
    }

    /// Whether this is a time of day (which `between` lets wrap midnight).
    pub(super) fn is_time_of_day(self) -> bool {
        matches!(self, Self::TimeOfDay(_))
    }

    fn as_f64(self) -> Option<f64> {
        match self {
            Self::Int(i) => Some(i as f64),
            Self::Float(f) => Some(f),
            _ => None,
        }
    }
}

/// Compares two JSON values; `None` when either is not orderable or the
/// kinds differ (number vs. time, time of day vs. timestamp, ...).
pub(super) fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    Orderable::of(a)?.compare(Orderable::of(b)?)
}
