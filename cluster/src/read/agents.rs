//! Reads of the AI agents family: the admin list and detail, and `agents/me`.

use crate::command::AgentKey;
use crate::error::{ClusterError, Result};
use crate::lookup;
use crate::model::{Agent, Principal, PrincipalKind};
use crate::query::{ListParams, Reply};
use crate::tables::{OrgReader, Table};

use super::page::{bool_filter, matches, paginate, sort_field};

pub(super) fn get(reader: &OrgReader, key: &AgentKey) -> Result<Reply> {
    Ok(Reply::Agent(lookup::agent(reader, key)?))
}

pub(super) fn list(reader: &OrgReader, params: &ListParams) -> Result<Reply> {
    let sort = sort_field(&params.sort_by, &["createdAt", "name"], "createdAt")?;
    let enabled = bool_filter(&params.filters, "enabled")?;
    let status = params.filters.get("status");
    let mut agents = Vec::new();
    reader.scan::<Agent>(Table::Agent, &[], false, |_, agent| {
        let keep = matches(
            &params.search,
            &[
                Some(&agent.name),
                Some(&agent.agent_id),
                Some(&agent.client_id),
            ],
        ) && enabled.is_none_or(|e| agent.enabled == e)
            && status.is_none_or(|s| agent.status() == s);
        if keep {
            agents.push(agent);
        }
        true
    })?;
    if sort == "name" {
        agents.sort_by_key(|a| a.name.to_lowercase());
    }
    if params.sort_desc == Some(true) {
        agents.reverse();
    }
    Ok(Reply::Agents(paginate(agents, params.page)))
}

/// `agents/me`: the agent behind the credential, or a user (whose capabilities are their
/// permissions when the token carries `authz:read`), or a client acting for itself; API keys
/// are none of these.
pub(super) fn me(reader: &OrgReader, principal: &Principal) -> Result<Reply> {
    match &principal.kind {
        PrincipalKind::Agent { id, .. } => {
            let agent = lookup::agent(reader, &AgentKey::Id(*id))?;
            Ok(Reply::AgentMe {
                subject_type: "agent".into(),
                id: agent.agent_id.clone(),
                agent: Some(agent),
                capabilities: None,
            })
        }
        PrincipalKind::User { id, .. } => {
            let reads = ["authz:read", "admin"]
                .iter()
                .any(|s| principal.scopes.iter().any(|g| g == s));
            let capabilities = if reads {
                super::effective_permissions(reader, *id)?
            } else {
                Vec::new()
            };
            Ok(Reply::AgentMe {
                subject_type: "user".into(),
                id: id.to_string(),
                agent: None,
                capabilities: Some(capabilities),
            })
        }
        // A client acting for itself is an identity too, with no capabilities.
        PrincipalKind::Client { client_id, .. } => Ok(Reply::AgentMe {
            subject_type: "client".into(),
            id: client_id.clone(),
            agent: None,
            capabilities: Some(Vec::new()),
        }),
        _ => Err(ClusterError::Unauthenticated {
            message: format!(
                "agents/me describes agent, user and client tokens; a credential of type {} is none",
                principal.actor_type()
            ),
        }),
    }
}

/// An agent's token vault connections.
pub(super) fn connections(reader: &OrgReader, agent: &Agent) -> Result<Reply> {
    let mut connections = Vec::new();
    reader.scan::<crate::model::VaultConnection>(
        Table::VaultConnection,
        &agent.id.0.to_be_bytes(),
        false,
        |_, c| {
            connections.push(c);
            true
        },
    )?;
    Ok(Reply::Connections {
        agent: agent.clone(),
        connections,
    })
}
