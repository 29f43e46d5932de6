//! Role-based access: a user's effective permissions are its direct grants, the permissions of
//! its roles and those of its groups' roles. The admin API's `effective-permissions` and every
//! RBAC check read this one computation.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::command::Relation;
use crate::error::Result;
use crate::ids::UserId;
use crate::model::{Permission, Role};
use crate::relations::{Direction, neighbours};
use crate::tables::{OrgReader, Table};

/// One permission a user holds and where it comes from (`direct` or `role:<role name>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectivePermission {
    pub slug: String,
    pub description: Option<String>,
    pub source: String,
}

/// The ids of every role a user holds, directly and through its groups.
pub fn all_roles(reader: &OrgReader, user: UserId) -> Result<BTreeSet<Vec<u8>>> {
    let id = user.to_bytes();
    let direct = neighbours(reader, Relation::UserRole, Direction::Forward, &id)?;
    let groups = neighbours(reader, Relation::UserGroup, Direction::Forward, &id)?;
    roles_through(reader, &direct, &groups)
}

/// The role ids in `direct` and those of the groups in `groups` (a user's own roles and groups,
/// when the caller has read them already).
pub fn roles_through(
    reader: &OrgReader,
    direct: &[Vec<u8>],
    groups: &[Vec<u8>],
) -> Result<BTreeSet<Vec<u8>>> {
    let mut roles: BTreeSet<Vec<u8>> = direct.iter().cloned().collect();
    for group in groups {
        roles.extend(neighbours(
            reader,
            Relation::GroupRole,
            Direction::Forward,
            group,
        )?);
    }
    Ok(roles)
}

/// Every permission `user` holds, sorted by slug; a permission held several ways is listed
/// once, with its first source (direct grants first, then roles by id).
pub fn effective_permissions(reader: &OrgReader, user: UserId) -> Result<Vec<EffectivePermission>> {
    let mut sources: BTreeMap<Vec<u8>, String> = BTreeMap::new();
    for id in neighbours(
        reader,
        Relation::UserPermission,
        Direction::Forward,
        &user.to_bytes(),
    )? {
        sources.entry(id).or_insert_with(|| "direct".to_string());
    }
    for role_id in all_roles(reader, user)? {
        let Some(role) = reader.get::<Role>(Table::Role, &role_id)? else {
            continue;
        };
        for id in neighbours(
            reader,
            Relation::RolePermission,
            Direction::Forward,
            &role_id,
        )? {
            sources
                .entry(id)
                .or_insert_with(|| format!("role:{}", role.name));
        }
    }
    let mut out = Vec::with_capacity(sources.len());
    for (id, source) in sources {
        if let Some(permission) = reader.get::<Permission>(Table::Permission, &id)? {
            out.push(EffectivePermission {
                slug: permission.slug,
                description: permission.description,
                source,
            });
        }
    }
    out.sort_by(|a, b| a.slug.cmp(&b.slug));
    out.dedup_by(|a, b| a.slug == b.slug);
    Ok(out)
}

/// Whether `held` (sorted by slug, as [`effective_permissions`] returns it) holds `slug`.
pub fn holds(held: &[EffectivePermission], slug: &str) -> bool {
    held.binary_search_by(|p| p.slug.as_str().cmp(slug)).is_ok()
}
