//! The authorization code grant (RFC 6749 section 4.1.3), with PKCE (RFC 7636).

use crate::command::Consume;
use crate::crypto::s256;
use crate::error::{ClusterError, Result};
use crate::model::{AuthCode, OAuthClient};
use crate::protocol::{ClientAuth, ErrorCode, GrantType, TokenResponse};
use crate::tables::Table;

use super::mint::{Mint, mint};
use super::{grant_client, load_user, presented, required};
use crate::oauth::runtime::ProtocolCtx;

/// What the client presents with the code.
pub(super) struct Presented {
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
}

fn invalid_grant(description: &str) -> ClusterError {
    ClusterError::oauth(ErrorCode::InvalidGrant, description)
}

/// Checks a PKCE `code_verifier` against the code's challenge (S256 only).
fn check_pkce(code: &AuthCode, verifier: Option<&str>) -> Result<()> {
    match (&code.code_challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            let well_formed = (43..=128).contains(&verifier.len())
                && verifier
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            if !well_formed || s256(verifier) != *challenge {
                return Err(invalid_grant(
                    "the code_verifier does not match the code_challenge",
                ));
            }
            Ok(())
        }
        (Some(_), None) => Err(invalid_grant(
            "code_verifier is required: the authorization request used PKCE",
        )),
        (None, Some(_)) => Err(invalid_grant(
            "code_verifier was sent but the authorization request had no code_challenge",
        )),
        (None, None) => Ok(()),
    }
}

/// The code's record, when it was issued to `client` for this redirect URI and verifier.
fn redeemable(
    ctx: &ProtocolCtx,
    client: &OAuthClient,
    presented_code: &Presented,
    code: &str,
) -> Result<(String, AuthCode)> {
    let (hash, record) = presented::<AuthCode>(&ctx.reader(), Table::AuthCode, code)?;
    let record = record.ok_or_else(|| invalid_grant("the authorization code is invalid"))?;
    if record.client_id != client.client_id {
        return Err(invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    // A redirect_uri sent must match; leaving it out is fine where PKCE binds the code to the
    // client instead (OAuth 2.1), not for a code obtained without PKCE.
    let redirect_ok = match &presented_code.redirect_uri {
        Some(sent) => *sent == record.redirect_uri,
        None => record.code_challenge.is_some(),
    };
    if !redirect_ok {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    check_pkce(&record, presented_code.code_verifier.as_deref())?;
    if record.consumed_at.is_none() && record.expires_at <= ctx.now {
        return Err(invalid_grant("the authorization code expired"));
    }
    Ok((hash, record))
}

/// Exchanges a code for tokens (the code is consumed by the same command that records them).
pub(super) async fn redeem(
    ctx: &ProtocolCtx,
    issuer: &str,
    auth: &ClientAuth,
    presented_code: Presented,
) -> Result<TokenResponse> {
    let client = grant_client(ctx, auth, GrantType::AuthorizationCode)?;
    let code = required(presented_code.code.clone(), "code")?;
    let (hash, record) = redeemable(ctx, &client, &presented_code, &code)?;
    let user = load_user(ctx, record.user_id)?;
    let mut input = Mint::for_client(&client, GrantType::AuthorizationCode);
    if !record.resources.is_empty() {
        input.audience = record.resources.clone();
    }
    input.id_token = record.scopes.iter().any(|s| s == "openid");
    input.scopes = record.scopes;
    input.user = Some(user);
    input.consume = Some(Consume::Code(hash));
    input.refresh = client.allows_grant(GrantType::RefreshToken.as_str());
    input.session_id = Some(record.session_id);
    input.auth_time = Some(record.auth_time);
    input.nonce = record.nonce;
    mint(ctx, issuer, input).await
}
