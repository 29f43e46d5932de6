//! AI agents: first-class identities with capabilities, a daily token budget, an OAuth client
//! for `client_credentials` and an optional agent key (`agk_…`).

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::{AgentId, UserId};
use crate::model::RetiredSecret;

/// An agent of an org.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub id: AgentId,
    /// The public id, `agt_…`.
    pub agent_id: String,
    /// The agent's OAuth client (confidential, `client_credentials`).
    pub client_id: String,
    /// True when the client was made for the agent (and goes with it); false when the agent
    /// was registered onto an existing client.
    #[serde(default)]
    pub owns_client: bool,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// What the agent may do (`document.read`, `calendar:*`, ...); its tokens carry them as
    /// scopes.
    pub capabilities: Vec<String>,
    /// Lifecycle: an inactive agent was retired (deactivate), and may come back (activate).
    pub active: bool,
    /// An operator's switch (disable/enable), independent of the lifecycle.
    pub enabled: bool,
    /// SHA-256 of the current agent key.
    #[serde(default)]
    pub key_hash: Option<String>,
    #[serde(default)]
    pub key_prefix: Option<String>,
    /// A rotated-out key still accepted until its `valid_until`.
    #[serde(default)]
    pub previous_key: Option<RetiredSecret>,
    #[serde(default)]
    pub budget: BudgetPolicy,
    #[serde(default)]
    pub usage: DailyUsage,
    /// The workload identity shown (`issuer#subject` of the binding).
    #[serde(default)]
    pub workload_identity: Option<String>,
    /// The cloud workload whose OIDC tokens `agents/{id}/attest` exchanges for agent tokens.
    #[serde(default)]
    pub workload: Option<WorkloadBinding>,
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// The agent's published A2A endpoint (its signed agent card is served once it has one).
    #[serde(default)]
    pub a2a_url: Option<String>,
    /// The user who registered the agent through `agents/register`, if any.
    #[serde(default)]
    pub registered_by: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub last_used_at: Option<Timestamp>,
}

/// A workload identity binding: tokens from `issuer` about `subject`, for `audience`, signed
/// by a key of `jwks_uri` (else of the issuer's OpenID discovery document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadBinding {
    pub provider: String,
    pub issuer: String,
    pub subject: String,
    pub audience: String,
    pub jwks_uri: Option<String>,
}

/// How much an agent may use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetPolicy {
    /// Access tokens the agent may be issued per UTC day; `None` is unlimited.
    #[serde(default)]
    pub max_tokens_per_day: Option<u64>,
}

/// What an agent used on one UTC day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyUsage {
    /// Days since the Unix epoch.
    pub day: i64,
    pub tokens: u64,
}

impl DailyUsage {
    /// Tokens used on the day of `at` (a new day starts from zero).
    pub fn tokens_on(&self, at: Timestamp) -> u64 {
        if self.day == at.day() { self.tokens } else { 0 }
    }
}

impl Agent {
    /// The status the API shows.
    pub fn status(&self) -> &'static str {
        match (self.active, self.enabled) {
            (true, true) => "active",
            (false, _) => "inactive",
            (true, false) => "disabled",
        }
    }

    /// True when the agent may authenticate and be issued tokens.
    pub fn usable(&self) -> bool {
        self.active && self.enabled
    }

    /// True when `hash` is the agent's key, or a rotated-out key still in its grace window.
    pub fn key_matches(&self, hash: &str, now: Timestamp) -> bool {
        self.key_hash.as_deref() == Some(hash)
            || self
                .previous_key
                .as_ref()
                .is_some_and(|old| old.hash == hash && old.valid_until > now)
    }

    /// True when the agent holds `action`: exactly, through a `prefix.*`/`prefix:*` wildcard,
    /// or through `*`.
    pub fn holds(&self, action: &str) -> bool {
        capability_covers(&self.capabilities, action)
    }
}

/// True when one of `capabilities` covers `action` (exact, `*`, or a `prefix.*` / `prefix:*`
/// wildcard).
pub fn capability_covers(capabilities: &[String], action: &str) -> bool {
    capabilities.iter().any(|c| {
        c == action
            || c == "*"
            || c.strip_suffix('*').is_some_and(|prefix| {
                (prefix.ends_with('.') || prefix.ends_with(':')) && action.starts_with(prefix)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn wildcards_cover_only_their_prefix() {
        let c = caps(&["document.*", "calendar:read"]);
        assert!(capability_covers(&c, "document.read"));
        assert!(capability_covers(&c, "calendar:read"));
        assert!(!capability_covers(&c, "calendar:write"));
        assert!(!capability_covers(&c, "documents.read"));
        assert!(capability_covers(&caps(&["*"]), "anything"));
        assert!(!capability_covers(&caps(&["doc*"]), "document.read"));
    }

    #[test]
    fn usage_resets_on_a_new_day() {
        let day = Timestamp(3 * 86_400_000 + 5);
        let usage = DailyUsage {
            day: day.day(),
            tokens: 7,
        };
        assert_eq!(usage.tokens_on(day), 7);
        assert_eq!(usage.tokens_on(Timestamp(4 * 86_400_000)), 0);
    }
}
