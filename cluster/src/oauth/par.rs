//! Pushed authorization requests (RFC 9126).

use crate::command::Op;
use crate::crypto::random_token;
use crate::error::{ClusterError, Result};
use crate::model::PushedRequest;
use crate::protocol::{ClientAuth, ErrorCode, Params, ProtocolReply, limits};

use super::authorization_request::{client_and_redirect, validate, validated};
use super::client_auth::authenticate;
use super::runtime::ProtocolCtx;

/// `POST ~/oauth/par`: checks an authorization request now and keeps it for the browser to
/// name by `request_uri` (RFC 9126).
pub(super) async fn par(
    ctx: &ProtocolCtx,
    _issuer: &str,
    auth: &ClientAuth,
    params: Params,
) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let client = authenticate(&reader, auth, ctx.now)?;
    if params.contains_key("request_uri") {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidRequest,
            "request_uri cannot be pushed",
        ));
    }
    if let Some(id) = params.get("client_id")
        && *id != client.client_id
    {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidRequest,
            "client_id does not match the authenticated client",
        ));
    }
    // Pushed requests are replicated state: only so much of it per request.
    let size: usize = params.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > limits::MAX_PUSHED_BYTES {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidRequest,
            format!(
                "the pushed request is larger than {} bytes",
                limits::MAX_PUSHED_BYTES
            ),
        ));
    }
    let mut checked = params.clone();
    checked.insert("client_id".into(), client.client_id.clone());
    let (client, redirect_uri) = client_and_redirect(&reader, &checked)?;
    let mut v = validated(client.clone(), redirect_uri, &checked);
    if let Err((error, description)) = validate(&mut v, &checked) {
        return Err(ClusterError::oauth(error, description));
    }
    let request_uri = format!("urn:ietf:params:oauth:request_uri:{}", random_token("", 24));
    let pushed = PushedRequest {
        client_id: client.client_id.clone(),
        params: params
            .into_iter()
            .filter(|(k, _)| k != "client_id" && k != "client_secret")
            .collect(),
        expires_at: ctx.now.plus_millis((limits::PAR_TTL_SECS as i64) * 1000),
    };
    ctx.propose(
        ProtocolCtx::client_actor(&client.client_id, &client.name),
        Op::PushRequest {
            request_uri: request_uri.clone(),
            request: pushed,
        },
    )
    .await?;
    Ok(ProtocolReply::Par {
        request_uri,
        expires_in: limits::PAR_TTL_SECS,
    })
}
