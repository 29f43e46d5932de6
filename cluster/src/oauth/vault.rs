//! The token vault on the protocol side, where the master key is: storing an agent's
//! upstream token sealed, and handing it to that agent only.

use serde_json::json;

use crate::access::{authenticate as authenticate_credential, authorize_access};
use crate::caller::Credential;
use crate::clock::Timestamp;
use crate::command::Op;
use crate::error::{ClusterError, Result};
use crate::model::{Family, VaultConnection};
use crate::protocol::{NewConnection, ProtocolReply};
use crate::tables::Table;

use super::runtime::ProtocolCtx;

fn context(id: &str) -> String {
    format!("vault:{id}")
}

pub(super) async fn store(
    ctx: &ProtocolCtx,
    credential: &Credential,
    new: NewConnection,
) -> Result<ProtocolReply> {
    let principal = authenticate_credential(&ctx.reader(), credential, ctx.now)?;
    authorize_access(&principal, Family::Agents, true)?;
    let sealed_token =
        ctx.runtime
            .seal_secret(ctx.org, &context(&new.id), new.access_token.as_bytes())?;
    let connection = VaultConnection {
        id: new.id.clone(),
        agent: crate::ids::AgentId(0),
        name: new.name,
        provider: new.provider,
        provider_label: new.provider_label,
        scopes: new.scopes,
        sealed_token,
        expires_at: new.expires_at,
        created_at: ctx.now,
    };
    ctx.propose(
        principal.kind,
        Op::CreateVaultConnection {
            agent: new.agent,
            connection,
        },
    )
    .await?;
    Ok(ProtocolReply::Done)
}

/// The upstream token of one of the calling agent's connections.
pub(super) fn token(
    ctx: &ProtocolCtx,
    credential: &Credential,
    connection_id: &str,
    user_id: Option<&str>,
) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let principal = authenticate_credential(&reader, credential, ctx.now)?;
    crate::access::runtime_caller(&principal)?;
    let agent = principal.agent().ok_or_else(|| ClusterError::Forbidden {
        message: "the token vault hands tokens to agents only".into(),
        required_scopes: Vec::new(),
        granted_scopes: principal.scopes.clone(),
    })?;
    let mut row = agent.0.to_be_bytes().to_vec();
    row.extend_from_slice(connection_id.as_bytes());
    let connection: VaultConnection = reader
        .get(Table::VaultConnection, &row)?
        .ok_or_else(|| ClusterError::not_found("connection", connection_id))?;
    if let Some(user) = user_id {
        return Err(ClusterError::conflict(
            "user_id",
            format!(
                "connection {connection_id} holds a machine grant only; no user-delegated grant of {user}"
            ),
        ));
    }
    if connection.expires_at.is_some_and(|at| at <= ctx.now) {
        return Err(ClusterError::conflict(
            "connection",
            format!(
                "the upstream token of {connection_id} expired and this vault holds no refresh token; an administrator must store a new one"
            ),
        ));
    }
    let plain =
        ctx.runtime
            .open_secret(ctx.org, &context(&connection.id), &connection.sealed_token)?;
    let access_token = String::from_utf8(plain)
        .map_err(|_| ClusterError::internal("a vault token is not text"))?;
    Ok(ProtocolReply::Document(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_at": connection.expires_at.map(Timestamp::to_rfc3339),
        "scopes": connection.scopes,
    })))
}
