//! Reads of JIT requests: one request (its agent or a reviewer), and the reviewers' queue.

use crate::clock::Timestamp;
use crate::error::{ClusterError, Result};
use crate::model::{AgentApproval, JitRequest, JitTask, Principal, User};
use crate::query::{Page, PageParams, Reply};
use crate::tables::{OrgReader, Table};

fn reviewers_only(principal: &Principal) -> ClusterError {
    ClusterError::Forbidden {
        message: "Insufficient scope: the JIT review queue needs a user token with jit:approve (agents are refused)".into(),
        required_scopes: vec!["jit:approve".into()],
        granted_scopes: principal.scopes.clone(),
    }
}

pub(super) fn request(reader: &OrgReader, principal: &Principal, id: &str) -> Result<Reply> {
    let request: JitRequest = reader
        .get(Table::JitRequest, id.as_bytes())?
        .ok_or_else(|| ClusterError::not_found("JIT request", id))?;
    let own = principal.agent() == Some(request.agent);
    if !own && !principal.reviews_jit() {
        // Another agent's request is not found, like an unknown one.
        return Err(ClusterError::not_found("JIT request", id));
    }
    Ok(Reply::JitRequest(request))
}

pub(super) fn pending(
    reader: &OrgReader,
    principal: &Principal,
    page: PageParams,
    now: Timestamp,
) -> Result<Reply> {
    if !principal.reviews_jit() {
        return Err(reviewers_only(principal));
    }
    let pending = crate::lookup::pending_jit_requests(reader, now)?;
    Ok(Reply::JitRequests(Page::of(pending, page)))
}

pub(super) fn task(reader: &OrgReader, principal: &Principal, id: &str) -> Result<Reply> {
    let task: JitTask = reader
        .get(Table::JitTask, id.as_bytes())?
        .filter(|t: &JitTask| principal.agent() == Some(t.agent) || principal.reviews_jit())
        .ok_or_else(|| ClusterError::not_found("task", id))?;
    let agent = crate::lookup::agent(reader, &crate::command::AgentKey::Id(task.agent))?;
    let on_behalf_of = match task.on_behalf_of {
        Some(user) => reader
            .get::<User>(Table::User, &user.to_bytes())?
            .map(|u| u.email),
        None => None,
    };
    Ok(Reply::JitTask {
        task,
        agent_id: agent.agent_id,
        agent_name: agent.name,
        on_behalf_of,
    })
}

pub(super) fn approval(reader: &OrgReader, principal: &Principal, token: &str) -> Result<Reply> {
    reader
        .get::<AgentApproval>(Table::AgentApproval, token.as_bytes())?
        .filter(|a| principal.agent() == Some(a.agent))
        .map(Reply::Approval)
        .ok_or_else(|| ClusterError::not_found("approval", token))
}
