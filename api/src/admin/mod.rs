//! The org-scoped admin API under `/orgs/{org}/api/v1`, one module per resource family.

mod analytics;
mod api_keys;
mod audit;
mod cimd;
mod clients;
mod email_templates;
mod groups;
mod identities;
mod me;
mod mfa;
mod mfa_admin;
mod named;
mod organizations;
mod permissions;
mod relations;
mod roles;
mod saml_apps;
mod saml_idps;
mod sandbox;
mod sessions;
mod settings;
mod signing_keys;
mod social_providers;
mod ssf;
mod users;
mod webhook_tunnel;
mod webhooks;

use axum::Router;
use lumo_cluster::model::Family;

use crate::extract::in_family;
use crate::state::AppState;

/// Every org-scoped route (to be nested under `/orgs/{org}/api/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(users::router().route_layer(in_family(Family::Users)))
        .merge(relations::router())
        .merge(identities::router().route_layer(in_family(Family::Users)))
        .merge(groups::router().route_layer(in_family(Family::Groups)))
        .merge(roles::router().route_layer(in_family(Family::Roles)))
        .merge(permissions::router().route_layer(in_family(Family::Roles)))
        .merge(audit::router().route_layer(in_family(Family::Audit)))
        .merge(settings::router().route_layer(in_family(Family::Settings)))
        .merge(email_templates::router().route_layer(in_family(Family::Settings)))
        .merge(organizations::router().route_layer(in_family(Family::Organizations)))
        .merge(sandbox::router().route_layer(in_family(Family::Sandbox)))
        .merge(analytics::router().route_layer(in_family(Family::Analytics)))
        .merge(api_keys::router().route_layer(in_family(Family::ApiKeys)))
        .merge(me::router().route_layer(in_family(Family::Identity)))
        .merge(mfa::router().route_layer(in_family(Family::Identity)))
        .merge(mfa_admin::policy_router().route_layer(in_family(Family::Settings)))
        .merge(mfa_admin::users_router().route_layer(in_family(Family::Users)))
        .merge(clients::router().route_layer(in_family(Family::Clients)))
        .merge(sessions::router())
        .merge(signing_keys::router().route_layer(in_family(Family::Settings)))
        .merge(social_providers::router().route_layer(in_family(Family::Settings)))
        .merge(saml_apps::router().route_layer(in_family(Family::Settings)))
        .merge(saml_idps::router().route_layer(in_family(Family::Settings)))
        .merge(webhooks::router().route_layer(in_family(Family::Webhooks)))
        .merge(ssf::router().route_layer(in_family(Family::Webhooks)))
        .route(
            "/.well-known/ssf-configuration",
            axum::routing::get(ssf::configuration),
        )
}
