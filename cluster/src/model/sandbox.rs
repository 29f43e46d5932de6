//! Sandbox orgs: a throwaway org spawned with a copy of its parent's configuration (not its
//! users), recorded in the parent and removed when its time is up.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::OrgId;

/// A parent's record of one of its sandboxes (the contract's `SandboxTenant`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxRecord {
    pub slug: String,
    pub name: String,
    pub org_id: OrgId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// The person who spawned it, when a user's token did.
    pub owner_email: Option<String>,
    /// The parent's slug.
    pub spawned_from: String,
}

/// Live sandboxes one org may have at a time.
pub const MAX_LIVE_SANDBOXES: usize = 5;
/// The lifetime of a sandbox spawned without `ttl_hours`.
pub const DEFAULT_SANDBOX_TTL_HOURS: u64 = 24;
/// The longest lifetime a sandbox may ask for (30 days).
pub const MAX_SANDBOX_TTL_HOURS: u64 = 720;
