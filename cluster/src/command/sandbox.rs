//! Writes of sandbox orgs: the parent's record, and the copy of its configuration seeded into
//! the sandbox.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::OrgId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SandboxWrite {
    /// In the parent: records a new sandbox (refused past the limit of live ones, or when the
    /// parent is itself a sandbox). The owner is the calling user, if any.
    Reserve {
        slug: String,
        name: String,
        org_id: OrgId,
        expires_at: Timestamp,
    },
    /// In the sandbox: one chunk of the parent's configuration rows (`table tag ++ key`, value).
    /// The first chunk clears the copied tables first (the sandbox's own system rows give way
    /// to the parent's); every chunk raises the id counters to the parent's (`counters`, JSON).
    Seed {
        parent: String,
        rows: Vec<(Vec<u8>, Vec<u8>)>,
        counters: String,
        first: bool,
    },
    /// In the parent: forgets a destroyed sandbox.
    Forget { slug: String },
}

impl SandboxWrite {
    pub fn name(&self) -> &'static str {
        match self {
            SandboxWrite::Reserve { .. } => "spawn_sandbox",
            SandboxWrite::Seed { .. } => "seed_sandbox",
            SandboxWrite::Forget { .. } => "destroy_sandbox",
        }
    }
}
