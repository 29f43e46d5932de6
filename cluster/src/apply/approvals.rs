//! Push approvals: an agent asks the user it acts for; the user answers on the hosted page.

use serde_json::json;

use crate::command::{CommandMeta, NewApproval};
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::model::{AgentApproval, AgentApprovalStatus, AuditEvent, LoginSession};
use crate::protocol::ErrorCode;
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;

/// True when `user` has a signed-in browser session (the device approvals appear on).
fn has_device(tx: &OrgTx, user: UserId, meta: &CommandMeta) -> Result<bool> {
    let mut found = false;
    tx.reader()
        .scan::<LoginSession>(Table::Session, &[], false, |_, s| {
            found = s.user_id == user && s.is_active(meta.at);
            !found
        })?;
    Ok(found)
}

pub(super) fn create(tx: &mut OrgTx, meta: &CommandMeta, new: &NewApproval) -> Result<Applied> {
    let agent = meta.actor.agent().ok_or_else(|| ClusterError::Forbidden {
        message: "approvals are requested by agents".into(),
        required_scopes: Vec::new(),
        granted_scopes: meta.actor.scopes.clone(),
    })?;
    let user = match crate::lookup::user(tx, &new.on_behalf_of) {
        Ok(user) if user.is_active && !user.blocked => user,
        Ok(_) | Err(ClusterError::NotFound { .. }) => {
            return Ok((Outcome::ApprovalNotDelivered, Vec::new()));
        }
        Err(e) => return Err(e),
    };
    if !has_device(tx, user.id, meta)? {
        return Err(ClusterError::OAuth {
            error: ErrorCode::NoEnrolledDevice,
            description: format!(
                "{} has no signed-in device to approve on: they must sign in to the hosted approvals page first",
                user.email
            ),
            status: 428,
        });
    }
    if tx.exists(Table::AgentApproval, new.token.as_bytes())? {
        return Err(ClusterError::conflict(
            "approval_token",
            "token already used",
        ));
    }
    let approval = AgentApproval {
        token: new.token.clone(),
        agent,
        user: user.id,
        task_id: new.task_id.clone(),
        reason: new.reason.clone(),
        impact: new.impact,
        meta: new.meta.clone(),
        status: AgentApprovalStatus::Pending,
        created_at: meta.at,
        expires_at: new.expires_at,
        responded_at: None,
    };
    tx.put(Table::AgentApproval, approval.token.as_bytes(), &approval)?;
    let event = AuditEvent::new(
        "agent",
        "agent.approval_requested",
        format!("approval asked of {}: {}", user.email, approval.reason),
    )
    .target("user", user.id, user.email.clone())
    .new_value(json!({"taskId": approval.task_id, "impact": approval.impact.as_str()}));
    Ok((Outcome::Created(approval.token), vec![event]))
}

pub(super) fn decide(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    token: &str,
    user: UserId,
    approve: bool,
) -> Result<Applied> {
    let mut approval: AgentApproval = tx
        .get(Table::AgentApproval, token.as_bytes())?
        .filter(|a: &AgentApproval| a.user == user)
        .ok_or_else(|| ClusterError::not_found("approval", token))?;
    match approval.status_at(meta.at) {
        "pending" => {}
        "expired" => {
            return Err(ClusterError::Gone {
                message: "this approval request expired".into(),
            });
        }
        other => {
            return Err(ClusterError::conflict(
                "approval",
                format!("this approval was already {other}"),
            ));
        }
    }
    approval.status = if approve {
        AgentApprovalStatus::Approved
    } else {
        AgentApprovalStatus::Denied
    };
    approval.responded_at = Some(meta.at);
    tx.put(Table::AgentApproval, token.as_bytes(), &approval)?;
    let action = if approve {
        "agent.approval_approved"
    } else {
        "agent.approval_denied"
    };
    let event = AuditEvent::new(
        "agent",
        action,
        format!("approval {}", approval.status_at(meta.at)),
    )
    .target("agent_approval", &approval.task_id, approval.reason.clone());
    Ok((Outcome::Done, vec![event]))
}
