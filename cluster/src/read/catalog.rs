//! Reads of groups, roles, permissions, scopes, and of any relation.

use crate::command::{EntityKey, GroupKey, PermissionKey, Relation, RoleKey};
use crate::error::Result;
use crate::lookup;
use crate::model::{Group, NamedEntity, Permission, Role, Scope, User};
use crate::query::{
    GroupView, ListParams, Page, PageParams, PermissionView, Reply, RoleView, UserRef,
};
use crate::relations::{Direction, EndKind, degree, neighbours};
use crate::tables::{OrgReader, Table};

use super::page::{bool_filter, matches, page_of, paginate, sort_field};
use super::users::named_ref;

fn user_ref(user: User) -> UserRef {
    UserRef {
        id: user.id.to_string(),
        email: user.email,
        name: user.name,
        username: user.username,
    }
}

fn load_all<T: serde::de::DeserializeOwned>(
    reader: &OrgReader,
    table: Table,
    ids: &[Vec<u8>],
) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(entity) = reader.get::<T>(table, id)? {
            out.push(entity);
        }
    }
    Ok(out)
}

fn group_view(reader: &OrgReader, group: Group, detail: bool) -> Result<GroupView> {
    let id = group.id.to_bytes();
    let member_count = degree(reader, Relation::UserGroup, Direction::Backward, &id)?;
    let role_count = degree(reader, Relation::GroupRole, Direction::Forward, &id)?;
    let (roles, members) = if detail {
        let role_ids = neighbours(reader, Relation::GroupRole, Direction::Forward, &id)?;
        let member_ids = neighbours(reader, Relation::UserGroup, Direction::Backward, &id)?;
        let roles = load_all::<Role>(reader, Table::Role, &role_ids)?
            .into_iter()
            .map(named_ref)
            .collect();
        let members = load_all::<User>(reader, Table::User, &member_ids)?
            .into_iter()
            .map(user_ref)
            .collect();
        (Some(roles), Some(members))
    } else {
        (None, None)
    };
    Ok(GroupView {
        group,
        member_count,
        role_count,
        roles,
        members,
    })
}

fn role_view(reader: &OrgReader, role: Role, detail: bool) -> Result<RoleView> {
    let id = role.id.to_bytes();
    let user_count = degree(reader, Relation::UserRole, Direction::Backward, &id)?;
    let permissions = if detail {
        let ids = neighbours(reader, Relation::RolePermission, Direction::Forward, &id)?;
        Some(load_all::<Permission>(reader, Table::Permission, &ids)?)
    } else {
        None
    };
    Ok(RoleView {
        role,
        user_count,
        permissions,
    })
}

fn permission_view(reader: &OrgReader, permission: Permission) -> Result<PermissionView> {
    let role_count = degree(
        reader,
        Relation::RolePermission,
        Direction::Backward,
        &permission.id.0.to_be_bytes(),
    )?;
    Ok(PermissionView {
        permission,
        role_count,
    })
}

pub(super) fn get_group(reader: &OrgReader, key: &GroupKey) -> Result<Reply> {
    let group = lookup::group(reader, key)?;
    Ok(Reply::Group(group_view(reader, group, true)?))
}

pub(super) fn get_role(reader: &OrgReader, key: &RoleKey) -> Result<Reply> {
    let role = lookup::role(reader, key)?;
    Ok(Reply::Role(role_view(reader, role, true)?))
}

pub(super) fn get_permission(reader: &OrgReader, key: &PermissionKey) -> Result<Reply> {
    let permission = lookup::permission(reader, key)?;
    Ok(Reply::Permission(permission_view(reader, permission)?))
}

/// The list fields of a group or role.
fn named_fields<I>(entity: &NamedEntity<I>) -> (&str, &str, Option<&str>, bool, i64) {
    (
        &entity.name,
        &entity.slug,
        entity.description.as_deref(),
        entity.is_system,
        entity.created_at.0,
    )
}

/// Filters and sorts entities with `name`/`slug`/`isSystem`, then cuts a page.
fn list_named<T>(
    reader: &OrgReader,
    table: Table,
    params: &ListParams,
    fields: impl Fn(&T) -> (&str, &str, Option<&str>, bool, i64),
    extra: impl Fn(&T) -> bool,
) -> Result<Page<T>>
where
    T: serde::de::DeserializeOwned,
{
    let field = sort_field(&params.sort_by, &["name", "slug", "createdAt"], "name")?;
    let descending = params.sort_desc.unwrap_or(false);
    let system = bool_filter(&params.filters, "isSystem")?;
    let mut items = Vec::new();
    reader.scan::<T>(table, &[], false, |_, item| {
        let (name, slug, description, is_system, _) = fields(&item);
        if matches(&params.search, &[Some(name), Some(slug), description])
            && system.is_none_or(|s| s == is_system)
            && extra(&item)
        {
            items.push(item);
        }
        true
    })?;
    items.sort_by(|a, b| {
        let (an, aslug, _, _, at) = fields(a);
        let (bn, bslug, _, _, bt) = fields(b);
        let order = match field {
            "slug" => aslug.cmp(bslug),
            "createdAt" => at.cmp(&bt).then_with(|| aslug.cmp(bslug)),
            _ => an
                .to_lowercase()
                .cmp(&bn.to_lowercase())
                .then_with(|| aslug.cmp(bslug)),
        };
        if descending { order.reverse() } else { order }
    });
    Ok(paginate(items, params.page))
}

pub(super) fn list_groups(reader: &OrgReader, params: &ListParams) -> Result<Reply> {
    let page = list_named::<Group>(reader, Table::Group, params, named_fields, |_| true)?;
    let items = page
        .items
        .into_iter()
        .map(|g| group_view(reader, g, false))
        .collect::<Result<Vec<_>>>()?;
    Ok(Reply::Groups(Page {
        items,
        total: page.total,
        page: page.page,
        limit: page.limit,
    }))
}

pub(super) fn list_roles(reader: &OrgReader, params: &ListParams) -> Result<Reply> {
    let page = list_named::<Role>(reader, Table::Role, params, named_fields, |_| true)?;
    let items = page
        .items
        .into_iter()
        .map(|r| role_view(reader, r, false))
        .collect::<Result<Vec<_>>>()?;
    Ok(Reply::Roles(Page {
        items,
        total: page.total,
        page: page.page,
        limit: page.limit,
    }))
}

pub(super) fn list_permissions(reader: &OrgReader, params: &ListParams) -> Result<Reply> {
    let resource = params.filters.get("resource");
    let page = list_named::<Permission>(
        reader,
        Table::Permission,
        params,
        |p| {
            (
                &p.name,
                &p.slug,
                p.description.as_deref(),
                p.is_system,
                p.created_at.0,
            )
        },
        |p| resource.is_none_or(|r| p.resource.as_ref() == Some(r)),
    )?;
    let items = page
        .items
        .into_iter()
        .map(|p| permission_view(reader, p))
        .collect::<Result<Vec<_>>>()?;
    Ok(Reply::Permissions(Page {
        items,
        total: page.total,
        page: page.page,
        limit: page.limit,
    }))
}

pub(super) fn permission_usage(reader: &OrgReader, key: &PermissionKey) -> Result<Reply> {
    let permission = lookup::permission(reader, key)?;
    let ids = neighbours(
        reader,
        Relation::RolePermission,
        Direction::Backward,
        &permission.id.0.to_be_bytes(),
    )?;
    let roles = load_all::<Role>(reader, Table::Role, &ids)?
        .into_iter()
        .map(named_ref)
        .collect();
    Ok(Reply::PermissionUsage(roles))
}

pub(super) fn list_scopes(reader: &OrgReader, params: &ListParams) -> Result<Reply> {
    let default = bool_filter(&params.filters, "isDefault")?;
    let mut scopes = Vec::new();
    reader.scan::<Scope>(Table::Scope, &[], false, |_, scope| {
        if matches(
            &params.search,
            &[Some(scope.name.as_str()), scope.description.as_deref()],
        ) && default.is_none_or(|d| d == scope.is_default)
        {
            scopes.push(scope);
        }
        true
    })?;
    Ok(Reply::Scopes(paginate(scopes, params.page)))
}

pub(super) fn get_scope(reader: &OrgReader, id: crate::ids::ScopeId) -> Result<Reply> {
    reader
        .get::<Scope>(Table::Scope, &id.0.to_be_bytes())?
        .map(Reply::Scope)
        .ok_or_else(|| crate::error::ClusterError::not_found("scope", id))
}

fn anchor_end(reader: &OrgReader, anchor: &EntityKey) -> Result<(EndKind, Vec<u8>)> {
    Ok(match anchor {
        EntityKey::User(k) => (
            EndKind::User,
            lookup::user(reader, k)?.id.to_bytes().to_vec(),
        ),
        EntityKey::Group(k) => (
            EndKind::Group,
            lookup::group(reader, k)?.id.to_bytes().to_vec(),
        ),
        EntityKey::Role(k) => (
            EndKind::Role,
            lookup::role(reader, k)?.id.to_bytes().to_vec(),
        ),
        EntityKey::Permission(k) => (
            EndKind::Permission,
            lookup::permission(reader, k)?.id.0.to_be_bytes().to_vec(),
        ),
    })
}

/// One page of the entities on the other side of `relation` from `anchor`.
pub(super) fn related(
    reader: &OrgReader,
    anchor: &EntityKey,
    relation: Relation,
    page: PageParams,
) -> Result<Reply> {
    let (kind, id) = anchor_end(reader, anchor)?;
    let (from, to) = relation.ends();
    let (direction, other) = if kind == from {
        (Direction::Forward, to)
    } else {
        (Direction::Backward, from)
    };
    let ids = neighbours(reader, relation, direction, &id)?;
    let (slice, total) = page_of(&ids, page);
    fn wrap<T>(items: Vec<T>, total: u64, page: PageParams) -> Page<T> {
        Page {
            items,
            total,
            page: page.page,
            limit: page.limit,
        }
    }
    Ok(match other {
        EndKind::User => Reply::UserRefs(wrap(
            load_all::<User>(reader, Table::User, &slice)?
                .into_iter()
                .map(user_ref)
                .collect(),
            total,
            page,
        )),
        EndKind::Group => Reply::Refs(wrap(
            load_all::<Group>(reader, Table::Group, &slice)?
                .into_iter()
                .map(named_ref)
                .collect(),
            total,
            page,
        )),
        EndKind::Role => Reply::Refs(wrap(
            load_all::<Role>(reader, Table::Role, &slice)?
                .into_iter()
                .map(named_ref)
                .collect(),
            total,
            page,
        )),
        EndKind::Permission => Reply::PermissionRefs(wrap(
            load_all::<Permission>(reader, Table::Permission, &slice)?,
            total,
            page,
        )),
    })
}
