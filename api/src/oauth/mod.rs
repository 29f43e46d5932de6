//! The OAuth 2.1 / OpenID Connect provider's HTTP side: one file per endpoint or hosted page
//! (discovery, the JSON protocol endpoints, the browser pages). The protocol itself runs on the
//! org's shard leader (`lumo_cluster::oauth`, spoken in `lumo_cluster::protocol`); this module
//! parses requests and renders answers.

mod aauth_consent;
mod approvals_page;
mod authorize;
mod browser;
mod check_session;
mod ciba;
pub mod cimd;
pub mod cimd_fetch;
mod device;
mod device_authorization;
mod discovery;
mod email_link;
mod error_page;
mod hosted_page;
mod introspect;
mod invitation;
mod jwks;
mod login;
mod login_mfa;
mod login_passkey;
mod logout;
mod magic_link;
mod org_select;
mod pages;
mod par;
mod params;
pub(crate) mod proto;
mod redirect;
mod register;
mod response;
mod revoke;
pub(crate) mod saml;
pub(crate) mod saml_sp;
pub(crate) mod social;
pub mod throttle;
mod token;
mod url_client;
mod userinfo;

pub(crate) use discovery::public as public_document;
pub(crate) use proto::base_url;

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
        .route("/.well-known/jwks.json", get(jwks::jwks))
        .route(
            "/oauth/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route("/oauth/login/submit", post(login::login_submit))
        .route("/oauth/login/json", post(login::login_json))
        .route(
            "/oauth/login/mfa",
            get(login_mfa::mfa_page).post(login_mfa::mfa_submit),
        )
        .route(
            "/oauth/verify-email",
            get(email_link::verify_get).post(email_link::verify_post),
        )
        .route(
            "/oauth/reset-password",
            get(email_link::reset_get).post(email_link::reset_post),
        )
        .route(
            "/oauth/magic-link",
            get(email_link::magic_get).post(email_link::magic_post),
        )
        .route("/oauth/magic-link/send", post(magic_link::send))
        .route(
            "/oauth/invitation",
            get(invitation::show).post(invitation::accept),
        )
        .route(
            "/oauth/org-select",
            get(org_select::org_select).post(org_select::org_select_post),
        )
        .route("/oauth/passkey-login", get(login_passkey::entry))
        .route(
            "/oauth/login/passkey",
            get(login_passkey::page).post(login_passkey::submit),
        )
        .route("/oauth/social/{provider}", get(social::start))
        .route(
            "/oauth/social/{provider}/callback",
            get(social::callback).post(social::callback_post),
        )
        .route("/oauth/token", post(token::token))
        .route("/oauth/introspect", post(introspect::introspect))
        .route("/oauth/revoke", post(revoke::revoke))
        .route("/oauth/par", post(par::par))
        .route(
            "/oauth/device_authorization",
            post(device_authorization::device_authorization),
        )
        .route("/oauth/bc-authorize", post(ciba::backchannel))
        .route(
            "/oauth/userinfo",
            get(userinfo::userinfo_get).post(userinfo::userinfo_post),
        )
        .route(
            "/oauth/device",
            get(device::device_get).post(device::device_post),
        )
        .route(
            "/oauth/logout",
            get(logout::logout_get).post(logout::logout_post),
        )
        .route("/oauth/ciba", get(ciba::ciba_get).post(ciba::ciba_post))
        .route(
            "/oauth/approvals",
            get(approvals_page::approvals_get).post(approvals_page::approvals_post),
        )
        .route(
            "/oauth/jit-review",
            get(approvals_page::jit_review_get).post(approvals_page::jit_review_post),
        )
        .route(
            "/aauth/agent/auth",
            get(aauth_consent::consent_get).post(aauth_consent::consent_post),
        )
        .route("/oauth/check_session", get(check_session::check_session))
        .route("/connect/register", post(register::register))
        .route("/connect/register/{clientId}", get(register::registration))
}
