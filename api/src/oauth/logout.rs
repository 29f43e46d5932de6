//! `GET|POST ~/oauth/logout`: RP-initiated logout.

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lumo_cluster::protocol::{Params, ProtocolReply, ProtocolRequest};

use super::browser::{SESSION_COOKIE, csrf_ok, csrf_token};
use super::hosted_page::{problem, with_csrf};
use super::pages::{self, LogoutPage, Look};
use super::params;
use super::proto::Proto;
use crate::error::ApiError;

async fn logout(proto: Proto, mut params: Params, posted: bool) -> Response {
    let confirmed = posted && csrf_ok(&proto.browser, params.remove("_csrf").as_deref());
    params.remove("_csrf");
    let cookie = proto.browser.get(SESSION_COOKIE).map(str::to_string);
    let reply = proto
        .call(ProtocolRequest::Logout {
            issuer: proto.issuer.clone(),
            cookie,
            params: params.clone(),
            confirmed,
        })
        .await;
    match reply {
        Ok(ProtocolReply::Logout {
            redirect,
            confirm,
            branding,
        }) => {
            if confirm {
                let (csrf, new) = csrf_token(&proto.browser);
                let look = Look::new(branding);
                let page = LogoutPage {
                    branding: look.branding,
                    primary_color: look.primary_color,
                    background_color: look.background_color,
                    action: proto.path("/oauth/logout"),
                    csrf: csrf.clone(),
                    carried: params.into_iter().collect(),
                };
                return with_csrf(pages::render(StatusCode::OK, &page), &proto, &csrf, new);
            }
            let mut response = match redirect {
                Some(target) => {
                    let mut r = StatusCode::FOUND.into_response();
                    if let Ok(value) = HeaderValue::from_str(&target) {
                        r.headers_mut().insert(header::LOCATION, value);
                    }
                    r
                }
                None => pages::message(
                    StatusCode::OK,
                    Look::new(branding),
                    "You are signed out",
                    "You can close this window.",
                    None,
                ),
            };
            for value in proto.jar().end_session() {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Ok(other) => {
            problem(
                &proto,
                StatusCode::BAD_REQUEST,
                "Sign out",
                ApiError::unexpected(other),
            )
            .await
        }
        Err(e) => problem(&proto, StatusCode::BAD_REQUEST, "Sign out failed", e).await,
    }
}

/// `GET ~/oauth/logout`.
pub async fn logout_get(proto: Proto, RawQuery(query): RawQuery) -> Response {
    match params::query(query.as_deref()) {
        Ok(params) => logout(proto, params, false).await,
        Err(e) => problem(&proto, StatusCode::BAD_REQUEST, "Sign out failed", e).await,
    }
}

/// `POST ~/oauth/logout`: the confirmation form's answer.
pub async fn logout_post(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    match proto.form(body) {
        Ok(params) => logout(proto, params, true).await,
        Err(e) => problem(&proto, StatusCode::BAD_REQUEST, "Sign out failed", e).await,
    }
}
