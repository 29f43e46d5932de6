//! AuthZEN 1.0 evaluations, mapped onto the engines: a resource type whose relation schema
//! defines the action as a relation or permission is a Zanzibar check
//! (`type:id#action@subject_type:subject_id`); anything else is an RBAC check of the
//! permission `resource_type.action` (or of the action itself when it already names a
//! permission, i.e. contains `.` or `:`) for a user subject.

use crate::authz::zanzibar::{self, ObjectRef, SubjectRef};
use crate::authz::{Answer, Evaluation, EvaluationResult, MAX_EVALUATIONS};
use crate::error::{AuthzCode, ClusterError, Result};
use crate::ids::UserId;
use crate::model::{Principal, PrincipalKind};
use crate::raft::GroupHandle;
use crate::tables::{OrgReader, Table};

use super::rbac::may_ask_about_others;

fn own(principal: &Principal, evaluation: &Evaluation) -> bool {
    match &principal.kind {
        PrincipalKind::User { id, .. } => {
            evaluation.subject_type == "user" && evaluation.subject_id == id.to_string()
        }
        PrincipalKind::Agent { agent_id, .. } => {
            evaluation.subject_type == "agent" && &evaluation.subject_id == agent_id
        }
        _ => false,
    }
}

/// The RBAC permission an action on a resource type asks for.
fn permission_of(evaluation: &Evaluation) -> String {
    if evaluation.action.contains(['.', ':']) {
        evaluation.action.clone()
    } else {
        format!("{}.{}", evaluation.resource_type, evaluation.action)
    }
}

fn decided(decision: bool, reason: String) -> EvaluationResult {
    EvaluationResult { decision, reason }
}

fn evaluate_one(
    shard: &GroupHandle,
    reader: &OrgReader,
    evaluation: &Evaluation,
) -> Result<EvaluationResult> {
    let relation = shard.authz.with_org(reader, |org| {
        let relations = org.relations();
        let Some(schema) = relations.schema() else {
            return Ok(None);
        };
        if !schema.has_relation_or_permission(&evaluation.resource_type, &evaluation.action) {
            return Ok(None);
        }
        let object = ObjectRef::new(&evaluation.resource_type, &evaluation.resource_id);
        let subject = SubjectRef::new(&evaluation.subject_type, &evaluation.subject_id);
        let allowed = zanzibar::check(
            schema,
            relations.graph(),
            &object,
            &evaluation.action,
            &subject,
        );
        Ok(Some(match allowed {
            Ok(allowed) => decided(
                allowed,
                format!(
                    "relation {object}#{} for {subject}: {allowed}",
                    evaluation.action
                ),
            ),
            Err(e) => decided(false, format!("relation check failed: {e}")),
        }))
    })?;
    if let Some(result) = relation {
        return Ok(result);
    }
    let permission = permission_of(evaluation);
    if evaluation.subject_type == "agent" {
        let agent = evaluation
            .subject_id
            .parse::<crate::command::AgentKey>()
            .ok()
            .and_then(|key| crate::lookup::agent(reader, &key).ok());
        let Some(agent) = agent else {
            return Ok(decided(
                false,
                format!(
                    "subject agent {} is not in this organization",
                    evaluation.subject_id
                ),
            ));
        };
        let allowed = agent.usable() && agent.holds(&permission);
        let verb = if allowed { "holds" } else { "lacks" };
        return Ok(decided(
            allowed,
            format!("agent {verb} capability {permission}"),
        ));
    }
    if evaluation.subject_type != "user" {
        return Ok(decided(
            false,
            format!(
                "permission {permission}: no {} subjects hold permissions",
                evaluation.subject_type
            ),
        ));
    }
    let user = match evaluation.subject_id.parse::<UserId>() {
        Ok(user) if reader.exists(Table::User, &user.to_bytes())? => user,
        _ => {
            return Ok(decided(
                false,
                format!(
                    "subject user {} is not in this organization",
                    evaluation.subject_id
                ),
            ));
        }
    };
    let held = shard
        .authz
        .with_org(reader, |org| org.permissions_of(reader, user))?;
    let allowed = crate::authz::rbac::holds(&held, &permission);
    let verb = if allowed { "holds" } else { "lacks" };
    Ok(decided(
        allowed,
        format!("user {verb} permission {permission}"),
    ))
}

pub(super) fn evaluate(
    shard: &GroupHandle,
    reader: &OrgReader,
    principal: &Principal,
    evaluations: &[Evaluation],
) -> Result<Answer> {
    if evaluations.len() > MAX_EVALUATIONS {
        return Err(ClusterError::InvalidQuery {
            message: format!("at most {MAX_EVALUATIONS} evaluations per request"),
        });
    }
    let all_own = evaluations.iter().all(|e| own(principal, e));
    if !all_own && !may_ask_about_others(shard, reader, principal)? {
        return Err(ClusterError::authz(
            AuthzCode::InsufficientPermissions,
            "evaluating access for another subject needs the authz:check scope or the authz.check permission",
        ));
    }
    let results = evaluations
        .iter()
        .map(|evaluation| evaluate_one(shard, reader, evaluation))
        .collect::<Result<Vec<_>>>()?;
    Ok(Answer::Evaluations(results))
}
