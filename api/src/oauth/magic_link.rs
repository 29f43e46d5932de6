//! Sign-in links: `POST ~/oauth/magic-link/send` (the login page's "email me a link" form) and
//! the page the emailed link opens, `GET|POST ~/oauth/magic-link` (GET shows whom it signs in,
//! POST signs in, so mail scanners that fetch links do not spend them). Signing in goes on as
//! after a password: the second factor when the policy asks, then the authorization request
//! (or hosted page) the link was asked from.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use lumo_cluster::protocol::{EmailLinkStep, LoginOutcome, Params, ProtocolReply, ProtocolRequest};

use super::browser::{DEVICE_COOKIE, csrf_ok};
use super::error_page::error_page;
use super::hosted_page::problem;
use super::login::back_with_error;
use super::login_mfa::{signed_in, to_second_factor};
use super::pages;
use super::proto::Proto;
use crate::error::ApiError;

/// `POST ~/oauth/magic-link/send`.
pub async fn send(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    let mut params = match proto.form(body) {
        Ok(params) => params,
        Err(e) => return error_page(&proto, e).await,
    };
    if !csrf_ok(&proto.browser, params.remove("_csrf").as_deref()) {
        return back_with_error(&proto, &params, "csrf");
    }
    let email = params.remove("email").unwrap_or_default();
    let email = email.trim().to_string();
    if email.is_empty() || email.len() > 320 {
        return back_with_error(&proto, &params, "missing_email");
    }
    // Every request counts against the network's budget: links are not sent without end.
    let ip = proto.ip();
    if proto.state.throttle.retry_after(&proto.org, &ip).is_some() {
        return back_with_error(&proto, &params, "throttled");
    }
    proto.state.throttle.fail(&proto.org, &ip);
    let step = EmailLinkStep::RequestMagicLink {
        email: email.clone(),
        issuer: proto.issuer.clone(),
        carried: params
            .into_iter()
            .filter(|(k, _)| k != "login_error")
            .collect(),
    };
    match proto.call(ProtocolRequest::EmailLink(step)).await {
        Ok(_) => pages::message(
            StatusCode::OK,
            proto.look().await,
            "Check your email",
            &format!(
                "If {email} has an account here, a sign-in link is on its way. It works once; open it in this browser to go on."
            ),
            None,
        ),
        Err(e) => error_page(&proto, e).await,
    }
}

/// Signs in with a checked link (the POST of the link's page).
pub(super) async fn finish(proto: &Proto, token: String) -> Response {
    let step = EmailLinkStep::UseMagicLink {
        token,
        device: proto.browser.get(DEVICE_COOKIE).map(str::to_string),
    };
    let (outcome, carried) = match proto.call(ProtocolRequest::EmailLink(step)).await {
        Ok(ProtocolReply::LinkSignIn { outcome, carried }) => (outcome, carried),
        Ok(other) => {
            return problem(
                proto,
                StatusCode::BAD_REQUEST,
                "Sign in",
                ApiError::unexpected(other),
            )
            .await;
        }
        Err(e) => return problem(proto, StatusCode::BAD_REQUEST, "Sign in", e).await,
    };
    let params: Params = carried.into_iter().collect();
    match outcome {
        LoginOutcome::SecondFactor { cookie } => to_second_factor(proto, &params, &cookie),
        outcome => match signed_in(proto, &params, outcome) {
            Some(response) => response,
            None => error_page(proto, ApiError::Internal("unexpected sign-in".into())).await,
        },
    }
}
