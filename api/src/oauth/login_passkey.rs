//! `~/oauth/login/passkey`: passwordless sign-in with a passkey (a discoverable credential
//! names its user). `GET` starts the ceremony and the page asks the browser for a passkey at
//! once; the form posts the assertion back, and a valid one starts the session. The contract's
//! entry point, `~/oauth/passkey-login`, redirects here carrying the authorization request.

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use lumo_cluster::protocol::{LoginOutcome, LoginStep, Params};

use super::browser::{csrf_ok, csrf_token};
use super::error_page::error_page;
use super::hosted_page::with_csrf;
use super::login::{after_login, back_with_error};
use super::login_mfa::{MAX_CREDENTIAL, login_step, signed_in};
use super::pages::{self, PasskeyPage};
use super::params;
use super::proto::Proto;
use super::redirect::{redirect_with, with_query};
use crate::error::ApiError;

/// Form fields of this page (everything else is the authorization request, carried on).
const OWN_FIELDS: [&str; 4] = ["_csrf", "ceremony", "credential", "login_error"];

fn carried(params: &Params) -> Vec<(String, String)> {
    params::carried(params, &OWN_FIELDS)
}

/// `GET ~/oauth/passkey-login`: to the passkey page, carrying the authorization request.
pub async fn entry(proto: Proto, RawQuery(query): RawQuery) -> Response {
    let params = params::query(query.as_deref()).unwrap_or_default();
    redirect_with(
        &with_query(&proto.path("/oauth/login/passkey"), &carried(&params)),
        StatusCode::FOUND,
        Vec::new(),
    )
}

/// `GET ~/oauth/login/passkey`: a new ceremony, and the page that answers it.
pub async fn page(proto: Proto, RawQuery(query): RawQuery) -> Response {
    let params = params::query(query.as_deref()).unwrap_or_default();
    let (ceremony, options) = match login_step(&proto, LoginStep::PasskeyBegin).await {
        Ok(LoginOutcome::PasskeyOptions {
            ceremony,
            public_key,
        }) => (ceremony, public_key),
        Ok(other) => return error_page(&proto, ApiError::unexpected(other)).await,
        Err(_) => return back_with_error(&proto, &params, "passkey_unavailable"),
    };
    let (csrf, new) = csrf_token(&proto.browser);
    let look = proto.look().await;
    let html = PasskeyPage {
        branding: look.branding,
        primary_color: look.primary_color,
        background_color: look.background_color,
        action: proto.path("/oauth/login/passkey"),
        csrf: csrf.clone(),
        carried: carried(&params),
        ceremony,
        options,
        password_url: after_login(&proto, &params, false),
    };
    with_csrf(pages::render(StatusCode::OK, &html), &proto, &csrf, new)
}

/// `POST ~/oauth/login/passkey`: the browser's assertion.
pub async fn submit(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    let params = match proto.form(body) {
        Ok(params) => params,
        Err(e) => return error_page(&proto, e).await,
    };
    if !csrf_ok(&proto.browser, params.get("_csrf").map(String::as_str)) {
        return back_with_error(&proto, &params, "csrf");
    }
    let field = |name: &str, max: usize| {
        params
            .get(name)
            .filter(|v| !v.is_empty() && v.len() <= max)
            .cloned()
    };
    let (Some(ceremony), Some(credential)) =
        (field("ceremony", 64), field("credential", MAX_CREDENTIAL))
    else {
        return back_with_error(&proto, &params, "passkey_failed");
    };
    let step = LoginStep::PasskeyFinish {
        ceremony,
        credential,
        client_id: params.get("client_id").cloned(),
    };
    match login_step(&proto, step).await {
        Ok(outcome) => match signed_in(&proto, &params, outcome) {
            Some(response) => response,
            None => error_page(&proto, ApiError::Internal("unexpected sign-in step".into())).await,
        },
        Err(ApiError::Cluster(lumo_cluster::ClusterError::Mfa {
            code: lumo_cluster::MfaCode::MfaLocked,
            ..
        })) => back_with_error(&proto, &params, "mfa_locked"),
        Err(_) => back_with_error(&proto, &params, "passkey_failed"),
    }
}
