//! Requests that wait for a user: the device authorization grant (RFC 8628) and CIBA poll mode
//! (OpenID CIBA Core), from the request through the user's decision to the token.

use rand::Rng;

use crate::clock::Timestamp;
use crate::command::{Consume, Op, UserKey};
use crate::crypto::{random_token, secret_hash};
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::lookup;
use crate::model::{ApprovalState, CibaRequest, DeviceGrant, OAuthClient, PrincipalKind};
use crate::tables::Table;

use super::authorize::branding;
use super::client_auth::{authenticate, authenticate_confidential, find_client, require_grant};
use super::jwt::verify_id_token;
use super::login::active_session;
use super::runtime::ProtocolCtx;
use super::scopes::{entitled, parse, require_subset};
use super::token::{GRANT_CIBA, GRANT_DEVICE, GRANT_REFRESH, Mint, load_user, mint, required};
use super::{CibaView, ClientAuth, Params, ProtocolReply, TokenResponse, limits};

/// Consonants only, so codes spell no words and survive being read aloud (RFC 8628 6.1).
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

fn new_user_code() -> String {
    let mut rng = rand::thread_rng();
    let mut code = String::with_capacity(9);
    for i in 0..8 {
        if i == 4 {
            code.push('-');
        }
        let index = rng.gen_range(0..USER_CODE_ALPHABET.len());
        code.push(char::from(USER_CODE_ALPHABET[index]));
    }
    code
}

/// A user code as typed: case, spaces and dashes do not matter.
pub(super) fn normalize_user_code(input: &str) -> String {
    let letters: String = input
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if letters.len() == 8 {
        format!("{}-{}", &letters[..4], &letters[4..])
    } else {
        letters
    }
}

fn default_scopes(requested: Vec<String>, client: &OAuthClient) -> Vec<String> {
    if requested.is_empty() {
        client.scopes.clone()
    } else {
        requested
    }
}

pub(super) async fn authorize(
    ctx: &ProtocolCtx,
    _issuer: &str,
    auth: &ClientAuth,
    scope: Option<&str>,
) -> Result<ProtocolReply> {
    let client = authenticate(&ctx.reader(), auth, ctx.now)?;
    require_grant(&client, GRANT_DEVICE)?;
    let requested = parse(scope);
    require_subset(&requested, &client.scopes, "this client")?;
    let scopes = default_scopes(requested, &client);
    let device_code = random_token("", 32);
    let hash = secret_hash(&device_code);
    let expires_in = limits::DEVICE_TTL_SECS;
    let mut last_error = None;
    for _ in 0..3 {
        let grant = DeviceGrant {
            client_id: client.client_id.clone(),
            user_code: new_user_code(),
            scopes: scopes.clone(),
            created_at: ctx.now,
            expires_at: ctx.now.plus_millis((expires_in as i64) * 1000),
            interval_secs: limits::POLL_INTERVAL_SECS,
            state: ApprovalState::Pending,
        };
        let user_code = grant.user_code.clone();
        let actor = ProtocolCtx::client_actor(&client.client_id, &client.name);
        match ctx
            .propose(
                actor,
                Op::StartDeviceGrant {
                    hash: hash.clone(),
                    grant,
                },
            )
            .await
        {
            Ok(_) => {
                return Ok(ProtocolReply::DeviceAuthorization {
                    device_code,
                    user_code,
                    expires_in,
                    interval: limits::POLL_INTERVAL_SECS,
                });
            }
            Err(e @ ClusterError::Conflict { .. }) => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| ClusterError::internal("no free user code")))
}

fn pending_grant(ctx: &ProtocolCtx, user_code: &str) -> Result<DeviceGrant> {
    let reader = ctx.reader();
    let code = normalize_user_code(user_code);
    let not_found = || ClusterError::not_found("device code", &code);
    let hash: String = reader
        .get(Table::DeviceUserCode, code.as_bytes())?
        .ok_or_else(not_found)?;
    let grant: DeviceGrant = reader
        .get(Table::DeviceGrant, hash.as_bytes())?
        .ok_or_else(not_found)?;
    if grant.state != ApprovalState::Pending || grant.expires_at <= ctx.now {
        return Err(not_found());
    }
    Ok(grant)
}

pub(super) fn lookup(ctx: &ProtocolCtx, user_code: &str) -> Result<ProtocolReply> {
    let grant = pending_grant(ctx, user_code)?;
    let reader = ctx.reader();
    let client = find_client(&reader, &grant.client_id)?;
    Ok(ProtocolReply::Device {
        client_name: client.name,
        scopes: grant.scopes,
        branding: branding(&reader)?,
    })
}

pub(super) async fn decide(
    ctx: &ProtocolCtx,
    user_code: &str,
    approve: bool,
    cookie: &str,
) -> Result<ProtocolReply> {
    let session = active_session(&ctx.reader(), cookie, ctx.now)?.ok_or_else(|| {
        ClusterError::Unauthenticated {
            message: "sign in to approve a device".into(),
        }
    })?;
    pending_grant(ctx, user_code)?;
    ctx.propose(
        PrincipalKind::User {
            id: session.user_id,
            email: session.user_email.clone(),
        },
        Op::DecideDeviceGrant {
            user_code: normalize_user_code(user_code),
            approve,
            user: session.user_id,
            session: Some(session.id),
        },
    )
    .await?;
    Ok(ProtocolReply::Done)
}

/// What the token endpoint answers while a user has not decided yet.
fn waiting(ctx: &ProtocolCtx, hash: &str, interval: u64) -> ClusterError {
    if ctx.runtime.polled_too_fast(hash, ctx.now, interval) {
        ClusterError::oauth("slow_down", "poll less often")
    } else {
        ClusterError::oauth("authorization_pending", "the user has not decided yet")
    }
}

/// A token-endpoint poll of a device or CIBA request.
struct Poll<'a> {
    hash: &'a str,
    /// How errors name the request.
    what: &'static str,
    expires_at: Timestamp,
    interval_secs: u64,
}

impl Poll<'_> {
    /// The approving user and session, or the error a client polling now gets (expired,
    /// pending or too fast, denied, already used).
    fn approval(&self, ctx: &ProtocolCtx, state: &ApprovalState) -> Result<(UserId, Option<u64>)> {
        if self.expires_at <= ctx.now {
            return Err(ClusterError::oauth(
                "expired_token",
                format!("the {} expired", self.what),
            ));
        }
        match state {
            ApprovalState::Pending => Err(waiting(ctx, self.hash, self.interval_secs)),
            ApprovalState::Denied => Err(ClusterError::oauth(
                "access_denied",
                "the user denied the request",
            )),
            ApprovalState::Used => Err(ClusterError::oauth(
                "invalid_grant",
                format!("the {} was already used", self.what),
            )),
            ApprovalState::Approved {
                user_id,
                session_id,
                ..
            } => Ok((*user_id, *session_id)),
        }
    }
}

pub(super) async fn device_token(
    ctx: &ProtocolCtx,
    issuer: &str,
    auth: &ClientAuth,
    params: &Params,
) -> Result<TokenResponse> {
    let reader = ctx.reader();
    let client = authenticate(&reader, auth, ctx.now)?;
    require_grant(&client, GRANT_DEVICE)?;
    let hash = secret_hash(required(params, "device_code")?);
    let grant: DeviceGrant = reader
        .get::<DeviceGrant>(Table::DeviceGrant, hash.as_bytes())?
        .filter(|g| g.client_id == client.client_id)
        .ok_or_else(|| ClusterError::oauth("invalid_grant", "the device code is invalid"))?;
    let poll = Poll {
        hash: &hash,
        what: "device code",
        expires_at: grant.expires_at,
        interval_secs: grant.interval_secs,
    };
    let (user_id, session_id) = poll.approval(ctx, &grant.state)?;
    let user = load_user(ctx, user_id)?;
    let mut input = Mint::for_client(&client, GRANT_DEVICE);
    input.scopes = entitled(&reader, user.id, grant.scopes)?;
    input.id_token = input.scopes.iter().any(|s| s == "openid");
    input.refresh = client.allows_grant(GRANT_REFRESH);
    input.user = Some(user);
    input.consume = Some(Consume::Device(hash));
    input.session_id = session_id;
    input.auth_time = Some(ctx.now);
    mint(ctx, issuer, input).await
}

pub(super) async fn ciba(
    ctx: &ProtocolCtx,
    auth: &ClientAuth,
    params: &Params,
) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let client = authenticate_confidential(&reader, auth, ctx.now)?;
    require_grant(&client, GRANT_CIBA)?;
    let scopes = parse(params.get("scope").map(String::as_str));
    if !scopes.iter().any(|s| s == "openid") {
        return Err(ClusterError::oauth(
            "invalid_scope",
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
            "invalid_request",
            "send exactly one of login_hint, id_token_hint and login_hint_token",
        ));
    }
    let unknown = || ClusterError::oauth("unknown_user_id", "no such user in this organization");
    let user = if let Some(hint) = params.get("login_hint").filter(|v| !v.is_empty()) {
        let key: UserKey = hint.parse().map_err(|_| unknown())?;
        lookup::user(&reader, &key).map_err(|_| unknown())?
    } else if let Some(hint) = params.get("id_token_hint").filter(|v| !v.is_empty()) {
        let claims = verify_id_token(&reader, hint, ctx.now, true)
            .map_err(|_| ClusterError::oauth("invalid_request", "id_token_hint is not valid"))?;
        let id = claims["sub"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(unknown)?;
        lookup::user(&reader, &UserKey::Id(id)).map_err(|_| unknown())?
    } else {
        return Err(ClusterError::oauth(
            "invalid_request",
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
            "invalid_binding_message",
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
                    "invalid_request",
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

pub(super) fn ciba_pending(ctx: &ProtocolCtx, cookie: &str) -> Result<ProtocolReply> {
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

pub(super) async fn ciba_decide(
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

pub(super) async fn ciba_token(
    ctx: &ProtocolCtx,
    issuer: &str,
    auth: &ClientAuth,
    params: &Params,
) -> Result<TokenResponse> {
    let reader = ctx.reader();
    let client = authenticate_confidential(&reader, auth, ctx.now)?;
    require_grant(&client, GRANT_CIBA)?;
    let hash = secret_hash(required(params, "auth_req_id")?);
    let request: CibaRequest = reader
        .get::<CibaRequest>(Table::CibaRequest, hash.as_bytes())?
        .filter(|r| r.client_id == client.client_id)
        .ok_or_else(|| ClusterError::oauth("invalid_grant", "the auth_req_id is invalid"))?;
    let poll = Poll {
        hash: &hash,
        what: "request",
        expires_at: request.expires_at,
        interval_secs: request.interval_secs,
    };
    poll.approval(ctx, &request.state)?;
    let user = load_user(ctx, request.user_id)?;
    let mut input = Mint::for_client(&client, GRANT_CIBA);
    input.scopes = entitled(&reader, user.id, request.scopes)?;
    input.id_token = true;
    input.refresh = client.allows_grant(GRANT_REFRESH);
    input.user = Some(user);
    input.consume = Some(Consume::Ciba(hash));
    input.auth_time = Some(ctx.now);
    mint(ctx, issuer, input).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_eight_consonants_and_normalize() {
        let code = new_user_code();
        assert_eq!(code.len(), 9);
        assert_eq!(
            normalize_user_code(&code.to_lowercase().replace('-', " ")),
            code
        );
        assert!(
            code.chars()
                .filter(|c| *c != '-')
                .all(|c| USER_CODE_ALPHABET.contains(&(c as u8)))
        );
    }
}
