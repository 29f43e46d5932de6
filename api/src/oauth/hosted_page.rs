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
    let social = super::social::links(
        proto,
        &look.branding,
        &[("return_to".to_string(), return_to.clone())],
    );
    let page = LoginPage {
        branding: look.branding,
        primary_color: look.primary_color,
        background_color: look.background_color,
        client_name: purpose.to_string(),
        error: None,
        action: proto.path("/oauth/login/submit"),
        csrf: csrf.clone(),
        passkey_url: super::redirect::with_query(
            &proto.path("/oauth/passkey-login"),
            &[("return_to".to_string(), return_to.clone())],
        ),
        social,
        magic_link_action: proto.path("/oauth/magic-link/send"),
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
    let class = error.classify();
    let text = match class.code {
        "tenant_not_found" => "This organization does not exist.".to_string(),
        "resource_not_found" => "That code is not valid or has expired.".to_string(),
        // A form's or link's own problem, in words (without the field name).
        _ if matches!(error, ApiError::Cluster(ClusterError::Validation { .. })) => match &error {
            ApiError::Cluster(ClusterError::Validation { details, .. }) => details
                .values()
                .next()
                .cloned()
                .unwrap_or_else(|| class.message.clone()),
            _ => class.message.clone(),
        },
        // Refusals the user can act on are shown as they are.
        _ if matches!(
            error,
            ApiError::Cluster(ClusterError::OAuth { .. } | ClusterError::Conflict { .. })
                | ApiError::BadRequest(_)
        ) =>
        {
            class.message.clone()
        }
        _ => {
            tracing::warn!(error = ?error, "hosted page failed");
            "Something went wrong. Please try again.".to_string()
        }
    };
    // The step's own status, unless the organization is missing or the cluster is busy.
    let status = match class.status {
        StatusCode::NOT_FOUND if class.code == "tenant_not_found" => StatusCode::NOT_FOUND,
        StatusCode::SERVICE_UNAVAILABLE => StatusCode::SERVICE_UNAVAILABLE,
        _ => status,
    };
    pages::message(status, proto.look().await, heading, &text, None)
}
