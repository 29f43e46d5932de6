//! The writes of the AI agents family.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::AgentId;

use super::BadKey;

/// An agent named by its database id or its public `agt_…` id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgentKey {
    Id(AgentId),
    Public(String),
}

impl FromStr for AgentKey {
    type Err = BadKey;
    fn from_str(s: &str) -> Result<Self, BadKey> {
        if let Ok(id) = s.parse::<u64>() {
            return Ok(AgentKey::Id(AgentId(id)));
        }
        let valid = s.starts_with("agt_")
            && s.len() <= 64
            && s[4..].chars().all(|c| c.is_ascii_alphanumeric());
        if valid {
            return Ok(AgentKey::Public(s.to_string()));
        }
        Err(BadKey(
            "an agent is named by its integer id or its agt_… id",
        ))
    }
}

impl std::fmt::Display for AgentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AgentKey::Id(id) => write!(f, "{id}"),
            AgentKey::Public(p) => write!(f, "{p}"),
        }
    }
}

/// A new agent with its OAuth client (the proposer made the ids and hashed the secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAgent {
    pub agent_id: String,
    pub client_id: String,
    pub name: String,
    pub description: Option<String>,
    /// `None` from `agents/register` keeps a re-registered agent's capabilities (a new agent
    /// starts with none).
    pub capabilities: Option<Vec<String>>,
    /// The new client's secret hash; `None` binds the agent to the existing client
    /// `client_id` instead (`agents/register`).
    pub secret_hash: Option<String>,
    pub key_hash: Option<String>,
    pub key_prefix: Option<String>,
    pub max_tokens_per_day: Option<u64>,
    pub jwks_uri: Option<String>,
    pub a2a_url: Option<String>,
}

/// A partial update of an agent (`Some(None)` clears).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub capabilities: Option<Vec<String>>,
    pub max_tokens_per_day: Option<Option<u64>>,
    pub jwks_uri: Option<Option<String>>,
    pub a2a_url: Option<Option<String>>,
    pub workload: Option<Option<crate::model::WorkloadBinding>>,
}

/// The lifecycle and operator switches of an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgentSwitch {
    Activate,
    Deactivate,
    Enable,
    Disable,
}

/// A new agent key (hash and display prefix), or none (revoke).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentKeyChange {
    pub key: Option<(String, String)>,
    /// Until when the replaced key keeps working (at or before the command's time: at once).
    pub grace_until: Timestamp,
}

/// An Ask API question: may the caller (an agent, or a user) do `action`?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AskQuestion {
    pub action: String,
    /// The caller's context after `pep` enrichment, as JSON text.
    pub context: String,
}

/// A new MCP server (validated by the proposer; the clients it allows are checked in apply).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMcpServer {
    pub server_id: String,
    pub name: String,
    pub description: Option<String>,
    pub resource_uri: String,
    pub endpoint_url: Option<String>,
    pub transport: String,
    pub auth_mode: String,
    pub scopes_supported: Vec<String>,
    pub allowed_client_ids: Vec<String>,
    pub require_pkce: bool,
    pub require_resource_param: bool,
    pub require_dpop: bool,
    pub token_lifetime: u64,
}

/// May the calling agent invoke `tool` of MCP server `server_id`?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McpToolQuestion {
    pub server_id: String,
    pub tool: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_keys_are_numbers_or_public_ids() {
        assert_eq!("7".parse::<AgentKey>(), Ok(AgentKey::Id(AgentId(7))));
        assert_eq!(
            "agt_01abc".parse::<AgentKey>(),
            Ok(AgentKey::Public("agt_01abc".into()))
        );
        assert!("agt_../x".parse::<AgentKey>().is_err());
        assert!("bob".parse::<AgentKey>().is_err());
    }
}
