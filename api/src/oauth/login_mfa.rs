//! `~/oauth/login/mfa`: the hosted sign-in's second factor. The login form sends the browser
//! here with a challenge cookie when the user has a factor (or the org requires one); the page
//! asks for a code (or, for a user who must enroll first, shows an authenticator app's QR code)
//! and starts the session once the code is right.

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use lumo_cluster::ClusterError;
use lumo_cluster::crypto::totp;
use lumo_cluster::protocol::{
    LoginMfaPage, LoginOutcome, LoginStep, Params, ProtocolReply, ProtocolRequest,
};

use super::browser::{MFA_COOKIE, csrf_ok, csrf_token};
use super::error_page::error_page;
use super::hosted_page::with_csrf;
use super::login::{after_login, back_with_error};
use super::pages::{self, MfaEnrollView, MfaPage};
use super::params;
use super::proto::Proto;
use super::redirect::{redirect_with, with_query};
use crate::error::{ApiError, ApiResult};

/// The largest WebAuthn answer a form may carry.
pub const MAX_CREDENTIAL: usize = 16 * 1024;
/// How long the browser keeps its pending second factor.
pub const MFA_COOKIE_SECS: u64 = 900;
/// Form fields of this page (everything else is carried back to the authorization request).
const OWN_FIELDS: [&str; 7] = [
    "_csrf",
    "code",
    "credential",
    "ceremony",
    "trust_device",
    "authenticator_id",
    "login_error",
];

/// A step of the hosted sign-in on the org's leader.
pub(super) async fn login_step(proto: &Proto, step: LoginStep) -> ApiResult<LoginOutcome> {
    match proto.call(ProtocolRequest::LoginMfa(step)).await? {
        ProtocolReply::LoginMfa(outcome) => Ok(outcome),
        other => Err(ApiError::unexpected(other)),
    }
}

fn carried(params: &Params) -> Vec<(String, String)> {
    params::carried(params, &OWN_FIELDS)
}

/// Where the browser goes with `outcome` of a sign-in step (the session cookies set).
pub fn signed_in(proto: &Proto, params: &Params, outcome: LoginOutcome) -> Option<Response> {
    let LoginOutcome::SignedIn {
        cookie,
        expires_in,
        trusted_device,
    } = outcome
    else {
        return None;
    };
    let mut cookies: Vec<HeaderValue> = proto.jar().session(&cookie, expires_in).to_vec();
    cookies.push(proto.jar().mfa("", 0));
    if let Some((device, max_age)) = trusted_device {
        cookies.push(proto.jar().trusted_device(&device, max_age));
    }
    Some(redirect_with(
        &after_login(proto, params, true),
        StatusCode::FOUND,
        cookies,
    ))
}

/// The second-factor page's address, carrying the authorization request.
pub fn page_url(proto: &Proto, params: &Params) -> String {
    with_query(&proto.path("/oauth/login/mfa"), &carried(params))
}

/// Sends the browser to the second-factor page with its challenge cookie.
pub fn to_second_factor(proto: &Proto, params: &Params, cookie: &str) -> Response {
    redirect_with(
        &page_url(proto, params),
        StatusCode::SEE_OTHER,
        vec![proto.jar().mfa(cookie, MFA_COOKIE_SECS)],
    )
}

/// The login form's message for a sign-in that ended with `error`.
fn over_because(error: &ApiError) -> &'static str {
    match error {
        ApiError::Cluster(ClusterError::Mfa { code, .. })
            if *code == lumo_cluster::MfaCode::MfaLocked =>
        {
            "mfa_locked"
        }
        _ => "mfa_expired",
    }
}

/// A sign-in that is over (`mfa_expired`, `mfa_locked`): back to the login form.
fn over(proto: &Proto, params: &Params, code: &str) -> Response {
    let mut response = back_with_error(proto, params, code);
    response
        .headers_mut()
        .append(header::SET_COOKIE, proto.jar().mfa("", 0));
    response
}

async fn render(
    proto: &Proto,
    params: &Params,
    page: LoginMfaPage,
    enroll: Option<MfaEnrollView>,
    error: Option<String>,
) -> Response {
    let (csrf, new) = csrf_token(&proto.browser);
    let look = proto.look().await;
    let factor_name = match page.factor {
        Some((lumo_cluster::model::FactorKind::EmailOtp, _)) => "email".to_string(),
        // The default names read as part of the sentence ("your authenticator app").
        Some((kind, name)) if name == kind.default_name() => name.to_lowercase(),
        Some((_, name)) => name,
        None => "authenticator app".into(),
    };
    let html = MfaPage {
        branding: look.branding,
        primary_color: look.primary_color,
        background_color: look.background_color,
        email: page.email,
        error,
        action: page_url(proto, params),
        csrf: csrf.clone(),
        carried: carried(params),
        factor_name,
        trusted_device_days: page.trusted_device_days,
        enroll,
        passkey_options: page.public_key,
    };
    let status = if html.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    with_csrf(pages::render(status, &html), proto, &csrf, new)
}

/// Shows the page for the browser's challenge (enrolling an app first when it must).
async fn show(proto: &Proto, params: &Params, cookie: &str, error: Option<String>) -> Response {
    let describe = LoginStep::Describe {
        cookie: cookie.to_string(),
    };
    let page = match login_step(proto, describe).await {
        Ok(LoginOutcome::Page(page)) => *page,
        Ok(other) => return error_page(proto, ApiError::unexpected(other)).await,
        Err(e) => return over(proto, params, over_because(&e)),
    };
    if !page.must_enroll {
        return render(proto, params, page, None, error).await;
    }
    let enroll = LoginStep::Enroll {
        cookie: cookie.to_string(),
    };
    match login_step(proto, enroll).await {
        Ok(LoginOutcome::Enrollment(enrollment)) => {
            let secret = enrollment.secret.clone().unwrap_or_default();
            let view = MfaEnrollView {
                authenticator_id: enrollment.authenticator.id.clone(),
                qr_data_uri: enrollment
                    .otpauth_uri
                    .as_deref()
                    .map(crate::qr::svg_data_uri)
                    .unwrap_or_default(),
                secret_grouped: totp::grouped(&secret),
                passkey_options: enrollment.public_key.clone(),
            };
            render(proto, params, page, Some(view), error).await
        }
        Ok(other) => error_page(proto, ApiError::unexpected(other)).await,
        Err(e) => over(proto, params, over_because(&e)),
    }
}

/// `GET ~/oauth/login/mfa`.
pub async fn mfa_page(proto: Proto, RawQuery(query): RawQuery) -> Response {
    let params = params::query(query.as_deref()).unwrap_or_default();
    let Some(cookie) = proto.browser.get(MFA_COOKIE).map(str::to_string) else {
        return back_with_error(&proto, &params, "mfa_expired");
    };
    show(&proto, &params, &cookie, None).await
}

/// `POST ~/oauth/login/mfa`: a code, or the first code of an app being enrolled.
pub async fn mfa_submit(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    let params = match proto.form(body) {
        Ok(params) => params,
        Err(e) => return error_page(&proto, e).await,
    };
    let Some(cookie) = proto.browser.get(MFA_COOKIE).map(str::to_string) else {
        return back_with_error(&proto, &params, "mfa_expired");
    };
    if !csrf_ok(&proto.browser, params.get("_csrf").map(String::as_str)) {
        let message = "The form expired. Please try again.".to_string();
        return show(&proto, &params, &cookie, Some(message)).await;
    }
    let code = params.get("code").cloned().unwrap_or_default();
    let credential = params
        .get("credential")
        .filter(|c| !c.is_empty() && c.len() <= MAX_CREDENTIAL)
        .cloned();
    if credential.is_none() && (code.trim().is_empty() || code.len() > 64) {
        return show(&proto, &params, &cookie, Some("Enter the code.".into())).await;
    }
    let by_passkey = credential.is_some();
    let client_id = params.get("client_id").cloned();
    let step = match (credential, params.get("authenticator_id")) {
        (Some(credential), Some(id)) => LoginStep::VerifyPasskeyEnrollment {
            cookie: cookie.clone(),
            authenticator_id: id.chars().take(64).collect(),
            credential,
            client_id,
        },
        (Some(credential), None) => LoginStep::AnswerPasskey {
            cookie: cookie.clone(),
            credential,
            trust_device: params.contains_key("trust_device"),
            client_id,
        },
        (None, Some(id)) => LoginStep::VerifyEnrollment {
            cookie: cookie.clone(),
            authenticator_id: id.chars().take(64).collect(),
            code,
            client_id,
        },
        (None, None) => LoginStep::Answer {
            cookie: cookie.clone(),
            code,
            trust_device: params.contains_key("trust_device"),
            client_id,
        },
    };
    match login_step(&proto, step).await {
        Ok(LoginOutcome::Wrong {
            attempts_remaining,
            locked,
        }) => {
            if locked || attempts_remaining == 0 {
                let code = if locked { "mfa_locked" } else { "mfa_expired" };
                return over(&proto, &params, code);
            }
            let message = format!(
                "{} {attempts_remaining} attempt{} left.",
                if by_passkey {
                    "The passkey was not accepted."
                } else {
                    "That code is not right."
                },
                if attempts_remaining == 1 { "" } else { "s" }
            );
            show(&proto, &params, &cookie, Some(message)).await
        }
        // Let in by a temporary access code: the page now enrolls an app.
        Ok(LoginOutcome::Page(_)) => redirect_with(
            &page_url(&proto, &params),
            StatusCode::SEE_OTHER,
            Vec::new(),
        ),
        Ok(outcome) => match signed_in(&proto, &params, outcome) {
            Some(response) => response,
            None => error_page(&proto, ApiError::Internal("unexpected sign-in step".into())).await,
        },
        Err(e @ ApiError::Cluster(ClusterError::Mfa { .. })) => {
            over(&proto, &params, over_because(&e))
        }
        Err(e) => error_page(&proto, e).await,
    }
}
