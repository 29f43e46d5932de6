//! Answering authorization questions on a replica of the org's shard: the freshness the
//! question asks for, who asks (authenticated against the replica's state), then the engine.
//! Nothing here goes through Raft or the org actor; a replica that cannot answer as fresh as
//! asked says so and the service asks the shard leader instead.

mod abac;
mod authzen;
mod freshness;
mod rbac;
mod relations;

use crate::authz::{CheckRequest, ConsistencyToken, Decision, Question};
use crate::caller::Credential;
use crate::clock::Timestamp;
use crate::error::{ClusterError, Result};
use crate::ids::OrgId;
use crate::raft::GroupHandle;
use crate::tables::OrgReader;

/// What a replica made of a question.
#[derive(Debug)]
pub(crate) enum Served {
    Answered(Decision),
    /// Only the shard leader can answer (as fresh as asked, or authenticating a credential
    /// this replica does not know yet).
    AskLeader,
}

/// Answers `request` for `org` (at `epoch`) from this replica of its shard.
pub(crate) async fn answer(
    shard: &GroupHandle,
    org: OrgId,
    epoch: u64,
    credential: &Credential,
    request: &CheckRequest,
    now: Timestamp,
) -> Result<Served> {
    // A snapshot install that began or ended meanwhile may have shown the reads half a range.
    let installs = shard.authz.install_generation();
    let served = answer_here(shard, org, epoch, credential, request, now).await;
    if shard.authz.install_generation() != installs {
        return Ok(Served::AskLeader);
    }
    served
}

async fn answer_here(
    shard: &GroupHandle,
    org: OrgId,
    epoch: u64,
    credential: &Credential,
    request: &CheckRequest,
    now: Timestamp,
) -> Result<Served> {
    let freshness = request
        .freshness
        .unwrap_or_else(|| request.question.default_freshness());
    if !freshness::reach(shard, freshness).await? {
        return Ok(Served::AskLeader);
    }
    let checked_at = ConsistencyToken {
        group: shard.id,
        index: shard.authz.applied(),
    };
    let reader = OrgReader::new(shard.store.clone(), org);
    let known = shard.authz.with_facts(&reader, |state| {
        state.check_served(&reader, epoch)?;
        crate::access::authenticate_memoized(state, &reader, credential, now)
    });
    let principal = match known {
        Ok(principal) => principal,
        // A key or token minted a moment ago may not have reached this replica yet.
        Err(ClusterError::Unauthenticated { .. }) if !shard.raft.is_leader() => {
            return Ok(Served::AskLeader);
        }
        Err(e) => return Err(e),
    };
    let answer = match &request.question {
        Question::Permissions {
            subject,
            permissions,
        } => rbac::permissions(shard, &reader, &principal, subject.as_ref(), permissions)?,
        Question::MyPermissions => rbac::my_permissions(shard, &reader, &principal)?,
        Question::Relation {
            object,
            relation,
            subject,
        } => relations::check(shard, &reader, &principal, object, relation, subject)?,
        Question::Expand { object, relation } => {
            relations::expand(shard, &reader, &principal, object, relation)?
        }
        Question::ListObjects {
            object_type,
            relation,
            subject,
            page,
        } => relations::list_objects(
            shard,
            &reader,
            &principal,
            (object_type, relation, subject),
            *page,
        )?,
        Question::ListSubjects {
            object,
            relation,
            subject_type,
            page,
        } => relations::list_subjects(
            shard,
            &reader,
            &principal,
            (object, relation, subject_type.as_deref()),
            *page,
        )?,
        Question::Evaluations(evaluations) => {
            authzen::evaluate(shard, &reader, &principal, evaluations)?
        }
        Question::AbacCheck {
            checks,
            environment,
        } => abac::check(shard, &reader, &principal, checks, environment)?,
        Question::AbacMyAttributes => abac::my_attributes(shard, &reader, &principal)?,
        Question::AbacDefinitions { kind, page } => {
            abac::definitions_page(&reader, &principal, *kind, *page)?
        }
        Question::AbacResource {
            resource_type,
            resource_id,
        } => abac::resource(&reader, &principal, resource_type, resource_id)?,
    };
    Ok(Served::Answered(Decision { answer, checked_at }))
}
