//! The token endpoint: one file per grant, the checks they share, and minting.

pub(super) mod agent_token;
mod authorization_code;
mod ciba;
mod client_credentials;
mod device_code;
pub(super) mod jit_token;
mod jwt_bearer;
mod mint;
mod poll;
mod refresh_token;
mod token_exchange;

use serde::de::DeserializeOwned;

use crate::crypto::secret_hash;
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::model::{OAuthClient, User};
use crate::protocol::{ClientAuth, ErrorCode, GrantType, ProtocolReply, TokenRequest};
use crate::tables::{OrgReader, Table};

use super::client_auth::{authenticate, authenticate_confidential, require_grant};
use super::runtime::ProtocolCtx;

/// Serves a token request with the grant it names.
pub(super) async fn token(
    ctx: &ProtocolCtx,
    issuer: &str,
    auth: &ClientAuth,
    request: TokenRequest,
) -> Result<ProtocolReply> {
    let response = match request {
        TokenRequest::MissingGrantType => {
            return Err(ClusterError::oauth(
                ErrorCode::InvalidRequest,
                "grant_type is required",
            ));
        }
        TokenRequest::Unsupported { grant_type } => {
            return Err(ClusterError::oauth(
                ErrorCode::UnsupportedGrantType,
                format!("grant_type {grant_type} is not supported"),
            ));
        }
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            let presented = authorization_code::Presented {
                code,
                redirect_uri,
                code_verifier,
            };
            authorization_code::redeem(ctx, issuer, auth, presented).await?
        }
        TokenRequest::RefreshToken {
            refresh_token,
            scopes,
        } => refresh_token::refresh(ctx, issuer, auth, refresh_token, scopes).await?,
        TokenRequest::ClientCredentials { scopes, resource } => {
            client_credentials::issue(ctx, issuer, auth, scopes, resource).await?
        }
        TokenRequest::DeviceCode { device_code } => {
            device_code::poll(ctx, issuer, auth, device_code).await?
        }
        TokenRequest::Ciba { auth_req_id } => ciba::poll(ctx, issuer, auth, auth_req_id).await?,
        TokenRequest::TokenExchange(exchange) => {
            token_exchange::exchange(ctx, issuer, auth, exchange).await?
        }
        TokenRequest::JwtBearer { assertion, scopes } => {
            jwt_bearer::issue(ctx, issuer, auth, assertion, scopes).await?
        }
    };
    Ok(ProtocolReply::Token(response))
}

/// The client asking for a `grant` token: authenticated, and registered for the grant.
fn grant_client(ctx: &ProtocolCtx, auth: &ClientAuth, grant: GrantType) -> Result<OAuthClient> {
    let client = authenticate(&ctx.reader(), auth, ctx.now)?;
    require_grant(&client, grant)?;
    Ok(client)
}

/// Like [`grant_client`], for grants public clients cannot use.
fn confidential_grant_client(
    ctx: &ProtocolCtx,
    auth: &ClientAuth,
    grant: GrantType,
) -> Result<OAuthClient> {
    let client = authenticate_confidential(&ctx.reader(), auth, ctx.now)?;
    require_grant(&client, grant)?;
    Ok(client)
}

/// A parameter the grant requires (`None` when it was missing or empty).
fn required<T>(value: Option<T>, name: &str) -> Result<T> {
    value.ok_or_else(|| {
        ClusterError::oauth(ErrorCode::InvalidRequest, format!("{name} is required"))
    })
}

/// The hash of a presented secret (code, refresh token, device code, ...) and the record
/// stored under it in `table`, if any.
fn presented<T: DeserializeOwned>(
    reader: &OrgReader,
    table: Table,
    secret: &str,
) -> Result<(String, Option<T>)> {
    let hash = secret_hash(secret);
    let record = reader.get::<T>(table, hash.as_bytes())?;
    Ok((hash, record))
}

/// The user a grant is for; deleted users end their grants.
fn load_user(ctx: &ProtocolCtx, id: UserId) -> Result<User> {
    ctx.reader()
        .get::<User>(Table::User, &id.to_bytes())?
        .ok_or_else(|| ClusterError::oauth(ErrorCode::InvalidGrant, "the user no longer exists"))
}
