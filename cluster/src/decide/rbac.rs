//! RBAC questions: does a subject hold permissions, and the caller's own permissions.

use crate::authz::{Answer, Subject};
use crate::error::{AuthzCode, ClusterError, Result};
use crate::ids::UserId;
use crate::model::{Principal, PrincipalKind};
use crate::raft::GroupHandle;
use crate::tables::OrgReader;

/// Scopes that let a credential ask about any subject.
const CHECK_OTHERS_SCOPES: &[&str] = &["authz:check", "admin", "admin:read", "admin:write"];
/// The permission that lets a user ask about other subjects.
const CHECK_OTHERS_PERMISSION: &str = "authz.check";
/// Scopes that let a user token list its own permissions.
const READ_SCOPES: &[&str] = &["authz:read", "admin"];

fn subject_not_found(what: impl std::fmt::Display) -> ClusterError {
    ClusterError::authz(
        AuthzCode::SubjectNotFound,
        format!("{what} is not a subject of this organization"),
    )
}

/// Whether `principal` may ask about subjects other than itself.
pub(super) fn may_ask_about_others(
    shard: &GroupHandle,
    reader: &OrgReader,
    principal: &Principal,
) -> Result<bool> {
    if principal
        .scopes
        .iter()
        .any(|s| CHECK_OTHERS_SCOPES.contains(&s.as_str()))
    {
        return Ok(true);
    }
    match &principal.kind {
        PrincipalKind::User { id, .. } => holds(shard, reader, *id, CHECK_OTHERS_PERMISSION),
        _ => Ok(false),
    }
}

fn holds(shard: &GroupHandle, reader: &OrgReader, user: UserId, slug: &str) -> Result<bool> {
    shard.authz.with_org(reader, |org| {
        let held = org.permissions_of(reader, user)?;
        Ok(crate::authz::rbac::holds(&held, slug))
    })
}

fn insufficient() -> ClusterError {
    ClusterError::authz(
        AuthzCode::InsufficientPermissions,
        "asking about another subject needs the authz:check scope or the authz.check permission",
    )
}

/// Who an RBAC question is about.
enum Asked {
    User(UserId),
    /// An agent: its permissions are its capabilities.
    Agent(Box<crate::model::Agent>),
}

/// The subject a question is about: the named subject, else the caller (a user or an agent).
fn asked_subject(
    shard: &GroupHandle,
    reader: &OrgReader,
    principal: &Principal,
    subject: Option<&Subject>,
) -> Result<Asked> {
    let (caller_user, caller_agent) = match &principal.kind {
        PrincipalKind::User { id, .. } => (Some(*id), None),
        PrincipalKind::Agent { agent_id, .. } => (None, Some(agent_id.as_str())),
        _ => (None, None),
    };
    let asked = match subject {
        None => match (caller_user, caller_agent) {
            (Some(user), _) => Subject::User(user.to_string()),
            (None, Some(agent)) => Subject::Agent(agent.to_string()),
            (None, None) => {
                return Err(ClusterError::authz(
                    AuthzCode::MissingFields,
                    "subject is required when the credential is not a user's or an agent's",
                ));
            }
        },
        Some(subject) => subject.clone(),
    };
    match asked {
        Subject::Agent(text) => {
            if Some(text.as_str()) != caller_agent
                && !may_ask_about_others(shard, reader, principal)?
            {
                return Err(insufficient());
            }
            let key = text
                .parse::<crate::command::AgentKey>()
                .map_err(|_| subject_not_found(format_args!("agent {text}")))?;
            crate::lookup::agent(reader, &key)
                .map(|agent| Asked::Agent(Box::new(agent)))
                .map_err(|_| subject_not_found(format_args!("agent {text}")))
        }
        Subject::User(text) => {
            let id = text
                .parse::<UserId>()
                .map_err(|_| subject_not_found(format_args!("user {text}")))?;
            if Some(id) != caller_user && !may_ask_about_others(shard, reader, principal)? {
                return Err(insufficient());
            }
            // Whether the user exists is answered with its permissions (`permissions`).
            Ok(Asked::User(id))
        }
    }
}

/// Whether the subject holds each of `permissions`.
pub(super) fn permissions(
    shard: &GroupHandle,
    reader: &OrgReader,
    principal: &Principal,
    subject: Option<&Subject>,
    permissions: &[String],
) -> Result<Answer> {
    match asked_subject(shard, reader, principal, subject)? {
        Asked::User(user) => {
            let held = shard
                .authz
                .with_org(reader, |org| org.permissions_of_existing(reader, user))?
                .ok_or_else(|| subject_not_found(format_args!("user {user}")))?;
            let results = permissions
                .iter()
                .map(|asked| (asked.clone(), crate::authz::rbac::holds(&held, asked)))
                .collect();
            Ok(Answer::Permissions {
                subject_type: "user".into(),
                subject_id: user.to_string(),
                user_id: Some(user.to_string()),
                results,
            })
        }
        Asked::Agent(agent) => {
            // A switched-off agent holds nothing.
            let results = permissions
                .iter()
                .map(|asked| (asked.clone(), agent.usable() && agent.holds(asked)))
                .collect();
            Ok(Answer::Permissions {
                subject_type: "agent".into(),
                subject_id: agent.agent_id,
                user_id: None,
                results,
            })
        }
    }
}

/// The calling user's effective permissions (user tokens with `authz:read` only).
pub(super) fn my_permissions(
    shard: &GroupHandle,
    reader: &OrgReader,
    principal: &Principal,
) -> Result<Answer> {
    let refuse = || ClusterError::Forbidden {
        message: "Insufficient scope: listing your permissions needs a user token with authz:read"
            .into(),
        required_scopes: vec!["authz:read".into()],
        granted_scopes: principal.scopes.clone(),
    };
    let PrincipalKind::User { id, .. } = &principal.kind else {
        return Err(refuse());
    };
    if !principal
        .scopes
        .iter()
        .any(|s| READ_SCOPES.contains(&s.as_str()))
    {
        return Err(refuse());
    }
    let held = shard
        .authz
        .with_org(reader, |org| org.permissions_of(reader, *id))?;
    Ok(Answer::MyPermissions {
        user_id: id.to_string(),
        permissions: held.as_ref().clone(),
    })
}
