//! The org-scoped admin API under `/orgs/{org}/api/v1`, one module per resource family.

mod analytics;
mod api_keys;
mod audit;
mod cimd;
mod clients;
mod groups;
mod identities;
mod me;
mod named;
mod permissions;
mod relations;
mod roles;
mod sessions;
mod settings;
mod signing_keys;
mod users;

use axum::Router;

use crate::state::AppState;

/// Every org-scoped route (to be nested under `/orgs/{org}/api/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(users::router())
        .merge(relations::router())
        .merge(identities::router())
        .merge(groups::router())
        .merge(roles::router())
        .merge(permissions::router())
        .merge(audit::router())
        .merge(settings::router())
        .merge(analytics::router())
        .merge(api_keys::router())
        .merge(me::router())
        .merge(clients::router())
        .merge(sessions::router())
        .merge(signing_keys::router())
}
