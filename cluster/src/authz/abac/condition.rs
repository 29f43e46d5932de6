//! The validated condition tree and its JSON form.

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::attribute::AttributeRef;
use super::operator::Operator;

/// A group of conditions: every `all` item, at least one `any` item (when
/// `any` is non-empty) and no `none` item must match. The empty group
/// matches everything.
///
/// Build one with [`super::parse_conditions`]; it serializes back to the
/// stored JSON shape (empty lists are omitted, so `{"all": []}` becomes `{}`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conditions {
    pub(super) all: Vec<Condition>,
    pub(super) any: Vec<Condition>,
    pub(super) none: Vec<Condition>,
}

/// One item of a group list: a leaf comparison or a nested group.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// A single attribute comparison.
    Leaf(Leaf),
    /// A nested `all`/`any`/`none` group.
    Group(Conditions),
}

/// A single comparison: `attribute operator value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    pub(super) attribute: AttributeRef,
    pub(super) operator: Operator,
    pub(super) value: Operand,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// No value (`exists`, `not_exists`).
    Absent,
    /// A literal JSON value.
    Literal(Value),
    /// Another attribute, written `{"attribute": "resource.ownerId"}`.
    Attribute(AttributeRef),
}

impl Conditions {
    /// The empty group, which matches every request.
    pub fn match_all() -> Self {
        Self::default()
    }

    /// Items that must all match.
    pub fn all(&self) -> &[Condition] {
        &self.all
    }

    /// Items of which at least one must match (ignored when empty).
    pub fn any(&self) -> &[Condition] {
        &self.any
    }

    /// Items of which none may match.
    pub fn none(&self) -> &[Condition] {
        &self.none
    }

    /// Whether the group has no items (and so matches everything).
    pub fn is_empty(&self) -> bool {
        self.all.is_empty() && self.any.is_empty() && self.none.is_empty()
    }

    /// The stored JSON form, with canonical operator names and prefixes.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        for (key, items) in [("all", &self.all), ("any", &self.any), ("none", &self.none)] {
            if !items.is_empty() {
                let list = items.iter().map(Condition::to_json).collect();
                map.insert(key.to_owned(), Value::Array(list));
            }
        }
        Value::Object(map)
    }
}

impl Condition {
    /// The stored JSON form of this item.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Leaf(leaf) => leaf.to_json(),
            Self::Group(group) => group.to_json(),
        }
    }
}

impl Leaf {
    /// The attribute being tested.
    pub fn attribute(&self) -> &AttributeRef {
        &self.attribute
    }

    /// The comparison operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The comparison value.
    pub fn value(&self) -> &Operand {
        &self.value
    }

    /// The stored JSON form of this leaf.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert(
            "attribute".to_owned(),
            Value::String(self.attribute.to_string()),
        );
        map.insert(
            "operator".to_owned(),
            Value::String(self.operator.as_str().to_owned()),
        );
        match &self.value {
            Operand::Absent => {}
            Operand::Literal(value) => {
                map.insert("value".to_owned(), value.clone());
            }
            Operand::Attribute(reference) => {
                let mut inner = Map::new();
                inner.insert("attribute".to_owned(), Value::String(reference.to_string()));
                map.insert("value".to_owned(), Value::Object(inner));
            }
        }
        Value::Object(map)
    }
}

impl Serialize for Conditions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl Serialize for Leaf {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}
