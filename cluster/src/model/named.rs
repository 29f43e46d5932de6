//! Groups and roles: entities with a name, a unique slug and a description, stored in the
//! same shape and told apart by their id type.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::{GroupId, RoleId};

/// An entity named by a unique slug; `I` is its id type ([`GroupId`] or [`RoleId`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedEntity<I> {
    pub id: I,
    pub name: String,
    pub slug: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub is_system: bool,
    pub created_at: Timestamp,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
}

/// A group of users; roles given to a group apply to its members.
pub type Group = NamedEntity<GroupId>;

/// A named set of permissions.
pub type Role = NamedEntity<RoleId>;

/// A slug made from a name: lowercase letters and digits, other runs become `-` (at most 100
/// characters). Groups, roles, permissions and sandbox orgs take their default slugs from it.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    use ulid::Ulid;

    use super::*;

    const ID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

    fn id() -> Ulid {
        Ulid::from_string(ID).unwrap_or_default()
    }

    /// The stored JSON is the one the former `Group` and `Role` structs wrote.
    #[test]
    fn groups_and_roles_store_the_same_json_as_before() {
        let group = Group {
            id: GroupId(id()),
            name: "Ops".into(),
            slug: "ops".into(),
            description: Some("On call".into()),
            is_system: false,
            created_at: Timestamp(1),
            updated_at: Some(Timestamp(2)),
        };
        let stored = format!(
            r#"{{"id":"{ID}","name":"Ops","slug":"ops","description":"On call","is_system":false,"created_at":1,"updated_at":2}}"#
        );
        assert_eq!(serde_json::to_string(&group).ok(), Some(stored.clone()));
        let role = Role {
            id: RoleId(id()),
            name: group.name.clone(),
            slug: group.slug.clone(),
            description: group.description.clone(),
            is_system: group.is_system,
            created_at: group.created_at,
            updated_at: group.updated_at,
        };
        assert_eq!(serde_json::to_string(&role).ok(), Some(stored));
    }

    /// Records written before the defaulted fields existed still read.
    #[test]
    fn old_records_without_defaulted_fields_still_read() {
        let old = format!(r#"{{"id":"{ID}","name":"Admin","slug":"admin","created_at":5}}"#);
        let role: Role = serde_json::from_str(&old).unwrap_or_else(|e| panic!("{e}: {old}"));
        assert_eq!(role.id, RoleId(id()));
        assert_eq!(role.description, None);
        assert!(!role.is_system);
        assert_eq!(role.updated_at, None);
        let group: Group = serde_json::from_str(&old).unwrap_or_else(|e| panic!("{e}: {old}"));
        assert_eq!(group.slug, "admin");
    }
}
