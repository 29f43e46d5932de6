//! `GET|POST ~/oauth/verify-email` and `~/oauth/reset-password`: the pages the links of
//! verification and password-reset emails open. GET checks the link and shows a confirmation
//! (a reset asks for the new password); POST uses it. Using a link on POST only, never on GET,
//! keeps mail scanners that fetch links from spending them.

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use lumo_cluster::protocol::{EmailLinkStep, ProtocolReply, ProtocolRequest};
use serde_json::Value;

use super::browser::{csrf_ok, csrf_token};
use super::hosted_page::{problem, with_csrf};
use super::pages::{self, EmailLinkPage};
use super::params;
use super::proto::Proto;
use crate::error::ApiError;
use crate::password;

/// Which page: verification or reset.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Verify,
    Reset,
    /// A sign-in link (`~/oauth/magic-link`).
    SignIn,
}

impl Purpose {
    fn route(self) -> &'static str {
        match self {
            Purpose::Verify => "/oauth/verify-email",
            Purpose::Reset => "/oauth/reset-password",
            Purpose::SignIn => "/oauth/magic-link",
        }
    }

    fn heading(self) -> &'static str {
        match self {
            Purpose::Verify => "Verify your email",
            Purpose::Reset => "Choose a new password",
            Purpose::SignIn => "Sign in",
        }
    }

    /// The request kind the cluster names this purpose by.
    fn kind(self) -> &'static str {
        match self {
            Purpose::Verify => "verify_email",
            Purpose::Reset => "password_reset",
            Purpose::SignIn => "magic_link",
        }
    }
}

/// Why a new password from a form is refused (two entries that differ, or the org's policy),
/// in words for the page.
pub(super) fn password_refusal(password: &str, again: &str, policy: &Value) -> Option<String> {
    if password != again {
        return Some("The two passwords differ.".to_string());
    }
    password::check_against(policy, "password", password)
        .err()
        .map(|e| {
            format!(
                "The password {}.",
                e.classify().message.trim_start_matches("password: ")
            )
        })
}

async fn check(proto: &Proto, purpose: Purpose, token: &str) -> Result<Value, ApiError> {
    let reply = proto
        .call(ProtocolRequest::EmailLink(EmailLinkStep::Check {
            token: token.to_string(),
        }))
        .await?;
    let ProtocolReply::Document(doc) = reply else {
        return Err(ApiError::unexpected(reply));
    };
    if doc["purpose"] != purpose.kind() {
        return Err(ApiError::BadRequest(
            "This link is not for this page.".into(),
        ));
    }
    Ok(doc)
}

async fn form_page(
    proto: &Proto,
    purpose: Purpose,
    token: &str,
    email: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let (csrf, new) = csrf_token(&proto.browser);
    let look = proto.look().await;
    let (message, button) = match purpose {
        Purpose::Verify => (format!("Confirm that {email} is your address."), "Verify"),
        Purpose::Reset => (
            format!("Choose a new password for {email}."),
            "Set password",
        ),
        Purpose::SignIn => (format!("Sign in as {email}?"), "Sign in"),
    };
    let page = EmailLinkPage {
        branding: look.branding,
        primary_color: look.primary_color,
        background_color: look.background_color,
        heading: purpose.heading().to_string(),
        message,
        error,
        action: proto.path(purpose.route()),
        csrf: csrf.clone(),
        token: token.to_string(),
        ask_name: false,
        ask_password: purpose == Purpose::Reset,
        button: button.to_string(),
    };
    with_csrf(pages::render(status, &page), proto, &csrf, new)
}

async fn show(proto: Proto, query: Option<String>, purpose: Purpose) -> Response {
    let params = params::query(query.as_deref()).unwrap_or_default();
    let token = params.get("token").cloned().unwrap_or_default();
    match check(&proto, purpose, &token).await {
        Ok(doc) => {
            let email = doc["email"].as_str().unwrap_or_default().to_string();
            form_page(&proto, purpose, &token, &email, None, StatusCode::OK).await
        }
        Err(e) => problem(&proto, StatusCode::BAD_REQUEST, purpose.heading(), e).await,
    }
}

async fn submit(proto: Proto, body: Result<Bytes, BytesRejection>, purpose: Purpose) -> Response {
    let mut form = match proto.form(body) {
        Ok(form) => form,
        Err(e) => return problem(&proto, StatusCode::BAD_REQUEST, purpose.heading(), e).await,
    };
    if !csrf_ok(&proto.browser, form.remove("_csrf").as_deref()) {
        let e =
            ApiError::BadRequest("This form expired. Open the link from the email again.".into());
        return problem(&proto, StatusCode::BAD_REQUEST, purpose.heading(), e).await;
    }
    let token = form.remove("token").unwrap_or_default();
    let doc = match check(&proto, purpose, &token).await {
        Ok(doc) => doc,
        Err(e) => return problem(&proto, StatusCode::BAD_REQUEST, purpose.heading(), e).await,
    };
    let email = doc["email"].as_str().unwrap_or_default().to_string();
    let password_hash = match purpose {
        Purpose::SignIn => return super::magic_link::finish(&proto, token).await,
        Purpose::Verify => None,
        Purpose::Reset => {
            let password = form.remove("password").unwrap_or_default();
            let again = form.remove("password_confirm").unwrap_or_default();
            let refusal = password_refusal(&password, &again, &doc["password_policy"]);
            if let Some(refusal) = refusal {
                return form_page(
                    &proto,
                    purpose,
                    &token,
                    &email,
                    Some(refusal),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
            match password::hash_limited(&proto.state.hashing, password).await {
                Ok(hash) => Some(hash),
                Err(e) => {
                    return problem(&proto, StatusCode::BAD_REQUEST, purpose.heading(), e).await;
                }
            }
        }
    };
    let step = EmailLinkStep::Use {
        token,
        password_hash,
    };
    match proto.call(ProtocolRequest::EmailLink(step)).await {
        Ok(_) => {
            let (heading, text) = match purpose {
                Purpose::SignIn => ("Signed in", format!("{email} is signed in.")),
                Purpose::Verify => (
                    "Email verified",
                    format!("{email} is verified. You can close this page."),
                ),
                Purpose::Reset => (
                    "Password changed",
                    format!("The password of {email} is changed. You can sign in with it now."),
                ),
            };
            pages::message(StatusCode::OK, proto.look().await, heading, &text, None)
        }
        Err(e) => problem(&proto, StatusCode::BAD_REQUEST, purpose.heading(), e).await,
    }
}

pub async fn verify_get(proto: Proto, RawQuery(query): RawQuery) -> Response {
    show(proto, query, Purpose::Verify).await
}

pub async fn verify_post(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    submit(proto, body, Purpose::Verify).await
}

pub async fn magic_get(proto: Proto, RawQuery(query): RawQuery) -> Response {
    show(proto, query, Purpose::SignIn).await
}

pub async fn magic_post(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    submit(proto, body, Purpose::SignIn).await
}

pub async fn reset_get(proto: Proto, RawQuery(query): RawQuery) -> Response {
    show(proto, query, Purpose::Reset).await
}

pub async fn reset_post(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    submit(proto, body, Purpose::Reset).await
}
