//! Token introspection (RFC 7662) for confidential clients.

use serde_json::{Value, json};

use crate::crypto::secret_hash;
use crate::error::{ClusterError, Result};
use crate::model::{RefreshFamily, RefreshTokenRecord};
use crate::protocol::scopes::join;
use crate::protocol::{ClientAuth, ProtocolReply, TokenTypeHint};
use crate::tables::Table;

use super::client_auth::authenticate;
use super::jwt::{VerifiedToken, audience_claim, epoch_secs, verify_access_token};
use super::runtime::ProtocolCtx;

fn inactive() -> ProtocolReply {
    ProtocolReply::Document(json!({"active": false}))
}

/// The refresh token `token` names, if it is still usable.
fn live_refresh(ctx: &ProtocolCtx, token: &str) -> Result<Option<RefreshTokenRecord>> {
    let reader = ctx.reader();
    let Some(record) =
        reader.get::<RefreshTokenRecord>(Table::RefreshToken, secret_hash(token).as_bytes())?
    else {
        return Ok(None);
    };
    let family_live = reader
        .get::<RefreshFamily>(Table::RefreshFamily, record.family.as_bytes())?
        .is_some_and(|f| f.revoked_at.is_none());
    let live = family_live
        && record.revoked_at.is_none()
        && record.rotated_at.is_none()
        && record.expires_at > ctx.now;
    Ok(live.then_some(record))
}

/// `POST ~/oauth/introspect`: what a live access or refresh token stands for.
pub(super) fn introspect(
    ctx: &ProtocolCtx,
    issuer: &str,
    auth: &ClientAuth,
    token: &str,
    hint: Option<TokenTypeHint>,
) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    // RFC 7662 section 2.1: the caller must be authorized; a public client proves nothing.
    if !authenticate(&reader, auth, ctx.now)?.confidential {
        return Err(ClusterError::invalid_client(
            "introspection needs a confidential client (public clients cannot authenticate)",
        ));
    }
    let try_refresh_first = hint == Some(TokenTypeHint::RefreshToken);
    if try_refresh_first && let Some(record) = live_refresh(ctx, token)? {
        return Ok(ProtocolReply::Document(refresh_document(issuer, &record)));
    }
    if let Ok(VerifiedToken { claims, user, .. }) = verify_access_token(&reader, token, ctx.now) {
        let username = user.map(|u| u.email);
        let mut doc = json!({
            "active": true,
            "token_type": "Bearer",
            "scope": claims.scope,
            "client_id": claims.client_id,
            "sub": claims.sub,
            "exp": claims.exp,
            "iat": claims.iat,
            "nbf": claims.nbf,
            "iss": claims.iss,
            "aud": claims.aud,
            "jti": claims.jti,
        });
        if let Some(username) = username {
            doc["username"] = json!(username);
        }
        if let Some(act) = claims.act {
            doc["act"] = act;
        }
        return Ok(ProtocolReply::Document(doc));
    }
    if !try_refresh_first && let Some(record) = live_refresh(ctx, token)? {
        return Ok(ProtocolReply::Document(refresh_document(issuer, &record)));
    }
    Ok(inactive())
}

fn refresh_document(issuer: &str, record: &RefreshTokenRecord) -> Value {
    let mut doc = json!({
        "active": true,
        "token_type": "refresh_token",
        "scope": join(&record.scopes),
        "client_id": record.client_id,
        "exp": epoch_secs(record.expires_at),
        "iat": epoch_secs(record.created_at),
        "iss": issuer,
        "sub": record.user_id.map(|u| u.to_string()).unwrap_or_else(|| record.client_id.clone()),
    });
    if !record.audience.is_empty() {
        doc["aud"] = audience_claim(&record.audience);
    }
    doc
}
