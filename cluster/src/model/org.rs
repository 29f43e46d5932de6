use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::OrgId;

/// Per-org integer id allocators (advanced inside `apply`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgCounters {
    pub permission: u64,
    pub scope: u64,
    pub api_key: u64,
    #[serde(default)]
    pub client: u64,
    #[serde(default)]
    pub session: u64,
    #[serde(default)]
    pub access_token: u64,
    #[serde(default)]
    pub abac_attribute: u64,
    #[serde(default)]
    pub abac_policy: u64,
    #[serde(default)]
    pub abac_value: u64,
    #[serde(default)]
    pub agent: u64,
    #[serde(default)]
    pub mcp_server: u64,
}

/// The org header inside its shard: identity, epoch, counters, profile settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgRecord {
    pub id: OrgId,
    pub number: u64,
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub region: Option<String>,
    pub status: String,
    pub epoch: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Free-form tenant profile settings (`TenantProfile.settings`).
    #[serde(default)]
    pub settings: serde_json::Value,
    #[serde(default)]
    pub counters: OrgCounters,
    #[serde(default)]
    pub user_count: u64,
    /// The parent's slug when this org is a sandbox.
    #[serde(default)]
    pub sandbox_of: Option<String>,
}
