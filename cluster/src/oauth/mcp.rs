//! Protected MCP servers on the protocol side: RFC 9728 metadata documents, and the challenge
//! endpoint that judges a token the way the MCP server would.

use serde_json::{Value, json};

use crate::error::{ClusterError, Result};
use crate::model::McpServer;
use crate::protocol::ProtocolReply;

use super::jwt::{VerifiedToken, verify_access_token};
use super::runtime::ProtocolCtx;

/// The RFC 9728 document of one server.
fn document(server: &McpServer, issuer: &str) -> Value {
    json!({
        "resource": server.resource_uri,
        "resource_name": server.name,
        "authorization_servers": [issuer],
        "bearer_methods_supported": ["header"],
        "scopes_supported": server.scopes_supported,
    })
}

/// `~/.well-known/oauth-protected-resource[/mcp/{id}]`: one server's document; at the root,
/// the only server's document, or a list of every server's metadata URL.
pub(super) fn metadata(
    ctx: &ProtocolCtx,
    issuer: &str,
    server_id: Option<&str>,
) -> Result<ProtocolReply> {
    if let Some(id) = server_id {
        let server = crate::lookup::mcp_server(&ctx.reader(), id)?;
        return Ok(ProtocolReply::Document(document(&server, issuer)));
    }
    let all = crate::lookup::mcp_servers(&ctx.reader())?;
    match all.as_slice() {
        [] => Err(ClusterError::not_found("MCP server", "any")),
        [one] => Ok(ProtocolReply::Document(document(one, issuer))),
        many => Ok(ProtocolReply::Document(json!({
            "resources": many.iter().map(|s| {
                let url = format!("{issuer}/.well-known/oauth-protected-resource/mcp/{}", s.server_id);
                json!({
                    "resource": s.resource_uri,
                    "server_id": s.server_id,
                    "resource_metadata": url,
                    "resource_metadata_url": url,
                    "authorization_servers": [issuer],
                })
            }).collect::<Vec<_>>(),
        }))),
    }
}

/// The challenge: a token for the server (`oauth`: its `aud` names the resource; `jit`: a JIT
/// grant naming the server) is `authenticated`; a JIT-mode token without the grant answers
/// what to ask for (`required_authorization_details`); anything else is unauthenticated.
pub(super) fn challenge(
    ctx: &ProtocolCtx,
    server_id: &str,
    token: Option<&str>,
) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let server = crate::lookup::mcp_server(&reader, server_id)?;
    let token = token.ok_or_else(|| ClusterError::Unauthenticated {
        message: format!("a bearer token for {} is required", server.resource_uri),
    })?;
    let VerifiedToken { claims, record, .. } = verify_access_token(&reader, token, ctx.now)?;
    let client_allowed = server.allowed_client_ids.is_empty()
        || record
            .client_id
            .as_ref()
            .is_some_and(|c| server.allowed_client_ids.contains(c));
    if !client_allowed {
        return Err(ClusterError::Forbidden {
            message: format!("the token's client may not call {}", server.name),
            required_scopes: Vec::new(),
            granted_scopes: claims.scopes(),
        });
    }
    let authenticated = json!({
        "status": "authenticated",
        "server": server.name,
        "server_id": server.server_id,
    });
    if server.auth_mode == "jit" {
        let granted = claims
            .authorization_details
            .as_ref()
            .is_some_and(|d| server.granted_by(d));
        if !granted {
            return Ok(ProtocolReply::Document(json!({
                "required_authorization_details": server.jit_details(),
            })));
        }
        return Ok(ProtocolReply::Document(authenticated));
    }
    if !record.audience.contains(&server.resource_uri) {
        return Err(ClusterError::Unauthenticated {
            message: format!("the token's audience is not {}", server.resource_uri),
        });
    }
    Ok(ProtocolReply::Document(authenticated))
}
