//! SAML service provider mode at `/orgs/{org}/saml/sp/…`: `metadata`, `login[/{idpId}]` (to
//! the upstream IdP, carrying the authorization request, with a cookie that binds the login to
//! the browser), `acs` (the IdP's HTTP-POST response; the sign-in then goes on as after a
//! password) and `slo` (an upstream IdP's logout request: the user's sessions end). The leader judges the response
//! (`lumo_cluster::oauth::saml`); failures go back to the login form with a message.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery};
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use lumo_cluster::protocol::{LoginOutcome, Params, SamlOutcome, SamlStep};

use super::browser::{DEVICE_COOKIE, SAML_SP_COOKIE};
use super::login::back_with_error;
use super::login_mfa::{signed_in, to_second_factor};
use super::pages;
use super::params;
use super::proto::Proto;
use super::redirect::redirect_with;
use super::saml::{LogoutSide, metadata_document, saml_base, saml_step, slo_post, slo_redirect};
use crate::state::AppState;

/// How long the browser has to come back (the leader's login state lives as long).
const COOKIE_SECS: u64 = 600;

/// The SP routes (nested under `/orgs/{org}/saml/sp`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/metadata", get(metadata))
        .route("/login", get(login_any))
        .route("/login/{idpId}", get(login_one))
        .route("/acs", post(acs))
        .route(
            "/slo",
            get(|proto, query| slo_redirect(LogoutSide::Sp, proto, query))
                .post(|proto, body| slo_post(LogoutSide::Sp, proto, body)),
        )
}

fn sp_base(proto: &Proto) -> String {
    saml_base(proto, "sp")
}

/// `GET ~/saml/sp/metadata`.
async fn metadata(proto: Proto) -> Response {
    let step = SamlStep::SpMetadata {
        sp_base: sp_base(&proto),
    };
    metadata_document(&proto, step).await
}

/// The authorization request the login continues: everything but our own parameters.
fn carried(query: Option<&str>) -> (Params, Option<u64>) {
    let mut request = params::query(query).unwrap_or_default();
    let idp = request.remove("idp").and_then(|v| v.parse().ok());
    request.remove("login_error");
    request.remove("_csrf");
    (request, idp)
}

async fn begin(proto: Proto, idp: Option<u64>, request: Params) -> Response {
    let step = SamlStep::SpBegin {
        sp_base: sp_base(&proto),
        idp,
        carried: request
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    match saml_step(&proto, step).await {
        Ok(SamlOutcome::SpRedirect { url, cookie }) => redirect_with(
            &url,
            StatusCode::FOUND,
            vec![proto.jar().saml_sp(&cookie, COOKIE_SECS)],
        ),
        Ok(SamlOutcome::SpRefused { reason, .. }) => back_with_error(&proto, &request, &reason),
        Ok(_) => back_with_error(&proto, &request, "saml_failed"),
        Err(e) => {
            tracing::info!(error = %e, "SAML login could not start");
            back_with_error(&proto, &request, "saml_failed")
        }
    }
}

/// `GET ~/saml/sp/login[?idp=…]`: the org's only enabled IdP, or the one named.
async fn login_any(proto: Proto, RawQuery(query): RawQuery) -> Response {
    let (request, idp) = carried(query.as_deref());
    begin(proto, idp, request).await
}

/// `GET ~/saml/sp/login/{idpId}`.
async fn login_one(
    proto: Proto,
    Path((_, idp)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let (request, _) = carried(query.as_deref());
    match idp.parse::<u64>() {
        Ok(idp) => begin(proto, Some(idp), request).await,
        Err(_) => back_with_error(&proto, &request, "saml_unavailable"),
    }
}

/// `POST ~/saml/sp/acs`: the IdP's response (HTTP-POST binding).
async fn acs(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    let clear = proto.jar().saml_sp("", 0);
    let none = Params::new();
    let fail = |carried: &Params, code: &str| {
        let mut response = back_with_error(&proto, carried, code);
        response
            .headers_mut()
            .append(header::SET_COOKIE, clear.clone());
        response
    };
    let form = proto.form(body).unwrap_or_default();
    let field = |name: &str| form.get(name).filter(|v| !v.is_empty()).cloned();
    let (Some(response), Some(relay_state), Some(cookie)) = (
        field("SAMLResponse"),
        field("RelayState").filter(|r| r.len() <= 64),
        proto.browser.get(SAML_SP_COOKIE).map(str::to_string),
    ) else {
        return fail(&none, "saml_failed");
    };
    let step = SamlStep::SpFinish {
        sp_base: sp_base(&proto),
        response,
        relay_state,
        cookie,
        device: proto.browser.get(DEVICE_COOKIE).map(str::to_string),
    };
    let (outcome, carried) = match saml_step(&proto, step).await {
        Ok(SamlOutcome::SpFinished { outcome, carried }) => (outcome, carried),
        Ok(SamlOutcome::SpRefused { reason, carried }) => {
            let carried: Params = carried.into_iter().collect();
            return fail(&carried, &reason);
        }
        Ok(_) => return fail(&none, "saml_failed"),
        Err(e) => {
            // The login this browser started is gone (expired, used, or never was).
            tracing::info!(error = %e, "SAML response refused");
            return fail(&none, "saml_expired");
        }
    };
    let carried: Params = carried.into_iter().collect();
    let mut response = match outcome {
        LoginOutcome::SecondFactor { cookie } => to_second_factor(&proto, &carried, &cookie),
        other => match signed_in(&proto, &carried, other) {
            Some(response) if carried.is_empty() => {
                // No application asked: say so, keeping the session cookies.
                let mut page = pages::message(
                    StatusCode::OK,
                    proto.look().await,
                    "Signed in",
                    "You are signed in. You can go back to your application.",
                    None,
                );
                for cookie in response.headers().get_all(header::SET_COOKIE) {
                    page.headers_mut()
                        .append(header::SET_COOKIE, cookie.clone());
                }
                page
            }
            Some(response) => response,
            None => return fail(&carried, "saml_failed"),
        },
    };
    response.headers_mut().append(header::SET_COOKIE, clear);
    response
}
