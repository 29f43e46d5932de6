//! The userinfo endpoint (OpenID Connect Core section 5.3).

use serde_json::{Value, json};

use crate::error::{ClusterError, Result};
use crate::read::role_slugs;

use super::jwt::{VerifiedToken, verify_access_token};
use super::runtime::ProtocolCtx;
use super::user_claims::user_claims;
use crate::protocol::ProtocolReply;

/// `GET|POST ~/oauth/userinfo`: the claims of the token's user (or, for a client acting for
/// itself, the client).
pub(super) fn userinfo(ctx: &ProtocolCtx, token: &str) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let VerifiedToken {
        claims,
        user,
        agent,
        ..
    } = verify_access_token(&reader, token, ctx.now)?;
    let org = crate::lookup::load_org(&reader)?;
    let scopes = claims.scopes();
    if let (None, Some(agent)) = (&user, agent) {
        return Ok(ProtocolReply::Document(agent_claims(
            &agent,
            &claims.sub,
            &org.slug,
            ctx.now,
        )));
    }
    let Some(user) = user else {
        // A client acting for itself: describe the client.
        return Ok(ProtocolReply::Document(json!({
            "sub": claims.sub,
            "identity_type": "client",
            "client_id": claims.client_id,
            "tenant": org.slug,
        })));
    };
    if !scopes.iter().any(|s| s == "openid") {
        return Err(ClusterError::Forbidden {
            message: "userinfo needs a token with the openid scope".into(),
            required_scopes: vec!["openid".into()],
            granted_scopes: scopes,
        });
    }
    let mut doc = user_claims(&user, &scopes);
    doc.insert("sub".into(), json!(user.id.to_string()));
    doc.insert("tenant".into(), json!(org.slug));
    doc.insert("roles".into(), json!(role_slugs(&reader, user.id)?));
    if let Some(client_id) = claims.client_id {
        doc.insert("client_id".into(), json!(client_id));
    }
    Ok(ProtocolReply::Document(Value::Object(doc)))
}

/// What userinfo says about an agent: its identity, capabilities and budget, counted today.
fn agent_claims(
    agent: &crate::model::Agent,
    sub: &str,
    tenant: &str,
    now: crate::clock::Timestamp,
) -> Value {
    json!({
        "sub": sub,
        "identity_type": "agent",
        "agent_id": agent.agent_id,
        "client_id": agent.client_id,
        "name": agent.name,
        "tenant": tenant,
        "status": agent.status(),
        "capabilities": agent.capabilities,
        "workload_identity": agent.workload_identity,
        "budget_policy": {
            "max_tokens_per_day": agent.budget.max_tokens_per_day,
            "tokens_used_today": agent.usage.tokens_on(now),
        },
    })
}
