//! `~/oauth/social/{provider}`: sign in through an upstream provider (Google, Microsoft, GitHub,
//! Apple, or any OpenID Connect / OAuth 2.0 server). The browser goes upstream with a cookie
//! that binds the login to it, and comes back to `callback` (GET, or POST for providers that
//! post their answer); the leader checks what the upstream says and names the user, and the
//! sign-in goes on as after a password. Failures go back to the login form with a message.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;
use lumo_cluster::ClusterError;
use lumo_cluster::protocol::{Params, ProtocolReply, ProtocolRequest, SocialOutcome, SocialStep};

use super::browser::{DEVICE_COOKIE, SOCIAL_COOKIE};
use super::login::back_with_error;
use super::login_mfa::{signed_in, to_second_factor};
use super::params;
use super::proto::Proto;
use super::redirect::{redirect_with, with_query};
use crate::error::{ApiError, ApiResult};

/// How long the browser has to come back (the leader's login state lives as long).
const COOKIE_SECS: u64 = 600;
/// Parameters of the callback itself (everything else is ignored).
const LOGIN_FIELDS: [&str; 2] = ["login_error", "_csrf"];

/// The login form's links to the org's enabled social providers and upstream SAML IdPs,
/// carrying the request.
pub fn links(
    proto: &Proto,
    branding: &lumo_cluster::protocol::Branding,
    carried: &[(String, String)],
) -> Vec<(String, String)> {
    let social = branding
        .social_providers
        .iter()
        .filter(|(slug, _)| lumo_cluster::model::is_provider_slug(slug))
        .map(|(slug, name)| (proto.path(&format!("/oauth/social/{slug}")), name));
    let saml = branding
        .saml_providers
        .iter()
        .map(|(id, name)| (format!("/orgs/{}/saml/sp/login/{id}", proto.org), name));
    social
        .chain(saml)
        .map(|(route, name)| (with_query(&route, carried), format!("Continue with {name}")))
        .collect()
}

async fn social_step(proto: &Proto, step: SocialStep) -> ApiResult<SocialOutcome> {
    match proto.call(ProtocolRequest::Social(step)).await? {
        ProtocolReply::Social(outcome) => Ok(outcome),
        other => Err(ApiError::unexpected(other)),
    }
}

/// `GET ~/oauth/social/{provider}`: to the upstream, carrying the authorization request.
pub async fn start(
    proto: Proto,
    Path((_, slug)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let request = params::query(query.as_deref()).unwrap_or_default();
    let carried = params::carried(&request, &LOGIN_FIELDS);
    if !lumo_cluster::model::is_provider_slug(&slug) {
        return back_with_error(&proto, &request, "social_unavailable");
    }
    let step = SocialStep::Begin {
        provider: slug.clone(),
        redirect_uri: proto.url(&format!("/oauth/social/{slug}/callback")),
        carried,
    };
    match social_step(&proto, step).await {
        Ok(SocialOutcome::Redirect { url, cookie }) => redirect_with(
            &url,
            StatusCode::FOUND,
            vec![proto.jar().social(&cookie, COOKIE_SECS)],
        ),
        Ok(_) => back_with_error(&proto, &request, "social_failed"),
        Err(ApiError::Cluster(ClusterError::NotFound { .. })) => {
            back_with_error(&proto, &request, "social_unavailable")
        }
        Err(e) => {
            tracing::info!(provider = %slug, error = %e, "social login could not start");
            back_with_error(&proto, &request, "social_failed")
        }
    }
}

/// `GET ~/oauth/social/{provider}/callback`.
pub async fn callback(
    proto: Proto,
    Path((_, slug)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let answer = params::query(query.as_deref()).unwrap_or_default();
    finish(proto, slug, answer).await
}

/// `POST ~/oauth/social/{provider}/callback` (`response_mode=form_post`).
pub async fn callback_post(
    proto: Proto,
    Path((_, slug)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let answer = proto.form(body).unwrap_or_default();
    finish(proto, slug, answer).await
}

async fn finish(proto: Proto, slug: String, answer: Params) -> Response {
    let clear = proto.jar().social("", 0);
    let fail = |carried: &Params, code: &str| {
        let mut response = back_with_error(&proto, carried, code);
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, clear.clone());
        response
    };
    let none = Params::new();
    let field = |name: &str| {
        answer
            .get(name)
            .filter(|v| !v.is_empty() && v.len() <= 2048)
    };
    if let Some(error) = field("error") {
        tracing::info!(provider = %slug, %error, "the upstream provider refused the login");
        return fail(&none, "social_cancelled");
    }
    let (Some(state), Some(code), Some(cookie)) = (
        field("state").cloned(),
        field("code").cloned(),
        proto.browser.get(SOCIAL_COOKIE).map(str::to_string),
    ) else {
        return fail(&none, "social_failed");
    };
    if !lumo_cluster::model::is_provider_slug(&slug) {
        return fail(&none, "social_failed");
    }
    let step = SocialStep::Finish {
        provider: slug,
        state,
        cookie,
        code,
        device: proto.browser.get(DEVICE_COOKIE).map(str::to_string),
    };
    let (outcome, carried) = match social_step(&proto, step).await {
        Ok(SocialOutcome::Finished { outcome, carried }) => (outcome, carried),
        Ok(SocialOutcome::Refused { reason, carried }) => {
            let carried: Params = carried.into_iter().collect();
            return fail(&carried, &reason);
        }
        Ok(_) => return fail(&none, "social_failed"),
        Err(e) => {
            // The login this browser started is gone (expired, used, or never was).
            tracing::info!(error = %e, "social login callback refused");
            return fail(&none, "social_expired");
        }
    };
    let carried: Params = carried.into_iter().collect();
    let mut response = match outcome {
        lumo_cluster::protocol::LoginOutcome::SecondFactor { cookie } => {
            to_second_factor(&proto, &carried, &cookie)
        }
        other => match signed_in(&proto, &carried, other) {
            Some(response) => response,
            None => return fail(&carried, "social_failed"),
        },
    };
    response
        .headers_mut()
        .append(axum::http::header::SET_COOKIE, clear);
    response
}
