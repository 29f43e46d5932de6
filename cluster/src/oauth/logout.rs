//! RP-initiated logout: checking the client and its post-logout redirect URI, asking the user
//! to confirm when the request does not prove who it is for, and ending the session.

use crate::command::{Op, RevokeTarget};
use crate::error::{ClusterError, Result};
use crate::model::{OAuthClient, PrincipalKind};
use crate::protocol::{ErrorCode, Params, ProtocolReply};

use super::branding::branding;
use super::client_auth::find_client;
use super::jwt::verify_id_token;
use super::login::active_session;
use super::runtime::ProtocolCtx;

/// A `post_logout_redirect_uri` registered by `client`, with `state` appended.
fn logout_target(client: &OAuthClient, params: &Params) -> Result<Option<String>> {
    let Some(uri) = params.get("post_logout_redirect_uri") else {
        return Ok(None);
    };
    if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidRequest,
            "post_logout_redirect_uri is not registered for this client",
        ));
    }
    let mut target = uri.clone();
    if let Some(state) = params.get("state") {
        let separator = if target.contains('?') { '&' } else { '?' };
        target.push(separator);
        target.push_str("state=");
        target.push_str(&urlencode(state));
    }
    Ok(Some(target))
}

/// Percent-encodes a query value.
pub fn urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
pub(super) async fn logout(
    ctx: &ProtocolCtx,
    _issuer: &str,
    cookie: Option<&str>,
    params: &Params,
    confirmed: bool,
) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let hint = match params.get("id_token_hint") {
        Some(token) => Some(verify_id_token(&reader, token, ctx.now, true).map_err(|_| {
            ClusterError::oauth(
                ErrorCode::InvalidRequest,
                "id_token_hint is not a valid ID token",
            )
        })?),
        None => None,
    };
    let hinted_client = hint
        .as_ref()
        .and_then(|h| h["aud"].as_str().map(str::to_string));
    if let (Some(named), Some(hinted)) = (params.get("client_id"), &hinted_client)
        && named != hinted
    {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidRequest,
            "client_id does not match the id_token_hint's audience",
        ));
    }
    let client_id = params.get("client_id").cloned().or(hinted_client);
    let client = match &client_id {
        Some(id) => Some(
            find_client(&reader, id)
                .map_err(|_| ClusterError::oauth(ErrorCode::InvalidRequest, "unknown client_id"))?,
        ),
        None => None,
    };
    if params.contains_key("post_logout_redirect_uri") && client.is_none() {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidRequest,
            "post_logout_redirect_uri needs client_id or id_token_hint",
        ));
    }
    let redirect = match &client {
        Some(client) => logout_target(client, params)?,
        None => None,
    };
    let session = match cookie {
        Some(cookie) => active_session(&reader, cookie, ctx.now)?,
        None => None,
    };
    let Some(session) = session else {
        return Ok(ProtocolReply::Logout {
            redirect,
            confirm: false,
            branding: branding(&reader)?,
        });
    };
    let hint_matches = hint
        .as_ref()
        .is_some_and(|h| h["sub"].as_str() == Some(session.user_id.to_string().as_str()));
    if !hint_matches && !confirmed {
        return Ok(ProtocolReply::Logout {
            redirect: None,
            confirm: true,
            branding: branding(&reader)?,
        });
    }
    ctx.propose(
        PrincipalKind::User {
            id: session.user_id,
            email: session.user_email.clone(),
        },
        Op::Revoke(RevokeTarget::Session(session.id)),
    )
    .await?;
    Ok(ProtocolReply::Logout {
        redirect,
        confirm: false,
        branding: branding(&reader)?,
    })
}
