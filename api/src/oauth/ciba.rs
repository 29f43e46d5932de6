//! Client-initiated backchannel authentication: `POST ~/oauth/bc-authorize` (OpenID CIBA
//! Core section 7), and the hosted page `~/oauth/ciba` where the user approves or denies
//! requests.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lumo_cluster::protocol::{ProtocolReply, ProtocolRequest};
use serde_json::json;

use super::browser::{SESSION_COOKIE, csrf_ok, csrf_token};
use super::hosted_page::{login_first, problem, signed_in, with_csrf};
use super::pages::{self, CibaPage};
use super::params::authenticated_params;
use super::proto::Proto;
use super::response::{finish, unexpected};
use crate::error::ApiError;

/// `POST ~/oauth/bc-authorize`: the `auth_req_id` the client then polls with.
pub async fn backchannel(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    finish(
        async {
            let (params, client) = authenticated_params(&proto, body, false)?;
            match proto.call(ProtocolRequest::Ciba { client, params }).await? {
                ProtocolReply::Ciba {
                    auth_req_id,
                    expires_in,
                    interval,
                } => Ok(Json(json!({
                    "auth_req_id": auth_req_id,
                    "expires_in": expires_in,
                    "interval": interval,
                }))
                .into_response()),
                other => Err(unexpected(other)),
            }
        }
        .await,
    )
}

async fn ciba_page(proto: &Proto, notice: Option<String>) -> Response {
    let session = match signed_in(proto).await {
        Ok(Some(session)) => session,
        Ok(None) => return login_first(proto, proto.path("/oauth/ciba"), "review requests").await,
        Err(e) => return problem(proto, StatusCode::BAD_REQUEST, "Requests", e).await,
    };
    let Some(cookie) = proto.browser.get(SESSION_COOKIE).map(str::to_string) else {
        return login_first(proto, proto.path("/oauth/ciba"), "review requests").await;
    };
    let requests = match proto.call(ProtocolRequest::CibaPending { cookie }).await {
        Ok(ProtocolReply::CibaPending(requests)) => requests,
        Ok(other) => {
            return problem(
                proto,
                StatusCode::BAD_REQUEST,
                "Requests",
                ApiError::unexpected(other),
            )
            .await;
        }
        Err(e) => return problem(proto, StatusCode::BAD_REQUEST, "Requests", e).await,
    };
    let (csrf, new) = csrf_token(&proto.browser);
    let look = proto.look().await;
    let page = CibaPage {
        branding: look.branding,
        primary_color: look.primary_color,
        background_color: look.background_color,
        action: proto.path("/oauth/ciba"),
        csrf: csrf.clone(),
        user_email: session.email,
        notice,
        requests,
    };
    with_csrf(pages::render(StatusCode::OK, &page), proto, &csrf, new)
}

/// `GET ~/oauth/ciba`: the signed-in user's pending requests.
pub async fn ciba_get(proto: Proto) -> Response {
    ciba_page(&proto, None).await
}

/// `POST ~/oauth/ciba`: the user's decision on one request.
pub async fn ciba_post(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    let mut form = match proto.form(body) {
        Ok(form) => form,
        Err(e) => return problem(&proto, StatusCode::BAD_REQUEST, "Requests", e).await,
    };
    if !csrf_ok(&proto.browser, form.remove("_csrf").as_deref()) {
        let e = ApiError::BadRequest("This form expired. Reload the page.".into());
        return problem(&proto, StatusCode::BAD_REQUEST, "Requests", e).await;
    }
    let Some(cookie) = proto.browser.get(SESSION_COOKIE).map(str::to_string) else {
        return login_first(&proto, proto.path("/oauth/ciba"), "review requests").await;
    };
    let approve = form.remove("decision").as_deref() == Some("allow");
    let id = form.remove("id").unwrap_or_default();
    match proto
        .call(ProtocolRequest::CibaDecide {
            cookie,
            id,
            approve,
        })
        .await
    {
        Ok(_) => {
            let notice = if approve {
                "Request approved."
            } else {
                "Request denied."
            };
            ciba_page(&proto, Some(notice.into())).await
        }
        Err(e) => problem(&proto, StatusCode::BAD_REQUEST, "Requests", e).await,
    }
}
