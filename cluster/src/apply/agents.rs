//! AI agents: create (with their OAuth client) or register (bound to an existing client),
//! update, switch on and off, agent keys, client secrets, delete, and Ask API decisions.

use serde_json::json;

use crate::command::{
    AgentKey, AgentKeyChange, AgentPatch, AgentSwitch, AskQuestion, ClientKey, CommandMeta,
    NewAgent, RevokeTarget,
};
use crate::error::{ClusterError, Result};
use crate::ids::AgentId;
use crate::lookup::{self, load_org, save_org};
use crate::model::{
    Agent, AuditEvent, BudgetPolicy, DailyUsage, OAuthClient, PrincipalKind, RetiredSecret,
};
use crate::protocol::ErrorCode;
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;

/// Access tokens an agent's client issues live this long unless the admin token says otherwise.
const AGENT_TOKEN_TTL_SECS: u64 = 3600;

fn save(tx: &mut OrgTx, agent: &Agent) -> Result<()> {
    tx.put(Table::Agent, &agent.id.0.to_be_bytes(), agent)
}

fn summary(agent: &Agent) -> serde_json::Value {
    json!({
        "agentId": agent.agent_id,
        "clientId": agent.client_id,
        "name": agent.name,
        "capabilities": agent.capabilities,
        "status": agent.status(),
        "maxTokensPerDay": agent.budget.max_tokens_per_day,
    })
}

fn event(agent: &Agent, action: &str, message: String) -> AuditEvent {
    AuditEvent::new("agent", action.to_string(), message).target(
        "agent",
        &agent.agent_id,
        agent.name.clone(),
    )
}

/// The agent's own client: confidential, `client_credentials` and token exchange only.
fn own_client(new: &NewAgent, id: u64, secret_hash: &str, meta: &CommandMeta) -> OAuthClient {
    OAuthClient {
        id,
        client_id: new.client_id.clone(),
        name: new.name.clone(),
        description: Some(format!("OAuth client of agent {}", new.agent_id)),
        confidential: true,
        secret_hash: Some(secret_hash.to_string()),
        previous_secret: None,
        redirect_uris: Vec::new(),
        post_logout_redirect_uris: Vec::new(),
        grant_types: vec![
            "client_credentials".into(),
            "urn:ietf:params:oauth:grant-type:token-exchange".into(),
        ],
        scopes: Vec::new(),
        requires_pkce: false,
        is_active: true,
        token_endpoint_auth_method: "client_secret_post".into(),
        access_token_ttl_secs: AGENT_TOKEN_TTL_SECS,
        refresh_token_ttl_secs: 0,
        skip_consent: true,
        registration: None,
        jwks: None,
        metadata_fetched_at: None,
        created_at: meta.at,
        updated_at: meta.at,
    }
}

/// Creates an agent; from `agents/register` (no secret) binds it to an existing client, and
/// a client that already has an agent gets that agent updated instead.
pub(super) fn create(tx: &mut OrgTx, meta: &CommandMeta, new: &NewAgent) -> Result<Applied> {
    if new.secret_hash.is_none() {
        lookup::client(tx, &ClientKey::ClientId(new.client_id.clone()))?;
        if let Some(existing) = lookup::agent_of_client(tx, &new.client_id)? {
            let patch = AgentPatch {
                name: Some(new.name.clone()),
                description: new.description.clone().map(Some),
                capabilities: new.capabilities.clone(),
                max_tokens_per_day: None,
                jwks_uri: new.jwks_uri.clone().map(Some),
                a2a_url: new.a2a_url.clone().map(Some),
                workload: None,
            };
            let (_, events) = update(tx, meta, &AgentKey::Id(existing.id), &patch)?;
            return Ok((Outcome::Created(existing.agent_id), events));
        }
    }
    if tx.exists(Table::AgentPublicId, new.agent_id.as_bytes())? {
        return Err(ClusterError::conflict("agentId", "agent id already used"));
    }
    let mut org = load_org(tx)?;
    org.counters.agent += 1;
    let owns_client = new.secret_hash.is_some();
    if let Some(secret_hash) = &new.secret_hash {
        if tx.exists(Table::OAuthClientKey, new.client_id.as_bytes())? {
            return Err(ClusterError::conflict("clientId", "client id already used"));
        }
        org.counters.client += 1;
        let client = own_client(new, org.counters.client, secret_hash, meta);
        tx.put(Table::OAuthClient, &client.id.to_be_bytes(), &client)?;
        tx.put(
            Table::OAuthClientKey,
            client.client_id.as_bytes(),
            &client.id,
        )?;
    }
    save_org(tx, &org)?;
    let agent = Agent {
        id: AgentId(org.counters.agent),
        agent_id: new.agent_id.clone(),
        client_id: new.client_id.clone(),
        owns_client,
        name: new.name.clone(),
        description: new.description.clone(),
        capabilities: new.capabilities.clone().unwrap_or_default(),
        active: true,
        enabled: true,
        key_hash: new.key_hash.clone(),
        key_prefix: new.key_prefix.clone(),
        previous_key: None,
        budget: BudgetPolicy {
            max_tokens_per_day: new.max_tokens_per_day,
        },
        usage: DailyUsage::default(),
        workload_identity: None,
        workload: None,
        jwks_uri: new.jwks_uri.clone(),
        a2a_url: new.a2a_url.clone(),
        // `agents/register` records the user who registered the agent.
        registered_by: match &meta.actor.kind {
            PrincipalKind::User { id, .. } if !owns_client => Some(*id),
            _ => None,
        },
        created_at: meta.at,
        updated_at: meta.at,
        last_used_at: None,
    };
    save(tx, &agent)?;
    let id = agent.id.0;
    tx.put(Table::AgentPublicId, agent.agent_id.as_bytes(), &id)?;
    tx.put(Table::AgentClient, agent.client_id.as_bytes(), &id)?;
    if let Some(hash) = &agent.key_hash {
        tx.put(Table::AgentKeyHash, hash.as_bytes(), &id)?;
    }
    let how = if owns_client { "created" } else { "registered" };
    let audit = event(
        &agent,
        "agent.created",
        format!("agent {} {how}", agent.name),
    )
    .new_value(summary(&agent));
    Ok((Outcome::Created(agent.agent_id), vec![audit]))
}

pub(super) fn update(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    key: &AgentKey,
    patch: &AgentPatch,
) -> Result<Applied> {
    let mut agent = lookup::agent(tx, key)?;
    let before = summary(&agent);
    if let Some(name) = &patch.name {
        agent.name = name.clone();
    }
    if let Some(description) = &patch.description {
        agent.description = description.clone();
    }
    if let Some(capabilities) = &patch.capabilities {
        agent.capabilities = capabilities.clone();
    }
    if let Some(max) = patch.max_tokens_per_day {
        agent.budget.max_tokens_per_day = max;
    }
    if let Some(jwks_uri) = &patch.jwks_uri {
        agent.jwks_uri = jwks_uri.clone();
    }
    if let Some(a2a_url) = &patch.a2a_url {
        agent.a2a_url = a2a_url.clone();
    }
    if let Some(workload) = &patch.workload {
        agent.workload_identity = workload
            .as_ref()
            .map(|w| format!("{}#{}", w.issuer, w.subject));
        agent.workload = workload.clone();
    }
    agent.updated_at = meta.at;
    save(tx, &agent)?;
    let audit = event(
        &agent,
        "agent.updated",
        format!("agent {} updated", agent.name),
    )
    .old_value(before)
    .new_value(summary(&agent));
    Ok((Outcome::Done, vec![audit]))
}

/// Deletes the agent; its own client goes with it, a bound client stays, and every token
/// either was issued for the agent ends.
pub(super) fn delete(tx: &mut OrgTx, meta: &CommandMeta, key: &AgentKey) -> Result<Applied> {
    let agent = lookup::agent(tx, key)?;
    let client = ClientKey::ClientId(agent.client_id.clone());
    let (revoked, _) =
        super::grants::revoke(tx, meta, &RevokeTarget::ClientTokens(client.clone()))?;
    if agent.owns_client
        && let Ok(client) = lookup::client(tx, &client)
    {
        tx.delete(Table::OAuthClient, &client.id.to_be_bytes());
        tx.delete(Table::OAuthClientKey, client.client_id.as_bytes());
    }
    forget_keys(tx, &agent);
    tx.delete(Table::Agent, &agent.id.0.to_be_bytes());
    tx.delete(Table::AgentPublicId, agent.agent_id.as_bytes());
    tx.delete(Table::AgentClient, agent.client_id.as_bytes());
    let audit = event(
        &agent,
        "agent.deleted",
        format!("agent {} deleted", agent.name),
    )
    .old_value(summary(&agent))
    .changes(json!({"revokedTokens": revoked}));
    Ok((Outcome::Done, vec![audit]))
}

fn forget_keys(tx: &mut OrgTx, agent: &Agent) {
    if let Some(hash) = &agent.key_hash {
        tx.delete(Table::AgentKeyHash, hash.as_bytes());
    }
    if let Some(old) = &agent.previous_key {
        tx.delete(Table::AgentKeyHash, old.hash.as_bytes());
    }
}

pub(super) fn switch(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    key: &AgentKey,
    switch: AgentSwitch,
) -> Result<Applied> {
    let mut agent = lookup::agent(tx, key)?;
    let before = agent.status();
    let (action, what) = match switch {
        AgentSwitch::Activate => {
            agent.active = true;
            ("agent.activated", "activated")
        }
        AgentSwitch::Deactivate => {
            agent.active = false;
            ("agent.deactivated", "deactivated")
        }
        AgentSwitch::Enable => {
            agent.enabled = true;
            ("agent.enabled", "enabled")
        }
        AgentSwitch::Disable => {
            agent.enabled = false;
            ("agent.disabled", "disabled")
        }
    };
    agent.updated_at = meta.at;
    save(tx, &agent)?;
    let audit = event(&agent, action, format!("agent {} {what}", agent.name))
        .changes(json!({"status": {"from": before, "to": agent.status()}}));
    Ok((Outcome::Done, vec![audit]))
}

pub(super) fn set_key(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    key: &AgentKey,
    change: &AgentKeyChange,
) -> Result<Applied> {
    let mut agent = lookup::agent(tx, key)?;
    forget_keys(tx, &agent);
    let retired = agent.key_hash.take();
    agent.previous_key = match (&change.key, retired) {
        (Some(_), Some(hash)) if change.grace_until > meta.at => Some(RetiredSecret {
            hash,
            valid_until: change.grace_until,
        }),
        _ => None,
    };
    match &change.key {
        Some((hash, prefix)) => {
            agent.key_hash = Some(hash.clone());
            agent.key_prefix = Some(prefix.clone());
        }
        None => agent.key_prefix = None,
    }
    let id = agent.id.0;
    for hash in agent
        .key_hash
        .iter()
        .chain(agent.previous_key.iter().map(|k| &k.hash))
    {
        tx.put(Table::AgentKeyHash, hash.as_bytes(), &id)?;
    }
    agent.updated_at = meta.at;
    save(tx, &agent)?;
    let audit = match &change.key {
        Some(_) => event(
            &agent,
            "agent.key_rotated",
            format!("key of agent {} rotated", agent.name),
        )
        .changes(json!({
            "previousKeyValidUntil": agent.previous_key.as_ref().map(|k| k.valid_until.to_rfc3339()),
        })),
        None => event(
            &agent,
            "agent.key_revoked",
            format!("key of agent {} revoked", agent.name),
        ),
    };
    Ok((Outcome::Done, vec![audit]))
}

pub(super) fn rotate_secret(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    key: &AgentKey,
    secret_hash: &str,
) -> Result<Applied> {
    let agent = lookup::agent(tx, key)?;
    let mut client = lookup::client(tx, &ClientKey::ClientId(agent.client_id.clone()))?;
    client.secret_hash = Some(secret_hash.to_string());
    client.previous_secret = None;
    client.updated_at = meta.at;
    tx.put(Table::OAuthClient, &client.id.to_be_bytes(), &client)?;
    let audit = event(
        &agent,
        "agent.credentials_rotated",
        format!("client secret of agent {} rotated", agent.name),
    );
    Ok((Outcome::Done, vec![audit]))
}

/// Counts one access token against the agent behind `client_id`, if any: refused when the
/// agent is switched off or its daily budget is spent.
pub(super) fn charge_token(tx: &mut OrgTx, meta: &CommandMeta, client_id: &str) -> Result<()> {
    let Some(mut agent) = lookup::agent_of_client(tx, client_id)? else {
        return Ok(());
    };
    if !agent.usable() {
        return Err(ClusterError::invalid_client(format!(
            "agent {} is {}",
            agent.agent_id,
            agent.status()
        )));
    }
    let used = agent.usage.tokens_on(meta.at);
    if let Some(max) = agent.budget.max_tokens_per_day
        && used >= max
    {
        return Err(ClusterError::OAuth {
            error: ErrorCode::BudgetExceeded,
            description: format!(
                "agent {} used its budget of {max} tokens today",
                agent.agent_id
            ),
            status: 429,
        });
    }
    agent.usage = DailyUsage {
        day: meta.at.day(),
        tokens: used + 1,
    };
    agent.last_used_at = Some(meta.at);
    save(tx, &agent)
}

/// Decides an Ask API question for the caller and audits the decision; the audit record's id
/// is the decision's `audit_id`.
pub(super) fn ask(tx: &mut OrgTx, meta: &CommandMeta, question: &AskQuestion) -> Result<Outcome> {
    let action = question.action.as_str();
    let (allowed, reason, decided_by) = match &meta.actor.kind {
        PrincipalKind::Agent { id, .. } => {
            let agent = lookup::agent(tx, &AgentKey::Id(*id))?;
            if !agent.usable() {
                (
                    false,
                    format!("the agent is {}", agent.status()),
                    "agent_status",
                )
            } else if agent.holds(action) {
                (
                    true,
                    format!("the agent holds the capability {action}"),
                    "capability",
                )
            } else {
                (
                    false,
                    format!("the agent lacks the capability {action}"),
                    "capability",
                )
            }
        }
        PrincipalKind::User { id, .. } => {
            let held = crate::authz::rbac::effective_permissions(tx.reader(), *id)?;
            if crate::authz::rbac::holds(&held, action) {
                (
                    true,
                    format!("the user holds the permission {action}"),
                    "rbac",
                )
            } else {
                (
                    false,
                    format!("the user lacks the permission {action}"),
                    "rbac",
                )
            }
        }
        _ => {
            return Err(ClusterError::Forbidden {
                message: "the Ask API answers agents and users; API keys and clients cannot ask"
                    .into(),
                required_scopes: Vec::new(),
                granted_scopes: meta.actor.scopes.clone(),
            });
        }
    };
    let context = super::clients::json_text("context", &question.context)?;
    let mut audit = AuditEvent::new(
        "agent",
        if allowed {
            "agent.ask.allowed"
        } else {
            "agent.ask.denied"
        },
        format!(
            "Ask {action}: {}",
            if allowed { "allowed" } else { "denied" }
        ),
    )
    .new_value(json!({
        "allowed": allowed,
        "action": action,
        "reason": reason,
        "decided_by": decided_by,
    }));
    audit.context = Some(context);
    if !allowed {
        audit = audit.severity("warning");
    }
    let audit_id = super::append_audit(tx, meta, audit)?;
    Ok(Outcome::Decision {
        allowed,
        reason,
        decided_by: decided_by.to_string(),
        audit_id: audit_id.0,
    })
}

fn connection_key(agent: AgentId, id: &str) -> Vec<u8> {
    let mut key = agent.0.to_be_bytes().to_vec();
    key.extend_from_slice(id.as_bytes());
    key
}

pub(super) fn create_connection(
    tx: &mut OrgTx,
    key: &AgentKey,
    connection: &crate::model::VaultConnection,
) -> Result<Applied> {
    let agent = lookup::agent(tx, key)?;
    let mut stored = connection.clone();
    stored.agent = agent.id;
    let row = connection_key(agent.id, &stored.id);
    if tx.exists(Table::VaultConnection, &row)? {
        return Err(ClusterError::conflict(
            "connection_id",
            "connection id already used",
        ));
    }
    tx.put(Table::VaultConnection, &row, &stored)?;
    let audit = event(
        &agent,
        "agent.connection_created",
        format!(
            "vault connection {} of agent {} stored",
            stored.name, agent.name
        ),
    )
    .new_value(
        json!({"connectionId": stored.id, "provider": stored.provider, "scopes": stored.scopes}),
    );
    Ok((Outcome::Created(stored.id), vec![audit]))
}

pub(super) fn delete_connection(tx: &mut OrgTx, key: &AgentKey, id: &str) -> Result<Applied> {
    let agent = lookup::agent(tx, key)?;
    let row = connection_key(agent.id, id);
    if !tx.exists(Table::VaultConnection, &row)? {
        return Err(ClusterError::not_found("connection", id));
    }
    tx.delete(Table::VaultConnection, &row);
    let audit = event(
        &agent,
        "agent.connection_deleted",
        format!("vault connection {id} of agent {} deleted", agent.name),
    );
    Ok((Outcome::Done, vec![audit]))
}
