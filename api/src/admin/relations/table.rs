//! Every relation the admin API serves, one row each: adding a relation is adding a row.

use lumo_cluster::command::Relation;

use super::ends::{Anchor, Kind};

/// One relation as served under its anchor: `/admin/{anchor}/{anchorId}/{segment}` lists
/// (GET), adds (POST) and, where allowed, replaces (PUT) the related entities;
/// `.../{segment}/{relatedId}` removes one (DELETE).
pub struct RelationRoute {
    pub relation: Relation,
    pub anchor: Anchor,
    pub related: Kind,
    /// The path segment after the anchor: `roles`.
    pub segment: &'static str,
    pub add: Change,
    /// `None`: the set cannot be replaced (PUT is 405).
    pub replace: Option<Change>,
    pub remove: Answer,
    /// The user's role and group routes read the body (or the related id) before the user id;
    /// kept, so a request wrong in both ways is answered as it always was.
    pub anchor_read_last: bool,
}

/// A change carrying a body.
pub struct Change {
    /// The body fields that may name the related entities (one id or a list), looked for in
    /// this order; the first is the one reported when none is present.
    pub fields: &'static [&'static str],
    pub answer: Answer,
}

/// What a successful change answers.
#[derive(Clone, Copy)]
pub enum Answer {
    /// `{message}`.
    Message(&'static str),
    /// `{data, message}` with the anchor's view after the change.
    AnchorView(&'static str),
}

const ROLE_FIELDS: &[&str] = &["roleId", "role", "roleIds", "roles"];
const ROLES_REPLACE_FIELDS: &[&str] = &["roles", "roleIds"];

pub static RELATIONS: &[RelationRoute] = &[
    RelationRoute {
        relation: Relation::UserRole,
        anchor: Anchor::User,
        related: Kind::Role,
        segment: "roles",
        add: Change {
            fields: ROLE_FIELDS,
            answer: Answer::AnchorView("Role assigned"),
        },
        replace: Some(Change {
            fields: ROLES_REPLACE_FIELDS,
            answer: Answer::AnchorView("Roles updated"),
        }),
        remove: Answer::AnchorView("Role removed"),
        anchor_read_last: true,
    },
    RelationRoute {
        relation: Relation::UserGroup,
        anchor: Anchor::User,
        related: Kind::Group,
        segment: "groups",
        add: Change {
            fields: &["groupId", "group", "groupIds", "groups"],
            answer: Answer::AnchorView("User added to group"),
        },
        replace: Some(Change {
            fields: &["groups", "groupIds"],
            answer: Answer::AnchorView("Groups updated"),
        }),
        remove: Answer::AnchorView("User removed from group"),
        anchor_read_last: true,
    },
    RelationRoute {
        relation: Relation::UserPermission,
        anchor: Anchor::User,
        related: Kind::Permission,
        segment: "permissions",
        add: Change {
            fields: &["permissionId", "permission", "permissionIds", "permissions"],
            answer: Answer::Message("Permission assigned"),
        },
        replace: None,
        remove: Answer::Message("Permission removed"),
        anchor_read_last: false,
    },
    RelationRoute {
        relation: Relation::UserGroup,
        anchor: Anchor::Group,
        related: Kind::User,
        segment: "members",
        add: Change {
            fields: &["userIds", "users", "userId", "members"],
            answer: Answer::AnchorView("Members added"),
        },
        replace: None,
        remove: Answer::Message("Member removed"),
        anchor_read_last: false,
    },
    RelationRoute {
        relation: Relation::GroupRole,
        anchor: Anchor::Group,
        related: Kind::Role,
        segment: "roles",
        add: Change {
            fields: ROLE_FIELDS,
            answer: Answer::Message("Role added to group"),
        },
        replace: Some(Change {
            fields: ROLES_REPLACE_FIELDS,
            answer: Answer::AnchorView("Group roles updated"),
        }),
        remove: Answer::Message("Role removed from group"),
        anchor_read_last: false,
    },
    RelationRoute {
        relation: Relation::RolePermission,
        anchor: Anchor::Role,
        related: Kind::Permission,
        segment: "permissions",
        add: Change {
            fields: &["permissions", "permissionIds", "permissionId", "permission"],
            answer: Answer::Message("Permissions added to role"),
        },
        replace: Some(Change {
            fields: &["permissions", "permissionIds"],
            answer: Answer::AnchorView("Role permissions updated"),
        }),
        remove: Answer::Message("Permission removed from role"),
        anchor_read_last: false,
    },
    RelationRoute {
        relation: Relation::UserRole,
        anchor: Anchor::Role,
        related: Kind::User,
        segment: "users",
        add: Change {
            fields: &["userId", "user", "userIds", "users"],
            answer: Answer::Message("User assigned to role"),
        },
        replace: None,
        remove: Answer::Message("User removed from role"),
        anchor_read_last: false,
    },
];

impl RelationRoute {
    /// `/admin/users/{userId}/roles`.
    pub fn collection_path(&self) -> String {
        format!(
            "/admin/{}/{{{}}}/{}",
            self.anchor.collection(),
            self.anchor.kind().param(),
            self.segment
        )
    }

    /// `/admin/users/{userId}/roles/{roleId}`.
    pub fn item_path(&self) -> String {
        format!("{}/{{{}}}", self.collection_path(), self.related.param())
    }
}

#[cfg(test)]
mod tests {
    use lumo_cluster::model::Family;

    use super::*;

    /// The routes, methods and scope families the table serves, spelled out.
    #[test]
    fn the_table_serves_exactly_these_routes() {
        let served: Vec<(String, &str, Family)> = RELATIONS
            .iter()
            .flat_map(|route| {
                let methods = if route.replace.is_some() {
                    "GET POST PUT"
                } else {
                    "GET POST"
                };
                let family = route.anchor.family();
                [
                    (route.collection_path(), methods, family),
                    (route.item_path(), "DELETE", family),
                ]
            })
            .collect();
        let expected = [
            ("/admin/users/{userId}/roles", "GET POST PUT", Family::Users),
            (
                "/admin/users/{userId}/roles/{roleId}",
                "DELETE",
                Family::Users,
            ),
            (
                "/admin/users/{userId}/groups",
                "GET POST PUT",
                Family::Users,
            ),
            (
                "/admin/users/{userId}/groups/{groupId}",
                "DELETE",
                Family::Users,
            ),
            (
                "/admin/users/{userId}/permissions",
                "GET POST",
                Family::Users,
            ),
            (
                "/admin/users/{userId}/permissions/{permissionId}",
                "DELETE",
                Family::Users,
            ),
            (
                "/admin/groups/{groupId}/members",
                "GET POST",
                Family::Groups,
            ),
            (
                "/admin/groups/{groupId}/members/{userId}",
                "DELETE",
                Family::Groups,
            ),
            (
                "/admin/groups/{groupId}/roles",
                "GET POST PUT",
                Family::Groups,
            ),
            (
                "/admin/groups/{groupId}/roles/{roleId}",
                "DELETE",
                Family::Groups,
            ),
            (
                "/admin/roles/{roleId}/permissions",
                "GET POST PUT",
                Family::Roles,
            ),
            (
                "/admin/roles/{roleId}/permissions/{permissionId}",
                "DELETE",
                Family::Roles,
            ),
            ("/admin/roles/{roleId}/users", "GET POST", Family::Roles),
            (
                "/admin/roles/{roleId}/users/{userId}",
                "DELETE",
                Family::Roles,
            ),
        ]
        .map(|(path, methods, family)| (path.to_string(), methods, family));
        assert_eq!(served, expected);
    }

    /// Each relation links its anchor's kind and its related kind (in one direction or the
    /// other).
    #[test]
    fn every_row_joins_its_two_ends() {
        for route in RELATIONS {
            let ends = match route.relation {
                Relation::UserRole => (Kind::User, Kind::Role),
                Relation::UserGroup => (Kind::User, Kind::Group),
                Relation::UserPermission => (Kind::User, Kind::Permission),
                Relation::GroupRole => (Kind::Group, Kind::Role),
                Relation::RolePermission => (Kind::Role, Kind::Permission),
            };
            let row = (route.anchor.kind(), route.related);
            assert!(
                row == ends || (row.1, row.0) == ends,
                "{} joins {row:?} through {:?}",
                route.collection_path(),
                route.relation
            );
        }
    }
}
