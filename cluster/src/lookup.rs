//! Looking up entities by the keys requests name them with; shared by `apply` (inside a
//! transaction) and reads (committed state).

use sha2::{Digest, Sha256};
use ulid::Ulid;

use crate::clock::Timestamp;
use crate::command::{GroupKey, PermissionKey, RoleKey, UserKey};
use crate::error::{ClusterError, Result};
use crate::ids::{ApiKeyId, GroupId, PermissionId, RoleId, UserId};
use crate::model::{ApiKey, Group, OrgRecord, Permission, Role, User};
use crate::tables::{OrgTx, Rows, Table};

/// The org header; absent means the org is not in this shard.
pub fn load_org(rows: &impl Rows) -> Result<OrgRecord> {
    rows.row(Table::Org, &[])?
        .ok_or_else(|| ClusterError::not_found("organization", rows.org_id()))
}

/// Checks the org is served by this shard at `epoch` (not moved away, not frozen for a move).
pub fn check_org_here(rows: &impl Rows, epoch: u64) -> Result<()> {
    match rows.row::<OrgRecord>(Table::Org, &[])? {
        Some(org) if org.epoch == epoch && org.status != "frozen" => Ok(()),
        _ => Err(ClusterError::WrongShard),
    }
}

/// The stored record of the org's API key whose hash is `hash`.
pub fn api_key(rows: &impl Rows, hash: &str) -> Result<Option<ApiKey>> {
    let Some(id) = rows.row::<ApiKeyId>(Table::ApiKeyHash, hash.as_bytes())? else {
        return Ok(None);
    };
    rows.row(Table::ApiKey, &id.0.to_be_bytes())
}

/// A deterministic ULID for an entity created by `apply` itself (e.g. seeded system roles).
pub fn derive_ulid(at: Timestamp, seed: &[u8]) -> Ulid {
    let digest = Sha256::digest(seed);
    let mut random = [0u8; 16];
    random[6..].copy_from_slice(&digest[..10]);
    Ulid::from_parts(at.0.max(0) as u64, u128::from_be_bytes(random))
}

pub fn user(tx: &impl Rows, key: &UserKey) -> Result<User> {
    let id = match key {
        UserKey::Id(id) => *id,
        UserKey::Email(email) => tx
            .row::<UserId>(Table::UserEmail, email.as_bytes())?
            .ok_or_else(|| ClusterError::not_found("user", email))?,
    };
    tx.row(Table::User, &id.to_bytes())?
        .ok_or_else(|| ClusterError::not_found("user", key))
}

pub fn group(tx: &impl Rows, key: &GroupKey) -> Result<Group> {
    let id = match key {
        GroupKey::Id(id) => Some(*id),
        GroupKey::Slug(slug) => tx.row::<GroupId>(Table::GroupSlug, slug.as_bytes())?,
    };
    id.map(|id| tx.row(Table::Group, &id.to_bytes()))
        .transpose()?
        .flatten()
        .ok_or_else(|| ClusterError::not_found("group", key))
}

pub fn role(tx: &impl Rows, key: &RoleKey) -> Result<Role> {
    let id = match key {
        RoleKey::Id(id) => Some(*id),
        RoleKey::Slug(slug) => tx.row::<RoleId>(Table::RoleSlug, slug.as_bytes())?,
    };
    id.map(|id| tx.row(Table::Role, &id.to_bytes()))
        .transpose()?
        .flatten()
        .ok_or_else(|| ClusterError::not_found("role", key))
}

pub fn permission(tx: &impl Rows, key: &PermissionKey) -> Result<Permission> {
    let id = match key {
        PermissionKey::Id(id) => Some(*id),
        PermissionKey::Slug(slug) => {
            tx.row::<PermissionId>(Table::PermissionSlug, slug.as_bytes())?
        }
    };
    id.map(|id| tx.row(Table::Permission, &id.0.to_be_bytes()))
        .transpose()?
        .flatten()
        .ok_or_else(|| ClusterError::not_found("permission", key))
}

/// Saves the org header.
pub fn save_org(tx: &mut OrgTx, org: &OrgRecord) -> Result<()> {
    tx.put(Table::Org, &[], org)
}

/// An OAuth client by integer id or `client_id`.
pub fn client(
    tx: &impl Rows,
    key: &crate::command::ClientKey,
) -> Result<crate::model::OAuthClient> {
    use crate::command::ClientKey;
    let id = match key {
        ClientKey::Id(id) => Some(*id),
        ClientKey::ClientId(client_id) => {
            tx.row::<u64>(Table::OAuthClientKey, client_id.as_bytes())?
        }
    };
    id.map(|id| tx.row(Table::OAuthClient, &id.to_be_bytes()))
        .transpose()?
        .flatten()
        .ok_or_else(|| ClusterError::not_found("client", key))
}

/// An agent by its database or public id.
pub fn agent(tx: &impl Rows, key: &crate::command::AgentKey) -> Result<crate::model::Agent> {
    use crate::command::AgentKey;
    let id = match key {
        AgentKey::Id(id) => Some(id.0),
        AgentKey::Public(public) => tx.row::<u64>(Table::AgentPublicId, public.as_bytes())?,
    };
    id.map(|id| tx.row(Table::Agent, &id.to_be_bytes()))
        .transpose()?
        .flatten()
        .ok_or_else(|| ClusterError::not_found("agent", key))
}

/// The agent whose OAuth client is `client_id`, if it is an agent's.
pub fn agent_of_client(tx: &impl Rows, client_id: &str) -> Result<Option<crate::model::Agent>> {
    match tx.row::<u64>(Table::AgentClient, client_id.as_bytes())? {
        Some(id) => tx.row(Table::Agent, &id.to_be_bytes()),
        None => Ok(None),
    }
}

/// An MCP server by its server id.
pub fn mcp_server(tx: &impl Rows, server_id: &str) -> Result<crate::model::McpServer> {
    tx.row(Table::McpServer, server_id.as_bytes())?
        .ok_or_else(|| ClusterError::not_found("MCP server", server_id))
}

/// The MCP server whose resource is `resource_uri`, if any.
pub fn mcp_server_of_resource(
    tx: &impl Rows,
    resource_uri: &str,
) -> Result<Option<crate::model::McpServer>> {
    match tx.row::<String>(Table::McpResource, resource_uri.as_bytes())? {
        Some(id) => tx.row(Table::McpServer, id.as_bytes()),
        None => Ok(None),
    }
}

/// Every MCP server of the org, in registration order.
pub fn mcp_servers(reader: &crate::tables::OrgReader) -> Result<Vec<crate::model::McpServer>> {
    let mut all = Vec::new();
    reader.scan::<crate::model::McpServer>(Table::McpServer, &[], false, |_, s| {
        all.push(s);
        true
    })?;
    all.sort_by_key(|s| s.id);
    Ok(all)
}

/// The JIT requests still waiting for a reviewer at `now`, oldest first.
pub fn pending_jit_requests(
    reader: &crate::tables::OrgReader,
    now: Timestamp,
) -> Result<Vec<crate::model::JitRequest>> {
    let mut pending = Vec::new();
    reader.scan::<crate::model::JitRequest>(Table::JitRequest, &[], false, |_, r| {
        if r.status_at(now) == "pending" {
            pending.push(r);
        }
        true
    })?;
    pending.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(pending)
}

/// The owner of an AAuth identifier, if any.
pub fn aauth_entity(tx: &impl Rows, identifier: &str) -> Result<Option<crate::model::AAuthEntity>> {
    tx.row(Table::AAuthIdentifier, identifier.as_bytes())
}

/// An agent's AAuth identity, if it has one.
pub fn aauth_agent(
    tx: &impl Rows,
    agent: crate::ids::AgentId,
) -> Result<Option<crate::model::AAuthAgent>> {
    tx.row(Table::AAuthAgent, &agent.0.to_be_bytes())
}

/// A registered AAuth resource by its `res_…` id.
pub fn aauth_resource(tx: &impl Rows, resource_id: &str) -> Result<crate::model::AAuthResource> {
    tx.row(Table::AAuthResource, resource_id.as_bytes())?
        .ok_or_else(|| ClusterError::not_found("resource", resource_id))
}

/// A consent request still open at `now`, by its request-token hash.
pub fn aauth_pending(
    tx: &impl Rows,
    hash: &str,
    now: crate::clock::Timestamp,
) -> Result<crate::model::AAuthPending> {
    tx.row::<crate::model::AAuthPending>(Table::AAuthPending, hash.as_bytes())?
        .filter(|p| p.expires_at > now)
        .ok_or_else(|| {
            ClusterError::oauth(
                crate::protocol::ErrorCode::InvalidRequest,
                "the request_token is unknown or expired",
            )
        })
}

/// A live (unrevoked, unexpired) AAuth refresh token by hash.
pub fn aauth_refresh(
    tx: &impl Rows,
    hash: &str,
    now: crate::clock::Timestamp,
) -> Result<crate::model::AAuthRefresh> {
    tx.row::<crate::model::AAuthRefresh>(Table::AAuthRefresh, hash.as_bytes())?
        .filter(|r| !r.revoked && r.expires_at > now)
        .ok_or_else(|| {
            ClusterError::oauth(
                crate::protocol::ErrorCode::InvalidGrant,
                "the refresh token is unknown, revoked or expired",
            )
        })
}

/// The org's registered AAuth resources, in id order.
pub fn aauth_resources(
    reader: &crate::tables::OrgReader,
) -> Result<Vec<crate::model::AAuthResource>> {
    let mut all = Vec::new();
    reader.scan::<crate::model::AAuthResource>(Table::AAuthResource, &[], true, |_, r| {
        all.push(r);
        true
    })?;
    Ok(all)
}

/// A webhook by id.
pub fn webhook(tx: &impl Rows, id: crate::ids::WebhookId) -> Result<crate::model::Webhook> {
    tx.row(Table::Webhook, &id.0.to_be_bytes())?
        .ok_or_else(|| ClusterError::not_found("webhook", id.0.to_string()))
}

pub fn social_provider(
    tx: &impl Rows,
    id: crate::ids::SocialProviderId,
) -> Result<crate::model::SocialProvider> {
    tx.row(Table::SocialProvider, &id.0.to_be_bytes())?
        .ok_or_else(|| ClusterError::not_found("social provider", id.0.to_string()))
}

/// A social provider by id or slug.
pub fn social_provider_by(
    tx: &impl Rows,
    key: &crate::command::SocialProviderKey,
) -> Result<crate::model::SocialProvider> {
    let id = match key {
        crate::command::SocialProviderKey::Id(id) => *id,
        crate::command::SocialProviderKey::Slug(slug) => tx
            .row(Table::SocialProviderSlug, slug.as_bytes())?
            .ok_or_else(|| ClusterError::not_found("social provider", slug))?,
    };
    social_provider(tx, id)
}

/// The storage key of delivery `seq` of `webhook`.
pub fn webhook_delivery_key(webhook: crate::ids::WebhookId, seq: u64) -> Vec<u8> {
    let mut key = webhook.0.to_be_bytes().to_vec();
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// A SAML app by id.
pub fn saml_app(tx: &impl Rows, id: crate::ids::SamlAppId) -> Result<crate::model::SamlApp> {
    tx.row(Table::SamlApp, &id.0.to_be_bytes())?
        .ok_or_else(|| ClusterError::not_found("SAML app", id.0.to_string()))
}

/// A SAML app by its SP entity id.
pub fn saml_app_by_entity(tx: &impl Rows, entity_id: &str) -> Result<crate::model::SamlApp> {
    let id: crate::ids::SamlAppId = tx
        .row(Table::SamlAppEntity, entity_id.as_bytes())?
        .ok_or_else(|| ClusterError::not_found("SAML app", entity_id))?;
    saml_app(tx, id)
}

/// An upstream SAML IdP by id.
pub fn saml_upstream(tx: &impl Rows, id: u64) -> Result<crate::model::SamlIdp> {
    tx.row(Table::SamlUpstream, &id.to_be_bytes())?
        .ok_or_else(|| ClusterError::not_found("SAML identity provider", id.to_string()))
}

/// Key of a pending email request.
pub fn email_request_key(
    user: crate::ids::UserId,
    kind: crate::model::EmailRequestKind,
) -> Vec<u8> {
    let mut key = user.to_bytes().to_vec();
    key.extend_from_slice(kind.as_str().as_bytes());
    key
}

/// An organization of the org's customers, by id (`org_…`) or slug.
pub fn sub_org(rows: &impl Rows, key: &str) -> Result<crate::model::SubOrg> {
    let id = if key.starts_with("org_") {
        Some(key.to_string())
    } else {
        rows.row::<String>(Table::SubOrgSlug, key.to_lowercase().as_bytes())?
    };
    id.map(|id| rows.row(Table::SubOrg, id.as_bytes()))
        .transpose()?
        .flatten()
        .ok_or_else(|| ClusterError::not_found("organization", key))
}

/// `user`'s active membership of the active organization `sub_org` (an id), with its role.
pub fn membership(
    tx: &impl Rows,
    user: UserId,
    sub_org: &str,
) -> Result<Option<crate::model::Membership>> {
    use crate::model::{MemberStatus, SubOrg, SubOrgMember, SubOrgRole, sub_org_key};
    let Some(org) = tx.row::<SubOrg>(Table::SubOrg, sub_org.as_bytes())? else {
        return Ok(None);
    };
    let Some(member) =
        tx.row::<SubOrgMember>(Table::SubOrgMember, &sub_org_key(&org.id, &user.to_bytes()))?
    else {
        return Ok(None);
    };
    if !org.is_active || member.status != MemberStatus::Active {
        return Ok(None);
    }
    let role = tx.row::<SubOrgRole>(
        Table::SubOrgRole,
        &sub_org_key(&org.id, &member.role_id.to_be_bytes()),
    )?;
    Ok(Some(crate::model::Membership { org, member, role }))
}

/// Every active membership of `user`, in organization id order.
pub fn memberships(
    reader: &crate::tables::OrgReader,
    user: UserId,
) -> Result<Vec<crate::model::Membership>> {
    let mut ids = Vec::new();
    reader.scan_keys(Table::SubOrgMemberOf, &user.to_bytes(), |key| {
        if let Ok(id) = std::str::from_utf8(key) {
            ids.push(id.to_string());
        }
        true
    })?;
    let mut out = Vec::new();
    for id in ids {
        if let Some(found) = membership(reader, user, &id)? {
            out.push(found);
        }
    }
    Ok(out)
}
