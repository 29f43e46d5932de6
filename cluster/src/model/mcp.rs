//! MCP servers an org protects: RFC 9728 protected resources whose tokens this org issues.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;

/// Bounds of an MCP server's token lifetime, in seconds.
pub const MCP_TOKEN_LIFETIME: (u64, u64) = (60, 86_400);

/// One protected MCP server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McpServer {
    pub id: u64,
    /// The id in paths (`invoices`), from the name.
    pub server_id: String,
    pub name: String,
    pub description: Option<String>,
    /// RFC 8707 resource identifier: tokens for the server carry it as `aud`.
    pub resource_uri: String,
    pub endpoint_url: Option<String>,
    pub transport: String,
    /// `oauth` (a token for the resource) or `jit` (a JIT grant naming the server).
    pub auth_mode: String,
    pub scopes_supported: Vec<String>,
    /// OAuth clients allowed to get tokens for the server (empty: any).
    pub allowed_client_ids: Vec<String>,
    pub require_pkce: bool,
    pub require_resource_param: bool,
    pub require_dpop: bool,
    pub token_lifetime: u64,
    pub created_at: Timestamp,
}

impl McpServer {
    /// The JIT `authorization_details` entry that grants invoking the server's tools.
    pub fn jit_details(&self) -> serde_json::Value {
        serde_json::json!({
            "type": "mcp_server",
            "actions": ["invoke"],
            "identifier": self.server_id,
            "locations": [self.resource_uri],
        })
    }

    /// True when `details` (a JIT token's `authorization_details`) grants invoking this
    /// server.
    pub fn granted_by(&self, details: &serde_json::Value) -> bool {
        let entries: Vec<&serde_json::Value> = match details {
            serde_json::Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        entries.iter().any(|entry| {
            entry["type"] == "mcp_server"
                && entry["identifier"] == self.server_id.as_str()
                && entry["actions"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|v| v == "invoke"))
        })
    }
}

/// The server id a display name gives: lowercase letters, digits and dashes.
pub fn server_id_of(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_ids_come_from_names() {
        assert_eq!(server_id_of("Invoices API v2"), "invoices-api-v2");
        assert_eq!(server_id_of("  --Billing__Tools "), "billing-tools");
        assert_eq!(server_id_of("¡¡"), "");
    }
}
