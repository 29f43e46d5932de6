//! `POST ~/admin/agents/{id}/token`: an admin mints an access token for an agent, with a
//! chosen lifetime and a subset of its capabilities (counted against its budget like any
//! token it is issued).

use crate::caller::Credential;
use crate::command::AgentKey;
use crate::error::{ClusterError, Result};
use crate::model::Family;
use crate::protocol::{ErrorCode, GrantType, TokenResponse};

use super::mint::{Mint, mint};
use crate::access::{authenticate as authenticate_credential, authorize_access};
use crate::oauth::runtime::ProtocolCtx;

/// What the admin asked for.
pub struct AgentTokenRequest {
    pub agent: AgentKey,
    /// A subset of the agent's capabilities; `None` for all of them.
    pub scopes: Option<Vec<String>>,
    pub ttl_secs: u64,
}

pub(in crate::oauth) async fn issue(
    ctx: &ProtocolCtx,
    issuer: &str,
    credential: &Credential,
    request: AgentTokenRequest,
) -> Result<TokenResponse> {
    let reader = ctx.reader();
    let principal = authenticate_credential(&reader, credential, ctx.now)?;
    authorize_access(&principal, Family::Agents, true)?;
    let agent = crate::lookup::agent(&reader, &request.agent)?;
    if !agent.usable() {
        return Err(ClusterError::invalid(
            "agentId",
            format!("agent {} is {}", agent.agent_id, agent.status()),
        ));
    }
    let scopes = match request.scopes {
        Some(asked) => {
            if let Some(missing) = asked.iter().find(|s| !agent.holds(s)) {
                return Err(ClusterError::oauth(
                    ErrorCode::InvalidScope,
                    format!("agent {} does not hold {missing}", agent.agent_id),
                ));
            }
            asked
        }
        None => agent.capabilities.clone(),
    };
    let mut input = agent_mint(ctx, &agent)?;
    input.scopes = scopes;
    input.access_ttl_secs = request.ttl_secs;
    input.test_token = true;
    mint(ctx, issuer, input).await
}

/// An agent's token after workload attestation: every capability, the client's lifetime.
pub(in crate::oauth) async fn issue_attested(
    ctx: &ProtocolCtx,
    issuer: &str,
    agent: &crate::model::Agent,
) -> Result<TokenResponse> {
    let mut input = agent_mint(ctx, agent)?;
    input.scopes = agent.capabilities.clone();
    mint(ctx, issuer, input).await
}

/// An agent's platform token (AAuth `platform-token`): `scopes`, already checked to be
/// among its capabilities, with its client's lifetime.
pub(in crate::oauth) async fn issue_platform(
    ctx: &ProtocolCtx,
    issuer: &str,
    agent: &crate::model::Agent,
    scopes: Vec<String>,
) -> Result<TokenResponse> {
    let mut input = agent_mint(ctx, agent)?;
    input.scopes = scopes;
    input.grant_type = GrantType::TokenExchange;
    mint(ctx, issuer, input).await
}

/// A client-credentials mint for `agent`'s client.
fn agent_mint(ctx: &ProtocolCtx, agent: &crate::model::Agent) -> Result<Mint> {
    let client = crate::lookup::client(
        &ctx.reader(),
        &crate::command::ClientKey::ClientId(agent.client_id.clone()),
    )?;
    Ok(Mint::for_client(&client, GrantType::ClientCredentials))
}
