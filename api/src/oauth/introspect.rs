//! `POST ~/oauth/introspect` (RFC 7662).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use lumo_cluster::protocol::{ProtocolReply, ProtocolRequest};

use super::params::{authenticated_params, token_and_hint};
use super::proto::Proto;
use super::response::{finish, unexpected};

/// `POST ~/oauth/introspect`: the client must authenticate; the answer is the token's document.
pub async fn introspect(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    finish(
        async {
            let (mut params, client) = authenticated_params(&proto, body, false)?;
            let (token, hint) = token_and_hint(&mut params)?;
            let reply = proto
                .call(ProtocolRequest::Introspect {
                    issuer: proto.issuer.clone(),
                    client,
                    token,
                    hint,
                })
                .await?;
            match reply {
                ProtocolReply::Document(doc) => Ok(Json(doc).into_response()),
                other => Err(unexpected(other)),
            }
        }
        .await,
    )
}
