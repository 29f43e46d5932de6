//! `~/admin/signing-keys` (an extension: the official client has none): the org's published
//! token signing keys, and rotation to a new key (RS256, ES256 or EdDSA). The replaced key stays
//! published until the tokens it signed have expired.

use axum::Router;
use axum::response::Response;
use axum::routing::get;
use lumo_cluster::crypto::JwsAlg;
use lumo_cluster::protocol::{ProtocolReply, ProtocolRequest};
use lumo_cluster::query::{Query, Reply, Request};
use serde_json::{Value, json};

use crate::envelope;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody};
use crate::reply;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/signing-keys", get(list).post(rotate))
}

async fn list(ctx: Ctx) -> ApiResult<Response> {
    let keys = reply!(ctx.read(Query::SigningKeys).await?, Reply::SigningKeys);
    let items: Vec<Value> = keys
        .iter()
        .rev()
        .map(|k| {
            json!({
                "kid": k.kid,
                "alg": k.alg.as_str(),
                "state": match k.state {
                    lumo_cluster::model::SigningKeyState::Active => "active",
                    lumo_cluster::model::SigningKeyState::Retiring => "retiring",
                },
                "createdAt": k.created_at.to_rfc3339(),
                "retiredAt": k.retired_at.map(|t| t.to_rfc3339()),
                "publishedUntil": k.retain_until.map(|t| t.to_rfc3339()),
                "publicKey": k.public_jwk,
            })
        })
        .collect();
    Ok(envelope::data(items))
}

async fn rotate(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let alg_name = body.opt_str("alg", 10).unwrap_or_else(|| "RS256".into());
    let alg = JwsAlg::parse(&alg_name);
    if alg.is_none() {
        body.problem("alg", "must be RS256, ES256 or EdDSA");
    }
    body.finish()?;
    let alg = alg.ok_or_else(|| ApiError::invalid("alg", "must be RS256, ES256 or EdDSA"))?;
    let reply = ctx
        .call(Request::Protocol(ProtocolRequest::RotateSigningKey {
            credential: ctx.credential.clone(),
            alg,
        }))
        .await?;
    match reply {
        Reply::Protocol(ProtocolReply::Jwks(keys)) => Ok(envelope::created(
            json!({"keys": keys}),
            "Signing key rotated",
        )),
        other => Err(ApiError::unexpected(other)),
    }
}
