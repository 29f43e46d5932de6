//! `~/admin/groups`: CRUD (members and roles are in `relations`).

use axum::Router;
use axum::response::Response;
use axum::routing::get;
use lumo_cluster::command::{GroupKey, Op};
use lumo_cluster::ids::GroupId;
use lumo_cluster::query::{Query, Reply};

use crate::dto::catalog::GroupDto;
use crate::envelope::{self, ListShape};
use crate::error::ApiResult;
use crate::extract::{Ctx, JsonBody, ListQuery};
use crate::reply;
use crate::state::AppState;

use super::named::{named_patch, new_named};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/groups", get(list).post(create))
        .route(
            "/admin/groups/{groupId}",
            get(show).put(update).patch(update).delete(remove),
        )
}

async fn list(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let page = reply!(
        ctx.read(Query::ListGroups(query.list(&["isSystem"])?))
            .await?,
        Reply::Groups
    );
    let items: Vec<GroupDto> = page.items.iter().cloned().map(GroupDto::from).collect();
    Ok(envelope::list(&page, items, ListShape::Meta))
}

async fn show(ctx: Ctx) -> ApiResult<Response> {
    let key: GroupKey = ctx.key("groupId")?;
    let view = reply!(ctx.read(Query::GetGroup(key)).await?, Reply::Group);
    Ok(envelope::data(GroupDto::from(view)))
}

async fn create(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let fields = new_named(json)?;
    let id = GroupId::generate();
    let reply = ctx
        .write_then(
            Op::CreateGroup { id, fields },
            Query::GetGroup(GroupKey::Id(id)),
        )
        .await?;
    Ok(envelope::created(
        GroupDto::from(reply!(reply, Reply::Group)),
        "Group created",
    ))
}

async fn update(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let key: GroupKey = ctx.key("groupId")?;
    let patch = named_patch(json)?;
    let then = match &patch.slug {
        Some(slug) if matches!(key, GroupKey::Slug(_)) => GroupKey::Slug(slug.clone()),
        _ => key.clone(),
    };
    let reply = ctx
        .write_then(Op::UpdateGroup { group: key, patch }, Query::GetGroup(then))
        .await?;
    Ok(envelope::data_message(
        GroupDto::from(reply!(reply, Reply::Group)),
        "Group updated",
    ))
}

async fn remove(ctx: Ctx) -> ApiResult<Response> {
    let key: GroupKey = ctx.key("groupId")?;
    ctx.write(Op::DeleteGroup(key)).await?;
    Ok(envelope::message("Group deleted"))
}
