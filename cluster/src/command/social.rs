//! The writes of social login: providers (the client secret arrives sealed: the leader seals
//! it where the master key is) and the logins through them. JSON objects travel as text (Raft
//! entries are bincode).

use serde::{Deserialize, Serialize};

use crate::ids::{RoleId, SocialProviderId, UserId};
use crate::model::UpstreamIdentity;

/// A provider named by its integer id or its slug.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SocialProviderKey {
    Id(SocialProviderId),
    Slug(String),
}

impl SocialProviderKey {
    /// A path segment: digits are an id, anything else a slug.
    pub fn parse(text: &str) -> SocialProviderKey {
        match text.parse::<u64>() {
            Ok(id) => SocialProviderKey::Id(SocialProviderId(id)),
            Err(_) => SocialProviderKey::Slug(text.to_string()),
        }
    }
}

/// The fields an admin sets on a provider; `None` leaves a field as it is (PATCH). A create
/// or a PUT sends every field (the api fills the preset's defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocialProviderFields {
    pub provider: Option<String>,
    pub kind: Option<String>,
    pub display_name: Option<String>,
    pub enabled: Option<bool>,
    pub brand_color: Option<Option<String>>,
    pub icon_url: Option<Option<String>>,
    pub jit_provisioning_enabled: Option<bool>,
    pub client_id: Option<String>,
    pub requested_scopes: Option<Vec<String>>,
    pub issuer: Option<Option<String>>,
    pub authorization_url: Option<Option<String>>,
    pub token_url: Option<Option<String>>,
    pub user_info_url: Option<Option<String>>,
    pub jwks_url: Option<Option<String>>,
    /// JSON objects as text; `Some(None)` clears.
    pub claim_mapping: Option<Option<String>>,
    pub custom_claims: Option<Option<String>>,
    pub provider_config: Option<Option<String>>,
    pub default_roles: Option<Vec<RoleId>>,
}

/// A login through a provider ends: the state it started with is spent, and the upstream's
/// identity names (or links, or provisions) the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocialSignIn {
    pub state_id: String,
    pub provider_id: SocialProviderId,
    pub identity: UpstreamIdentity,
    /// The id a provisioned user gets.
    pub new_user_id: UserId,
}
