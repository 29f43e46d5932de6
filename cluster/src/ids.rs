//! Newtype ids. Entity ids are ULIDs (time-ordered, so key order is creation order); users,
//! groups and roles render them as UUID text on the wire. Counters (permissions, scopes, audit
//! records, API keys) are per-org integers allocated inside `apply`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub Ulid);

        impl $name {
            /// A fresh id.
            pub fn generate() -> Self {
                $name(Ulid::new())
            }

            /// The 16 bytes used in storage keys (big-endian, so order follows creation time).
            pub fn to_bytes(self) -> [u8; 16] {
                self.0.to_bytes()
            }

            /// Reads [`Self::to_bytes`] back.
            pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
                let array: [u8; 16] = bytes.get(..16)?.try_into().ok()?;
                Some($name(Ulid::from_bytes(array)))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", uuid::Uuid::from_u128(self.0.0))
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let parsed = uuid::Uuid::parse_str(s)?;
                Ok($name(Ulid(parsed.as_u128())))
            }
        }
    };
}

uuid_id!(
    /// A user, rendered as a UUID.
    UserId
);
uuid_id!(
    /// A group, rendered as a UUID string.
    GroupId
);
uuid_id!(
    /// A role, rendered as a UUID string.
    RoleId
);

/// An organization's internal id (its storage prefix). Rendered as a ULID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OrgId(pub Ulid);

impl OrgId {
    /// The id that prefixes cluster-wide (meta group) tables, which belong to no org.
    pub const SYSTEM: OrgId = OrgId(Ulid(0));

    /// A fresh id.
    pub fn generate() -> Self {
        OrgId(Ulid::new())
    }

    /// Storage key bytes.
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_bytes()
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for OrgId {
    type Err = ulid::DecodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ulid::from_string(s).map(OrgId)
    }
}

macro_rules! counter_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

counter_id!(
    /// A permission (integer on the wire).
    PermissionId
);
counter_id!(
    /// An OAuth scope (integer on the wire).
    ScopeId
);
counter_id!(
    /// An audit record (integer, increasing per org).
    AuditId
);
counter_id!(
    /// An API key of an org.
    ApiKeyId
);
counter_id!(
    /// An AI agent of an org (its database id; `Agent::agent_id` is the public `agt_…` id).
    AgentId
);
counter_id!(
    /// A webhook of an org (integer on the wire).
    WebhookId
);
counter_id!(
    /// A social login provider of an org (integer on the wire).
    SocialProviderId
);
counter_id!(
    /// A SAML service provider of an org (integer on the wire).
    SamlAppId
);
counter_id!(
    /// A Raft group hosting org shards (the meta group is group 0).
    ShardId
);
counter_id!(
    /// A node of the cluster; never reused.
    NodeId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_rendering_round_trips() {
        let id = UserId::generate();
        let text = id.to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(text.parse::<UserId>().ok(), Some(id));
        assert!("not-a-uuid".parse::<UserId>().is_err());
    }

    #[test]
    fn byte_order_follows_creation_order() {
        let a = GroupId(Ulid::from_parts(1000, 5));
        let b = GroupId(Ulid::from_parts(2000, 1));
        assert!(a.to_bytes() < b.to_bytes());
        assert_eq!(GroupId::from_bytes(&a.to_bytes()), Some(a));
    }
}
