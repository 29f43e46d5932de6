//! The hosted JIT review page's side: a signed-in user holding the `jit:approve` (or
//! `jit.approve`) permission sees the org's pending JIT requests and decides them, under the
//! same rules as reviewers with tokens (`apply::jit::decide`).

use crate::command::{AgentKey, JitDecision, Op};
use crate::error::{ClusterError, Result};
use crate::model::{LoginSession, PrincipalKind};
use crate::protocol::{JitReviewView, ProtocolReply};
use crate::tables::OrgReader;

use super::login::active_session;
use super::runtime::ProtocolCtx;

/// Permissions that make a signed-in user a reviewer.
const REVIEW_PERMISSIONS: [&str; 2] = ["jit:approve", "jit.approve"];

/// The session's user, when they may review.
fn reviewer(reader: &OrgReader, cookie: &str, ctx: &ProtocolCtx) -> Result<LoginSession> {
    let session =
        active_session(reader, cookie, ctx.now)?.ok_or_else(|| ClusterError::Unauthenticated {
            message: "sign in to review JIT requests".into(),
        })?;
    let held = crate::authz::rbac::effective_permissions(reader, session.user_id)?;
    if !REVIEW_PERMISSIONS
        .iter()
        .any(|p| crate::authz::rbac::holds(&held, p))
    {
        return Err(ClusterError::Forbidden {
            message: "reviewing JIT requests needs the jit:approve permission".into(),
            required_scopes: vec!["jit:approve".into()],
            granted_scopes: Vec::new(),
        });
    }
    Ok(session)
}

pub(super) fn pending(ctx: &ProtocolCtx, cookie: &str) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    reviewer(&reader, cookie, ctx)?;
    let views = crate::lookup::pending_jit_requests(&reader, ctx.now)?
        .into_iter()
        .map(|r| JitReviewView {
            agent_name: crate::lookup::agent(&reader, &AgentKey::Id(r.agent))
                .map(|a| a.name)
                .unwrap_or_else(|_| "a removed agent".into()),
            id: r.id,
            task_id: r.task_id,
            risk: r.risk.as_str().to_string(),
            authorization_details: r.authorization_details,
            justification: r.justification,
            requested_ttl: r.requested_ttl,
        })
        .collect();
    Ok(ProtocolReply::JitReview(views))
}

pub(super) async fn decide(
    ctx: &ProtocolCtx,
    cookie: &str,
    request_id: &str,
    approve: bool,
) -> Result<ProtocolReply> {
    let session = reviewer(&ctx.reader(), cookie, ctx)?;
    let decision = JitDecision {
        request_id: request_id.to_string(),
        approve,
        ttl: None,
        notes: None,
        agent_message: None,
        reason: None,
    };
    let actor = PrincipalKind::User {
        id: session.user_id,
        email: session.user_email.clone(),
    };
    ctx.propose_as(
        actor,
        vec!["jit:approve".into()],
        Op::DecideJitRequest(decision),
    )
    .await?;
    Ok(ProtocolReply::Done)
}
