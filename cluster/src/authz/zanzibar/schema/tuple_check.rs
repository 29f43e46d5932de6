//! Checking a tuple against the schema.

use super::super::{Tuple, ZanzibarError};
use super::Schema;
use super::model::AllowedSubject;

/// See [`Schema::validate_tuple`].
pub(crate) fn validate_tuple(schema: &Schema, t: &Tuple) -> Result<(), ZanzibarError> {
    let Some(def) = schema.definition(&t.object.object_type) else {
        return Err(ZanzibarError::UnknownType(t.object.object_type.clone()));
    };
    if def.permission(&t.relation).is_some() {
        return Err(ZanzibarError::InvalidTuple(format!(
            "`{t}`: `{}#{}` is a permission; only relations can be written",
            def.name(),
            t.relation
        )));
    }
    let Some(rel) = def.relation(&t.relation) else {
        return Err(ZanzibarError::UnknownRelation {
            object_type: t.object.object_type.clone(),
            relation: t.relation.clone(),
        });
    };
    let s = &t.subject;
    let ok = rel.allowed.iter().any(|a| match (a, &s.relation) {
        (AllowedSubject::Type(ty), None) => *ty == s.subject_type && !s.is_wildcard(),
        (AllowedSubject::Wildcard(ty), None) => *ty == s.subject_type && s.is_wildcard(),
        (
            AllowedSubject::Userset {
                subject_type,
                relation,
            },
            Some(r),
        ) => *subject_type == s.subject_type && relation == r && s.subject_id != "*",
        _ => false,
    });
    if ok {
        Ok(())
    } else {
        let allowed: Vec<String> = rel.allowed.iter().map(ToString::to_string).collect();
        Err(ZanzibarError::InvalidTuple(format!(
            "`{t}`: subject `{s}` is not allowed for `{}#{}` (allowed: {})",
            def.name(),
            t.relation,
            allowed.join(" | ")
        )))
    }
}
