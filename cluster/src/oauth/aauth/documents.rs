//! The public AAuth documents: issuer metadata and key set, and the metadata and key sets of
//! the org's registered agents and resources (their own keys plus the org's, which signs the
//! tokens Lumo issues on their behalf).

use serde_json::{Value, json};

use crate::error::Result;
use crate::lookup;
use crate::model::{AAuthAgent, AAuthResource, Agent, OkpKey};
use crate::oauth::runtime::ProtocolCtx;
use crate::protocol::{AAuthDocument, ProtocolReply};
use crate::tables::{OrgReader, Table};

use super::tokens;

/// The AAuth version the documents declare.
pub const AAUTH_VERSION: &str = "1.0";

fn jwks(keys: &[OkpKey]) -> Value {
    json!({"keys": keys.iter().map(OkpKey::jwk).collect::<Vec<_>>()})
}

fn agent_metadata(issuer: &str, agent: &Agent, identity: &AAuthAgent) -> Value {
    json!({
        "agent": identity.identifier,
        "agent_id": agent.agent_id,
        "name": agent.name,
        "description": agent.description,
        "jwks_uri": format!("{issuer}/aauth/agents/{}/jwks.json", agent.agent_id),
        "redirect_uris": identity.redirect_uris,
        "capabilities": agent.capabilities,
        "status": agent.status(),
        "auth_server": issuer,
    })
}

fn resource_metadata(issuer: &str, resource: &AAuthResource) -> Value {
    json!({
        "resource": resource.identifier,
        "resource_id": resource.resource_id,
        "name": resource.name,
        "jwks_uri": format!("{issuer}/aauth/resources/{}/jwks.json", resource.resource_id),
        "scopes_supported": resource.scopes,
        "auth_server": issuer,
        "resource_token_endpoint": format!("{issuer}/aauth/resource/token"),
        "signature_components_required": ["@method", "@authority", "@path", "content-digest"],
    })
}

/// The issuer metadata (also served, with templated URLs, at the instance root).
pub fn issuer_metadata(issuer: &str, scopes: Vec<String>) -> Value {
    json!({
        "aauth_version": AAUTH_VERSION,
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/aauth/jwks.json"),
        "agent_token_endpoint": format!("{issuer}/aauth/agent/token"),
        "agent_auth_endpoint": format!("{issuer}/aauth/agent/auth"),
        "agent_issue_endpoint": format!("{issuer}/aauth/agent/issue"),
        "platform_token_endpoint": format!("{issuer}/aauth/agent/platform-token"),
        "resource_token_endpoint": format!("{issuer}/aauth/resource/token"),
        "revocation_endpoint": format!("{issuer}/aauth/token/revoke"),
        "auth_token_verification_endpoint": format!("{issuer}/aauth/auth/token/verify"),
        "resource_token_verification_endpoint": format!("{issuer}/aauth/resource/token/verify"),
        "agent_signing_algs_supported": ["EdDSA"],
        "token_signing_algs_supported": ["EdDSA"],
        "request_types_supported": ["auth", "code", "refresh", "exchange"],
        "signature_components_required": ["@method", "@authority", "@path", "content-digest"],
        "scopes_supported": scopes,
    })
}

pub async fn document(
    ctx: &ProtocolCtx,
    issuer: &str,
    document: AAuthDocument,
) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let body = match document {
        AAuthDocument::Issuer => {
            let mut scopes: Vec<String> = lookup::aauth_resources(&reader)?
                .into_iter()
                .flat_map(|r| r.scopes)
                .collect();
            scopes.sort();
            scopes.dedup();
            issuer_metadata(issuer, scopes)
        }
        AAuthDocument::IssuerJwks => {
            tokens::signing_key(ctx).await?;
            jwks(&tokens::issuer_keys(&ctx.reader())?)
        }
        AAuthDocument::Agents => {
            let mut identities = Vec::new();
            reader.scan::<AAuthAgent>(Table::AAuthAgent, &[], true, |_, a| {
                identities.push(a);
                identities.len() < 1000
            })?;
            let mut out = Vec::new();
            for identity in identities {
                let agent = lookup::agent(&reader, &crate::command::AgentKey::Id(identity.agent))?;
                if agent.usable() {
                    out.push(agent_metadata(issuer, &agent, &identity));
                }
            }
            Value::Array(out)
        }
        AAuthDocument::Agent(id) => {
            let (agent, identity) = agent_identity(&reader, &id)?;
            agent_metadata(issuer, &agent, &identity)
        }
        AAuthDocument::AgentJwks(id) => {
            let (_, identity) = agent_identity(&reader, &id)?;
            jwks(&tokens::keys_with_issuer(&reader, &identity.keys)?)
        }
        AAuthDocument::Resources => Value::Array(
            lookup::aauth_resources(&reader)?
                .iter()
                .map(|r| resource_metadata(issuer, r))
                .collect(),
        ),
        AAuthDocument::Resource(id) => {
            resource_metadata(issuer, &lookup::aauth_resource(&reader, &id)?)
        }
        AAuthDocument::ResourceJwks(id) => {
            let resource = lookup::aauth_resource(&reader, &id)?;
            jwks(&tokens::keys_with_issuer(&reader, &resource.keys)?)
        }
    };
    Ok(ProtocolReply::Document(body))
}

/// A registered agent (by its public id) and its AAuth identity.
fn agent_identity(reader: &OrgReader, agent_id: &str) -> Result<(Agent, AAuthAgent)> {
    let agent = lookup::agent(
        reader,
        &crate::command::AgentKey::Public(agent_id.to_string()),
    )?;
    let identity = lookup::aauth_agent(reader, agent.id)?
        .ok_or_else(|| crate::error::ClusterError::not_found("AAuth agent", agent_id))?;
    Ok((agent, identity))
}
