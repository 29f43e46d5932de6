//! The device authorization grant's token request (RFC 8628 section 3.4): a device polls with
//! its device code until the user decides.

use crate::command::Consume;
use crate::error::{ClusterError, Result};
use crate::model::DeviceGrant;
use crate::protocol::{ClientAuth, ErrorCode, GrantType, TokenResponse};
use crate::tables::Table;

use super::mint::{Mint, mint};
use super::poll::Poll;
use super::{grant_client, load_user, presented, required};
use crate::oauth::runtime::ProtocolCtx;
use crate::oauth::scope_checks::entitled;

/// Tokens for an approved device code, or the error that says why not yet.
pub(super) async fn poll(
    ctx: &ProtocolCtx,
    issuer: &str,
    auth: &ClientAuth,
    device_code: Option<String>,
) -> Result<TokenResponse> {
    let reader = ctx.reader();
    let client = grant_client(ctx, auth, GrantType::DeviceCode)?;
    let device_code = required(device_code, "device_code")?;
    let (hash, grant) = presented::<DeviceGrant>(&reader, Table::DeviceGrant, &device_code)?;
    let grant = grant
        .filter(|g| g.client_id == client.client_id)
        .ok_or_else(|| {
            ClusterError::oauth(ErrorCode::InvalidGrant, "the device code is invalid")
        })?;
    let poll = Poll {
        hash: &hash,
        what: "device code",
        expires_at: grant.expires_at,
        interval_secs: grant.interval_secs,
    };
    let (user_id, session_id) = poll.approval(ctx, &grant.state)?;
    let user = load_user(ctx, user_id)?;
    let mut input = Mint::for_client(&client, GrantType::DeviceCode);
    input.scopes = entitled(&reader, user.id, grant.scopes)?;
    input.id_token = input.scopes.iter().any(|s| s == "openid");
    input.refresh = client.allows_grant(GrantType::RefreshToken.as_str());
    input.user = Some(user);
    input.consume = Some(Consume::Device(hash));
    input.session_id = session_id;
    input.auth_time = Some(ctx.now);
    mint(ctx, issuer, input).await
}
