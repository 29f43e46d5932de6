//! The CIBA grant's token request in poll mode (OpenID CIBA Core section 10.1): the client
//! polls with its `auth_req_id` until the user decides.

use crate::command::Consume;
use crate::error::{ClusterError, Result};
use crate::model::CibaRequest;
use crate::protocol::{ClientAuth, ErrorCode, GrantType, TokenResponse};
use crate::tables::Table;

use super::mint::{Mint, mint};
use super::poll::Poll;
use super::{confidential_grant_client, load_user, presented, required};
use crate::oauth::runtime::ProtocolCtx;
use crate::oauth::scope_checks::entitled;

/// Tokens for an approved backchannel request, or the error that says why not yet.
pub(super) async fn poll(
    ctx: &ProtocolCtx,
    issuer: &str,
    auth: &ClientAuth,
    auth_req_id: Option<String>,
) -> Result<TokenResponse> {
    let reader = ctx.reader();
    let client = confidential_grant_client(ctx, auth, GrantType::Ciba)?;
    let auth_req_id = required(auth_req_id, "auth_req_id")?;
    let (hash, request) = presented::<CibaRequest>(&reader, Table::CibaRequest, &auth_req_id)?;
    let request = request
        .filter(|r| r.client_id == client.client_id)
        .ok_or_else(|| {
            ClusterError::oauth(ErrorCode::InvalidGrant, "the auth_req_id is invalid")
        })?;
    let poll = Poll {
        hash: &hash,
        what: "request",
        expires_at: request.expires_at,
        interval_secs: request.interval_secs,
    };
    poll.approval(ctx, &request.state)?;
    let user = load_user(ctx, request.user_id)?;
    let mut input = Mint::for_client(&client, GrantType::Ciba);
    input.scopes = entitled(&reader, user.id, request.scopes)?;
    input.id_token = true;
    input.refresh = client.allows_grant(GrantType::RefreshToken.as_str());
    input.user = Some(user);
    input.consume = Some(Consume::Ciba(hash));
    input.auth_time = Some(ctx.now);
    mint(ctx, issuer, input).await
}
