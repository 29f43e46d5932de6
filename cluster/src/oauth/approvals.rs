//! The hosted approvals page's side: the signed-in user's pending agent approvals, and their
//! answer.

use crate::command::Op;
use crate::error::{ClusterError, Result};
use crate::model::{AgentApproval, PrincipalKind};
use crate::protocol::{ApprovalView, ProtocolReply};
use crate::tables::Table;

use super::login::active_session;
use super::runtime::ProtocolCtx;

fn sign_in_first() -> ClusterError {
    ClusterError::Unauthenticated {
        message: "sign in to see the approvals waiting for you".into(),
    }
}

pub(super) fn pending(ctx: &ProtocolCtx, cookie: &str) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let session = active_session(&reader, cookie, ctx.now)?.ok_or_else(sign_in_first)?;
    let mut waiting = Vec::new();
    reader.scan::<AgentApproval>(Table::AgentApproval, &[], false, |_, a| {
        if a.user == session.user_id && a.status_at(ctx.now) == "pending" {
            waiting.push(a);
        }
        true
    })?;
    let mut views = Vec::with_capacity(waiting.len());
    for approval in waiting {
        let agent_name =
            crate::lookup::agent(&reader, &crate::command::AgentKey::Id(approval.agent))
                .map(|a| a.name)
                .unwrap_or_else(|_| "a removed agent".into());
        views.push(ApprovalView {
            token: approval.token,
            agent_name,
            task_id: approval.task_id,
            reason: approval.reason,
            impact: approval.impact.as_str().to_string(),
            meta: approval.meta,
            expires_at: approval.expires_at,
        });
    }
    Ok(ProtocolReply::Approvals(views))
}

pub(super) async fn decide(
    ctx: &ProtocolCtx,
    cookie: &str,
    token: &str,
    approve: bool,
) -> Result<ProtocolReply> {
    let session = active_session(&ctx.reader(), cookie, ctx.now)?.ok_or_else(sign_in_first)?;
    ctx.propose(
        PrincipalKind::User {
            id: session.user_id,
            email: session.user_email.clone(),
        },
        Op::DecideApproval {
            token: token.to_string(),
            user: session.user_id,
            approve,
        },
    )
    .await?;
    Ok(ProtocolReply::Done)
}
