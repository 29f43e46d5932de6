//! Hosted pages besides authorization: device verification (RFC 8628), RP-initiated logout,
//! the CIBA approval page (an extension: the user approves backchannel requests here), and
//! the session-check iframe.

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lumo_cluster::ClusterError;
use lumo_cluster::oauth::{Params, ProtocolReply, ProtocolRequest, SessionView};

use super::browser::{SESSION_COOKIE, csrf_ok, csrf_token};
use super::flows::with_query;
use super::pages::{self, CheckSessionPage, CibaPage, DevicePage, LoginPage, LogoutPage, Look};
use super::params;
use super::proto::Proto;
use crate::error::ApiError;

/// The signed-in session, if any.
async fn signed_in(proto: &Proto) -> Result<Option<SessionView>, ApiError> {
    let Some(cookie) = proto.browser.get(SESSION_COOKIE) else {
        return Ok(None);
    };
    match proto
        .call(ProtocolRequest::Session {
            cookie: cookie.to_string(),
        })
        .await?
    {
        ProtocolReply::Session(session) => Ok(session),
        other => Err(ApiError::unexpected(other)),
    }
}

/// Adds the CSRF cookie when the token is new.
fn with_csrf(mut response: Response, proto: &Proto, token: &str, new: bool) -> Response {
    if new {
        response
            .headers_mut()
            .append(header::SET_COOKIE, proto.jar().csrf(token));
    }
    response
}

/// The login form, returning to `return_to` (a hosted page of this org) afterwards.
async fn login_first(proto: &Proto, return_to: String, purpose: &str) -> Response {
    let (csrf, new) = csrf_token(&proto.browser);
    let look = proto.look().await;
    let page = LoginPage {
        branding: look.branding,
        primary_color: look.primary_color,
        background_color: look.background_color,
        client_name: purpose.to_string(),
        error: None,
        action: proto.path("/oauth/login/submit"),
        csrf: csrf.clone(),
        carried: vec![("return_to".into(), return_to)],
        login_hint: String::new(),
    };
    with_csrf(pages::render(StatusCode::OK, &page), proto, &csrf, new)
}

async fn problem(proto: &Proto, status: StatusCode, heading: &str, error: ApiError) -> Response {
    let text = match &error {
        ApiError::Cluster(ClusterError::OAuth { description, .. }) => description.clone(),
        ApiError::Cluster(ClusterError::NotFound { .. }) => {
            "That code is not valid or has expired.".to_string()
        }
        ApiError::Cluster(ClusterError::OrgNotFound { .. }) => {
            "This organization does not exist.".to_string()
        }
        ApiError::Cluster(ClusterError::Conflict { message, .. }) => message.clone(),
        ApiError::BadRequest(message) => message.clone(),
        other => {
            tracing::warn!(error = ?other, "hosted page failed");
            "Something went wrong. Please try again.".to_string()
        }
    };
    let status = match &error {
        ApiError::Cluster(ClusterError::OrgNotFound { .. }) => StatusCode::NOT_FOUND,
        ApiError::Cluster(ClusterError::Unavailable { .. }) => StatusCode::SERVICE_UNAVAILABLE,
        _ => status,
    };
    pages::message(status, proto.look().await, heading, &text, None)
}

fn device_page(look: Look, action: String, csrf: String) -> DevicePage {
    DevicePage {
        branding: look.branding,
        primary_color: look.primary_color,
        background_color: look.background_color,
        action,
        csrf,
        user_code: String::new(),
        error: None,
        client_name: None,
        user_email: String::new(),
        scopes: Vec::new(),
    }
}

pub async fn device_get(proto: Proto, RawQuery(query): RawQuery) -> Response {
    let params = params::query(query.as_deref()).unwrap_or_default();
    let (csrf, new) = csrf_token(&proto.browser);
    let action = proto.path("/oauth/device");
    let Some(code) = params.get("user_code").filter(|c| !c.trim().is_empty()) else {
        let page = device_page(proto.look().await, action, csrf.clone());
        return with_csrf(pages::render(StatusCode::OK, &page), &proto, &csrf, new);
    };
    let session = match signed_in(&proto).await {
        Ok(session) => session,
        Err(e) => return problem(&proto, StatusCode::BAD_REQUEST, "Connect a device", e).await,
    };
    let Some(session) = session else {
        let back = with_query(&action, &[("user_code".into(), code.clone())]);
        return login_first(&proto, back, "connect your device").await;
    };
    let mut page = device_page(proto.look().await, action, csrf.clone());
    page.user_code = code.trim().to_uppercase();
    match proto
        .call(ProtocolRequest::DeviceLookup {
            user_code: code.clone(),
        })
        .await
    {
        Ok(ProtocolReply::Device {
            client_name,
            scopes,
            branding,
        }) => {
            let look = Look::new(branding);
            page.branding = look.branding;
            page.client_name = Some(client_name);
            page.scopes = scopes;
            page.user_email = session.email;
            with_csrf(pages::render(StatusCode::OK, &page), &proto, &csrf, new)
        }
        Ok(other) => {
            problem(
                &proto,
                StatusCode::BAD_REQUEST,
                "Connect a device",
                ApiError::unexpected(other),
            )
            .await
        }
        Err(ApiError::Cluster(ClusterError::NotFound { .. })) => {
            page.error = Some("That code is not valid or has expired.".into());
            with_csrf(
                pages::render(StatusCode::BAD_REQUEST, &page),
                &proto,
                &csrf,
                new,
            )
        }
        Err(e) => problem(&proto, StatusCode::BAD_REQUEST, "Connect a device", e).await,
    }
}

pub async fn device_post(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    let mut form = match proto.form(body) {
        Ok(form) => form,
        Err(e) => return problem(&proto, StatusCode::BAD_REQUEST, "Connect a device", e).await,
    };
    if !csrf_ok(&proto.browser, form.remove("_csrf").as_deref()) {
        let e = ApiError::BadRequest("This form expired. Enter the code again.".into());
        return problem(&proto, StatusCode::BAD_REQUEST, "Connect a device", e).await;
    }
    let Some(cookie) = proto.browser.get(SESSION_COOKIE).map(str::to_string) else {
        return login_first(&proto, proto.path("/oauth/device"), "connect your device").await;
    };
    let user_code = form.remove("user_code").unwrap_or_default();
    let approve = match form.remove("decision").as_deref() {
        Some("allow") => true,
        Some("deny") => false,
        _ => {
            let e = ApiError::BadRequest("Choose Allow or Deny.".into());
            return problem(&proto, StatusCode::BAD_REQUEST, "Connect a device", e).await;
        }
    };
    match proto
        .call(ProtocolRequest::DeviceDecide {
            user_code,
            approve,
            cookie,
        })
        .await
    {
        Ok(_) => {
            let (heading, text) = if approve {
                ("Device connected", "You can return to your device now.")
            } else {
                ("Request denied", "The device was not given access.")
            };
            pages::message(StatusCode::OK, proto.look().await, heading, text, None)
        }
        Err(ApiError::Cluster(ClusterError::Unauthenticated { .. })) => {
            login_first(&proto, proto.path("/oauth/device"), "connect your device").await
        }
        Err(e) => problem(&proto, StatusCode::BAD_REQUEST, "Connect a device", e).await,
    }
}

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

pub async fn logout_get(proto: Proto, RawQuery(query): RawQuery) -> Response {
    match params::query(query.as_deref()) {
        Ok(params) => logout(proto, params, false).await,
        Err(e) => problem(&proto, StatusCode::BAD_REQUEST, "Sign out failed", e).await,
    }
}

pub async fn logout_post(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    match proto.form(body) {
        Ok(params) => logout(proto, params, true).await,
        Err(e) => problem(&proto, StatusCode::BAD_REQUEST, "Sign out failed", e).await,
    }
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

pub async fn ciba_get(proto: Proto) -> Response {
    ciba_page(&proto, None).await
}

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

pub async fn check_session() -> Response {
    pages::render_with(StatusCode::OK, &CheckSessionPage, false)
}
