//! The refresh token grant (RFC 6749 section 6): rotation, narrowing, and admin scopes judged
//! again on every refresh.

use crate::command::Consume;
use crate::error::{ClusterError, Result};
use crate::model::{AdminScope, RefreshTokenRecord};
use crate::protocol::{ClientAuth, ErrorCode, GrantType, TokenResponse};
use crate::tables::Table;

use super::mint::{Mint, mint};
use super::{grant_client, load_user, presented, required};
use crate::oauth::runtime::ProtocolCtx;
use crate::oauth::scope_checks::{entitled, require_subset};

/// Exchanges a refresh token for new tokens (the presented one is rotated).
pub(super) async fn refresh(
    ctx: &ProtocolCtx,
    issuer: &str,
    auth: &ClientAuth,
    refresh_token: Option<String>,
    requested: Vec<String>,
) -> Result<TokenResponse> {
    let reader = ctx.reader();
    let client = grant_client(ctx, auth, GrantType::RefreshToken)?;
    let token = required(refresh_token, "refresh_token")?;
    let (hash, record) = presented::<RefreshTokenRecord>(&reader, Table::RefreshToken, &token)?;
    let record = record.ok_or_else(|| {
        ClusterError::oauth(ErrorCode::InvalidGrant, "the refresh token is invalid")
    })?;
    if record.client_id != client.client_id {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidGrant,
            "the refresh token was issued to another client",
        ));
    }
    require_subset(&requested, &record.scopes, "this refresh token")?;
    let mut scopes = if requested.is_empty() {
        record.scopes.clone()
    } else {
        requested
    };
    let user = match record.user_id {
        Some(id) => Some(load_user(ctx, id)?),
        None => None,
    };
    // Admin scopes are re-judged on every refresh: the client must still be allowed them and
    // the user still entitled (a demoted admin's next access token loses them).
    scopes.retain(|s| !AdminScope::is_known(s) || client.scopes.contains(s));
    if let Some(user) = &user {
        scopes = entitled(&reader, user.id, scopes)?;
    }
    let mut input = Mint::for_client(&client, GrantType::RefreshToken);
    if !record.audience.is_empty() {
        input.audience = record.audience.clone();
    }
    input.id_token = user.is_some() && scopes.iter().any(|s| s == "openid");
    input.scopes = scopes;
    input.user = user;
    input.grant_scopes = Some(record.scopes.clone());
    input.consume = Some(Consume::Refresh(hash));
    input.refresh = true;
    input.session_id = record.session_id;
    input.auth_time = record.auth_time;
    mint(ctx, issuer, input).await
}
