//! The token vault: an agent's connections to third-party APIs, their upstream tokens sealed
//! under the master key.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::AgentId;

/// One outbound connection of an agent (a machine grant: the agent's own upstream token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultConnection {
    /// `conn_…`.
    pub id: String,
    pub agent: AgentId,
    pub name: String,
    pub provider: String,
    pub provider_label: String,
    pub scopes: Vec<String>,
    /// The upstream access token, sealed (context: the connection id).
    pub sealed_token: String,
    /// When the upstream token expires (`None`: it does not).
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
}
