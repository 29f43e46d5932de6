//! Groups, roles, permissions, scopes.

use lumo_cluster::model::{Permission, Scope};
use lumo_cluster::query::{GroupView, PermissionView, RoleView};
use serde::Serialize;

use super::user::{RefDto, UserRefDto};

/// The `Group` model.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupDto {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub is_system: bool,
    pub member_count: u64,
    pub role_count: u64,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<RefDto>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<UserRefDto>>,
    pub updated_at: Option<String>,
}

impl From<GroupView> for GroupDto {
    fn from(v: GroupView) -> Self {
        let g = v.group;
        GroupDto {
            id: g.id.to_string(),
            name: g.name,
            slug: g.slug,
            description: g.description,
            is_system: g.is_system,
            member_count: v.member_count,
            role_count: v.role_count,
            created_at: g.created_at.to_rfc3339(),
            roles: v.roles.map(|r| r.into_iter().map(RefDto::from).collect()),
            members: v
                .members
                .map(|m| m.into_iter().map(UserRefDto::from).collect()),
            updated_at: g.updated_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// Permissions inside a role: `{id, name, slug, resource, action}`.
#[derive(Serialize)]
pub struct RolePermissionDto {
    pub id: u64,
    pub name: String,
    pub slug: String,
    pub resource: Option<String>,
    pub action: Option<String>,
}

/// The `Role` model.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDto {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub is_system: bool,
    pub user_count: u64,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<RolePermissionDto>>,
    pub updated_at: Option<String>,
}

impl From<RoleView> for RoleDto {
    fn from(v: RoleView) -> Self {
        let r = v.role;
        RoleDto {
            id: r.id.to_string(),
            name: r.name,
            slug: r.slug,
            description: r.description,
            is_system: r.is_system,
            user_count: v.user_count,
            created_at: r.created_at.to_rfc3339(),
            permissions: v.permissions.map(|ps| {
                ps.into_iter()
                    .map(|p| RolePermissionDto {
                        id: p.id.0,
                        name: p.name,
                        slug: p.slug,
                        resource: p.resource,
                        action: p.action,
                    })
                    .collect()
            }),
            updated_at: r.updated_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// The `Permission` model.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionDto {
    pub id: u64,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub resource: Option<String>,
    pub action: Option<String>,
    pub is_system: bool,
    pub is_custom: bool,
    pub created_at: String,
    pub role_count: u64,
}

impl From<PermissionView> for PermissionDto {
    fn from(v: PermissionView) -> Self {
        let p = v.permission;
        PermissionDto {
            id: p.id.0,
            name: p.name,
            slug: p.slug,
            description: p.description,
            resource: p.resource,
            action: p.action,
            is_system: p.is_system,
            is_custom: !p.is_system,
            created_at: p.created_at.to_rfc3339(),
            role_count: v.role_count,
        }
    }
}

/// Permission items of sub-lists: `{id, name, slug, description}`.
#[derive(Serialize)]
pub struct PermissionItemDto {
    pub id: u64,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
}

impl From<Permission> for PermissionItemDto {
    fn from(p: Permission) -> Self {
        PermissionItemDto {
            id: p.id.0,
            name: p.name,
            slug: p.slug,
            description: p.description,
        }
    }
}

/// The `OAuthScope` model.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeDto {
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
    pub is_default: bool,
    pub is_system: bool,
    pub created_at: String,
}

impl From<Scope> for ScopeDto {
    fn from(s: Scope) -> Self {
        ScopeDto {
            id: s.id.0,
            name: s.name,
            description: s.description,
            is_default: s.is_default,
            is_system: s.is_system,
            created_at: s.created_at.to_rfc3339(),
        }
    }
}
