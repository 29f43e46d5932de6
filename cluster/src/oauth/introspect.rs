//! Publishing keys, and what resource servers and clients ask about tokens: introspection
//! (RFC 7662), revocation (RFC 7009), userinfo (OIDC Core 5.3).

use serde_json::{Value, json};

use crate::command::{Op, RevokeTarget};
use crate::crypto::secret_hash;
use crate::error::{ClusterError, Result};
use crate::model::{RefreshFamily, RefreshTokenRecord, SigningKeyRecord};
use crate::read::role_slugs;
use crate::tables::Table;

use super::client_auth::authenticate;
use super::jwt::{VerifiedToken, audience_claim, epoch_secs, verify_access_token};
use super::runtime::ProtocolCtx;
use super::scopes::join;
use super::token::user_claims;
use super::{ClientAuth, ProtocolReply};

pub(super) fn jwks(ctx: &ProtocolCtx) -> Result<ProtocolReply> {
    let mut keys = Vec::new();
    ctx.reader()
        .scan::<SigningKeyRecord>(Table::SigningKey, &[], true, |_, key| {
            if key.published(ctx.now) {
                keys.push(key.public_jwk);
            }
            true
        })?;
    Ok(ProtocolReply::Jwks(keys))
}

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

pub(super) fn introspect(
    ctx: &ProtocolCtx,
    issuer: &str,
    auth: &ClientAuth,
    token: &str,
    hint: Option<&str>,
) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    // RFC 7662 section 2.1: the caller must be authorized; a public client proves nothing.
    if !authenticate(&reader, auth, ctx.now)?.confidential {
        return Err(ClusterError::invalid_client(
            "introspection needs a confidential client (public clients cannot authenticate)",
        ));
    }
    let try_refresh_first = hint == Some("refresh_token");
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

pub(super) async fn revoke(
    ctx: &ProtocolCtx,
    auth: &ClientAuth,
    token: &str,
    _hint: Option<&str>,
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

pub(super) fn userinfo(ctx: &ProtocolCtx, token: &str) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let VerifiedToken { claims, user, .. } = verify_access_token(&reader, token, ctx.now)?;
    let org = crate::lookup::load_org(&reader)?;
    let scopes = claims.scopes();
    let Some(user) = user else {
        // A client acting for itself: describe the client.
        return Ok(ProtocolReply::Document(json!({
            "sub": claims.sub,
            "identity_type": "client",
            "client_id": claims.client_id,
            "tenant": org.slug,
        })));
    };
    if !scopes.iter().any(|s| s == "openid") {
        return Err(ClusterError::Forbidden {
            message: "userinfo needs a token with the openid scope".into(),
            required_scopes: vec!["openid".into()],
            granted_scopes: scopes,
        });
    }
    let mut doc = user_claims(&user, &scopes);
    doc.insert("sub".into(), json!(user.id.to_string()));
    doc.insert("tenant".into(), json!(org.slug));
    doc.insert("roles".into(), json!(role_slugs(&reader, user.id)?));
    if let Some(client_id) = claims.client_id {
        doc.insert("client_id".into(), json!(client_id));
    }
    Ok(ProtocolReply::Document(Value::Object(doc)))
}
