//! MCP servers: register (allowed clients must exist), delete, and per-tool decisions for
//! agents (audited in the same entry).

use serde_json::json;

use crate::command::{AgentKey, ClientKey, CommandMeta, McpToolQuestion, NewMcpServer};
use crate::error::{ClusterError, Result};
use crate::lookup::{self, load_org, save_org};
use crate::model::{AuditEvent, McpServer, capability_covers};
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;

pub(super) fn create(tx: &mut OrgTx, meta: &CommandMeta, new: &NewMcpServer) -> Result<Applied> {
    for client_id in &new.allowed_client_ids {
        if lookup::client(tx, &ClientKey::ClientId(client_id.clone())).is_err() {
            return Err(ClusterError::invalid(
                "allowed_client_ids",
                format!("{client_id} is not an OAuth client of this organization"),
            ));
        }
    }
    if tx.exists(Table::McpServer, new.server_id.as_bytes())? {
        return Err(ClusterError::conflict(
            "name",
            format!("an MCP server with id {} exists", new.server_id),
        ));
    }
    if tx.exists(Table::McpResource, new.resource_uri.as_bytes())? {
        return Err(ClusterError::conflict(
            "resource_uri",
            format!("an MCP server protects {} already", new.resource_uri),
        ));
    }
    let mut org = load_org(tx)?;
    org.counters.mcp_server += 1;
    save_org(tx, &org)?;
    let server = McpServer {
        id: org.counters.mcp_server,
        server_id: new.server_id.clone(),
        name: new.name.clone(),
        description: new.description.clone(),
        resource_uri: new.resource_uri.clone(),
        endpoint_url: new.endpoint_url.clone(),
        transport: new.transport.clone(),
        auth_mode: new.auth_mode.clone(),
        scopes_supported: new.scopes_supported.clone(),
        allowed_client_ids: new.allowed_client_ids.clone(),
        require_pkce: new.require_pkce,
        require_resource_param: new.require_resource_param,
        require_dpop: new.require_dpop,
        token_lifetime: new.token_lifetime,
        created_at: meta.at,
    };
    tx.put(Table::McpServer, server.server_id.as_bytes(), &server)?;
    tx.put(
        Table::McpResource,
        server.resource_uri.as_bytes(),
        &server.server_id,
    )?;
    let event = AuditEvent::new(
        "mcp",
        "mcp.server_created",
        format!("MCP server {} registered", server.name),
    )
    .target("mcp_server", &server.server_id, server.name.clone())
    .new_value(json!({"resourceUri": server.resource_uri, "authMode": server.auth_mode}));
    Ok((Outcome::Created(server.server_id), vec![event]))
}

pub(super) fn delete(tx: &mut OrgTx, server_id: &str) -> Result<Applied> {
    let server = lookup::mcp_server(tx, server_id)?;
    tx.delete(Table::McpServer, server.server_id.as_bytes());
    tx.delete(Table::McpResource, server.resource_uri.as_bytes());
    let event = AuditEvent::new(
        "mcp",
        "mcp.server_deleted",
        format!("MCP server {} deleted", server.name),
    )
    .target("mcp_server", &server.server_id, server.name.clone());
    Ok((Outcome::Done, vec![event]))
}

/// An agent may invoke `tool` of a server when it holds `mcp:<server>:<tool>` (or a wildcard
/// covering it, such as `mcp:<server>:*`).
pub(super) fn authorize_tool(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    question: &McpToolQuestion,
) -> Result<Applied> {
    let agent = meta.actor.agent().ok_or_else(|| ClusterError::Forbidden {
        message: "per-tool MCP authorization answers agents".into(),
        required_scopes: Vec::new(),
        granted_scopes: meta.actor.scopes.clone(),
    })?;
    let agent = lookup::agent(tx, &AgentKey::Id(agent))?;
    let server = lookup::mcp_server(tx, &question.server_id)?;
    let capability = format!("mcp:{}:{}", server.server_id, question.tool);
    let (allowed, reason) = if !agent.usable() {
        (false, format!("the agent is {}", agent.status()))
    } else if capability_covers(&agent.capabilities, &capability) {
        (true, format!("the agent holds {capability}"))
    } else {
        (false, format!("the agent lacks {capability}"))
    };
    let action = if allowed {
        "mcp.tool_allowed"
    } else {
        "mcp.tool_denied"
    };
    let mut event = AuditEvent::new(
        "mcp",
        action,
        format!("{} {}/{}", agent.agent_id, server.server_id, question.tool),
    )
    .target("mcp_server", &server.server_id, server.name.clone())
    .new_value(json!({"tool": question.tool, "allowed": allowed, "reason": reason}));
    if !allowed {
        event = event.severity("warning");
    }
    let outcome = Outcome::McpDecision {
        allowed,
        reason,
        agent_id: agent.agent_id,
        resource_uri: server.resource_uri,
    };
    Ok((outcome, vec![event]))
}
