//! The set of user and resource attribute slugs conditions may reference.

use std::collections::BTreeSet;

/// Built-in user attribute keys, always present in a catalog.
pub const BUILTIN_USER_ATTRIBUTES: &[&str] = &[
    "id",
    "email",
    "username",
    "name",
    "isAdmin",
    "isSuperAdmin",
    "emailVerified",
    "mfaEnabled",
    "isActive",
    "blocked",
    "givenName",
    "familyName",
    "locale",
    "zoneinfo",
    "roles",
    "groups",
    "permissions",
    "organizations",
    "organizationRoles",
    "tenantId",
    "orgId",
];

/// Built-in resource attribute keys, always present in a catalog.
pub const BUILTIN_RESOURCE_ATTRIBUTES: &[&str] = &["id", "type"];

/// Known `user.` and `resource.` attribute slugs: the built-ins plus custom
/// attribute definitions supplied by the caller. Slugs are case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeCatalog {
    user: BTreeSet<String>,
    resource: BTreeSet<String>,
}

impl AttributeCatalog {
    /// A catalog holding only the built-in attributes.
    pub fn builtin() -> Self {
        Self {
            user: BUILTIN_USER_ATTRIBUTES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            resource: BUILTIN_RESOURCE_ATTRIBUTES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }

    /// Built-ins plus the given custom user and resource attribute slugs.
    pub fn new<U, R>(custom_user: U, custom_resource: R) -> Self
    where
        U: IntoIterator,
        U::Item: Into<String>,
        R: IntoIterator,
        R::Item: Into<String>,
    {
        let mut catalog = Self::builtin();
        catalog.user.extend(custom_user.into_iter().map(Into::into));
        catalog
            .resource
            .extend(custom_resource.into_iter().map(Into::into));
        catalog
    }

    /// Adds a custom user attribute slug.
    pub fn with_user_attribute(mut self, slug: impl Into<String>) -> Self {
        self.user.insert(slug.into());
        self
    }

    /// Adds a custom resource attribute slug.
    pub fn with_resource_attribute(mut self, slug: impl Into<String>) -> Self {
        self.resource.insert(slug.into());
        self
    }

    /// Whether `user.<slug>` may be referenced.
    pub fn has_user_attribute(&self, slug: &str) -> bool {
        self.user.contains(slug)
    }

    /// Whether `resource.<slug>` may be referenced.
    pub fn has_resource_attribute(&self, slug: &str) -> bool {
        self.resource.contains(slug)
    }
}

impl Default for AttributeCatalog {
    fn default() -> Self {
        Self::builtin()
    }
}
