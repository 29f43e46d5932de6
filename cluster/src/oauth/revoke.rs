//! Token revocation (RFC 7009).

use crate::command::{Op, RevokeTarget};
use crate::crypto::secret_hash;
use crate::error::Result;
use crate::model::RefreshTokenRecord;
use crate::protocol::{ClientAuth, ProtocolReply, TokenTypeHint};
use crate::tables::Table;

use super::client_auth::authenticate;
use super::jwt::{VerifiedToken, verify_access_token};
use super::runtime::ProtocolCtx;

/// `POST ~/oauth/revoke`: ends a token the client holds; anything else is quietly ignored.
pub(super) async fn revoke(
    ctx: &ProtocolCtx,
    auth: &ClientAuth,
    token: &str,
    _hint: Option<TokenTypeHint>,
) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let client = authenticate(&reader, auth, ctx.now)?;
    let actor = ProtocolCtx::client_actor(&client.client_id, &client.name);
    // RFC 7009: unknown, expired and foreign tokens get 200 and nothing happens.
    if let Some(record) =
        reader.get::<RefreshTokenRecord>(Table::RefreshToken, secret_hash(token).as_bytes())?
    {
        if record.client_id == client.client_id {
            ctx.propose(actor, Op::Revoke(RevokeTarget::Refresh(secret_hash(token))))
                .await?;
        }
        return Ok(ProtocolReply::Done);
    }
    if let Ok(VerifiedToken { claims, record, .. }) = verify_access_token(&reader, token, ctx.now)
        && record.client_id.as_deref() == Some(client.client_id.as_str())
    {
        ctx.propose(actor, Op::Revoke(RevokeTarget::AccessJti(claims.jti)))
            .await?;
    }
    Ok(ProtocolReply::Done)
}
