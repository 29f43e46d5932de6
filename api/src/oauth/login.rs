//! Sign-in: the hosted login form (`~/oauth/login/submit`), programmatic login
//! (`~/oauth/login/json`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use lumo_cluster::ClusterError;
use lumo_cluster::protocol::{
    ErrorCode, LoginCandidate, LoginOutcome, LoginStep, Params, ProtocolReply, ProtocolRequest,
};
use serde_json::json;

use super::browser::{DEVICE_COOKIE, csrf_ok};
use super::error_page::error_page;
use super::login_mfa::{MFA_COOKIE_SECS, page_url, signed_in, to_second_factor};
use super::params::{self, bytes};
use super::proto::Proto;
use super::redirect::{redirect_with, with_query};
use super::response::no_store;
use crate::error::{ApiError, ApiResult};
use crate::password::verify_limited;

/// The text shown for a `login_error` marker (never the raw parameter).
pub fn login_message(code: &str) -> &'static str {
    match code {
        "invalid_credentials" => "The email or password is incorrect.",
        "locked" => "Too many failed attempts. Try again in a few minutes.",
        "blocked" => "This account cannot sign in. Contact your administrator.",
        "csrf" => "The sign-in form expired. Please try again.",
        "throttled" => "Too many attempts from your network. Wait a few minutes and try again.",
        "passkey_unavailable" => {
            "Passkey sign-in is not available for this organization; sign in with your password."
        }
        "passkey_failed" => {
            "The passkey was not accepted. Try again, or sign in with your password."
        }
        "social_unavailable" => "This sign-in provider is not available.",
        "social_failed" => {
            "Signing in with the provider failed. Try again, or sign in with your password."
        }
        "social_cancelled" => "Sign-in with the provider was cancelled.",
        "social_expired" => "The sign-in took too long or was already used. Please try again.",
        "social_denied" => "This account cannot sign in. Contact your administrator.",
        "social_no_account" => {
            "No account here matches this sign-in, and new accounts are not created automatically."
        }
        "social_unverified" => {
            "The provider has not verified this email address, so it cannot sign in here."
        }
        "social_linked" => "This account is linked to a different identity at this provider.",
        "saml_unavailable" => "This identity provider is not available.",
        "saml_failed" => {
            "Signing in with your organization's identity provider failed. Please try again."
        }
        "saml_expired" => "The sign-in took too long or was already used. Please try again.",
        "saml_no_account" => {
            "No account here matches this sign-in, and new accounts are not created automatically."
        }
        "saml_unverified" => {
            "An account with this address exists and this identity provider may not sign in to it."
        }
        "saml_linked" => "This account is linked to a different identity at this provider.",
        "missing" => "Enter your email and password.",
        "missing_email" => "Enter your email address.",
        "mfa_expired" => "The two-step verification expired. Sign in again.",
        "mfa_locked" => "Too many wrong codes: two-step verification is locked for 15 minutes.",
        _ => "Sign-in failed. Please try again.",
    }
}

/// Hosted pages that send a signed-out browser to the login form and take it back after.
const RETURN_ROUTES: [&str; 5] = [
    "/aauth/agent/auth",
    "/oauth/device",
    "/oauth/ciba",
    "/oauth/approvals",
    "/oauth/jit-review",
];

/// Where the login form sends the browser: back to a hosted page it came from, or to the
/// authorization endpoint with the request it carried.
pub(super) fn after_login(proto: &Proto, params: &Params, signed_in: bool) -> String {
    if let Some(target) = params.get("return_to")
        && !target.contains("//")
    {
        let hosted = target
            .strip_prefix(&proto.path(""))
            .is_some_and(|route| RETURN_ROUTES.iter().any(|r| route.starts_with(r)));
        // The SAML identity provider's sign-on, which the login interrupted.
        let saml = target.starts_with(&format!("/orgs/{}/saml/idp/", proto.org));
        if hosted || saml {
            return target.clone();
        }
    }
    let mut carried: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| !["return_to", "login_error"].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if signed_in {
        // The user just signed in: a prompt to sign in again is satisfied.
        for (key, value) in carried.iter_mut() {
            if key == "prompt" {
                *value = value
                    .split_whitespace()
                    .filter(|p| *p != "login" && *p != "select_account")
                    .collect::<Vec<_>>()
                    .join(" ");
            }
        }
    }
    with_query(&proto.path("/oauth/authorize"), &carried)
}

pub(super) fn back_with_error(proto: &Proto, params: &Params, code: &str) -> Response {
    let mut target = after_login(proto, params, false);
    let separator = if target.contains('?') { '&' } else { '?' };
    target.push(separator);
    target.push_str("login_error=");
    target.push_str(code);
    redirect_with(&target, StatusCode::FOUND, Vec::new())
}

/// How a password check ended.
enum Verdict {
    /// Signed in (with the step's cookies to set).
    SignedIn(LoginOutcome),
    /// The password was right; a second factor is needed (the challenge cookie).
    SecondFactor(String),
    Refused(&'static str),
}

async fn check_password(
    proto: &Proto,
    email: &str,
    password: String,
    client_id: Option<String>,
) -> ApiResult<Verdict> {
    let ip = proto.ip();
    if proto.state.throttle.retry_after(&proto.org, &ip).is_some() {
        return Ok(Verdict::Refused("throttled"));
    }
    let gates = proto.state.login_gates.clone();
    let _turn = gates.enter(&proto.org, email).await;
    let candidate: Option<LoginCandidate> = match proto
        .call(ProtocolRequest::LoginCandidate {
            email: email.to_string(),
        })
        .await?
    {
        ProtocolReply::LoginCandidate(c) => c,
        other => return Err(ApiError::unexpected(other)),
    };
    // A locked account is refused before its password is looked at, whatever was sent.
    if candidate.as_ref().is_some_and(|c| c.locked_until.is_some()) {
        return Ok(Verdict::Refused("locked"));
    }
    let hash = candidate.as_ref().and_then(|c| c.password_hash.clone());
    let matches = verify_limited(&proto.state.hashing, password, hash).await?;
    let record_failure = |reason: &str, user| ProtocolRequest::LoginFailed {
        email: email.to_string(),
        user,
        reason: reason.to_string(),
        client_id: client_id.clone(),
    };
    let Some(candidate) = candidate else {
        proto.state.throttle.fail(&proto.org, &ip);
        proto.call(record_failure("unknown_email", None)).await?;
        return Ok(Verdict::Refused("invalid_credentials"));
    };
    if !matches {
        proto.state.throttle.fail(&proto.org, &ip);
        let reply = proto
            .call(record_failure("invalid_password", Some(candidate.user_id)))
            .await?;
        let locked = matches!(
            reply,
            ProtocolReply::LoginRecorded {
                locked_until: Some(_)
            }
        );
        return Ok(Verdict::Refused(if locked {
            "locked"
        } else {
            "invalid_credentials"
        }));
    }
    if !candidate.usable {
        proto
            .call(record_failure("blocked", Some(candidate.user_id)))
            .await?;
        return Ok(Verdict::Refused("blocked"));
    }
    let begin = LoginStep::Begin {
        user: candidate.user_id,
        client_id,
        device: proto.browser.get(DEVICE_COOKIE).map(str::to_string),
    };
    match proto.call(ProtocolRequest::LoginMfa(begin)).await {
        // Failures of the address are not forgotten on success: signing in to one's own
        // account must not reset the count of guesses at others'.
        Ok(ProtocolReply::LoginMfa(LoginOutcome::SecondFactor { cookie })) => {
            Ok(Verdict::SecondFactor(cookie))
        }
        Ok(ProtocolReply::LoginMfa(outcome @ LoginOutcome::SignedIn { .. })) => {
            Ok(Verdict::SignedIn(outcome))
        }
        Ok(other) => Err(ApiError::unexpected(other)),
        Err(ApiError::Cluster(ClusterError::OAuth {
            error: ErrorCode::AccountLocked,
            ..
        })) => Ok(Verdict::Refused("locked")),
        Err(ApiError::Cluster(ClusterError::OAuth {
            error: ErrorCode::AccessDenied,
            ..
        })) => Ok(Verdict::Refused("blocked")),
        Err(ApiError::Cluster(ClusterError::Mfa { .. })) => Ok(Verdict::Refused("mfa_locked")),
        Err(e) => Err(e),
    }
}

/// `POST ~/oauth/login/submit`: the hosted login form.
pub async fn login_submit(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    let mut params = match proto.form(body) {
        Ok(params) => params,
        Err(e) => return error_page(&proto, e).await,
    };
    let token = params.remove("_csrf");
    let email = params.remove("email").unwrap_or_default();
    let password = params.remove("password").unwrap_or_default();
    if !csrf_ok(&proto.browser, token.as_deref()) {
        return back_with_error(&proto, &params, "csrf");
    }
    if email.trim().is_empty() || password.is_empty() || password.chars().count() > 256 {
        return back_with_error(&proto, &params, "missing");
    }
    let client_id = params.get("client_id").cloned();
    match check_password(&proto, email.trim(), password, client_id).await {
        Ok(Verdict::SignedIn(outcome)) => match signed_in(&proto, &params, outcome) {
            Some(response) => response,
            None => error_page(&proto, ApiError::Internal("unexpected sign-in".into())).await,
        },
        Ok(Verdict::SecondFactor(cookie)) => to_second_factor(&proto, &params, &cookie),
        Ok(Verdict::Refused(code)) => back_with_error(&proto, &params, code),
        Err(e) => error_page(&proto, e).await,
    }
}

/// True when the request comes from this server's own origin (or from no browser at all).
fn trusted_origin(proto: &Proto) -> bool {
    match proto
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    {
        None => true,
        Some(origin) => super::browser::origin_of(&proto.issuer) == origin,
    }
}

/// `POST ~/oauth/login/json`: programmatic sign-in from this server's own origin.
pub async fn login_json(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    let result = async {
        if !trusted_origin(&proto) {
            return Err(ApiError::Cluster(ClusterError::Forbidden {
                message: "programmatic login is only accepted from this server's own origin".into(),
                required_scopes: Vec::new(),
                granted_scopes: Vec::new(),
            }));
        }
        let mut params = params::body(&proto.headers, &bytes(body)?, true)?;
        let email = params
            .remove("email")
            .filter(|e| !e.trim().is_empty())
            .ok_or_else(|| ApiError::invalid("email", "is required"))?;
        let password = params
            .remove("password")
            .filter(|p| !p.is_empty() && p.chars().count() <= 256)
            .ok_or_else(|| ApiError::invalid("password", "is required"))?;
        let verdict = check_password(
            &proto,
            email.trim(),
            password,
            params.get("client_id").cloned(),
        )
        .await?;
        match verdict {
            Verdict::SignedIn(LoginOutcome::SignedIn {
                cookie, expires_in, ..
            }) => {
                let mut response = Json(json!({"status": "complete"})).into_response();
                for value in proto.jar().session(&cookie, expires_in) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
                Ok(response)
            }
            Verdict::SignedIn(other) => Err(ApiError::unexpected(other)),
            Verdict::SecondFactor(cookie) => {
                let url = format!(
                    "{}{}",
                    super::browser::origin_of(&proto.issuer),
                    page_url(&proto, &params)
                );
                let mut response =
                    Json(json!({"status": "mfa_required", "challenge_url": url})).into_response();
                response.headers_mut().append(
                    header::SET_COOKIE,
                    proto.jar().mfa(&cookie, MFA_COOKIE_SECS),
                );
                Ok(response)
            }
            Verdict::Refused(code) => Err(match code {
                "blocked" => ApiError::Cluster(ClusterError::OAuth {
                    error: ErrorCode::AccessDenied,
                    description: login_message(code).into(),
                    status: 403,
                }),
                "locked" | "throttled" => ApiError::Cluster(ClusterError::Overloaded {
                    retry_after_secs: 60,
                }),
                _ => ApiError::Cluster(ClusterError::Unauthenticated {
                    message: login_message(code).into(),
                }),
            }),
        }
    }
    .await;
    no_store(result.unwrap_or_else(IntoResponse::into_response))
}
