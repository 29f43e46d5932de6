//! JIT permissions: tasks, requests (low risk approved at once), reviewer decisions, grant
//! tokens, and finishing a task, which ends every grant made in it (the tokens are revoked in
//! the same entry, so once the call returns no replica honours them).

use serde_json::json;

use crate::clock::Timestamp;
use crate::command::{CommandMeta, FinishTask, JitDecision, JitIssuance, NewJitRequest, NewTask};
use crate::error::{ClusterError, Result};
use crate::ids::AgentId;
use crate::lookup;
use crate::model::{
    AuditEvent, JitRequest, JitTask, MAX_JIT_TTL_SECS, RequestStatus, RiskLevel, TaskStatus,
};
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;

fn acting_agent(meta: &CommandMeta) -> Result<AgentId> {
    meta.actor.agent().ok_or_else(|| ClusterError::Forbidden {
        message: "JIT tasks and requests are made by agents (an agent token, agent key, or a user token delegated to an agent)".into(),
        required_scopes: Vec::new(),
        granted_scopes: meta.actor.scopes.clone(),
    })
}

fn load_task(tx: &OrgTx, id: &str) -> Result<JitTask> {
    tx.get(Table::JitTask, id.as_bytes())?
        .ok_or_else(|| ClusterError::not_found("task", id))
}

fn load_request(tx: &OrgTx, id: &str) -> Result<JitRequest> {
    tx.get(Table::JitRequest, id.as_bytes())?
        .ok_or_else(|| ClusterError::not_found("JIT request", id))
}

/// The task `id` of `agent` (another agent's task is not found, like an unknown one).
fn own_task(tx: &OrgTx, id: &str, agent: AgentId) -> Result<JitTask> {
    let task = load_task(tx, id)?;
    if task.agent != agent {
        return Err(ClusterError::not_found("task", id));
    }
    Ok(task)
}

fn save_task(tx: &mut OrgTx, task: &JitTask) -> Result<()> {
    tx.put(Table::JitTask, task.id.as_bytes(), task)
}

fn save_request(tx: &mut OrgTx, request: &JitRequest) -> Result<()> {
    tx.put(Table::JitRequest, request.id.as_bytes(), request)
}

fn refused(message: impl Into<String>) -> ClusterError {
    ClusterError::invalid("request", message)
}

pub(super) fn create_task(tx: &mut OrgTx, meta: &CommandMeta, new: &NewTask) -> Result<Applied> {
    let agent_id = acting_agent(meta)?;
    let agent = lookup::agent(tx, &crate::command::AgentKey::Id(agent_id))?;
    if !agent.usable() {
        return Err(ClusterError::Unauthenticated {
            message: format!("the agent is {}", agent.status()),
        });
    }
    let delegated = match &meta.actor.kind {
        crate::model::PrincipalKind::User { id, .. } => Some(*id),
        _ => None,
    };
    let on_behalf_of = match (&new.on_behalf_of, delegated) {
        (Some(key), _) => {
            let user = lookup::user(tx, key)?;
            if delegated.is_some_and(|d| d != user.id) {
                return Err(ClusterError::Forbidden {
                    message: "a delegated token acts for its own user only".into(),
                    required_scopes: Vec::new(),
                    granted_scopes: meta.actor.scopes.clone(),
                });
            }
            Some(user.id)
        }
        (None, delegated) => delegated,
    };
    if let Some(parent) = &new.parent_task_id {
        let parent = own_task(tx, parent, agent_id)?;
        if !parent.is_live(meta.at) {
            return Err(refused(format!("parent task {} is not active", parent.id)));
        }
    }
    if tx.exists(Table::JitTask, new.id.as_bytes())? {
        return Err(ClusterError::conflict("task_id", "task id already used"));
    }
    let task = JitTask {
        id: new.id.clone(),
        agent: agent_id,
        name: new.name.clone(),
        kind: new.kind.clone(),
        parent_task_id: new.parent_task_id.clone(),
        on_behalf_of,
        caep_session_id: new.caep_session_id.clone(),
        status: TaskStatus::Active,
        created_at: meta.at,
        expires_at: new.expires_at,
        finished_at: None,
        requests: Vec::new(),
    };
    save_task(tx, &task)?;
    let event = AuditEvent::new(
        "jit",
        "jit.task_created",
        format!("JIT task {} created", task.id),
    )
    .target("jit_task", &task.id, task.name.clone().unwrap_or_default())
    .new_value(json!({
        "agentId": agent.agent_id,
        "onBehalfOf": task.on_behalf_of.map(|u| u.to_string()),
        "parentTaskId": task.parent_task_id,
    }));
    Ok((Outcome::Created(task.id), vec![event]))
}

/// Ends the grant of `request`: revokes its tokens and marks it revoked.
fn end_grant(tx: &mut OrgTx, meta: &CommandMeta, request: &mut JitRequest) -> Result<u64> {
    let mut revoked = 0;
    for jti in std::mem::take(&mut request.token_jtis) {
        let target = crate::command::RevokeTarget::AccessJti(jti);
        revoked += super::grants::revoke(tx, meta, &target)?.0;
    }
    if matches!(
        request.status,
        RequestStatus::Pending | RequestStatus::Approved
    ) {
        request.status = RequestStatus::Revoked;
    }
    save_request(tx, request)?;
    Ok(revoked)
}

pub(super) fn finish_task(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    finish: &FinishTask,
) -> Result<Applied> {
    let agent = acting_agent(meta)?;
    let mut task = own_task(tx, &finish.task_id, agent)?;
    let mut revoked = 0;
    for id in task.requests.clone() {
        let mut request = load_request(tx, &id)?;
        revoked += end_grant(tx, meta, &mut request)?;
    }
    if task.status == TaskStatus::Active {
        task.status = finish.status;
        task.finished_at = Some(meta.at);
    }
    save_task(tx, &task)?;
    let event = AuditEvent::new(
        "jit",
        "jit.task_finished",
        format!("JIT task {} {}", task.id, task.status.as_str()),
    )
    .target("jit_task", &task.id, task.name.clone().unwrap_or_default())
    .changes(json!({"status": task.status.as_str(), "revokedTokens": revoked}));
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn request_permission(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    new: &NewJitRequest,
) -> Result<Applied> {
    let agent = acting_agent(meta)?;
    let mut task = own_task(tx, &new.task_id, agent)?;
    if !task.is_live(meta.at) {
        return Err(refused(format!("task {} is not active", task.id)));
    }
    if new.requested_ttl == 0 || new.requested_ttl > MAX_JIT_TTL_SECS {
        return Err(ClusterError::invalid(
            "requested_ttl",
            format!("must be 1-{MAX_JIT_TTL_SECS} seconds"),
        ));
    }
    if tx.exists(Table::JitRequest, new.id.as_bytes())? {
        return Err(ClusterError::conflict(
            "request_id",
            "request id already used",
        ));
    }
    let auto = new.risk == RiskLevel::Low;
    let request = JitRequest {
        id: new.id.clone(),
        task_id: task.id.clone(),
        agent,
        on_behalf_of: task.on_behalf_of,
        authorization_details: new.authorization_details.clone(),
        justification: new.justification.clone(),
        callback_url: new.callback_url.clone(),
        requested_ttl: new.requested_ttl,
        risk: new.risk,
        status: if auto {
            RequestStatus::Approved
        } else {
            RequestStatus::Pending
        },
        created_at: meta.at,
        pending_until: new.pending_until,
        decided_at: auto.then_some(meta.at),
        decided_by: None,
        granted_ttl: auto.then_some(new.requested_ttl),
        grant_expires_at: auto.then(|| grant_end(meta.at, new.requested_ttl)),
        notes: None,
        agent_message: None,
        deny_reason: None,
        token_jtis: Vec::new(),
    };
    save_request(tx, &request)?;
    task.requests.push(request.id.clone());
    save_task(tx, &task)?;
    let action = if auto {
        "jit.request_auto_approved"
    } else {
        "jit.request_pending"
    };
    let event = AuditEvent::new("jit", action, format!("JIT request {} ({} risk)", request.id, request.risk.as_str()))
        .target("jit_request", &request.id, task.id.clone())
        .new_value(json!({
            "authorizationDetails": super::clients::json_text("authorization_details", &request.authorization_details)?,
            "risk": request.risk.as_str(),
            "requestedTtl": request.requested_ttl,
        }));
    Ok((Outcome::Created(request.id), vec![event]))
}

fn grant_end(at: Timestamp, ttl: u64) -> Timestamp {
    at.plus_millis((ttl as i64) * 1000)
}

pub(super) fn decide(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    decision: &JitDecision,
) -> Result<Applied> {
    if !meta.actor.reviews_jit() {
        return Err(ClusterError::Forbidden {
            message:
                "Insufficient scope: reviewing JIT requests needs a user token with jit:approve"
                    .into(),
            required_scopes: vec!["jit:approve".into()],
            granted_scopes: meta.actor.scopes.clone(),
        });
    }
    let crate::model::PrincipalKind::User { id: reviewer, .. } = meta.actor.kind else {
        return Err(ClusterError::internal("a reviewer is a user"));
    };
    let mut request = load_request(tx, &decision.request_id)?;
    let agent = lookup::agent(tx, &crate::command::AgentKey::Id(request.agent))?;
    if request.on_behalf_of == Some(reviewer) || agent.registered_by == Some(reviewer) {
        return Err(ClusterError::Forbidden {
            message:
                "a reviewer may not decide a request made for them or by an agent they registered"
                    .into(),
            required_scopes: Vec::new(),
            granted_scopes: meta.actor.scopes.clone(),
        });
    }
    match request.status_at(meta.at) {
        "pending" => {}
        "expired" => {
            return Err(ClusterError::Gone {
                message: format!("JIT request {} expired before it was decided", request.id),
            });
        }
        other => {
            return Err(ClusterError::conflict(
                "status",
                format!("JIT request {} is already {other}", request.id),
            ));
        }
    }
    request.decided_at = Some(meta.at);
    request.decided_by = Some(reviewer);
    request.notes = decision.notes.clone();
    request.agent_message = decision.agent_message.clone();
    let action = if decision.approve {
        let ttl = decision.ttl.unwrap_or(request.requested_ttl);
        if ttl == 0 || ttl > MAX_JIT_TTL_SECS {
            return Err(ClusterError::invalid(
                "ttl",
                format!("must be 1-{MAX_JIT_TTL_SECS} seconds"),
            ));
        }
        request.status = RequestStatus::Approved;
        request.granted_ttl = Some(ttl);
        request.grant_expires_at = Some(grant_end(meta.at, ttl));
        "jit.request_approved"
    } else {
        request.status = RequestStatus::Denied;
        request.deny_reason = decision.reason.clone();
        "jit.request_denied"
    };
    save_request(tx, &request)?;
    let event = AuditEvent::new(
        "jit",
        action,
        format!("JIT request {} {}", request.id, request.status_at(meta.at)),
    )
    .target("jit_request", &request.id, request.task_id.clone())
    .changes(json!({"grantedTtl": request.granted_ttl, "hasNotes": request.notes.is_some()}));
    Ok((Outcome::Done, vec![event]))
}

/// Records a token for an approved grant whose task is live, then issues it.
pub(super) fn issue_token(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    issued: &JitIssuance,
) -> Result<Applied> {
    let mut request = load_request(tx, &issued.request_id)?;
    let task = load_task(tx, &request.task_id)?;
    if !request.grant_usable(meta.at) || !task.is_live(meta.at) {
        return Err(ClusterError::oauth(
            crate::protocol::ErrorCode::InvalidGrant,
            format!(
                "JIT request {} has no usable grant ({})",
                request.id,
                request.status_at(meta.at)
            ),
        ));
    }
    request.token_jtis.push(issued.issuance.access.jti.clone());
    save_request(tx, &request)?;
    super::grants::issue_tokens(tx, meta, &issued.issuance)
}
