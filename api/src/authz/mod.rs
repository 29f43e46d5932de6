//! The authorization engines' API: RBAC and Zanzibar questions at the root `/api/v1/authz/*`
//! (the org comes from the credential) and under `~/zanzibar`, and the Zanzibar configuration.
//! Questions are in the `Decisions` family (the replica answering judges who may ask);
//! configuration is in the `Authorization` family (scope `admin:authz`).

mod abac;
mod abac_admin;
mod authzen;
pub(crate) mod pep;
mod question;
mod rbac;
mod relation_admin;
mod relations;

use axum::Router;
use axum::routing::{get, post, put};

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
        .route("/zanzibar/check", post(relations::root_check))
        .route("/zanzibar/expand", post(relations::expand_route))
        .route("/zanzibar/list-objects", post(relations::list_objects))
        .route("/zanzibar/list-subjects", post(relations::list_subjects))
        .route("/v1/evaluation", post(authzen::evaluation_route))
        .route("/v1/evaluations", post(authzen::evaluations_route))
        .route_layer(in_family(Family::Decisions))
}

/// The org-scoped routes (nested under `/orgs/{org}/api/v1`).
pub fn org_router() -> Router<AppState> {
    let questions = Router::new()
        .route("/zanzibar/check", post(relations::org_check))
        .route("/zanzibar/expand", post(relations::expand_route))
        .route("/zanzibar/list-objects", post(relations::list_objects))
        .route("/zanzibar/list-subjects", post(relations::list_subjects))
        .route("/abac/check", post(abac::check))
        .route("/abac/check-bulk", post(abac::check_bulk))
        .route("/abac/my-attributes", get(abac::my_attributes))
        .route("/abac/attribute-definitions", get(abac::definitions))
        .route(
            "/abac/resources/{resourceType}/{resourceId}/attributes",
            get(abac::resource_attributes),
        )
        .route(
            "/abac/resources/{resourceType}/{resourceId}/attributes/{attributeSlug}",
            put(abac::set_resource_attribute),
        )
        .route(
            "/abac/users/{userId}/attributes/{attributeSlug}",
            put(abac::set_user_attribute),
        )
        .route_layer(in_family(Family::Decisions));
    let admin = Router::new()
        .route(
            "/zanzibar/schema",
            put(relation_admin::put_schema).get(relation_admin::get_schema),
        )
        .route(
            "/zanzibar/tuples",
            post(relation_admin::post_tuples)
                .delete(relation_admin::delete_tuples)
                .get(relation_admin::list_tuples),
        )
        .route("/zanzibar/changes", get(relation_admin::changes))
        .route(
            "/abac/attributes",
            post(abac_admin::create_attribute).get(abac_admin::list_attributes),
        )
        .route(
            "/abac/attributes/{id}",
            get(abac_admin::get_attribute)
                .put(abac_admin::update_attribute)
                .patch(abac_admin::update_attribute)
                .delete(abac_admin::delete_attribute),
        )
        .route(
            "/abac/policies",
            post(abac_admin::create_policy).get(abac_admin::list_policies),
        )
        .route(
            "/abac/policies/{id}",
            get(abac_admin::get_policy)
                .put(abac_admin::update_policy)
                .patch(abac_admin::update_policy)
                .delete(abac_admin::delete_policy),
        )
        .route(
            "/abac/policies/{id}/toggle",
            post(abac_admin::toggle_policy),
        )
        .route_layer(in_family(Family::Authorization));
    questions.merge(admin)
}
