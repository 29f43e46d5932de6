//! `GET|POST ~/oauth/device`: the verification page of the device authorization grant
//! (RFC 8628 section 3.3), where the signed-in user enters a user code and decides.

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use lumo_cluster::ClusterError;
use lumo_cluster::protocol::{ProtocolReply, ProtocolRequest};

use super::browser::{SESSION_COOKIE, csrf_ok, csrf_token};
use super::hosted_page::{login_first, problem, signed_in, with_csrf};
use super::pages::{self, DevicePage, Look};
use super::params;
use super::proto::Proto;
use super::redirect::with_query;
use crate::error::ApiError;

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

/// `GET ~/oauth/device`: the form for the user code, or the request it names.
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

/// `POST ~/oauth/device`: the user's decision.
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
