//! Relation endpoints: a user's roles, groups and permissions; group members and roles; role
//! permissions and users. All go through `Op::Relate` and `Query::Related`.

use axum::Router;
use axum::response::Response;
use axum::routing::{delete, get};
use lumo_cluster::command::{
    EntityKey, GroupKey, Op, PermissionKey, RelateMode, Relation, RoleKey, UserKey,
};
use lumo_cluster::model::Family;
use lumo_cluster::query::{Query, Reply};

use crate::dto::catalog::{GroupDto, PermissionItemDto, RoleDto};
use crate::dto::user::{RefItemDto, UserRefDto};
use crate::envelope::{self, ListShape};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody, ListQuery, in_family};
use crate::reply;
use crate::state::AppState;

use super::users::user_response;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/users/{userId}/roles",
            get(user_roles).post(user_add_role).put(user_replace_roles),
        )
        .route(
            "/admin/users/{userId}/roles/{roleId}",
            delete(user_remove_role),
        )
        .route(
            "/admin/users/{userId}/groups",
            get(user_groups)
                .post(user_add_group)
                .put(user_replace_groups),
        )
        .route(
            "/admin/users/{userId}/groups/{groupId}",
            delete(user_remove_group),
        )
        .route(
            "/admin/users/{userId}/permissions",
            get(user_permissions).post(user_add_permission),
        )
        .route(
            "/admin/users/{userId}/permissions/{permissionId}",
            delete(user_remove_permission),
        )
        .route_layer(in_family(Family::Users))
        .merge(groups_side())
        .merge(roles_side())
}

/// Relations hanging off a group.
fn groups_side() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/groups/{groupId}/members",
            get(group_members).post(group_add_members),
        )
        .route(
            "/admin/groups/{groupId}/members/{userId}",
            delete(group_remove_member),
        )
        .route(
            "/admin/groups/{groupId}/roles",
            get(group_roles)
                .post(group_add_role)
                .put(group_replace_roles),
        )
        .route(
            "/admin/groups/{groupId}/roles/{roleId}",
            delete(group_remove_role),
        )
        .route_layer(in_family(Family::Groups))
}

/// Relations hanging off a role.
fn roles_side() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/roles/{roleId}/permissions",
            get(role_permissions)
                .post(role_add_permissions)
                .put(role_replace_permissions),
        )
        .route(
            "/admin/roles/{roleId}/permissions/{permissionId}",
            delete(role_remove_permission),
        )
        .route(
            "/admin/roles/{roleId}/users",
            get(role_users).post(role_add_user),
        )
        .route(
            "/admin/roles/{roleId}/users/{userId}",
            delete(role_remove_user),
        )
        .route_layer(in_family(Family::Roles))
}

fn parse<K: std::str::FromStr<Err = lumo_cluster::command::BadKey>>(
    field: &str,
    text: &str,
) -> ApiResult<K> {
    text.parse::<K>()
        .map_err(|lumo_cluster::command::BadKey(why)| ApiError::invalid(field, why))
}

fn role_key(field: &str, text: &str) -> ApiResult<EntityKey> {
    Ok(EntityKey::Role(parse::<RoleKey>(field, text)?))
}

fn group_key(field: &str, text: &str) -> ApiResult<EntityKey> {
    Ok(EntityKey::Group(parse::<GroupKey>(field, text)?))
}

fn permission_key(field: &str, text: &str) -> ApiResult<EntityKey> {
    Ok(EntityKey::Permission(parse::<PermissionKey>(field, text)?))
}

fn user_key(field: &str, text: &str) -> ApiResult<EntityKey> {
    Ok(EntityKey::User(parse::<UserKey>(field, text)?))
}

/// Reads the referenced ids from the first present of `fields` (each a single id, or a list).
fn references(
    json: JsonBody,
    fields: &[&str],
    to_key: fn(&str, &str) -> ApiResult<EntityKey>,
    allow_empty: bool,
) -> ApiResult<Vec<EntityKey>> {
    let mut body = Body::new(json);
    let Some(field) = body.first_present(fields) else {
        body.problem(fields[0], "is required");
        body.finish()?;
        return Ok(Vec::new());
    };
    let ids = body.id_list(field).unwrap_or_default();
    if ids.is_empty() && !allow_empty {
        body.problem(field, "must name at least one item");
    }
    body.finish()?;
    ids.iter().map(|id| to_key(field, id)).collect()
}

async fn relate(
    ctx: &Ctx,
    relation: Relation,
    anchor: EntityKey,
    others: Vec<EntityKey>,
    mode: RelateMode,
    then: Option<Query>,
) -> ApiResult<Reply> {
    let op = Op::Relate {
        relation,
        anchor,
        others,
        mode,
    };
    match then {
        Some(q) => ctx.write_then(op, q).await,
        None => ctx.write(op).await,
    }
}

async fn related(
    ctx: &Ctx,
    query: &ListQuery,
    anchor: EntityKey,
    relation: Relation,
) -> ApiResult<Reply> {
    let page = query.page()?;
    ctx.read(Query::Related {
        anchor,
        relation,
        page,
    })
    .await
}

fn refs_response(reply: Reply) -> ApiResult<Response> {
    let page = reply!(reply, Reply::Refs);
    let items: Vec<RefItemDto> = page.items.iter().cloned().map(RefItemDto::from).collect();
    Ok(envelope::list(&page, items, ListShape::Pagination))
}

fn permissions_response(reply: Reply) -> ApiResult<Response> {
    let page = reply!(reply, Reply::PermissionRefs);
    let items: Vec<PermissionItemDto> = page
        .items
        .iter()
        .cloned()
        .map(PermissionItemDto::from)
        .collect();
    Ok(envelope::list(&page, items, ListShape::Pagination))
}

fn users_response(reply: Reply, kind: &'static str) -> ApiResult<Response> {
    let page = reply!(reply, Reply::UserRefs);
    let items: Vec<UserRefDto> = page.items.iter().cloned().map(UserRefDto::from).collect();
    Ok(envelope::list(&page, items, ListShape::Resource(kind)))
}

// --- a user's roles, groups, permissions ---

async fn user_roles(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let user = EntityKey::User(ctx.key("userId")?);
    refs_response(related(&ctx, &query, user, Relation::UserRole).await?)
}

async fn user_groups(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let user = EntityKey::User(ctx.key("userId")?);
    refs_response(related(&ctx, &query, user, Relation::UserGroup).await?)
}

async fn user_permissions(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let user = EntityKey::User(ctx.key("userId")?);
    permissions_response(related(&ctx, &query, user, Relation::UserPermission).await?)
}

async fn change_user(
    ctx: Ctx,
    relation: Relation,
    others: Vec<EntityKey>,
    mode: RelateMode,
    message: &str,
) -> ApiResult<Response> {
    let user: UserKey = ctx.key("userId")?;
    let then = Some(Query::GetUser(user.clone()));
    let reply = relate(&ctx, relation, EntityKey::User(user), others, mode, then).await?;
    user_response(reply, message)
}

async fn user_add_role(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let roles = references(
        json,
        &["roleId", "role", "roleIds", "roles"],
        role_key,
        false,
    )?;
    change_user(
        ctx,
        Relation::UserRole,
        roles,
        RelateMode::Add,
        "Role assigned",
    )
    .await
}

async fn user_replace_roles(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let roles = references(json, &["roles", "roleIds"], role_key, true)?;
    change_user(
        ctx,
        Relation::UserRole,
        roles,
        RelateMode::Replace,
        "Roles updated",
    )
    .await
}

async fn user_remove_role(ctx: Ctx) -> ApiResult<Response> {
    let role = EntityKey::Role(ctx.key("roleId")?);
    change_user(
        ctx,
        Relation::UserRole,
        vec![role],
        RelateMode::Remove,
        "Role removed",
    )
    .await
}

async fn user_add_group(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let groups = references(
        json,
        &["groupId", "group", "groupIds", "groups"],
        group_key,
        false,
    )?;
    change_user(
        ctx,
        Relation::UserGroup,
        groups,
        RelateMode::Add,
        "User added to group",
    )
    .await
}

async fn user_replace_groups(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let groups = references(json, &["groups", "groupIds"], group_key, true)?;
    change_user(
        ctx,
        Relation::UserGroup,
        groups,
        RelateMode::Replace,
        "Groups updated",
    )
    .await
}

async fn user_remove_group(ctx: Ctx) -> ApiResult<Response> {
    let group = EntityKey::Group(ctx.key("groupId")?);
    change_user(
        ctx,
        Relation::UserGroup,
        vec![group],
        RelateMode::Remove,
        "User removed from group",
    )
    .await
}

async fn user_add_permission(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let user = EntityKey::User(ctx.key("userId")?);
    let permissions = references(
        json,
        &["permissionId", "permission", "permissionIds", "permissions"],
        permission_key,
        false,
    )?;
    relate(
        &ctx,
        Relation::UserPermission,
        user,
        permissions,
        RelateMode::Add,
        None,
    )
    .await?;
    Ok(envelope::message("Permission assigned"))
}

async fn user_remove_permission(ctx: Ctx) -> ApiResult<Response> {
    let user = EntityKey::User(ctx.key("userId")?);
    let permission = EntityKey::Permission(ctx.key("permissionId")?);
    relate(
        &ctx,
        Relation::UserPermission,
        user,
        vec![permission],
        RelateMode::Remove,
        None,
    )
    .await?;
    Ok(envelope::message("Permission removed"))
}

// --- group members and roles ---

fn group_response(reply: Reply, message: &str) -> ApiResult<Response> {
    let view = reply!(reply, Reply::Group);
    Ok(envelope::data_message(GroupDto::from(view), message))
}

async fn group_members(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let group = EntityKey::Group(ctx.key("groupId")?);
    users_response(
        related(&ctx, &query, group, Relation::UserGroup).await?,
        "users",
    )
}

async fn group_add_members(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let group: GroupKey = ctx.key("groupId")?;
    let users = references(
        json,
        &["userIds", "users", "userId", "members"],
        user_key,
        false,
    )?;
    let then = Some(Query::GetGroup(group.clone()));
    let reply = relate(
        &ctx,
        Relation::UserGroup,
        EntityKey::Group(group),
        users,
        RelateMode::Add,
        then,
    )
    .await?;
    group_response(reply, "Members added")
}

async fn group_remove_member(ctx: Ctx) -> ApiResult<Response> {
    let group = EntityKey::Group(ctx.key("groupId")?);
    let user = EntityKey::User(ctx.key("userId")?);
    relate(
        &ctx,
        Relation::UserGroup,
        group,
        vec![user],
        RelateMode::Remove,
        None,
    )
    .await?;
    Ok(envelope::message("Member removed"))
}

async fn group_roles(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let group = EntityKey::Group(ctx.key("groupId")?);
    refs_response(related(&ctx, &query, group, Relation::GroupRole).await?)
}

async fn group_add_role(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let group = EntityKey::Group(ctx.key("groupId")?);
    let roles = references(
        json,
        &["roleId", "role", "roleIds", "roles"],
        role_key,
        false,
    )?;
    relate(
        &ctx,
        Relation::GroupRole,
        group,
        roles,
        RelateMode::Add,
        None,
    )
    .await?;
    Ok(envelope::message("Role added to group"))
}

async fn group_replace_roles(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let group: GroupKey = ctx.key("groupId")?;
    let roles = references(json, &["roles", "roleIds"], role_key, true)?;
    let then = Some(Query::GetGroup(group.clone()));
    let reply = relate(
        &ctx,
        Relation::GroupRole,
        EntityKey::Group(group),
        roles,
        RelateMode::Replace,
        then,
    )
    .await?;
    group_response(reply, "Group roles updated")
}

async fn group_remove_role(ctx: Ctx) -> ApiResult<Response> {
    let group = EntityKey::Group(ctx.key("groupId")?);
    let role = EntityKey::Role(ctx.key("roleId")?);
    relate(
        &ctx,
        Relation::GroupRole,
        group,
        vec![role],
        RelateMode::Remove,
        None,
    )
    .await?;
    Ok(envelope::message("Role removed from group"))
}

// --- role permissions and users ---

async fn role_permissions(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let role = EntityKey::Role(ctx.key("roleId")?);
    permissions_response(related(&ctx, &query, role, Relation::RolePermission).await?)
}

async fn role_add_permissions(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let role = EntityKey::Role(ctx.key("roleId")?);
    let permissions = references(
        json,
        &["permissions", "permissionIds", "permissionId", "permission"],
        permission_key,
        false,
    )?;
    relate(
        &ctx,
        Relation::RolePermission,
        role,
        permissions,
        RelateMode::Add,
        None,
    )
    .await?;
    Ok(envelope::message("Permissions added to role"))
}

async fn role_replace_permissions(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let role: RoleKey = ctx.key("roleId")?;
    let permissions = references(
        json,
        &["permissions", "permissionIds"],
        permission_key,
        true,
    )?;
    let then = Some(Query::GetRole(role.clone()));
    let reply = relate(
        &ctx,
        Relation::RolePermission,
        EntityKey::Role(role),
        permissions,
        RelateMode::Replace,
        then,
    )
    .await?;
    let view = reply!(reply, Reply::Role);
    Ok(envelope::data_message(
        RoleDto::from(view),
        "Role permissions updated",
    ))
}

async fn role_remove_permission(ctx: Ctx) -> ApiResult<Response> {
    let role = EntityKey::Role(ctx.key("roleId")?);
    let permission = EntityKey::Permission(ctx.key("permissionId")?);
    relate(
        &ctx,
        Relation::RolePermission,
        role,
        vec![permission],
        RelateMode::Remove,
        None,
    )
    .await?;
    Ok(envelope::message("Permission removed from role"))
}

async fn role_users(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let role = EntityKey::Role(ctx.key("roleId")?);
    users_response(
        related(&ctx, &query, role, Relation::UserRole).await?,
        "users",
    )
}

async fn role_add_user(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let role = EntityKey::Role(ctx.key("roleId")?);
    let users = references(
        json,
        &["userId", "user", "userIds", "users"],
        user_key,
        false,
    )?;
    relate(&ctx, Relation::UserRole, role, users, RelateMode::Add, None).await?;
    Ok(envelope::message("User assigned to role"))
}

async fn role_remove_user(ctx: Ctx) -> ApiResult<Response> {
    let role = EntityKey::Role(ctx.key("roleId")?);
    let user = EntityKey::User(ctx.key("userId")?);
    relate(
        &ctx,
        Relation::UserRole,
        role,
        vec![user],
        RelateMode::Remove,
        None,
    )
    .await?;
    Ok(envelope::message("User removed from role"))
}
