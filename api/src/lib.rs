//! The only code that knows HTTP: the LumoAuth admin API (org-scoped, under
//! `/orgs/{org}/api/v1`), health endpoints, the OpenAPI document, and the cluster admin API on
//! its own listener.

mod aauth;
mod admin;
mod agents;
mod authz;
mod cluster_admin;
mod dto;
mod envelope;
mod error;
pub mod extract;
mod health;
mod metrics;
mod middleware;
mod oauth;
mod openapi;
pub mod password;
mod qr;
mod rate_limit;
mod scim;
mod state;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use error::ApiError;
pub use state::{ApiConfig, AppState};

/// Answers unknown routes in the LumoAuth error shape.
pub(crate) async fn not_found(uri: Uri) -> Response {
    ApiError::RouteNotFound(uri.path().to_string()).into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::MethodNotAllowed.into_response()
}

/// The public listener: org-scoped admin API, health, OpenAPI.
pub fn public_router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let router = Router::new()
        .nest(
            "/orgs/{org}/api/v1",
            admin::router()
                .merge(oauth::router())
                .merge(authz::org_router())
                .merge(agents::router())
                .merge(aauth::router())
                .merge(
                    scim::router()
                        .route_layer(extract::in_family(lumo_cluster::model::Family::Scim)),
                )
                .merge(
                    scim::me_router()
                        .route_layer(extract::in_family(lumo_cluster::model::Family::Identity)),
                ),
        )
        .nest("/orgs/{org}/saml/idp", oauth::saml::router())
        .nest("/orgs/{org}/saml/sp", oauth::saml_sp::router())
        .route(
            "/t/{org}/saml/{*rest}",
            axum::routing::any(oauth::saml::tenant_alias),
        )
        .route("/.well-known/aauth-issuer", get(aauth::root_issuer))
        .nest("/api/v1/authz", authz::root_router())
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/openapi.json", get(openapi::document));
    let router = if state.config.http_metrics {
        router.route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::record,
        ))
    } else {
        router
    };
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(rate_limit::quota_headers))
        .layer(axum::middleware::from_fn(middleware::request_envelope))
        .with_state(state)
}

/// The cluster admin listener.
pub fn cluster_admin_router(state: AppState) -> Router {
    cluster_admin::router(state).layer(axum::middleware::from_fn(middleware::request_envelope))
}
