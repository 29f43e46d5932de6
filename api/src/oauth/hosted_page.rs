//! What hosted pages share: the signed-in session, the CSRF cookie, the login form that
//! returns to the page, and the page for a failure.

use axum::http::{StatusCode, header};
use axum::response::Response;
use lumo_cluster::ClusterError;
use lumo_cluster::protocol::{ProtocolReply, ProtocolRequest, SessionView};

use super::browser::{SESSION_COOKIE, csrf_token};
use super::pages::{self, LoginPage};
use super::proto::Proto;
use crate::error::ApiError;

/// The signed-in session, if any.
pub async fn signed_in(proto: &Proto) -> Result<Option<SessionView>, ApiError> {
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
pub fn with_csrf(mut response: Response, proto: &Proto, token: &str, new: bool) -> Response {
    if new {
        response
            .headers_mut()
            .append(header::SET_COOKIE, proto.jar().csrf(token));
    }
    response
}

/// The login form, returning to `return_to` (a hosted page of this org) afterwards.
pub async fn login_first(proto: &Proto, return_to: String, purpose: &str) -> Response {
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

/// A page for a failure of a hosted page's step.
pub async fn problem(
    proto: &Proto,
    status: StatusCode,
    heading: &str,
    error: ApiError,
) -> Response {
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
