//! Users.

use lumo_cluster::clock::Timestamp;
use lumo_cluster::model::EntityRef;
use lumo_cluster::query::{UserRef, UserView};
use serde::Serialize;

fn ts(t: Timestamp) -> String {
    t.to_rfc3339()
}

/// `RoleRef` / `GroupRef`: `{id, name, slug}`.
#[derive(Serialize)]
pub struct RefDto {
    pub id: String,
    pub name: String,
    pub slug: String,
}

impl From<EntityRef> for RefDto {
    fn from(r: EntityRef) -> Self {
        RefDto {
            id: r.id,
            name: r.name,
            slug: r.slug,
        }
    }
}

/// `{id, name, slug, description}` items of sub-lists.
#[derive(Serialize)]
pub struct RefItemDto {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
}

impl From<EntityRef> for RefItemDto {
    fn from(r: EntityRef) -> Self {
        RefItemDto {
            id: r.id,
            name: r.name,
            slug: r.slug,
            description: r.description,
        }
    }
}

/// `UserRef` / group member items: `{id, email, name, username}`.
#[derive(Serialize)]
pub struct UserRefDto {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub username: Option<String>,
}

impl From<UserRef> for UserRefDto {
    fn from(u: UserRef) -> Self {
        UserRefDto {
            id: u.id,
            email: u.email,
            name: u.name,
            username: u.username,
        }
    }
}

/// The `User` model.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDto {
    pub id: String,
    pub email: String,
    pub username: Option<String>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub picture: Option<String>,
    pub email_verified: bool,
    pub phone_number: Option<String>,
    pub phone_number_verified: bool,
    pub is_active: bool,
    pub blocked: bool,
    pub mfa_enabled: bool,
    pub is_admin: bool,
    pub created_at: String,
    pub last_login_at: Option<String>,
    pub login_count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<RefDto>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<RefDto>>,
    #[serde(flatten)]
    pub detail: Option<UserDetailDto>,
}

/// Fields of the detailed (single-user) view.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDetailDto {
    pub locale: Option<String>,
    pub zoneinfo: Option<String>,
    pub updated_at: Option<String>,
    pub blocked_at: Option<String>,
    pub is_jit_provisioned: bool,
    pub jit_provisioned_by: Option<String>,
    pub social_provider: Option<String>,
}

impl From<UserView> for UserDto {
    fn from(view: UserView) -> Self {
        let u = view.user;
        let detail = view.roles.is_some().then(|| UserDetailDto {
            locale: u.locale.clone(),
            zoneinfo: u.zoneinfo.clone(),
            updated_at: u.updated_at.map(ts),
            blocked_at: u.blocked_at.map(ts),
            is_jit_provisioned: u.jit_provisioned_by.is_some(),
            jit_provisioned_by: u.jit_provisioned_by.clone(),
            social_provider: u
                .jit_provisioned_by
                .as_deref()
                .and_then(|by| by.strip_prefix("social:"))
                .map(str::to_string),
        });
        UserDto {
            id: u.id.to_string(),
            email: u.email,
            username: u.username,
            name: u.name,
            given_name: u.given_name,
            family_name: u.family_name,
            picture: u.picture,
            email_verified: u.email_verified,
            phone_number: u.phone_number,
            phone_number_verified: u.phone_number_verified,
            is_active: u.is_active,
            blocked: u.blocked,
            mfa_enabled: u.mfa_enabled,
            is_admin: view.is_admin,
            created_at: ts(u.created_at),
            last_login_at: u.last_login_at.map(ts),
            login_count: u.login_count,
            roles: view
                .roles
                .map(|r| r.into_iter().map(RefDto::from).collect()),
            groups: view
                .groups
                .map(|g| g.into_iter().map(RefDto::from).collect()),
            detail,
        }
    }
}
