//! `~/admin/permissions` and `~/admin/scopes`.

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use lumo_cluster::command::{NewPermission, Op, PermissionKey, PermissionPatch};
use lumo_cluster::ids::ScopeId;
use lumo_cluster::query::{Outcome, Query, Reply};

use crate::dto::catalog::{PermissionDto, ScopeDto};
use crate::dto::user::RefDto;
use crate::envelope::{self, ListShape};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody, ListQuery};
use crate::reply;
use crate::state::AppState;

use super::named::slugify;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/permissions", get(list).post(create))
        .route(
            "/admin/permissions/{permissionId}",
            get(show).patch(update).delete(remove),
        )
        .route("/admin/permissions/{permissionId}/usage", get(usage))
        .route("/admin/scopes", get(list_scopes).post(create_scope))
        .route("/admin/scopes/{scopeId}", delete(delete_scope))
}

fn valid_permission_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 100
        && slug.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | ':' | '.' | '*')
        })
}

async fn list(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let params = query.list(&["isSystem", "resource"])?;
    let page = reply!(
        ctx.read(Query::ListPermissions(params)).await?,
        Reply::Permissions
    );
    let items: Vec<PermissionDto> = page
        .items
        .iter()
        .cloned()
        .map(PermissionDto::from)
        .collect();
    Ok(envelope::list(
        &page,
        items,
        ListShape::Resource("permissions"),
    ))
}

async fn show(ctx: Ctx) -> ApiResult<Response> {
    let key: PermissionKey = ctx.key("permissionId")?;
    let view = reply!(
        ctx.read(Query::GetPermission(key)).await?,
        Reply::Permission
    );
    Ok(envelope::data(PermissionDto::from(view)))
}

async fn create(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let name = body.required_str("name", 200);
    let resource = body.opt_str("resource", 100);
    let action = body.opt_str("action", 100);
    let slug = body
        .opt_str("slug", 100)
        .unwrap_or_else(|| match (&resource, &action) {
            (Some(r), Some(a)) => format!("{}:{}", slugify(r), slugify(a)),
            _ => slugify(&name),
        });
    if !name.is_empty() && !valid_permission_slug(&slug) {
        body.problem(
            "slug",
            "must be 1-100 characters of a-z, 0-9, '-', '_', ':', '.' or '*'",
        );
    }
    let description = body.opt_str("description", 2000);
    body.finish()?;
    let new = NewPermission {
        name,
        slug: slug.clone(),
        description,
        resource,
        action,
    };
    let reply = ctx
        .write_then(
            Op::CreatePermission(new),
            Query::GetPermission(PermissionKey::Slug(slug)),
        )
        .await?;
    Ok(envelope::created(
        PermissionDto::from(reply!(reply, Reply::Permission)),
        "Permission created",
    ))
}

async fn update(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let key: PermissionKey = ctx.key("permissionId")?;
    let mut body = Body::new(json);
    if body.has("slug") {
        body.problem("slug", "cannot be changed; create a new permission instead");
    }
    let patch = PermissionPatch {
        name: body.opt_str("name", 200),
        description: body.nullable_str("description", 2000),
        resource: body.nullable_str("resource", 100),
        action: body.nullable_str("action", 100),
    };
    body.finish()?;
    let reply = ctx
        .write_then(
            Op::UpdatePermission {
                permission: key.clone(),
                patch,
            },
            Query::GetPermission(key),
        )
        .await?;
    Ok(envelope::data_message(
        PermissionDto::from(reply!(reply, Reply::Permission)),
        "Permission updated",
    ))
}

async fn remove(ctx: Ctx) -> ApiResult<Response> {
    let key: PermissionKey = ctx.key("permissionId")?;
    ctx.write(Op::DeletePermission(key)).await?;
    Ok(envelope::message("Permission deleted"))
}

async fn usage(ctx: Ctx) -> ApiResult<Response> {
    let key: PermissionKey = ctx.key("permissionId")?;
    let roles = reply!(
        ctx.read(Query::PermissionUsage(key)).await?,
        Reply::PermissionUsage
    );
    let count = roles.len();
    let roles: Vec<RefDto> = roles.into_iter().map(RefDto::from).collect();
    Ok(envelope::data(
        serde_json::json!({"roles": roles, "roleCount": count}),
    ))
}

async fn list_scopes(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let page = reply!(
        ctx.read(Query::ListScopes(query.list(&["isDefault"])?))
            .await?,
        Reply::Scopes
    );
    let pagination = envelope::pagination(&page);
    let items: Vec<ScopeDto> = page.items.into_iter().map(ScopeDto::from).collect();
    Ok(axum::Json(serde_json::json!({
        "data": items,
        "meta": {"total": page.total},
        "pagination": pagination,
    }))
    .into_response())
}

fn valid_scope_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
}

async fn create_scope(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let name = body.required_str("name", 100);
    if !name.is_empty() && !valid_scope_name(&name) {
        body.problem(
            "name",
            "must be printable ASCII without spaces, quotes or backslashes",
        );
    }
    let description = body.opt_str("description", 2000);
    let is_default = body.opt_bool("isDefault").unwrap_or(false);
    body.finish()?;
    let op = Op::CreateScope {
        name,
        description,
        is_default,
    };
    let reply = ctx.write(op).await?;
    let Reply::Done(Outcome::Created(id)) = reply else {
        return Err(ApiError::unexpected(reply));
    };
    let id = id
        .parse::<u64>()
        .map_err(|_| ApiError::Internal(format!("scope id {id}")))?;
    let scope = reply!(ctx.read(Query::GetScope(ScopeId(id))).await?, Reply::Scope);
    Ok(envelope::created(ScopeDto::from(scope), "Scope created"))
}

async fn delete_scope(ctx: Ctx) -> ApiResult<Response> {
    let id = ScopeId(ctx.number("scopeId")?);
    ctx.write(Op::DeleteScope(id)).await?;
    Ok(envelope::message("Scope deleted"))
}
