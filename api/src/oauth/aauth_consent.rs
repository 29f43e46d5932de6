//! The AAuth consent page, `GET|POST ~/aauth/agent/auth?request_token=…`: a signed-in user
//! sees which agent asks for which scopes at which resource, and allows or denies; the
//! browser then goes to the agent's redirect URI with a single-use `code` (or
//! `error=access_denied`). Without a session, the login form comes first and returns here.

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use lumo_cluster::protocol::{ProtocolReply, ProtocolRequest};

use super::browser::{SESSION_COOKIE, csrf_ok, csrf_token};
use super::hosted_page::{login_first, problem, with_csrf};
use super::pages::{self, ConsentPage};
use super::proto::Proto;
use super::redirect::redirect_with;
use crate::error::ApiError;

const TITLE: &str = "Allow an agent";
const ROUTE: &str = "/aauth/agent/auth";

fn return_to(proto: &Proto, request_token: &str) -> String {
    format!(
        "{}?request_token={}",
        proto.path(ROUTE),
        lumo_cluster::oauth::urlencode(request_token)
    )
}

/// `GET ~/aauth/agent/auth`.
pub async fn consent_get(proto: Proto, RawQuery(query): RawQuery) -> Response {
    let request_token = match super::params::query(query.as_deref()) {
        Ok(mut params) => params.remove("request_token").unwrap_or_default(),
        Err(e) => return problem(&proto, StatusCode::BAD_REQUEST, TITLE, e).await,
    };
    if request_token.is_empty() || request_token.len() > 200 {
        let e = ApiError::BadRequest("request_token is required".into());
        return problem(&proto, StatusCode::BAD_REQUEST, TITLE, e).await;
    }
    let Some(cookie) = proto.browser.get(SESSION_COOKIE).map(str::to_string) else {
        return login_first(&proto, return_to(&proto, &request_token), "answer an agent").await;
    };
    let reply = proto
        .call(ProtocolRequest::AAuthConsentView {
            cookie,
            request_token: request_token.clone(),
        })
        .await;
    let (agent_name, resource_name, scopes, user_email) = match reply {
        Ok(ProtocolReply::AAuthConsent {
            agent_name,
            resource_name,
            scopes,
            user_email,
            ..
        }) => (agent_name, resource_name, scopes, user_email),
        Ok(other) => {
            let e = ApiError::unexpected(other);
            return problem(&proto, StatusCode::BAD_REQUEST, TITLE, e).await;
        }
        Err(ApiError::Cluster(lumo_cluster::ClusterError::Unauthenticated { .. })) => {
            return login_first(&proto, return_to(&proto, &request_token), "answer an agent").await;
        }
        Err(e) => return problem(&proto, StatusCode::BAD_REQUEST, TITLE, e).await,
    };
    let (csrf, new) = csrf_token(&proto.browser);
    let look = proto.look().await;
    let page = ConsentPage {
        branding: look.branding,
        primary_color: look.primary_color,
        background_color: look.background_color,
        client_name: format!("{agent_name} (an AI agent, at {resource_name})"),
        user_email,
        scopes,
        action: proto.path(ROUTE),
        csrf: csrf.clone(),
        carried: vec![("request_token".into(), request_token)],
    };
    with_csrf(pages::render(StatusCode::OK, &page), &proto, &csrf, new)
}

/// `POST ~/aauth/agent/auth`: the user's answer.
pub async fn consent_post(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    let mut form = match proto.form(body) {
        Ok(form) => form,
        Err(e) => return problem(&proto, StatusCode::BAD_REQUEST, TITLE, e).await,
    };
    if !csrf_ok(&proto.browser, form.remove("_csrf").as_deref()) {
        let e = ApiError::BadRequest("This form expired. Reload the page.".into());
        return problem(&proto, StatusCode::BAD_REQUEST, TITLE, e).await;
    }
    let request_token = form.remove("request_token").unwrap_or_default();
    let Some(cookie) = proto.browser.get(SESSION_COOKIE).map(str::to_string) else {
        return login_first(&proto, return_to(&proto, &request_token), "answer an agent").await;
    };
    let approve = match form.remove("consent").as_deref() {
        Some("allow") => true,
        Some("deny") => false,
        _ => {
            let e = ApiError::BadRequest("Choose Allow or Deny.".into());
            return problem(&proto, StatusCode::BAD_REQUEST, TITLE, e).await;
        }
    };
    match proto
        .call(ProtocolRequest::AAuthConsentDecide {
            cookie,
            request_token,
            approve,
        })
        .await
    {
        Ok(ProtocolReply::Redirect(location)) => {
            redirect_with(&location, StatusCode::SEE_OTHER, Vec::new())
        }
        Ok(other) => {
            let e = ApiError::unexpected(other);
            problem(&proto, StatusCode::BAD_REQUEST, TITLE, e).await
        }
        Err(e) => problem(&proto, StatusCode::BAD_REQUEST, TITLE, e).await,
    }
}
