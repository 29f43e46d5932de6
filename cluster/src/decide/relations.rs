//! Zanzibar questions: check, expand, and the objects or subjects a relation reaches,
//! evaluated over the replica's in-memory schema and tuple graph.

use crate::authz::zanzibar::{self, ObjectRef, Schema, SubjectRef, TupleGraph};
use crate::authz::{Answer, relation_error};
use crate::error::{AuthzCode, ClusterError, Result};
use crate::model::{Principal, PrincipalKind};
use crate::query::{Page, PageParams};
use crate::raft::GroupHandle;
use crate::tables::OrgReader;

use super::rbac::may_ask_about_others;

fn object(text: &str) -> Result<ObjectRef> {
    ObjectRef::parse(text).map_err(relation_error)
}

fn subject(text: &str) -> Result<SubjectRef> {
    SubjectRef::parse(text).map_err(relation_error)
}

/// Whether `subject` is the calling user itself (`user:<id>`).
fn is_caller(principal: &Principal, subject: &SubjectRef) -> bool {
    match &principal.kind {
        PrincipalKind::User { id, .. } => {
            subject.relation.is_none()
                && subject.subject_type == "user"
                && subject.subject_id == id.to_string()
        }
        _ => false,
    }
}

/// Refuses callers that may not ask about others (unless `own` says the question is theirs).
fn require_asker(
    shard: &GroupHandle,
    reader: &OrgReader,
    principal: &Principal,
    own: bool,
) -> Result<()> {
    if own || may_ask_about_others(shard, reader, principal)? {
        return Ok(());
    }
    Err(ClusterError::authz(
        AuthzCode::InsufficientPermissions,
        "this question needs the authz:check scope or the authz.check permission",
    ))
}

/// Runs `f` over the org's schema and tuples.
fn with_relations<R>(
    shard: &GroupHandle,
    reader: &OrgReader,
    f: impl FnOnce(&Schema, &TupleGraph) -> Result<R>,
) -> Result<R> {
    shard.authz.with_org(reader, |org| {
        let relations = org.relations();
        let schema = relations.schema().ok_or_else(|| {
            ClusterError::authz(
                AuthzCode::SchemaRequired,
                "this organization has no relation schema yet: PUT ~/zanzibar/schema first",
            )
        })?;
        f(schema, relations.graph())
    })
}

pub(super) fn check(
    shard: &GroupHandle,
    reader: &OrgReader,
    principal: &Principal,
    object_text: &str,
    relation: &str,
    subject_text: &str,
) -> Result<Answer> {
    let object = object(object_text)?;
    let subject = subject(subject_text)?;
    require_asker(shard, reader, principal, is_caller(principal, &subject))?;
    let allowed = with_relations(shard, reader, |schema, graph| {
        zanzibar::check(schema, graph, &object, relation, &subject).map_err(relation_error)
    })?;
    Ok(Answer::Relation { allowed })
}

pub(super) fn expand(
    shard: &GroupHandle,
    reader: &OrgReader,
    principal: &Principal,
    object_text: &str,
    relation: &str,
) -> Result<Answer> {
    let object = object(object_text)?;
    require_asker(shard, reader, principal, false)?;
    let tree = with_relations(shard, reader, |schema, graph| {
        zanzibar::expand(schema, graph, &object, relation).map_err(relation_error)
    })?;
    Ok(Answer::Expand {
        tree: serde_json::to_value(tree)?,
    })
}

pub(super) fn list_objects(
    shard: &GroupHandle,
    reader: &OrgReader,
    principal: &Principal,
    (object_type, relation, subject_text): (&str, &str, &str),
    page: PageParams,
) -> Result<Answer> {
    let subject = subject(subject_text)?;
    require_asker(shard, reader, principal, is_caller(principal, &subject))?;
    let objects = with_relations(shard, reader, |schema, graph| {
        zanzibar::list_objects(schema, graph, object_type, relation, &subject)
            .map_err(relation_error)
    })?;
    Ok(Answer::Refs(Page::of(
        objects.iter().map(ToString::to_string).collect(),
        page,
    )))
}

pub(super) fn list_subjects(
    shard: &GroupHandle,
    reader: &OrgReader,
    principal: &Principal,
    (object_text, relation, subject_type): (&str, &str, Option<&str>),
    page: PageParams,
) -> Result<Answer> {
    let object = object(object_text)?;
    require_asker(shard, reader, principal, false)?;
    let subjects = with_relations(shard, reader, |schema, graph| {
        zanzibar::list_subjects(schema, graph, &object, relation, subject_type)
            .map_err(relation_error)
    })?;
    Ok(Answer::Refs(Page::of(
        subjects.iter().map(ToString::to_string).collect(),
        page,
    )))
}
