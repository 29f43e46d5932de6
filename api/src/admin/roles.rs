//! `~/admin/roles`: CRUD (permissions and users are in `relations`).

use axum::Router;
use axum::response::Response;
use axum::routing::get;
use lumo_cluster::command::{Op, RoleKey};
use lumo_cluster::ids::RoleId;
use lumo_cluster::query::{Query, Reply};

use crate::dto::catalog::RoleDto;
use crate::envelope::{self, ListShape};
use crate::error::ApiResult;
use crate::extract::{Ctx, JsonBody, ListQuery};
use crate::reply;
use crate::state::AppState;

use super::named::{named_patch, new_named};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/roles", get(list).post(create))
        .route(
            "/admin/roles/{roleId}",
            get(show).put(update).patch(update).delete(remove),
        )
}

async fn list(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let page = reply!(
        ctx.read(Query::ListRoles(query.list(&["isSystem"])?))
            .await?,
        Reply::Roles
    );
    let items: Vec<RoleDto> = page.items.iter().cloned().map(RoleDto::from).collect();
    Ok(envelope::list(&page, items, ListShape::Resource("roles")))
}

async fn show(ctx: Ctx) -> ApiResult<Response> {
    let key: RoleKey = ctx.key("roleId")?;
    let view = reply!(ctx.read(Query::GetRole(key)).await?, Reply::Role);
    Ok(envelope::data(RoleDto::from(view)))
}

async fn create(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let fields = new_named(json)?;
    let id = RoleId::generate();
    let reply = ctx
        .write_then(
            Op::CreateRole { id, fields },
            Query::GetRole(RoleKey::Id(id)),
        )
        .await?;
    Ok(envelope::created(
        RoleDto::from(reply!(reply, Reply::Role)),
        "Role created",
    ))
}

async fn update(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let key: RoleKey = ctx.key("roleId")?;
    let patch = named_patch(json)?;
    let then = match &patch.slug {
        Some(slug) if matches!(key, RoleKey::Slug(_)) => RoleKey::Slug(slug.clone()),
        _ => key.clone(),
    };
    let reply = ctx
        .write_then(Op::UpdateRole { role: key, patch }, Query::GetRole(then))
        .await?;
    Ok(envelope::data_message(
        RoleDto::from(reply!(reply, Reply::Role)),
        "Role updated",
    ))
}

async fn remove(ctx: Ctx) -> ApiResult<Response> {
    let key: RoleKey = ctx.key("roleId")?;
    ctx.write(Op::DeleteRole(key)).await?;
    Ok(envelope::message("Role deleted"))
}
