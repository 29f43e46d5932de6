//! The browser side of authorization: the authorization endpoint (login and consent pages,
//! the redirect back with a code), the hosted login form, programmatic login, and the
//! organization selector.

use axum::Json;
use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lumo_cluster::ClusterError;
use lumo_cluster::oauth::{
    AuthorizeOutcome, LoginCandidate, Params, ProtocolReply, ProtocolRequest,
};
use serde_json::json;

use super::browser::{SESSION_COOKIE, csrf_ok, csrf_token, session_state};
use super::endpoints::bytes;
use super::pages::{self, ConsentPage, FormPostPage, LoginPage, Look};
use super::params;
use super::proto::Proto;
use crate::error::{ApiError, ApiResult};
use crate::password::verify_limited;

/// `uri` with `params` added to its query.
pub fn with_query(uri: &str, params: &[(String, String)]) -> String {
    let encoded = serde_urlencoded::to_string(params).unwrap_or_default();
    if encoded.is_empty() {
        return uri.to_string();
    }
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{encoded}")
}

/// A redirect that also sets cookies.
fn redirect_with(location: &str, status: StatusCode, cookies: Vec<HeaderValue>) -> Response {
    let mut response = status.into_response();
    let headers = response.headers_mut();
    match HeaderValue::from_str(location) {
        Ok(value) => {
            headers.insert(header::LOCATION, value);
        }
        Err(_) => return (StatusCode::BAD_REQUEST, "invalid redirect").into_response(),
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for cookie in cookies {
        headers.append(header::SET_COOKIE, cookie);
    }
    response
}

/// The text shown for a `login_error` marker (never the raw parameter).
fn login_message(code: &str) -> &'static str {
    match code {
        "invalid_credentials" => "The email or password is incorrect.",
        "locked" => "Too many failed attempts. Try again in a few minutes.",
        "blocked" => "This account cannot sign in. Contact your administrator.",
        "csrf" => "The sign-in form expired. Please try again.",
        "throttled" => "Too many attempts from your network. Wait a few minutes and try again.",
        "passkey_unavailable" => {
            "Passkey sign-in is not available for this organization; sign in with your password."
        }
        "missing" => "Enter your email and password.",
        _ => "Sign-in failed. Please try again.",
    }
}

/// A page for an error the authorization server returned instead of an outcome.
async fn error_page(proto: &Proto, error: ApiError) -> Response {
    let (status, code, text) = match &error {
        ApiError::Cluster(ClusterError::OrgNotFound { .. }) => (
            StatusCode::NOT_FOUND,
            "tenant_not_found",
            "This organization does not exist.".to_string(),
        ),
        ApiError::Cluster(ClusterError::OAuth {
            error, description, ..
        }) => (StatusCode::BAD_REQUEST, error.as_str(), description.clone()),
        ApiError::Cluster(
            ClusterError::Unavailable { .. }
            | ClusterError::NotLeader { .. }
            | ClusterError::WrongShard
            | ClusterError::OrgMoving { .. }
            | ClusterError::OutcomeUnknown { .. },
        ) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "The service is busy. Please try again in a moment.".to_string(),
        ),
        ApiError::BadRequest(message) => {
            (StatusCode::BAD_REQUEST, "invalid_request", message.clone())
        }
        _ => {
            tracing::error!(error = ?error, "authorization page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "Something went wrong. Please try again.".to_string(),
            )
        }
    };
    let look = if status == StatusCode::NOT_FOUND {
        Look::new(lumo_cluster::oauth::Branding {
            org_name: "Not found".into(),
            primary_color: "#4f46e5".into(),
            background_color: "#f8fafc".into(),
            button_text: "Sign in".into(),
            ..Default::default()
        })
    } else {
        proto.look().await
    };
    pages::message(status, look, "Something is not right", &text, Some(code))
}

pub async fn authorize_get(proto: Proto, RawQuery(query): RawQuery) -> Response {
    match params::query(query.as_deref()) {
        Ok(params) => run_authorize(proto, params, None, StatusCode::FOUND).await,
        Err(e) => error_page(&proto, e).await,
    }
}

pub async fn authorize_post(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    let mut params = match proto.form(body) {
        Ok(params) => params,
        Err(e) => return error_page(&proto, e).await,
    };
    let consent = match params.remove("consent").as_deref() {
        Some("allow") => Some(true),
        Some("deny") => Some(false),
        Some(_) => {
            let e = ClusterError::oauth("invalid_request", "consent must be allow or deny");
            return error_page(&proto, e.into()).await;
        }
        None => None,
    };
    let token = params.remove("_csrf");
    if consent.is_some() && !csrf_ok(&proto.browser, token.as_deref()) {
        let look = proto.look().await;
        return pages::message(
            StatusCode::BAD_REQUEST,
            look,
            "This form expired",
            "Go back to the application and start signing in again.",
            Some("csrf"),
        );
    }
    run_authorize(proto, params, consent, StatusCode::SEE_OTHER).await
}

async fn run_authorize(
    proto: Proto,
    params: Params,
    consent: Option<bool>,
    redirect_status: StatusCode,
) -> Response {
    let login_error = params.get("login_error").cloned();
    if let Err(e) = super::url_client::prepare(&proto, &params).await {
        return error_page(&proto, e).await;
    }
    let session = proto.browser.get(SESSION_COOKIE).map(str::to_string);
    let client_id = params.get("client_id").cloned().unwrap_or_default();
    let reply = proto
        .call(ProtocolRequest::Authorize {
            issuer: proto.issuer.clone(),
            params,
            session: session.clone(),
            consent,
        })
        .await;
    let outcome = match reply {
        Ok(ProtocolReply::Authorize(outcome)) => outcome,
        Ok(other) => return error_page(&proto, ApiError::unexpected(other)).await,
        Err(e) => return error_page(&proto, e).await,
    };
    let (csrf, new_csrf) = csrf_token(&proto.browser);
    let mut cookies = Vec::new();
    if new_csrf {
        cookies.push(proto.jar().csrf(&csrf));
    }
    let mut response = match outcome {
        AuthorizeOutcome::ErrorPage {
            error,
            description,
            branding,
        } => pages::message(
            StatusCode::BAD_REQUEST,
            Look::new(branding),
            "This sign-in link is not valid",
            &description,
            Some(&error),
        ),
        AuthorizeOutcome::Redirect {
            redirect_uri,
            mut params,
            form_post,
        } => {
            let issued_code = params.iter().any(|(k, _)| k == "code");
            if issued_code && let Some(session) = &session {
                params.push((
                    "session_state".into(),
                    session_state(&client_id, &redirect_uri, session),
                ));
            }
            if form_post {
                pages::render(
                    StatusCode::OK,
                    &FormPostPage {
                        action: redirect_uri,
                        fields: params,
                    },
                )
            } else {
                redirect_with(
                    &with_query(&redirect_uri, &params),
                    redirect_status,
                    Vec::new(),
                )
            }
        }
        AuthorizeOutcome::Login {
            client_name,
            login_hint,
            branding,
            params,
        } => {
            let look = Look::new(branding);
            pages::render(
                StatusCode::OK,
                &LoginPage {
                    branding: look.branding,
                    primary_color: look.primary_color,
                    background_color: look.background_color,
                    client_name,
                    error: login_error.as_deref().map(|c| login_message(c).to_string()),
                    action: proto.path("/oauth/login/submit"),
                    csrf,
                    carried: params,
                    login_hint: login_hint.unwrap_or_default(),
                },
            )
        }
        AuthorizeOutcome::Consent {
            client_name,
            scopes,
            user_email,
            branding,
            params,
        } => {
            let look = Look::new(branding);
            pages::render(
                StatusCode::OK,
                &ConsentPage {
                    branding: look.branding,
                    primary_color: look.primary_color,
                    background_color: look.background_color,
                    client_name,
                    user_email,
                    scopes,
                    action: proto.path("/oauth/authorize"),
                    csrf,
                    carried: params,
                },
            )
        }
    };
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// Where the login form sends the browser: back to a hosted page it came from, or to the
/// authorization endpoint with the request it carried.
fn after_login(proto: &Proto, params: &Params, signed_in: bool) -> String {
    if let Some(target) = params.get("return_to")
        && let Some(route) = target.strip_prefix(&proto.path(""))
        && (route.starts_with("/oauth/device") || route.starts_with("/oauth/ciba"))
        && !target.contains("//")
    {
        return target.clone();
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

fn back_with_error(proto: &Proto, params: &Params, code: &str) -> Response {
    let mut target = after_login(proto, params, false);
    let separator = if target.contains('?') { '&' } else { '?' };
    target.push(separator);
    target.push_str("login_error=");
    target.push_str(code);
    redirect_with(&target, StatusCode::FOUND, Vec::new())
}

/// How a password check ended.
enum Verdict {
    SignedIn { cookie: String, max_age: u64 },
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
    let reply = proto
        .call(ProtocolRequest::SignIn {
            user: candidate.user_id,
            client_id,
            method: "password".into(),
        })
        .await;
    match reply {
        Ok(ProtocolReply::SignedIn {
            cookie, expires_in, ..
        }) => {
            // Failures of the address are not forgotten on success: signing in to one's own
            // account must not reset the count of guesses at others'.
            Ok(Verdict::SignedIn {
                cookie,
                max_age: expires_in,
            })
        }
        Ok(other) => Err(ApiError::unexpected(other)),
        Err(ApiError::Cluster(ClusterError::OAuth { error, .. })) if error == "account_locked" => {
            Ok(Verdict::Refused("locked"))
        }
        Err(ApiError::Cluster(ClusterError::OAuth { error, .. })) if error == "access_denied" => {
            Ok(Verdict::Refused("blocked"))
        }
        Err(e) => Err(e),
    }
}

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
        Ok(Verdict::SignedIn { cookie, max_age }) => {
            let target = after_login(&proto, &params, true);
            redirect_with(
                &target,
                StatusCode::FOUND,
                proto.jar().session(&cookie, max_age).to_vec(),
            )
        }
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
        let verdict =
            check_password(&proto, email.trim(), password, params.remove("client_id")).await?;
        match verdict {
            Verdict::SignedIn { cookie, max_age } => {
                let mut response = Json(json!({"status": "complete"})).into_response();
                for value in proto.jar().session(&cookie, max_age) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
                Ok(response)
            }
            Verdict::Refused(code) => Err(match code {
                "blocked" => ApiError::Cluster(ClusterError::OAuth {
                    error: "access_denied".into(),
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
    super::endpoints::no_store(result.unwrap_or_else(IntoResponse::into_response))
}

/// A user belongs to exactly one organization here, so selection goes straight back to the
/// authorization request.
pub async fn org_select(proto: Proto, RawQuery(query): RawQuery) -> Response {
    if let Err(e) = proto.state.service.active_org(&proto.org).await {
        return error_page(&proto, e.into()).await;
    }
    let params = params::query(query.as_deref()).unwrap_or_default();
    let pairs: Vec<(String, String)> = params.into_iter().collect();
    redirect_with(
        &with_query(&proto.path("/oauth/authorize"), &pairs),
        StatusCode::FOUND,
        Vec::new(),
    )
}

pub async fn org_select_post(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    if let Err(e) = proto.state.service.active_org(&proto.org).await {
        return error_page(&proto, e.into()).await;
    }
    let params = proto.form(body).unwrap_or_default();
    let pairs: Vec<(String, String)> = params
        .into_iter()
        .filter(|(k, _)| k != "_csrf" && k != "organization")
        .collect();
    redirect_with(
        &with_query(&proto.path("/oauth/authorize"), &pairs),
        StatusCode::SEE_OTHER,
        Vec::new(),
    )
}

/// Passkeys are not offered yet: back to the login page with a message saying so.
pub async fn passkey_login(proto: Proto, RawQuery(query): RawQuery) -> Response {
    let mut pairs: Vec<(String, String)> = params::query(query.as_deref())
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k != "login_error")
        .collect();
    pairs.push(("login_error".into(), "passkey_unavailable".into()));
    redirect_with(
        &with_query(&proto.path("/oauth/authorize"), &pairs),
        StatusCode::FOUND,
        Vec::new(),
    )
}

/// Social and enterprise identity providers are not built yet.
pub async fn social() -> Response {
    ApiError::Cluster(ClusterError::NotImplemented {
        message:
            "social and enterprise identity-provider login is not available on this server yet"
                .into(),
    })
    .into_response()
}
