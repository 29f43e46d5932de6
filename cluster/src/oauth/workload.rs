//! Workload attestation (`agents/{id}/attest`): a cloud workload's OIDC token, checked against
//! the agent's binding (issuer, subject, audience, signature by a key of the issuer's set,
//! expiry), is exchanged for an access token of the agent. Every refusal is the same generic
//! `workload_identity_failed` (the reason goes to the log only).

use serde_json::{Value, json};

use crate::clock::Timestamp;
use crate::command::AgentKey;
use crate::crypto::{Expected, verify_issuer_token};
use crate::error::{ClusterError, Result};
use crate::model::WorkloadBinding;
use crate::protocol::{ErrorCode, ProtocolReply};

use super::runtime::ProtocolCtx;

/// The one answer to every failed attestation.
pub fn failed() -> ClusterError {
    ClusterError::OAuth {
        error: ErrorCode::WorkloadIdentityFailed,
        description: "workload attestation failed".into(),
        status: 401,
    }
}

/// Checks `token` against `binding` with the issuer's `keys`; the reason when it fails.
pub fn verify_workload_token(
    token: &str,
    binding: &WorkloadBinding,
    keys: &[Value],
    now: Timestamp,
) -> std::result::Result<Value, String> {
    let expected = Expected {
        issuers: &[binding.issuer.as_str()],
        audience: binding.audience.as_str(),
    };
    let claims = verify_issuer_token(token, keys, &expected, now)?;
    if claims["sub"].as_str() != Some(binding.subject.as_str()) {
        return Err(format!("subject {} is not the bound one", claims["sub"]));
    }
    Ok(claims)
}

/// What the frontend needs to fetch the issuer's keys: the agent's binding.
pub(super) fn binding(ctx: &ProtocolCtx, agent: &AgentKey) -> Result<ProtocolReply> {
    let agent = crate::lookup::agent(&ctx.reader(), agent).map_err(|_| failed())?;
    let usable = agent.usable();
    let binding = agent.workload.filter(|_| usable).ok_or_else(failed)?;
    Ok(ProtocolReply::Document(json!({
        "issuer": binding.issuer,
        "jwks_uri": binding.jwks_uri,
    })))
}

/// Verifies the workload token and issues the agent's access token.
pub(super) async fn attest(
    ctx: &ProtocolCtx,
    issuer: &str,
    agent_key: &AgentKey,
    token: &str,
    keys: &[Value],
) -> Result<ProtocolReply> {
    let agent = crate::lookup::agent(&ctx.reader(), agent_key).map_err(|_| failed())?;
    let binding = agent
        .workload
        .clone()
        .filter(|_| agent.usable())
        .ok_or_else(failed)?;
    if let Err(reason) = verify_workload_token(token, &binding, keys, ctx.now) {
        tracing::info!(agent = %agent.agent_id, %reason, "workload attestation refused");
        return Err(failed());
    }
    let token = super::grants::agent_token::issue_attested(ctx, issuer, &agent).await?;
    let audience_generic = !binding.audience.contains(issuer)
        && !binding.audience.contains(&agent.agent_id)
        && !binding.audience.contains(&agent.client_id);
    Ok(ProtocolReply::Document(json!({
        "access_token": token.access_token,
        "token_type": "Bearer",
        "expires_in": token.expires_in,
        "scope": token.scope,
        "identity": {
            "provider": binding.provider,
            "subject": binding.subject,
            "issuer": binding.issuer,
            "audience_generic": audience_generic,
        },
    })))
}
