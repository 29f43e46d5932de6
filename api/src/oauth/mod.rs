//! The OAuth 2.1 / OpenID Connect provider's HTTP side: discovery, the JSON protocol
//! endpoints, and the hosted pages. The protocol itself runs on the org's shard leader
//! (`lumo_cluster::oauth`); this module parses requests and renders answers.

mod browser;
pub mod cimd;
pub mod cimd_fetch;
mod discovery;
mod endpoints;
mod flows;
mod hosted;
mod pages;
mod params;
mod proto;
pub mod throttle;
mod url_client;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// Protocol routes (nested under `/orgs/{org}/api/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::authorization_server),
        )
        .route("/.well-known/jwks.json", get(discovery::jwks))
        .route(
            "/oauth/authorize",
            get(flows::authorize_get).post(flows::authorize_post),
        )
        .route("/oauth/login/submit", post(flows::login_submit))
        .route("/oauth/login/json", post(flows::login_json))
        .route(
            "/oauth/org-select",
            get(flows::org_select).post(flows::org_select_post),
        )
        .route("/oauth/passkey-login", get(flows::passkey_login))
        .route("/oauth/social/{provider}", get(flows::social))
        .route(
            "/oauth/social/{provider}/callback",
            get(flows::social).post(flows::social),
        )
        .route("/oauth/token", post(endpoints::token))
        .route("/oauth/introspect", post(endpoints::introspect))
        .route("/oauth/revoke", post(endpoints::revoke))
        .route("/oauth/par", post(endpoints::par))
        .route(
            "/oauth/device_authorization",
            post(endpoints::device_authorization),
        )
        .route("/oauth/bc-authorize", post(endpoints::backchannel))
        .route(
            "/oauth/userinfo",
            get(endpoints::userinfo_get).post(endpoints::userinfo_post),
        )
        .route(
            "/oauth/device",
            get(hosted::device_get).post(hosted::device_post),
        )
        .route(
            "/oauth/logout",
            get(hosted::logout_get).post(hosted::logout_post),
        )
        .route("/oauth/ciba", get(hosted::ciba_get).post(hosted::ciba_post))
        .route("/oauth/check_session", get(hosted::check_session))
        .route("/connect/register", post(endpoints::register))
        .route("/connect/register/{clientId}", get(endpoints::registration))
}
