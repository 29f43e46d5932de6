//! The SCIM endpoints: discovery, Users and Groups (list, `.search`, create, read, replace,
//! patch, delete), the root `.search`, Bulk, and `Me` (not available with an org-level token).

use axum::Router;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use lumo_cluster::command::{Op, ScimWrite};
use lumo_cluster::ids::{GroupId, UserId};
use lumo_cluster::model::Family;
use lumo_cluster::query::{Query, Reply, ScimGroupView, ScimUserView};
use serde_json::{Map, Value, json};

use super::discovery::{resource_types, schemas, service_provider_config};
use super::list::{LIST_URN, ListParams, project, respond};
use super::resources::{self, group_json, group_state, user_json, user_state};
use super::{ScimError, ScimResult, answer, base, bulk, patch};
use crate::error::ApiError;
use crate::extract::{Ctx, JsonBody};
use crate::state::AppState;

const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

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
                .route(
                    &format!("{prefix}/Users"),
                    get(list_users).post(create_user),
                )
                .route(&format!("{prefix}/Users/.search"), post(search_users))
                .route(
                    &format!("{prefix}/Users/{{id}}"),
                    get(get_user)
                        .put(replace_user)
                        .patch(patch_user)
                        .delete(delete_user),
                )
                .route(
                    &format!("{prefix}/Groups"),
                    get(list_groups).post(create_group),
                )
                .route(&format!("{prefix}/Groups/.search"), post(search_groups))
                .route(
                    &format!("{prefix}/Groups/{{id}}"),
                    get(get_group)
                        .put(replace_group)
                        .patch(patch_group)
                        .delete(delete_group),
                )
                .route(&format!("{prefix}/.search"), post(search_all))
                .route(&format!("{prefix}/Bulk"), post(bulk::bulk))
                .route(&format!("{prefix}/Me"), get(me).patch(me))
                .route(&format!("{prefix}/{{*rest}}"), any(unknown))
        })
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

async fn list_resource_types(
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, false).await?;
    Ok(answer(
        StatusCode::OK,
        listed(resource_types(&base(&ctx, &headers))),
    ))
}

async fn resource_type(ctx: Result<Ctx, ApiError>, headers: HeaderMap) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, false).await?;
    let id = ctx.param("id")?.to_string();
    resource_types(&base(&ctx, &headers))
        .into_iter()
        .find(|t| t["id"] == id.as_str())
        .map(|t| answer(StatusCode::OK, t))
        .ok_or_else(|| ScimError::not_found("resource type"))
}

async fn list_schemas(ctx: Result<Ctx, ApiError>, headers: HeaderMap) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, false).await?;
    Ok(answer(
        StatusCode::OK,
        listed(schemas(&base(&ctx, &headers))),
    ))
}

async fn schema(ctx: Result<Ctx, ApiError>, headers: HeaderMap) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, false).await?;
    let id = ctx.param("id")?.to_string();
    schemas(&base(&ctx, &headers))
        .into_iter()
        .find(|s| s["id"] == id.as_str())
        .map(|s| answer(StatusCode::OK, s))
        .ok_or_else(|| ScimError::not_found("schema"))
}

async fn unknown() -> ScimError {
    ScimError::not_found("SCIM endpoint")
}

async fn me() -> ScimError {
    ScimError::new(
        StatusCode::NOT_IMPLEMENTED,
        None,
        "Me needs a user's own credential; the organization's SCIM token names no user",
    )
}

// ----- reads -----

pub(super) async fn user_view(ctx: &Ctx, id: &str) -> ScimResult<ScimUserView> {
    let id: UserId = id.parse().map_err(|_| ScimError::not_found("user"))?;
    match ctx.read(Query::ScimUser(id)).await {
        Ok(Reply::ScimUser(view)) if view.extra.soft_deleted_at.is_none() => Ok(*view),
        Ok(Reply::ScimUser(_))
        | Err(ApiError::Cluster(lumo_cluster::ClusterError::NotFound { .. })) => {
            Err(ScimError::not_found("user"))
        }
        Ok(other) => Err(ApiError::unexpected(other).into()),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn group_view(ctx: &Ctx, id: &str) -> ScimResult<ScimGroupView> {
    let id: GroupId = id.parse().map_err(|_| ScimError::not_found("group"))?;
    match ctx.read(Query::ScimGroup(id)).await {
        Ok(Reply::ScimGroup(view)) => Ok(*view),
        Err(ApiError::Cluster(lumo_cluster::ClusterError::NotFound { .. })) => {
            Err(ScimError::not_found("group"))
        }
        Ok(other) => Err(ApiError::unexpected(other).into()),
        Err(e) => Err(e.into()),
    }
}

async fn all_users(ctx: &Ctx, base: &str, soft_deleted: bool) -> ScimResult<Vec<Value>> {
    match ctx.read(Query::ScimUsers).await? {
        Reply::ScimUsers(views) => Ok(views
            .iter()
            .filter(|v| soft_deleted || v.extra.soft_deleted_at.is_none())
            .map(|v| user_json(v, base))
            .collect()),
        other => Err(ApiError::unexpected(other).into()),
    }
}

async fn all_groups(ctx: &Ctx, base: &str) -> ScimResult<Vec<Value>> {
    match ctx.read(Query::ScimGroups).await? {
        Reply::ScimGroups(views) => Ok(views.iter().map(|v| group_json(v, base)).collect()),
        other => Err(ApiError::unexpected(other).into()),
    }
}

fn projection(pairs: &[(String, String)]) -> ScimResult<ListParams> {
    ListParams::from_pairs(pairs)
}

async fn list_users(
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, false).await?;
    let params = ListParams::from_pairs(&query_pairs(q.as_deref())?)?;
    let base = base(&ctx, &headers);
    let all = all_users(&ctx, &base, params.soft_deleted).await?;
    Ok(answer(StatusCode::OK, respond(all, &params)))
}

async fn list_groups(
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, false).await?;
    let params = ListParams::from_pairs(&query_pairs(q.as_deref())?)?;
    let all = all_groups(&ctx, &base(&ctx, &headers)).await?;
    Ok(answer(StatusCode::OK, respond(all, &params)))
}

async fn search(
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    json: Result<JsonBody, ApiError>,
    users: bool,
    groups: bool,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, false).await?;
    let body = body(json)?;
    let params = ListParams::from_search(body.as_object().unwrap_or(&Map::new()))?;
    let base = base(&ctx, &headers);
    let mut all = Vec::new();
    if users {
        all.extend(all_users(&ctx, &base, params.soft_deleted).await?);
    }
    if groups {
        all.extend(all_groups(&ctx, &base).await?);
    }
    Ok(answer(StatusCode::OK, respond(all, &params)))
}

async fn search_users(
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    json: Result<JsonBody, ApiError>,
) -> ScimResult<Response> {
    search(ctx, headers, json, true, false).await
}

async fn search_groups(
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    json: Result<JsonBody, ApiError>,
) -> ScimResult<Response> {
    search(ctx, headers, json, false, true).await
}

async fn search_all(
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    json: Result<JsonBody, ApiError>,
) -> ScimResult<Response> {
    search(ctx, headers, json, true, true).await
}

async fn get_user(
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, false).await?;
    let view = user_view(&ctx, ctx.param("id")?).await?;
    let params = projection(&query_pairs(q.as_deref())?)?;
    let json = project(
        user_json(&view, &base(&ctx, &headers)),
        &params.attributes,
        &params.excluded,
    );
    Ok(answer(StatusCode::OK, json))
}

async fn get_group(
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, false).await?;
    let view = group_view(&ctx, ctx.param("id")?).await?;
    let params = projection(&query_pairs(q.as_deref())?)?;
    let json = project(
        group_json(&view, &base(&ctx, &headers)),
        &params.attributes,
        &params.excluded,
    );
    Ok(answer(StatusCode::OK, json))
}

// ----- writes (shared with Bulk) -----

/// Creates a user from `resource`; answers its JSON.
pub(super) async fn write_new_user(ctx: &Ctx, base: &str, resource: &Value) -> ScimResult<Value> {
    let id = UserId::generate();
    let mut state = user_state(resource, None, &resources::placeholder(&id))?;
    if let Some(password) = resources::password(resource)? {
        state.password_hash = Some(crate::password::accept(ctx, "password", password).await?);
    }
    let op = Op::Scim(ScimWrite::PutUser {
        id,
        create: true,
        if_match: None,
        user: Box::new(state),
    });
    ctx.write(op).await?;
    Ok(user_json(&user_view(ctx, &id.to_string()).await?, base))
}

/// Replaces user `id` with `resource`.
pub(super) async fn write_user(
    ctx: &Ctx,
    base: &str,
    id: &str,
    resource: &Value,
    version: Option<String>,
) -> ScimResult<Value> {
    let current = user_view(ctx, id).await?;
    let placeholder = resources::placeholder(&current.user.id);
    let mut state = user_state(resource, Some(&current), &placeholder)?;
    if let Some(password) = resources::password(resource)? {
        state.password_hash = Some(crate::password::accept(ctx, "password", password).await?);
    }
    let op = Op::Scim(ScimWrite::PutUser {
        id: current.user.id,
        create: false,
        if_match: version,
        user: Box::new(state),
    });
    ctx.write(op).await?;
    Ok(user_json(&user_view(ctx, id).await?, base))
}

fn operations(body: &Value) -> ScimResult<Vec<Value>> {
    if let Some(schemas) = body.get("schemas").and_then(Value::as_array)
        && !schemas.iter().any(|s| s.as_str() == Some(PATCH_URN))
    {
        return Err(ScimError::bad(
            "invalidSyntax",
            format!("a PATCH body's schemas must include {PATCH_URN}"),
        ));
    }
    super::filter::member(body, "Operations")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| ScimError::bad("invalidSyntax", "a PATCH body needs Operations"))
}

/// Applies a PATCH body to user `id`.
pub(super) async fn patch_user_with(
    ctx: &Ctx,
    base: &str,
    id: &str,
    body: &Value,
    version: Option<String>,
) -> ScimResult<Value> {
    let ops = operations(body)?;
    let current = user_view(ctx, id).await?;
    let mut resource = user_json(&current, base);
    patch::apply(&mut resource, &ops).map_err(|(t, d)| ScimError::bad(t, d))?;
    let guard = version.or_else(|| resource["meta"]["version"].as_str().map(str::to_string));
    write_user(ctx, base, id, &resource, guard).await
}

pub(super) async fn write_new_group(ctx: &Ctx, base: &str, resource: &Value) -> ScimResult<Value> {
    let state = group_state(resource)?;
    let id = GroupId::generate();
    ctx.write(Op::Scim(ScimWrite::PutGroup {
        id,
        create: true,
        if_match: None,
        group: state,
    }))
    .await?;
    Ok(group_json(&group_view(ctx, &id.to_string()).await?, base))
}

pub(super) async fn write_group(
    ctx: &Ctx,
    base: &str,
    id: &str,
    resource: &Value,
    version: Option<String>,
) -> ScimResult<Value> {
    let current = group_view(ctx, id).await?;
    let state = group_state(resource)?;
    ctx.write(Op::Scim(ScimWrite::PutGroup {
        id: current.group.id,
        create: false,
        if_match: version,
        group: state,
    }))
    .await?;
    Ok(group_json(&group_view(ctx, id).await?, base))
}

pub(super) async fn patch_group_with(
    ctx: &Ctx,
    base: &str,
    id: &str,
    body: &Value,
    version: Option<String>,
) -> ScimResult<Value> {
    let ops = operations(body)?;
    let current = group_view(ctx, id).await?;
    let mut resource = group_json(&current, base);
    patch::apply(&mut resource, &ops).map_err(|(t, d)| ScimError::bad(t, d))?;
    let guard = version.or_else(|| resource["meta"]["version"].as_str().map(str::to_string));
    write_group(ctx, base, id, &resource, guard).await
}

pub(super) async fn remove_user(
    ctx: &Ctx,
    id: &str,
    version: Option<String>,
    hard: bool,
) -> ScimResult<()> {
    let id: UserId = id.parse().map_err(|_| ScimError::not_found("user"))?;
    // A soft-deleted user is gone for SCIM, except to the delete that removes it for good.
    match ctx.read(Query::ScimUser(id)).await {
        Ok(Reply::ScimUser(view)) if view.extra.soft_deleted_at.is_some() && !hard => {
            return Err(ScimError::not_found("user"));
        }
        Ok(_) => {}
        Err(ApiError::Cluster(lumo_cluster::ClusterError::NotFound { .. })) => {
            return Err(ScimError::not_found("user"));
        }
        Err(e) => return Err(e.into()),
    }
    ctx.write(Op::Scim(ScimWrite::DeleteUser {
        id,
        if_match: version,
        hard,
    }))
    .await?;
    Ok(())
}

pub(super) async fn remove_group(ctx: &Ctx, id: &str, version: Option<String>) -> ScimResult<()> {
    let current = group_view(ctx, id).await?;
    ctx.write(Op::Scim(ScimWrite::DeleteGroup {
        id: current.group.id,
        if_match: version,
    }))
    .await?;
    Ok(())
}

async fn create_user(
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    json: Result<JsonBody, ApiError>,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, true).await?;
    let resource = body(json)?;
    let created = write_new_user(&ctx, &base(&ctx, &headers), &resource).await?;
    Ok(answer(StatusCode::CREATED, created))
}

async fn replace_user(
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    json: Result<JsonBody, ApiError>,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, true).await?;
    let resource = body(json)?;
    let id = ctx.param("id")?.to_string();
    let json = write_user(
        &ctx,
        &base(&ctx, &headers),
        &id,
        &resource,
        if_match(&headers),
    )
    .await?;
    Ok(answer(StatusCode::OK, json))
}

async fn patch_user(
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    json: Result<JsonBody, ApiError>,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, true).await?;
    let body = body(json)?;
    let id = ctx.param("id")?.to_string();
    let json = patch_user_with(&ctx, &base(&ctx, &headers), &id, &body, if_match(&headers)).await?;
    Ok(answer(StatusCode::OK, json))
}

async fn delete_user(
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, true).await?;
    let hard = query_pairs(q.as_deref())?
        .iter()
        .any(|(k, v)| k == "isSoftDeleted" && v.eq_ignore_ascii_case("true"));
    let id = ctx.param("id")?.to_string();
    remove_user(&ctx, &id, if_match(&headers), hard).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn create_group(
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    json: Result<JsonBody, ApiError>,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, true).await?;
    let resource = body(json)?;
    let created = write_new_group(&ctx, &base(&ctx, &headers), &resource).await?;
    Ok(answer(StatusCode::CREATED, created))
}

async fn replace_group(
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    json: Result<JsonBody, ApiError>,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, true).await?;
    let resource = body(json)?;
    let id = ctx.param("id")?.to_string();
    let json = write_group(
        &ctx,
        &base(&ctx, &headers),
        &id,
        &resource,
        if_match(&headers),
    )
    .await?;
    Ok(answer(StatusCode::OK, json))
}

async fn patch_group(
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    json: Result<JsonBody, ApiError>,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, true).await?;
    let body = body(json)?;
    let id = ctx.param("id")?.to_string();
    let json =
        patch_group_with(&ctx, &base(&ctx, &headers), &id, &body, if_match(&headers)).await?;
    Ok(answer(StatusCode::OK, json))
}

async fn delete_group(ctx: Result<Ctx, ApiError>, headers: HeaderMap) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, true).await?;
    let id = ctx.param("id")?.to_string();
    remove_group(&ctx, &id, if_match(&headers)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
