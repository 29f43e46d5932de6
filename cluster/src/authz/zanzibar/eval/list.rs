//! Listing objects for a subject and subjects for an object.

use std::collections::{BTreeSet, HashSet};

use super::super::{Expr, Member, ObjectRef, Schema, SubjectRef, TupleGraph, ZanzibarError};
use super::check::Checker;
use super::{resolve, validate_subject};

/// Every object of `object_type` for which [`super::check`] is true, sorted by id.
///
/// Candidates are the objects of that type that appear as tuple objects, plus the subject's
/// own object for a userset subject of that type (`team:eng#member` is a member of itself).
///
/// # Errors
///
/// [`ZanzibarError::UnknownType`] / [`ZanzibarError::UnknownRelation`] for unknown inputs,
/// [`ZanzibarError::DepthExceeded`] or [`ZanzibarError::WorkLimitExceeded`] when the bounds
/// are hit.
pub fn list_objects(
    schema: &Schema,
    graph: &TupleGraph,
    object_type: &str,
    relation: &str,
    subject: &SubjectRef,
) -> Result<Vec<ObjectRef>, ZanzibarError> {
    let (def, member) = resolve(schema, object_type, relation)?;
    validate_subject(schema, subject)?;
    let mut ids: Vec<&str> = graph.object_ids(object_type);
    if subject.relation.is_some() && subject.subject_type == object_type {
        ids.push(&subject.subject_id);
        ids.sort_unstable();
        ids.dedup();
    }
    let mut checker = Checker::new(schema, graph, subject)?;
    let mut out = Vec::new();
    for id in ids {
        let obj = ObjectRef::new(object_type, id);
        if checker.check(&obj, def, member)? {
            out.push(obj);
        }
    }
    Ok(out)
}

/// Concrete subjects (and applicable wildcards such as `user:*`) for which
/// [`super::check`] is true on `object#relation`, sorted; usersets are not listed.
///
/// Candidates are the concrete subjects and wildcards stored under any frame reachable from
/// `object#relation`; when a wildcard `T:*` is reachable, every concrete subject of type `T`
/// stored anywhere in the graph is a candidate too (it may be granted through the wildcard).
///
/// # Errors
///
/// [`ZanzibarError::UnknownType`] / [`ZanzibarError::UnknownRelation`] for unknown inputs,
/// [`ZanzibarError::DepthExceeded`] or [`ZanzibarError::WorkLimitExceeded`] when the bounds
/// are hit.
pub fn list_subjects(
    schema: &Schema,
    graph: &TupleGraph,
    object: &ObjectRef,
    relation: &str,
    subject_type: Option<&str>,
) -> Result<Vec<SubjectRef>, ZanzibarError> {
    let (def, member) = resolve(schema, &object.object_type, relation)?;
    if let Some(t) = subject_type.filter(|t| schema.definition(t).is_none()) {
        return Err(ZanzibarError::UnknownType(t.to_string()));
    }
    let (mut candidates, wildcards) = reachable_subjects(schema, graph, object, def, member);
    for ty in wildcards {
        for id in graph.subject_ids(&ty) {
            candidates.insert(SubjectRef::new(ty.as_str(), id));
        }
        candidates.insert(SubjectRef::wildcard(ty));
    }
    let mut out = Vec::new();
    for s in candidates {
        if subject_type.is_some_and(|t| t != s.subject_type) {
            continue;
        }
        if schema.definition(&s.subject_type).is_none() {
            continue;
        }
        if Checker::new(schema, graph, &s)?.check(object, def, member)? {
            out.push(s);
        }
    }
    Ok(out)
}

/// Walks every frame reachable from the start (ignoring the right side of exclusions) and
/// collects concrete subjects and wildcard types.
fn reachable_subjects(
    schema: &Schema,
    graph: &TupleGraph,
    object: &ObjectRef,
    def: usize,
    member: Member,
) -> (BTreeSet<SubjectRef>, BTreeSet<String>) {
    let mut subjects = BTreeSet::new();
    let mut wildcards = BTreeSet::new();
    let mut seen: HashSet<(ObjectRef, usize, Member)> = HashSet::new();
    let mut stack = vec![(object.clone(), def, member)];
    while let Some((obj, def, member)) = stack.pop() {
        if !seen.insert((obj.clone(), def, member)) {
            continue;
        }
        let Some(d) = schema.definitions().get(def) else {
            continue;
        };
        match member {
            Member::Relation(i) => {
                let Some(rel) = d.relations().get(i) else {
                    continue;
                };
                for s in graph.subjects_of(&obj, &rel.name) {
                    if s.is_wildcard() {
                        wildcards.insert(s.subject_type);
                    } else if let Some(r) = &s.relation {
                        if let Ok((d2, m2)) = resolve(schema, &s.subject_type, r) {
                            stack.push((s.object(), d2, m2));
                        }
                    } else {
                        subjects.insert(s);
                    }
                }
            }
            Member::Permission(i) => {
                if let Some(p) = d.permissions().get(i) {
                    push_expr(schema, graph, &p.expr, &obj, def, &mut stack);
                }
            }
        }
    }
    (subjects, wildcards)
}

fn push_expr(
    schema: &Schema,
    graph: &TupleGraph,
    e: &Expr,
    obj: &ObjectRef,
    def: usize,
    stack: &mut Vec<(ObjectRef, usize, Member)>,
) {
    match e {
        Expr::Ref(n) => {
            if let Some(m) = schema.definitions().get(def).and_then(|d| d.member(n)) {
                stack.push((obj.clone(), def, m));
            }
        }
        Expr::Arrow { tupleset, computed } => {
            for s in graph.subjects_of(obj, tupleset) {
                if s.relation.is_some() || s.is_wildcard() {
                    continue;
                }
                if let Ok((d2, m2)) = resolve(schema, &s.subject_type, computed) {
                    stack.push((s.object(), d2, m2));
                }
            }
        }
        Expr::Union(items) | Expr::Intersection(items) => {
            for i in items {
                push_expr(schema, graph, i, obj, def, stack);
            }
        }
        Expr::Exclusion(l, _) => push_expr(schema, graph, l, obj, def, stack),
    }
}
