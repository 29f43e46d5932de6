//! Schema language: parsing, validation, rendering and tuple validation.

mod cycles;
mod lexer;
mod model;
mod parser;
mod render;
#[cfg(test)]
pub(crate) mod tests;
mod tuple_check;
mod validate;

use std::collections::HashMap;

use serde::Serialize;

pub use self::model::{AllowedSubject, Definition, Expr, Member, PermissionDef, RelationDef};
use super::{MAX_SCHEMA_BYTES, Tuple, ZanzibarError};

/// A parsed and validated schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    definitions: Vec<Definition>,
    index: HashMap<String, usize>,
}

impl Schema {
    /// Parses and validates schema text.
    ///
    /// # Errors
    ///
    /// [`ZanzibarError::InvalidSchema`] for syntax errors, size limits, invalid or duplicate
    /// names, unknown references, invalid arrows and cyclic permissions.
    pub fn parse(text: &str) -> Result<Self, ZanzibarError> {
        if text.len() > MAX_SCHEMA_BYTES {
            return Err(ZanzibarError::schema(
                format!(
                    "schema is {} bytes, more than the maximum of {MAX_SCHEMA_BYTES}",
                    text.len()
                ),
                None,
            ));
        }
        let tokens = lexer::lex(text)?;
        let definitions = parser::parse(&tokens)?;
        let index = validate::validate(&definitions)?;
        cycles::check_cycles(&definitions)?;
        Ok(Self { definitions, index })
    }

    /// Definitions in declaration order.
    pub fn definitions(&self) -> &[Definition] {
        &self.definitions
    }

    /// Looks up a definition by type name.
    pub fn definition(&self, object_type: &str) -> Option<&Definition> {
        self.definition_index(object_type)
            .and_then(|i| self.definitions.get(i))
    }

    /// Index of a definition in [`Schema::definitions`].
    pub fn definition_index(&self, object_type: &str) -> Option<usize> {
        self.index.get(object_type).copied()
    }

    /// Type names in declaration order.
    pub fn object_types(&self) -> Vec<&str> {
        self.definitions.iter().map(Definition::name).collect()
    }

    /// True when `name` is a relation or permission of `object_type`.
    pub fn has_relation_or_permission(&self, object_type: &str, name: &str) -> bool {
        self.definition(object_type)
            .is_some_and(|d| d.member(name).is_some())
    }

    /// Checks that the tuple's object type exists, its relation is a `relation` (not a
    /// permission) of that type, and its subject matches one of the allowed subject types.
    ///
    /// # Errors
    ///
    /// [`ZanzibarError::UnknownType`], [`ZanzibarError::UnknownRelation`] or
    /// [`ZanzibarError::InvalidTuple`].
    pub fn validate_tuple(&self, tuple: &Tuple) -> Result<(), ZanzibarError> {
        tuple_check::validate_tuple(self, tuple)
    }

    /// Canonical text rendering; parsing it yields an equivalent schema.
    pub fn to_text(&self) -> String {
        render::to_text(&self.definitions)
    }
}

/// Serializes as `{"definitions": [{"name", "relations": [{"name", "allowed_types"}],
/// "permissions": [{"name", "expression"}]}]}`.
impl Serialize for Schema {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        render::view(&self.definitions).serialize(serializer)
    }
}
