//! The two ends of a relation route: the anchor named in the path (whose view a change may
//! answer with), and the related entities named in the body or in the item path.

use axum::response::Response;
use lumo_cluster::command::{BadKey, EntityKey, GroupKey, RoleKey, UserKey};
use lumo_cluster::model::Family;
use lumo_cluster::query::{Query, Reply};

use crate::dto::catalog::{GroupDto, RoleDto};
use crate::envelope;
use crate::error::{ApiError, ApiResult};
use crate::extract::Ctx;
use crate::reply;

use super::super::users::user_response;

/// An entity kind that takes part in relations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    User,
    Group,
    Role,
    Permission,
}

impl Kind {
    /// The path parameter naming one entity of this kind: `userId`.
    pub fn param(self) -> &'static str {
        match self {
            Kind::User => "userId",
            Kind::Group => "groupId",
            Kind::Role => "roleId",
            Kind::Permission => "permissionId",
        }
    }

    /// The entity named by this kind's path parameter (a bad one is a 400).
    pub fn path_key(self, ctx: &Ctx) -> ApiResult<EntityKey> {
        let param = self.param();
        Ok(match self {
            Kind::User => EntityKey::User(ctx.key(param)?),
            Kind::Group => EntityKey::Group(ctx.key(param)?),
            Kind::Role => EntityKey::Role(ctx.key(param)?),
            Kind::Permission => EntityKey::Permission(ctx.key(param)?),
        })
    }

    /// The entity named by `text` in the body field `field` (a bad one is a 422 on `field`).
    pub fn body_key(self, field: &str, text: &str) -> ApiResult<EntityKey> {
        Ok(match self {
            Kind::User => EntityKey::User(parse(field, text)?),
            Kind::Group => EntityKey::Group(parse(field, text)?),
            Kind::Role => EntityKey::Role(parse(field, text)?),
            Kind::Permission => EntityKey::Permission(parse(field, text)?),
        })
    }
}

fn parse<K: std::str::FromStr<Err = BadKey>>(field: &str, text: &str) -> ApiResult<K> {
    text.parse::<K>()
        .map_err(|BadKey(why)| ApiError::invalid(field, why))
}

/// The entity a relation route hangs under: `/admin/{collection}/{param}/...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    User,
    Group,
    Role,
}

impl Anchor {
    /// Its collection in the path: `users`.
    pub fn collection(self) -> &'static str {
        match self {
            Anchor::User => "users",
            Anchor::Group => "groups",
            Anchor::Role => "roles",
        }
    }

    /// The scope family of every route hanging off it.
    pub fn family(self) -> Family {
        match self {
            Anchor::User => Family::Users,
            Anchor::Group => Family::Groups,
            Anchor::Role => Family::Roles,
        }
    }

    /// Its kind (for the path parameter naming it).
    pub fn kind(self) -> Kind {
        match self {
            Anchor::User => Kind::User,
            Anchor::Group => Kind::Group,
            Anchor::Role => Kind::Role,
        }
    }

    /// The anchor named in the path (a bad one is a 400).
    pub fn key(self, ctx: &Ctx) -> ApiResult<AnchorKey> {
        let param = self.kind().param();
        Ok(match self {
            Anchor::User => AnchorKey::User(ctx.key(param)?),
            Anchor::Group => AnchorKey::Group(ctx.key(param)?),
            Anchor::Role => AnchorKey::Role(ctx.key(param)?),
        })
    }
}

/// One anchor, named by its key.
#[derive(Clone, Debug)]
pub enum AnchorKey {
    User(UserKey),
    Group(GroupKey),
    Role(RoleKey),
}

impl AnchorKey {
    /// The anchor as one end of `Op::Relate` / `Query::Related`.
    pub fn entity(&self) -> EntityKey {
        match self {
            AnchorKey::User(key) => EntityKey::User(key.clone()),
            AnchorKey::Group(key) => EntityKey::Group(key.clone()),
            AnchorKey::Role(key) => EntityKey::Role(key.clone()),
        }
    }

    /// The read of the anchor's view after a change.
    pub fn view(&self) -> Query {
        match self {
            AnchorKey::User(key) => Query::GetUser(key.clone()),
            AnchorKey::Group(key) => Query::GetGroup(key.clone()),
            AnchorKey::Role(key) => Query::GetRole(key.clone()),
        }
    }

    /// `{data, message}` with the anchor's view read by [`Self::view`].
    pub fn view_response(&self, reply: Reply, message: &str) -> ApiResult<Response> {
        match self {
            AnchorKey::User(_) => user_response(reply, message),
            AnchorKey::Group(_) => {
                let view = reply!(reply, Reply::Group);
                Ok(envelope::data_message(GroupDto::from(view), message))
            }
            AnchorKey::Role(_) => {
                let view = reply!(reply, Reply::Role);
                Ok(envelope::data_message(RoleDto::from(view), message))
            }
        }
    }
}
