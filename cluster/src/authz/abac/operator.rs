//! Comparison operators and their accepted names.

use std::fmt;

use serde::{Serialize, Serializer};

/// A leaf comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `equals` (`eq`).
    Equals,
    /// `not_equals` (`ne`, `neq`).
    NotEquals,
    /// `in`: the attribute equals an element of the value array.
    In,
    /// `not_in`.
    NotIn,
    /// `contains`: string contains substring, or array contains value.
    Contains,
    /// `not_contains`.
    NotContains,
    /// `starts_with`.
    StartsWith,
    /// `ends_with`.
    EndsWith,
    /// `greater_than` (`gt`).
    GreaterThan,
    /// `greater_than_or_equal` (`gte`).
    GreaterThanOrEqual,
    /// `less_than` (`lt`).
    LessThan,
    /// `less_than_or_equal` (`lte`).
    LessThanOrEqual,
    /// `between`: value `[low, high]`, inclusive.
    Between,
    /// `exists`: the attribute is present and not null.
    Exists,
    /// `not_exists`.
    NotExists,
    /// `ip_in_cidr`: value is a CIDR string or an array of them.
    IpInCidr,
}

const ALL: &[Operator] = &[
    Operator::Equals,
    Operator::NotEquals,
    Operator::In,
    Operator::NotIn,
    Operator::Contains,
    Operator::NotContains,
    Operator::StartsWith,
    Operator::EndsWith,
    Operator::GreaterThan,
    Operator::GreaterThanOrEqual,
    Operator::LessThan,
    Operator::LessThanOrEqual,
    Operator::Between,
    Operator::Exists,
    Operator::NotExists,
    Operator::IpInCidr,
];

impl Operator {
    /// Every operator, in declaration order.
    pub fn all() -> &'static [Operator] {
        ALL
    }

    /// Parses a canonical name or alias (exact, case-sensitive).
    pub fn parse(name: &str) -> Option<Self> {
        let alias = match name {
            "eq" => Some(Self::Equals),
            "ne" | "neq" => Some(Self::NotEquals),
            "gt" => Some(Self::GreaterThan),
            "gte" => Some(Self::GreaterThanOrEqual),
            "lt" => Some(Self::LessThan),
            "lte" => Some(Self::LessThanOrEqual),
            _ => None,
        };
        alias.or_else(|| ALL.iter().copied().find(|op| op.as_str() == name))
    }

    /// Canonical name, used when serializing.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Equals => "equals",
            Self::NotEquals => "not_equals",
            Self::In => "in",
            Self::NotIn => "not_in",
            Self::Contains => "contains",
            Self::NotContains => "not_contains",
            Self::StartsWith => "starts_with",
            Self::EndsWith => "ends_with",
            Self::GreaterThan => "greater_than",
            Self::GreaterThanOrEqual => "greater_than_or_equal",
            Self::LessThan => "less_than",
            Self::LessThanOrEqual => "less_than_or_equal",
            Self::Between => "between",
            Self::Exists => "exists",
            Self::NotExists => "not_exists",
            Self::IpInCidr => "ip_in_cidr",
        }
    }

    /// Whether the operator needs a `value` (all but `exists`/`not_exists`).
    pub fn takes_value(self) -> bool {
        !matches!(self, Self::Exists | Self::NotExists)
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Operator {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}
