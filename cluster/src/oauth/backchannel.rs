//! Client-initiated backchannel authentication (OpenID CIBA Core, poll mode) up to the user's
//! decision: the backchannel authentication endpoint, and the approval page's list and
//! decision. The client's token request is `grants/ciba.rs`.

use crate::command::{Op, UserKey};
use crate::crypto::{random_token, secret_hash};
use crate::error::{ClusterError, Result};
use crate::lookup;
use crate::model::{ApprovalState, CibaRequest, PrincipalKind};
use crate::protocol::scopes::parse;
use crate::protocol::{CibaView, ClientAuth, ErrorCode, GrantType, Params, ProtocolReply, limits};
use crate::tables::Table;

use super::client_auth::{authenticate_confidential, find_client, require_grant};
use super::jwt::verify_id_token;
use super::login::active_session;
use super::runtime::ProtocolCtx;
use super::scope_checks::require_subset;

/// `POST ~/oauth/bc-authorize`: a backchannel authentication request for the user a hint
/// names.
pub(super) async fn request(
    ctx: &ProtocolCtx,
    auth: &ClientAuth,
    params: &Params,
) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let client = authenticate_confidential(&reader, auth, ctx.now)?;
    require_grant(&client, GrantType::Ciba)?;
    let scopes = parse(params.get("scope").map(String::as_str));
    if !scopes.iter().any(|s| s == "openid") {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidScope,
            "a backchannel authentication request must include the openid scope",
        ));
    }
    require_subset(&scopes, &client.scopes, "this client")?;
    let hints = ["login_hint", "id_token_hint", "login_hint_token"]
        .iter()
        .filter(|h| params.get(**h).is_some_and(|v| !v.is_empty()))
        .count();
    if hints != 1 {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidRequest,
            "send exactly one of login_hint, id_token_hint and login_hint_token",
        ));
    }
    let unknown = || {
        ClusterError::oauth(
            ErrorCode::UnknownUserId,
            "no such user in this organization",
        )
    };
    let user = if let Some(hint) = params.get("login_hint").filter(|v| !v.is_empty()) {
        let key: UserKey = hint.parse().map_err(|_| unknown())?;
        lookup::user(&reader, &key).map_err(|_| unknown())?
    } else if let Some(hint) = params.get("id_token_hint").filter(|v| !v.is_empty()) {
        let claims = verify_id_token(&reader, hint, ctx.now, true).map_err(|_| {
            ClusterError::oauth(ErrorCode::InvalidRequest, "id_token_hint is not valid")
        })?;
        let id = claims["sub"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(unknown)?;
        lookup::user(&reader, &UserKey::Id(id)).map_err(|_| unknown())?
    } else {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidRequest,
            "login_hint_token is not supported; use login_hint or id_token_hint",
        ));
    };
    if user.blocked || !user.is_active {
        return Err(unknown());
    }
    let binding_message = params.get("binding_message").cloned();
    if binding_message
        .as_ref()
        .is_some_and(|m| m.chars().count() > 100)
    {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidBindingMessage,
            "binding_message must be at most 100 characters",
        ));
    }
    let expires_in = match params.get("requested_expiry") {
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=limits::DEVICE_TTL_SECS).contains(s))
            .ok_or_else(|| {
                ClusterError::oauth(
                    ErrorCode::InvalidRequest,
                    format!(
                        "requested_expiry must be 1 to {} seconds",
                        limits::DEVICE_TTL_SECS
                    ),
                )
            })?,
        None => limits::DEVICE_TTL_SECS,
    };
    let auth_req_id = random_token("", 32);
    let request = CibaRequest {
        id: random_token("", 9),
        client_id: client.client_id.clone(),
        user_id: user.id,
        scopes,
        binding_message,
        created_at: ctx.now,
        expires_at: ctx.now.plus_millis((expires_in as i64) * 1000),
        interval_secs: limits::POLL_INTERVAL_SECS,
        state: ApprovalState::Pending,
    };
    ctx.propose(
        ProtocolCtx::client_actor(&client.client_id, &client.name),
        Op::StartCiba {
            hash: secret_hash(&auth_req_id),
            request,
        },
    )
    .await?;
    Ok(ProtocolReply::Ciba {
        auth_req_id,
        expires_in,
        interval: limits::POLL_INTERVAL_SECS,
    })
}

/// Pending requests of the signed-in user.
pub(super) fn pending(ctx: &ProtocolCtx, cookie: &str) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let session =
        active_session(&reader, cookie, ctx.now)?.ok_or_else(|| ClusterError::Unauthenticated {
            message: "sign in to see requests waiting for you".into(),
        })?;
    let mut pending = Vec::new();
    reader.scan::<CibaRequest>(Table::CibaRequest, &[], false, |_, r| {
        if r.user_id == session.user_id
            && r.state == ApprovalState::Pending
            && r.expires_at > ctx.now
        {
            pending.push(r);
        }
        true
    })?;
    let mut views = Vec::new();
    for request in pending {
        let client_name = find_client(&reader, &request.client_id)
            .map(|c| c.name)
            .unwrap_or_else(|_| request.client_id.clone());
        views.push(CibaView {
            id: request.id,
            client_name,
            scopes: request.scopes,
            binding_message: request.binding_message,
        });
    }
    Ok(ProtocolReply::CibaPending(views))
}

/// The signed-in user approves or denies a request.
pub(super) async fn decide(
    ctx: &ProtocolCtx,
    cookie: &str,
    id: &str,
    approve: bool,
) -> Result<ProtocolReply> {
    let session = active_session(&ctx.reader(), cookie, ctx.now)?.ok_or_else(|| {
        ClusterError::Unauthenticated {
            message: "sign in to answer this request".into(),
        }
    })?;
    ctx.propose(
        PrincipalKind::User {
            id: session.user_id,
            email: session.user_email.clone(),
        },
        Op::DecideCiba {
            id: id.to_string(),
            approve,
            user: session.user_id,
        },
    )
    .await?;
    Ok(ProtocolReply::Done)
}
