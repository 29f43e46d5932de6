//! The hosted consent page's side: what a request token asks of the signed-in user, and
//! their answer (a single-use code sent to the agent's redirect URI, or `access_denied`).

use crate::command::{AAuthConsent, Op};
use crate::crypto::{random_token, secret_hash};
use crate::error::{ClusterError, Result};
use crate::lookup;
use crate::model::{AAuthEntity, PrincipalKind};
use crate::oauth::login::active_session;
use crate::oauth::runtime::ProtocolCtx;
use crate::protocol::ProtocolReply;

use super::tokens;

fn sign_in_first() -> ClusterError {
    ClusterError::Unauthenticated {
        message: "sign in to answer the agent".into(),
    }
}

pub fn view(ctx: &ProtocolCtx, cookie: &str, request_token: &str) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let session = active_session(&reader, cookie, ctx.now)?.ok_or_else(sign_in_first)?;
    let pending = lookup::aauth_pending(&reader, &secret_hash(request_token), ctx.now)?;
    let agent_name = lookup::agent(&reader, &crate::command::AgentKey::Id(pending.grant.agent))
        .map(|a| a.name)
        .unwrap_or_else(|_| pending.grant.agent_identifier.clone());
    let resource_name = match lookup::aauth_entity(&reader, &pending.grant.resource)? {
        Some(AAuthEntity::Resource(id)) => lookup::aauth_resource(&reader, &id)
            .map(|r| r.name)
            .unwrap_or_else(|_| pending.grant.resource.clone()),
        _ => pending.grant.resource.clone(),
    };
    Ok(ProtocolReply::AAuthConsent {
        agent_name,
        agent_identifier: pending.grant.agent_identifier,
        resource_name,
        scopes: pending.grant.scopes,
        user_email: session.user_email,
    })
}

pub async fn decide(
    ctx: &ProtocolCtx,
    cookie: &str,
    request_token: &str,
    approve: bool,
) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let session = active_session(&reader, cookie, ctx.now)?.ok_or_else(sign_in_first)?;
    let hash = secret_hash(request_token);
    let pending = lookup::aauth_pending(&reader, &hash, ctx.now)?;
    let redirect_uri = pending.redirect_uri.clone().unwrap_or_default();
    let code = random_token("aac_", 32);
    ctx.propose(
        PrincipalKind::User {
            id: session.user_id,
            email: session.user_email.clone(),
        },
        Op::DecideAAuthConsent(AAuthConsent {
            request_hash: hash,
            user: session.user_id,
            approve,
            code_hash: secret_hash(&code),
            code_expires: ctx.now.plus_millis(tokens::CODE_TTL_SECS * 1000),
        }),
    )
    .await?;
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let query = if approve {
        format!("code={}", crate::oauth::urlencode(&code))
    } else {
        "error=access_denied".to_string()
    };
    Ok(ProtocolReply::Redirect(format!(
        "{redirect_uri}{separator}{query}"
    )))
}
