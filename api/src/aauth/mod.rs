//! AAuth (agent auth, HTTP-message-signed agents): the public discovery documents and key
//! sets, the signed endpoints (verified on the org's leader), and the admin side that
//! registers agents' and resources' identities. The consent page is a hosted page
//! (`oauth/aauth_consent.rs`).

mod admin;
mod documents;
mod signed;

pub use documents::root_issuer;

use axum::Router;
use axum::routing::{get, post};
use lumo_cluster::model::Family;

use crate::extract::in_family;
use crate::state::AppState;

/// The org-scoped AAuth routes (nested under `/orgs/{org}/api/v1`).
pub fn router() -> Router<AppState> {
    let admin = Router::new()
        .route(
            "/admin/agents/{agentId}/aauth",
            get(admin::show_agent)
                .put(admin::set_agent)
                .delete(admin::remove_agent),
        )
        .route(
            "/admin/aauth/resources",
            get(admin::list_resources).post(admin::create_resource),
        )
        .route(
            "/admin/aauth/resources/{resourceId}",
            get(admin::show_resource)
                .put(admin::update_resource)
                .delete(admin::remove_resource),
        )
        .route_layer(in_family(Family::Agents));
    // Public documents, and signed endpoints that judge their own signatures.
    Router::new()
        .route("/.well-known/aauth-issuer", get(documents::issuer))
        .route("/.well-known/aauth-agent", get(documents::agents))
        .route("/.well-known/aauth-resource", get(documents::resources))
        .route("/aauth/jwks.json", get(documents::issuer_jwks))
        .route("/aauth/agents/{agentId}/metadata", get(documents::agent))
        .route(
            "/aauth/agents/{agentId}/jwks.json",
            get(documents::agent_jwks),
        )
        .route(
            "/aauth/resources/{resourceId}/metadata",
            get(documents::resource),
        )
        .route(
            "/aauth/resources/{resourceId}/jwks.json",
            get(documents::resource_jwks),
        )
        .route("/aauth/agent/token", post(signed::agent_token))
        .route("/aauth/agent/issue", post(signed::issue_agent_token))
        .route("/aauth/agent/platform-token", post(signed::platform_token))
        .route("/aauth/resource/token", post(signed::resource_token))
        .route("/aauth/token/revoke", post(signed::revoke))
        .route("/aauth/auth/token/verify", post(signed::verify_auth_token))
        .route(
            "/aauth/resource/token/verify",
            post(signed::verify_resource_token),
        )
        .merge(admin)
}
