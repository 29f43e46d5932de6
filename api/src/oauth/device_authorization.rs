//! `POST ~/oauth/device_authorization` (RFC 8628 section 3.1).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use lumo_cluster::protocol::{ProtocolReply, ProtocolRequest};
use serde_json::json;

use super::params::authenticated_params;
use super::proto::Proto;
use super::response::{finish, unexpected};

/// `POST ~/oauth/device_authorization`: the device code, the user code and where to type it.
pub async fn device_authorization(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    finish(
        async {
            let (mut params, client) = authenticated_params(&proto, body, false)?;
            match proto
                .call(ProtocolRequest::DeviceAuthorize {
                    issuer: proto.issuer.clone(),
                    client,
                    scope: params.remove("scope"),
                })
                .await?
            {
                ProtocolReply::DeviceAuthorization {
                    device_code,
                    user_code,
                    expires_in,
                    interval,
                } => {
                    let verification = proto.url("/oauth/device");
                    let complete = format!(
                        "{verification}?user_code={}",
                        lumo_cluster::oauth::urlencode(&user_code)
                    );
                    Ok(Json(json!({
                        "device_code": device_code,
                        "user_code": user_code,
                        "verification_uri": verification,
                        "verification_uri_complete": complete,
                        "expires_in": expires_in,
                        "interval": interval,
                    }))
                    .into_response())
                }
                other => Err(unexpected(other)),
            }
        }
        .await,
    )
}
