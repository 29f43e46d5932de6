//! The SAML 2.0 identity provider's HTTP side, at `/orgs/{org}/saml/idp/…` (and the docs'
//! `/t/{org}/saml/…`, redirected there): metadata, `sso` (HTTP-Redirect and HTTP-POST
//! bindings), `init/{appId}` (IdP-initiated) and `slo`. The leader judges every message
//! (`lumo_cluster::oauth::saml`); this file reads the bindings and renders the answers: the
//! auto-submitting form to the app, a redirect, the login form that comes back here, or an
//! error page.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use lumo_cluster::protocol::{
    InboundMessage, ProtocolReply, ProtocolRequest, SamlOutcome, SamlStep,
};

use super::browser::SESSION_COOKIE;
use super::hosted_page::{login_first, problem};
use super::pages::{self, FormPostPage};
use super::params;
use super::proto::{Proto, base_url};
use super::redirect::redirect_with;
use crate::error::ApiError;
use crate::state::AppState;

/// The IdP's routes (nested under `/orgs/{org}/saml/idp`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/metadata", get(metadata))
        .route("/sso", get(sso_redirect).post(sso_post))
        .route("/init/{appId}", get(idp_initiated))
        .route(
            "/slo",
            get(|proto, query| slo_redirect(LogoutSide::Idp, proto, query))
                .post(|proto, body| slo_post(LogoutSide::Idp, proto, body)),
        )
}

/// The docs' spelling, `/t/{org}/saml/…`: the same routes under `/orgs/{org}/saml/…` (307
/// keeps a POST a POST).
pub async fn tenant_alias(
    Path((org, rest)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let mut target = format!("/orgs/{org}/saml/{rest}");
    if let Some(query) = query {
        target.push('?');
        target.push_str(&query);
    }
    redirect_with(&target, StatusCode::TEMPORARY_REDIRECT, Vec::new())
}

/// `<public base>/orgs/{org}/saml/{side}` (`idp` or `sp`).
pub(super) fn saml_base(proto: &Proto, side: &str) -> String {
    format!(
        "{}/orgs/{}/saml/{side}",
        base_url(&proto.state, &proto.headers),
        proto.org
    )
}

fn idp_base(proto: &Proto) -> String {
    saml_base(proto, "idp")
}

fn session(proto: &Proto) -> Option<String> {
    proto.browser.get(SESSION_COOKIE).map(str::to_string)
}

pub(super) async fn saml_step(proto: &Proto, step: SamlStep) -> Result<SamlOutcome, ApiError> {
    match proto.call(ProtocolRequest::Saml(step)).await? {
        ProtocolReply::Saml(outcome) => Ok(outcome),
        other => Err(ApiError::unexpected(other)),
    }
}

/// `GET ~/saml/idp/metadata`.
async fn metadata(proto: Proto) -> Response {
    let step = SamlStep::Metadata {
        idp_base: idp_base(&proto),
    };
    metadata_document(&proto, step).await
}

/// A metadata step's document, as `application/samlmetadata+xml`.
pub(super) async fn metadata_document(proto: &Proto, step: SamlStep) -> Response {
    match saml_step(proto, step).await {
        Ok(SamlOutcome::Metadata(xml)) => {
            let mut response = (StatusCode::OK, xml).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/samlmetadata+xml"),
            );
            response
        }
        Ok(other) => ApiError::unexpected(other).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The raw `name=value` segment of `query` for `name`, exactly as sent.
fn raw_segment<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .find(|segment| segment.split('=').next() == Some(name))
}

/// A Redirect-binding message from the query; `field` is `SAMLRequest`.
fn from_query(query: &str, field: &str) -> Option<InboundMessage> {
    let values = params::query(Some(query)).ok()?;
    let signature = values.get("Signature").cloned();
    let signed_query = signature.as_ref().map(|_| {
        [field, "RelayState", "SigAlg"]
            .iter()
            .filter_map(|name| raw_segment(query, name))
            .collect::<Vec<_>>()
            .join("&")
    });
    Some(InboundMessage {
        redirect: true,
        encoded: values.get(field)?.clone(),
        relay_state: values.get("RelayState").cloned(),
        signed_query,
        sig_alg: values.get("SigAlg").cloned(),
        signature,
    })
}

/// A POST-binding message from the form: the `SAMLRequest`, or else the `SAMLResponse`
/// (answered `true`).
fn from_form(proto: &Proto, body: Result<Bytes, BytesRejection>) -> Option<(InboundMessage, bool)> {
    let values = proto.form(body).ok()?;
    let (encoded, response) = match values.get("SAMLRequest") {
        Some(request) => (request.clone(), false),
        None => (values.get("SAMLResponse")?.clone(), true),
    };
    Some((
        InboundMessage {
            redirect: false,
            encoded,
            relay_state: values.get("RelayState").cloned(),
            ..InboundMessage::default()
        },
        response,
    ))
}

/// A Redirect-binding message from the query: the `SAMLRequest`, or else the `SAMLResponse`
/// (answered `true`).
fn from_query_either(query: &str) -> Option<(InboundMessage, bool)> {
    match from_query(query, "SAMLRequest") {
        Some(request) => Some((request, false)),
        None => from_query(query, "SAMLResponse").map(|response| (response, true)),
    }
}

async fn refused(proto: &Proto, why: &str) -> Response {
    pages::message(
        StatusCode::BAD_REQUEST,
        proto.look().await,
        "This sign-in request is not valid",
        why,
        Some("saml_request_refused"),
    )
}

/// Renders what the leader decided. `here` is the URL (path and query) the browser comes back
/// to after signing in when the leader gives no other.
async fn answer(proto: &Proto, outcome: Result<SamlOutcome, ApiError>, here: String) -> Response {
    match outcome {
        Ok(SamlOutcome::Post {
            action,
            field,
            value,
            relay_state,
        }) => {
            let mut fields = vec![(field, value)];
            if let Some(relay) = relay_state {
                fields.push(("RelayState".into(), relay));
            }
            pages::render(StatusCode::OK, &FormPostPage { action, fields })
        }
        Ok(SamlOutcome::Redirect(url)) => redirect_with(&url, StatusCode::FOUND, Vec::new()),
        Ok(SamlOutcome::Login { resume, app_name }) => {
            let back = if resume.is_empty() {
                here
            } else {
                format!("/orgs/{}/saml/idp/sso?{resume}", proto.org)
            };
            login_first(proto, back, &app_name).await
        }
        Ok(SamlOutcome::Refused(why)) => refused(proto, &why).await,
        Ok(other) => {
            problem(
                proto,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in failed",
                ApiError::unexpected(other),
            )
            .await
        }
        Err(e) => problem(proto, StatusCode::BAD_REQUEST, "Sign-in failed", e).await,
    }
}

async fn sign_on(proto: Proto, message: Option<InboundMessage>, here: String) -> Response {
    let Some(message) = message else {
        return refused(&proto, "The request carries no valid SAMLRequest.").await;
    };
    let step = SamlStep::SignOn {
        idp_base: idp_base(&proto),
        message: Some(message),
        app: None,
        relay_state: None,
        session: session(&proto),
    };
    let outcome = saml_step(&proto, step).await;
    answer(&proto, outcome, here).await
}

fn here(proto: &Proto, route: &str, query: Option<&str>) -> String {
    match query {
        Some(query) => format!("/orgs/{}/saml/idp{route}?{query}", proto.org),
        None => format!("/orgs/{}/saml/idp{route}", proto.org),
    }
}

/// `GET ~/saml/idp/sso` (HTTP-Redirect binding).
async fn sso_redirect(proto: Proto, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let message = from_query(&query, "SAMLRequest");
    let here = here(&proto, "/sso", Some(&query));
    sign_on(proto, message, here).await
}

/// `POST ~/saml/idp/sso` (HTTP-POST binding).
async fn sso_post(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    let message = from_form(&proto, body)
        .filter(|(_, response)| !response)
        .map(|(message, _)| message);
    let here = here(&proto, "/sso", None);
    sign_on(proto, message, here).await
}

/// `GET ~/saml/idp/init/{appId}`: IdP-initiated sign-on.
async fn idp_initiated(
    proto: Proto,
    Path((_, app)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let Ok(app) = app.parse::<u64>() else {
        return refused(&proto, "No such application.").await;
    };
    let relay_state = params::query(query.as_deref())
        .ok()
        .and_then(|q| q.get("RelayState").cloned());
    let step = SamlStep::SignOn {
        idp_base: idp_base(&proto),
        message: None,
        app: Some(app),
        relay_state,
        session: session(&proto),
    };
    let outcome = saml_step(&proto, step).await;
    let here = here(&proto, &format!("/init/{app}"), query.as_deref());
    answer(&proto, outcome, here).await
}

/// Whose single logout endpoint a message came to.
#[derive(Debug, Clone, Copy)]
pub(super) enum LogoutSide {
    /// Ours as an IdP: an app's `LogoutRequest`.
    Idp,
    /// Ours as an SP: an upstream IdP's `LogoutRequest`.
    Sp,
}

/// A message at a single logout endpoint: a `LogoutRequest` or (`response`) an app's
/// `LogoutResponse` while a logout goes round the session's apps (the IdP side only).
async fn single_logout(
    proto: Proto,
    message: Option<(InboundMessage, bool)>,
    side: LogoutSide,
) -> Response {
    let Some((message, response)) = message else {
        return refused(&proto, "The request carries no valid SAMLRequest.").await;
    };
    let step = match (side, response) {
        (LogoutSide::Idp, false) => SamlStep::Logout {
            idp_base: idp_base(&proto),
            message,
            session: session(&proto),
        },
        (LogoutSide::Idp, true) => SamlStep::LogoutAnswered {
            idp_base: idp_base(&proto),
            message,
        },
        (LogoutSide::Sp, false) => SamlStep::SpLogout {
            sp_base: saml_base(&proto, "sp"),
            message,
        },
        (LogoutSide::Sp, true) => {
            return refused(&proto, "This service provider sent no logout request.").await;
        }
    };
    let mut response = match saml_step(&proto, step).await {
        Ok(SamlOutcome::SignedOut) => pages::message(
            StatusCode::OK,
            proto.look().await,
            "You are signed out",
            "Your identity provider ended your session, so this one has ended too.",
            None,
        ),
        outcome => answer(&proto, outcome, String::new()).await,
    };
    if response.status().is_redirection() || response.status() == StatusCode::OK {
        // The session cookie goes with the session.
        for cookie in proto.jar().session("", 0) {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
    }
    response
}

/// `GET …/slo` (HTTP-Redirect binding) of `side`.
pub(super) async fn slo_redirect(
    side: LogoutSide,
    proto: Proto,
    RawQuery(query): RawQuery,
) -> Response {
    let message = from_query_either(&query.unwrap_or_default());
    single_logout(proto, message, side).await
}

/// `POST …/slo` (HTTP-POST binding) of `side`.
pub(super) async fn slo_post(
    side: LogoutSide,
    proto: Proto,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let message = from_form(&proto, body);
    single_logout(proto, message, side).await
}
