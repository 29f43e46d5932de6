//! Who is calling and what API-key scopes allow.

use serde::{Deserialize, Serialize};

use crate::ids::{ApiKeyId, OrgId};

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub org: OrgId,
    pub kind: PrincipalKind,
    pub scopes: Vec<String>,
    /// For a user's token exchanged to an agent (RFC 8693 delegation, the agent in `act`):
    /// the agent acting for the user.
    #[serde(default)]
    pub acting_agent: Option<crate::ids::AgentId>,
    /// A JIT grant token: it proves its grant to resource servers and may read (who it is, its
    /// request's status), but never writes through this API. Judged where the credential is
    /// authenticated, never logged.
    #[serde(skip)]
    pub grant_only: bool,
}

/// The kinds of callers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PrincipalKind {
    ApiKey {
        id: ApiKeyId,
        name: String,
    },
    /// The node itself (bootstrap, cluster admin, maintenance).
    System,
    /// An end user (signed in through the hosted login, or holding a user access token).
    User {
        id: crate::ids::UserId,
        email: String,
    },
    /// An OAuth client acting for itself (client credentials) or calling a protocol endpoint.
    Client {
        client_id: String,
        name: String,
    },
    /// Nobody proven yet (a failed sign-in, a public endpoint).
    Anonymous,
    /// An AI agent: its client-credentials token or its agent key (`agk_…`). (Last, so the
    /// log codec's indexes of the older kinds stay as they were.)
    Agent {
        id: crate::ids::AgentId,
        agent_id: String,
        name: String,
    },
    /// The org's inbound SCIM client (its bearer token from the SCIM settings).
    Scim,
}

impl Principal {
    /// The agent acting: the agent itself, or the agent a user's token was delegated to.
    pub fn agent(&self) -> Option<crate::ids::AgentId> {
        match &self.kind {
            PrincipalKind::Agent { id, .. } => Some(*id),
            _ => self.acting_agent,
        }
    }

    /// True for a person who may review JIT requests: a user's own token (not one delegated
    /// to an agent) carrying `jit:approve` or `admin`.
    pub fn reviews_jit(&self) -> bool {
        matches!(self.kind, PrincipalKind::User { .. })
            && self.acting_agent.is_none()
            && self
                .scopes
                .iter()
                .any(|s| s == "jit:approve" || s == "admin")
    }

    /// The id written to audit records.
    pub fn actor_id(&self) -> String {
        match &self.kind {
            PrincipalKind::ApiKey { id, .. } => id.to_string(),
            PrincipalKind::System => "system".to_string(),
            PrincipalKind::User { id, .. } => id.to_string(),
            PrincipalKind::Client { client_id, .. } => client_id.clone(),
            PrincipalKind::Agent { agent_id, .. } => agent_id.clone(),
            PrincipalKind::Anonymous => "anonymous".to_string(),
            PrincipalKind::Scim => "scim".to_string(),
        }
    }

    /// The display name written to audit records.
    pub fn actor_name(&self) -> String {
        match &self.kind {
            PrincipalKind::ApiKey { name, .. } => name.clone(),
            PrincipalKind::System => "system".to_string(),
            PrincipalKind::User { email, .. } => email.clone(),
            PrincipalKind::Client { name, .. } => name.clone(),
            PrincipalKind::Agent { name, .. } => name.clone(),
            PrincipalKind::Anonymous => "anonymous".to_string(),
            PrincipalKind::Scim => "SCIM client".to_string(),
        }
    }

    /// The actor type written to audit records.
    pub fn actor_type(&self) -> &'static str {
        match &self.kind {
            PrincipalKind::ApiKey { .. } => "api_key",
            PrincipalKind::System => "system",
            PrincipalKind::User { .. } => "user",
            PrincipalKind::Client { .. } => "client",
            PrincipalKind::Agent { .. } => "agent",
            PrincipalKind::Anonymous => "anonymous",
            PrincipalKind::Scim => "scim",
        }
    }
}

impl PrincipalKind {
    /// Why SCIM's `/Me` (the calling user) refuses a credential that names no user: the
    /// provisioning client has no "me" (501, as RFC 7644 allows); any other credential is not
    /// a SCIM credential (403).
    pub fn scim_me_refusal(&self) -> crate::error::ClusterError {
        match self {
            PrincipalKind::Scim => crate::error::ClusterError::scim(
                501,
                None,
                "Me is the calling user; the provisioning client is none (use a user's access token)",
            ),
            _ => crate::error::ClusterError::scim(
                403,
                None,
                "Me answers a user's access token only; this credential names no user",
            ),
        }
    }
}

/// Resource families of the admin API, each guarded by its own scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Family {
    Users,
    Groups,
    Roles,
    Audit,
    Settings,
    Analytics,
    /// Managing API keys themselves: full `admin` only.
    ApiKeys,
    /// `GET ~/me`: any valid credential.
    Identity,
    /// OAuth clients and the access tokens they were issued.
    Clients,
    /// The authorization engines' configuration: relation schemas and tuples.
    Authorization,
    /// Authorization checks: any credential of the org may ask; the engines judge who may ask
    /// about whom (the `decide` module).
    Decisions,
    /// AI agents: the admin API (`admin:agents`) and `agents/register` (`admin:agents:write`).
    Agents,
    /// What agents do at runtime (`agents/me`, the Ask API, JIT): any credential of the org;
    /// who may do what is judged by the agents module from the principal.
    AgentRuntime,
    /// Webhooks and their deliveries (`admin:webhooks`).
    Webhooks,
    /// B2B organizations inside the org: members, roles, invitations
    /// (`admin:organizations`).
    Organizations,
    /// Sandbox orgs spawned from this one (`admin:sandbox`).
    Sandbox,
    /// SCIM 2.0 provisioning (`~/scim/v2`): only the org's SCIM token, never an API key.
    Scim,
    /// Writes only OAuth protocol endpoints make (sign-ins, token issuance); no credential of
    /// the admin API may make them.
    Protocol,
}

impl Family {
    /// The family scope, if it has one.
    fn scope(self) -> Option<&'static str> {
        match self {
            Family::Users => Some("admin:users"),
            Family::Groups => Some("admin:groups"),
            Family::Roles => Some("admin:roles"),
            Family::Audit => Some("admin:audit"),
            Family::Settings => Some("admin:settings"),
            Family::Clients => Some("admin:clients"),
            Family::Authorization => Some("admin:authz"),
            Family::Agents => Some("admin:agents"),
            Family::Webhooks => Some("admin:webhooks"),
            Family::Organizations => Some("admin:organizations"),
            Family::Sandbox => Some("admin:sandbox"),
            Family::Scim => Some(SCIM_SCOPE),
            Family::Analytics
            | Family::ApiKeys
            | Family::Identity
            | Family::Decisions
            | Family::AgentRuntime
            | Family::Protocol => None,
        }
    }
}

/// The one scope of the SCIM token (no API key can hold it).
pub const SCIM_SCOPE: &str = "scim";

/// The API-key scopes this server knows.
pub struct AdminScope;

impl AdminScope {
    /// Every scope an API key may carry.
    pub const ALL: &'static [&'static str] = &[
        "admin",
        "admin:read",
        "admin:write",
        "admin:users",
        "admin:groups",
        "admin:roles",
        "admin:audit",
        "admin:settings",
        "admin:clients",
        "admin:webhooks",
        "admin:organizations",
        "admin:sandbox",
        "admin:clients:register",
        "admin:authz",
        "admin:agents",
        "admin:agents:write",
    ];

    /// True when `scope` is a known scope.
    pub fn is_known(scope: &str) -> bool {
        Self::ALL.contains(&scope)
    }

    /// Scopes any one of which grants `write` (or read) access to `family`, best first.
    pub fn required(family: Family, write: bool) -> Vec<String> {
        if matches!(
            family,
            Family::Identity | Family::Decisions | Family::AgentRuntime
        ) {
            return Vec::new();
        }
        if family == Family::ApiKeys {
            return vec!["admin".to_string()];
        }
        if family == Family::Scim {
            return vec![SCIM_SCOPE.to_string()];
        }
        let mut scopes: Vec<String> = family.scope().map(str::to_string).into_iter().collect();
        if family == Family::Agents {
            // The narrower scope user tokens carry to register and manage agents.
            scopes.push("admin:agents:write".to_string());
        }
        scopes.push(if write { "admin:write" } else { "admin:read" }.to_string());
        if !write {
            scopes.push("admin:write".to_string());
        }
        scopes.push("admin".to_string());
        scopes
    }

    /// True when `granted` allows the access.
    pub fn allows(granted: &[String], family: Family, write: bool) -> bool {
        if family == Family::Protocol {
            return false;
        }
        let required = Self::required(family, write);
        required.is_empty() || required.iter().any(|r| granted.contains(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn read_scope_cannot_write() {
        let read = scopes(&["admin:read"]);
        assert!(AdminScope::allows(&read, Family::Users, false));
        assert!(!AdminScope::allows(&read, Family::Users, true));
        assert!(!AdminScope::allows(&read, Family::ApiKeys, false));
    }

    #[test]
    fn family_scope_covers_only_its_family() {
        let users = scopes(&["admin:users"]);
        assert!(AdminScope::allows(&users, Family::Users, true));
        assert!(!AdminScope::allows(&users, Family::Groups, false));
        assert!(AdminScope::allows(&users, Family::Identity, false));
    }

    #[test]
    fn full_admin_allows_everything() {
        let admin = scopes(&["admin"]);
        for family in [
            Family::Users,
            Family::Audit,
            Family::ApiKeys,
            Family::Settings,
        ] {
            assert!(AdminScope::allows(&admin, family, true));
        }
    }
}
