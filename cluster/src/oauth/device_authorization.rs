//! The device authorization grant (RFC 8628) up to the user's decision: the device
//! authorization endpoint, and the verification page's lookup and decision. The device's token
//! request is `grants/device_code.rs`.

use rand::Rng;

use crate::command::Op;
use crate::crypto::{random_token, secret_hash};
use crate::error::{ClusterError, Result};
use crate::model::{ApprovalState, DeviceGrant, OAuthClient, PrincipalKind};
use crate::protocol::scopes::parse;
use crate::protocol::{ClientAuth, GrantType, ProtocolReply, limits};
use crate::tables::Table;

use super::branding::branding;
use super::client_auth::{authenticate, find_client, require_grant};
use super::login::active_session;
use super::runtime::ProtocolCtx;
use super::scope_checks::require_subset;

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

/// `POST ~/oauth/device_authorization`: a device code and the user code to type.
pub(super) async fn authorize(
    ctx: &ProtocolCtx,
    _issuer: &str,
    auth: &ClientAuth,
    scope: Option<&str>,
) -> Result<ProtocolReply> {
    let client = authenticate(&ctx.reader(), auth, ctx.now)?;
    require_grant(&client, GrantType::DeviceCode)?;
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

/// The request a user code belongs to, for the verification page.
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

/// The signed-in user approves or denies the device.
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
