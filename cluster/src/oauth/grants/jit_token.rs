//! `POST ~/jit/request/{id}/token`: the agent that made an approved JIT request exchanges it for
//! a short-lived token carrying the granted `authorization_details` (RFC 8693 + RFC 9396). The
//! grant is checked again in apply, with the token recorded against it, so finishing the task
//! revokes the token in the same entry.

use crate::caller::Credential;
use crate::error::{ClusterError, Result};
use crate::model::{JitRequest, Principal};
use serde_json::json;

use crate::protocol::{GrantType, ProtocolReply, TokenType};
use crate::tables::Table;

use super::mint::{JitGrant, Mint, mint};
use crate::access::authenticate as authenticate_credential;
use crate::oauth::runtime::ProtocolCtx;

fn not_found(id: &str) -> ClusterError {
    ClusterError::not_found("JIT request", id)
}

/// Issues the grant's token: the token response with the grant it carries.
pub(in crate::oauth) async fn issue(
    ctx: &ProtocolCtx,
    issuer: &str,
    credential: &Credential,
    request_id: &str,
) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let principal: Principal = authenticate_credential(&reader, credential, ctx.now)?;
    let request: JitRequest = reader
        .get(Table::JitRequest, request_id.as_bytes())?
        .ok_or_else(|| not_found(request_id))?;
    if principal.agent() != Some(request.agent) {
        return Err(not_found(request_id));
    }
    if !request.grant_usable(ctx.now) {
        return Err(ClusterError::Forbidden {
            message: format!(
                "JIT request {request_id} is {}: only an approved, unexpired grant gets a token",
                request.status_at(ctx.now)
            ),
            required_scopes: Vec::new(),
            granted_scopes: principal.scopes.clone(),
        });
    }
    let agent = crate::lookup::agent(&reader, &crate::command::AgentKey::Id(request.agent))?;
    let client = crate::lookup::client(
        &reader,
        &crate::command::ClientKey::ClientId(agent.client_id.clone()),
    )?;
    let details: serde_json::Value = serde_json::from_str(&request.authorization_details)
        .map_err(|e| ClusterError::internal(format!("stored authorization_details: {e}")))?;
    let remaining = request
        .grant_expires_at
        .map_or(0, |end| ((end.0 - ctx.now.0).max(0) / 1000) as u64);
    let mut input = Mint::for_client(&client, GrantType::TokenExchange);
    input.access_ttl_secs = request.granted_ttl.unwrap_or(0).min(remaining).max(1);
    input.issued_token_type = Some(TokenType::AccessToken);
    input.jit = Some(JitGrant {
        request_id: request.id.clone(),
        task_id: request.task_id.clone(),
        authorization_details: details.clone(),
    });
    let token = mint(ctx, issuer, input).await?;
    Ok(ProtocolReply::Document(json!({
        "access_token": token.access_token,
        "token_type": token.token_type,
        "expires_in": token.expires_in,
        "issued_token_type": token.issued_token_type,
        "authorization_details": details,
        "task_id": request.task_id,
        "jit_request_id": request.id,
    })))
}
