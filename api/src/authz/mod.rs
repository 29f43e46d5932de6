//! The authorization engines' API: RBAC checks at the root `/api/v1/authz/*` (the org comes
//! from the credential). Every route is in the `Decisions` family: the replica answering a
//! question judges who may ask it.

mod question;
mod rbac;

use axum::Router;
use axum::routing::{get, post};
use lumo_cluster::model::Family;

use crate::extract::in_family;
use crate::state::AppState;

/// The routes under `/api/v1/authz`.
pub fn root_router() -> Router<AppState> {
    Router::new()
        .route("/check", post(rbac::check))
        .route("/check-bulk", post(rbac::check_bulk))
        .route("/check-any", post(rbac::check_any))
        .route("/check-all", post(rbac::check_all))
        .route("/permissions", get(rbac::my_permissions))
        .route_layer(in_family(Family::Decisions))
}
