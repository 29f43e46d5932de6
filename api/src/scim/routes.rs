//! The SCIM endpoints: discovery, Users and Groups (list, `.search`, create, read, replace,
//! patch, delete), the root `.search`, Bulk, and `Me` (not available with an org-level token).

use axum::Router;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use lumo_cluster::model::Family;
use serde_json::{Map, Value, json};

use super::discovery::{resource_types, schemas, service_provider_config};
use super::list::{LIST_URN, ListParams, project, respond};
use super::store::Kind;
use super::{ScimError, ScimResult, answer, base, bulk};
use crate::error::ApiError;
use crate::extract::{Ctx, JsonBody};
use crate::state::AppState;

/// The SCIM routes under both spellings of the base path.
pub fn router() -> Router<AppState> {
    ["/scim/v2", "/scim2.0"]
        .into_iter()
        .fold(Router::new(), |router, prefix| {
            router
                .route(&format!("{prefix}/ServiceProviderConfig"), get(spc))
                .route(&format!("{prefix}/ResourceTypes"), get(list_resource_types))
                .route(
                    &format!("{prefix}/ResourceTypes/{{id}}"),
                    get(resource_type),
                )
                .route(&format!("{prefix}/Schemas"), get(list_schemas))
                .route(&format!("{prefix}/Schemas/{{id}}"), get(schema))
                .merge(resource_routes(prefix, Kind::Users, "Users"))
                .merge(resource_routes(prefix, Kind::Groups, "Groups"))
                .route(
                    &format!("{prefix}/.search"),
                    post(|ctx, headers, json| {
                        search(vec![Kind::Users, Kind::Groups], ctx, headers, json)
                    }),
                )
                .route(&format!("{prefix}/Bulk"), post(bulk::bulk))
                .route(&format!("{prefix}/{{*rest}}"), any(unknown))
        })
}

/// `Me` under both spellings: the calling user's own resource (writes are the user's own,
/// family `Identity`, not the SCIM token's).
pub fn me_router() -> Router<AppState> {
    ["/scim/v2", "/scim2.0"]
        .into_iter()
        .fold(Router::new(), |router, prefix| {
            router.route(&format!("{prefix}/Me"), get(me).patch(me_patch))
        })
}

/// A resource type's collection, `.search` and item routes.
fn resource_routes(prefix: &str, kind: Kind, name: &str) -> Router<AppState> {
    Router::new()
        .route(
            &format!("{prefix}/{name}"),
            get(move |ctx, headers, query| list(kind, ctx, headers, query))
                .post(move |ctx, headers, json| create(kind, ctx, headers, json)),
        )
        .route(
            &format!("{prefix}/{name}/.search"),
            post(move |ctx, headers, json| search(vec![kind], ctx, headers, json)),
        )
        .route(
            &format!("{prefix}/{name}/{{id}}"),
            get(move |ctx, headers, query| read(kind, ctx, headers, query))
                .put(move |ctx, headers, json| replace(kind, ctx, headers, json))
                .patch(move |ctx, headers, json| patch(kind, ctx, headers, json))
                .delete(move |ctx, headers, query| delete(kind, ctx, headers, query)),
        )
}

/// The caller, checked to be the org's SCIM client.
pub(super) async fn scim_ctx(ctx: Result<Ctx, ApiError>, write: bool) -> ScimResult<Ctx> {
    let ctx = ctx?;
    ctx.admit(Family::Scim, write).await?;
    Ok(ctx)
}

fn body(json: Result<JsonBody, ApiError>) -> ScimResult<Value> {
    Ok(Value::Object(json?.0))
}

fn query_pairs(raw: Option<&str>) -> ScimResult<Vec<(String, String)>> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| ScimError::bad("invalidSyntax", "the query string is malformed"))
}

fn if_match(headers: &HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

async fn spc(ctx: Result<Ctx, ApiError>, headers: HeaderMap) -> ScimResult<Response> {
    // No credential needed (RFC 7644 section 4); the org must exist.
    let ctx = ctx?;
    ctx.state.service.active_org(&ctx.org).await?;
    Ok(answer(
        StatusCode::OK,
        service_provider_config(&base(&ctx, &headers)),
    ))
}

fn listed(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_URN],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// One discovery document by id, from `documents`.
async fn discovered(
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    documents: fn(&str) -> Vec<Value>,
    what: &str,
    one: bool,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, false).await?;
    let all = documents(&base(&ctx, &headers));
    if !one {
        return Ok(answer(StatusCode::OK, listed(all)));
    }
    let id = ctx.param("id")?.to_string();
    all.into_iter()
        .find(|d| d["id"] == id.as_str())
        .map(|d| answer(StatusCode::OK, d))
        .ok_or_else(|| ScimError::not_found(what))
}

async fn list_resource_types(
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
) -> ScimResult<Response> {
    discovered(ctx, headers, resource_types, "resource type", false).await
}

async fn resource_type(ctx: Result<Ctx, ApiError>, headers: HeaderMap) -> ScimResult<Response> {
    discovered(ctx, headers, resource_types, "resource type", true).await
}

async fn list_schemas(ctx: Result<Ctx, ApiError>, headers: HeaderMap) -> ScimResult<Response> {
    discovered(ctx, headers, schemas, "schema", false).await
}

async fn schema(ctx: Result<Ctx, ApiError>, headers: HeaderMap) -> ScimResult<Response> {
    discovered(ctx, headers, schemas, "schema", true).await
}

async fn unknown() -> ScimError {
    ScimError::not_found("SCIM endpoint")
}

/// `GET /Me`: the calling user (a user's access token).
async fn me(ctx: Result<Ctx, ApiError>, headers: HeaderMap) -> ScimResult<Response> {
    let ctx = ctx?;
    let view = super::store::me_view(&ctx).await?;
    Ok(answer(
        StatusCode::OK,
        super::resources::user_json(&view, &base(&ctx, &headers)),
    ))
}

/// `PATCH /Me`: the calling user changes their own profile.
async fn me_patch(
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    json: Result<JsonBody, ApiError>,
) -> ScimResult<Response> {
    let ctx = ctx?;
    let body = body(json)?;
    let base = base(&ctx, &headers);
    let json = super::store::patch_me(&ctx, &base, &body, if_match(&headers)).await?;
    Ok(answer(StatusCode::OK, json))
}

async fn list(
    kind: Kind,
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, false).await?;
    let params = ListParams::from_pairs(&query_pairs(q.as_deref())?)?;
    let all = kind
        .all(&ctx, &base(&ctx, &headers), params.soft_deleted)
        .await?;
    Ok(answer(StatusCode::OK, respond(all, &params)))
}

async fn search(
    kinds: Vec<Kind>,
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    json: Result<JsonBody, ApiError>,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, false).await?;
    let body = body(json)?;
    let params = ListParams::from_search(body.as_object().unwrap_or(&Map::new()))?;
    let base = base(&ctx, &headers);
    let mut all = Vec::new();
    for kind in kinds {
        all.extend(kind.all(&ctx, &base, params.soft_deleted).await?);
    }
    Ok(answer(StatusCode::OK, respond(all, &params)))
}

async fn read(
    kind: Kind,
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, false).await?;
    let params = ListParams::from_pairs(&query_pairs(q.as_deref())?)?;
    let resource = kind
        .one(&ctx, &base(&ctx, &headers), ctx.param("id")?)
        .await?;
    Ok(answer(
        StatusCode::OK,
        project(resource, &params.attributes, &params.excluded),
    ))
}

async fn create(
    kind: Kind,
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    json: Result<JsonBody, ApiError>,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, true).await?;
    let resource = body(json)?;
    let created = kind.create(&ctx, &base(&ctx, &headers), &resource).await?;
    Ok(answer(StatusCode::CREATED, created))
}

async fn replace(
    kind: Kind,
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    json: Result<JsonBody, ApiError>,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, true).await?;
    let resource = body(json)?;
    let id = ctx.param("id")?.to_string();
    let base = base(&ctx, &headers);
    let json = kind
        .replace(&ctx, &base, &id, &resource, if_match(&headers))
        .await?;
    Ok(answer(StatusCode::OK, json))
}

async fn patch(
    kind: Kind,
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    json: Result<JsonBody, ApiError>,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, true).await?;
    let body = body(json)?;
    let id = ctx.param("id")?.to_string();
    let base = base(&ctx, &headers);
    let json = kind
        .patch(&ctx, &base, &id, &body, if_match(&headers))
        .await?;
    Ok(answer(StatusCode::OK, json))
}

async fn delete(
    kind: Kind,
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, true).await?;
    // `?isSoftDeleted=true` removes a user the settings would only deactivate.
    let hard = query_pairs(q.as_deref())?
        .iter()
        .any(|(k, v)| k == "isSoftDeleted" && v.eq_ignore_ascii_case("true"));
    let id = ctx.param("id")?.to_string();
    kind.remove(&ctx, &id, if_match(&headers), hard).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
