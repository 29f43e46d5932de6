//! Evaluation over `(&Schema, &TupleGraph)`: check, expand, list objects, list subjects.

#[cfg(test)]
mod bench;
mod check;
mod expand;
mod list;
#[cfg(test)]
mod tests;

use self::check::Checker;
pub use self::expand::{ExpandKind, ExpandTree, expand};
pub use self::list::{list_objects, list_subjects};
use super::{Member, ObjectRef, Schema, SubjectRef, TupleGraph, ZanzibarError};

/// Resolves `object_type#name` to (definition index, member).
pub(crate) fn resolve(
    schema: &Schema,
    object_type: &str,
    name: &str,
) -> Result<(usize, Member), ZanzibarError> {
    let def = schema
        .definition_index(object_type)
        .ok_or_else(|| ZanzibarError::UnknownType(object_type.to_string()))?;
    let member = schema
        .definitions()
        .get(def)
        .and_then(|d| d.member(name))
        .ok_or_else(|| ZanzibarError::UnknownRelation {
            object_type: object_type.to_string(),
            relation: name.to_string(),
        })?;
    Ok((def, member))
}

/// Checks that the subject's type (and relation, for usersets) exist.
pub(crate) fn validate_subject(schema: &Schema, s: &SubjectRef) -> Result<(), ZanzibarError> {
    if schema.definition(&s.subject_type).is_none() {
        return Err(ZanzibarError::UnknownType(s.subject_type.clone()));
    }
    if let Some(r) = &s.relation {
        if s.subject_id == "*" {
            return Err(ZanzibarError::MalformedTuple(format!(
                "`{s}`: a wildcard subject cannot have a relation"
            )));
        }
        resolve(schema, &s.subject_type, r)?;
    }
    Ok(())
}

/// True when `subject` has `relation` (a relation or permission) on `object`.
///
/// - A userset subject (`team:eng#member`) is allowed when the graph reaches that exact
///   userset, and `object#relation` always includes itself (so `team:eng#member` checked
///   against `team:eng#member` is true).
/// - A wildcard tuple `type:*` grants every concrete subject of that type, and the
///   `type:*` subject itself.
/// - Data cycles are safe (re-entered frames contribute false); evaluation is bounded by
///   [`super::MAX_DEPTH`] and [`super::MAX_CHECK_STEPS`].
///
/// # Errors
///
/// [`ZanzibarError::UnknownType`] / [`ZanzibarError::UnknownRelation`] for unknown inputs,
/// [`ZanzibarError::DepthExceeded`] or [`ZanzibarError::WorkLimitExceeded`] when the bounds
/// are hit.
pub fn check(
    schema: &Schema,
    graph: &TupleGraph,
    object: &ObjectRef,
    relation: &str,
    subject: &SubjectRef,
) -> Result<bool, ZanzibarError> {
    let (def, member) = resolve(schema, &object.object_type, relation)?;
    validate_subject(schema, subject)?;
    Checker::new(schema, graph, subject)?.check(object, def, member)
}
