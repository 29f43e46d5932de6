//! Reads, and what every request (read or write) answers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::command::{EntityKey, GroupKey, Op, PermissionKey, Relation, RoleKey, UserKey};
use crate::ids::{AuditId, ScopeId};
use crate::model::{
    ApiKey, AuditRecord, AuditRetention, DirectoryEntry, EntityRef, Group, IdentityLink, OrgRecord,
    Permission, Role, Scope, User,
};
use crate::settings::SettingsSection;

/// Page number (from 1) and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageParams {
    pub page: u64,
    pub limit: u64,
}

impl PageParams {
    /// Largest page size served.
    pub const MAX_LIMIT: u64 = 100;
    /// Page size when none is asked for.
    pub const DEFAULT_LIMIT: u64 = 25;

    /// Items to skip before this page.
    pub fn offset(self) -> u64 {
        self.page.saturating_sub(1).saturating_mul(self.limit)
    }
}

impl Default for PageParams {
    fn default() -> Self {
        PageParams {
            page: 1,
            limit: Self::DEFAULT_LIMIT,
        }
    }
}

/// Listing options shared by the admin lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListParams {
    pub page: PageParams,
    pub search: Option<String>,
    pub sort_by: Option<String>,
    /// `Some(true)` descending, `Some(false)` ascending, `None` the list's default.
    pub sort_desc: Option<bool>,
    /// Resource-specific filters (e.g. `role`, `blocked`, `isSystem`).
    pub filters: BTreeMap<String, String>,
}

/// Filters and order of the webhook list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookFilter {
    pub page: PageParams,
    pub is_active: Option<bool>,
    /// Only webhooks subscribed to this event (or to `*`).
    pub event: Option<String>,
    /// `createdAt` (default) or `isActive`.
    pub sort_by: Option<String>,
    pub descending: bool,
    /// Webhooks of this kind (`webhook` when absent; `ssf` for SSF streams).
    #[serde(default)]
    pub kind: Option<String>,
}

/// A user as SCIM shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScimUserView {
    pub user: crate::model::User,
    pub extra: crate::model::ScimExtra,
    /// The groups the user is a member of: id and name.
    pub groups: Vec<(crate::ids::GroupId, String)>,
}

/// A group as SCIM shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScimGroupView {
    pub group: crate::model::Group,
    pub extra: crate::model::ScimExtra,
    /// The members: id and display name.
    pub members: Vec<(crate::ids::UserId, String)>,
}

/// Filters of the audit log list and export.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub list: ListParams,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// Every read of org state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Query {
    Me,
    GetAgent(crate::command::AgentKey),
    ListAgents(ListParams),
    /// `agents/me`: the agent (or user) behind the credential.
    AgentMe,
    /// A JIT request, for the agent that made it or a reviewer.
    JitRequest(String),
    /// A JIT task, for its agent.
    JitTask(String),
    /// An approval, for the agent that asked.
    Approval(String),
    McpServer(String),
    McpServers(PageParams),
    /// An agent's AAuth identity (`None` when it has none).
    AAuthAgent(crate::command::AgentKey),
    AAuthResource(String),
    AAuthResources(PageParams),
    Webhooks(WebhookFilter),
    Webhook(crate::ids::WebhookId),
    /// SCIM: every user (with groups and SCIM attributes); one user; every group (with
    /// members); one group.
    ScimUsers,
    ScimUser(crate::ids::UserId),
    /// The calling user, as SCIM shows it (`/Me`).
    ScimMe,
    ScimGroups,
    ScimGroup(crate::ids::GroupId),
    /// The inbound `attribute_mapping` a SCIM client's user resources are read through.
    ScimInboundMapping,
    /// The org's custom email templates and its name: `{"org_name", "custom": [...]}`.
    EmailTemplates,
    /// B2B organizations, their roles, members and invitations (contract JSON).
    SubOrgs(SubOrgRead),
    /// The org's sandboxes.
    Sandboxes,
    /// The org's configuration as rows, for a sandbox's copy.
    SandboxExport,
    /// The org's social login providers, by id.
    SocialProviders(PageParams),
    SocialProvider(crate::command::SocialProviderKey),
    /// The org's SAML service providers, by id.
    SamlApps(PageParams),
    SamlApp(crate::ids::SamlAppId),
    /// The org's upstream SAML IdPs (SP mode), by id.
    SamlIdps(PageParams),
    SamlIdp(u64),
    /// The newest deliveries of a webhook first.
    WebhookDeliveries {
        webhook: crate::ids::WebhookId,
        status: Option<crate::model::DeliveryStatus>,
        limit: u64,
    },
    WebhookDelivery {
        webhook: crate::ids::WebhookId,
        seq: u64,
    },
    /// The calling user's authenticators, protection status and recovery-code count.
    MyAuthenticators,
    /// The calling user's recovery-code status.
    RecoveryCodeStatus,
    /// The calling user's trusted devices.
    TrustedDevices,
    /// One of the calling user's MFA challenges.
    MfaChallenge(String),
    /// An administrator's view of a user's authenticators.
    UserAuthenticators(crate::command::UserKey),
    /// MFA enrollment across the org's users.
    MfaCoverage,
    /// Checks the caller's step-up (`X-MFA-Challenge`): people need an approved challenge,
    /// API keys pass.
    StepUp(Option<String>),
    /// An agent's token vault connections (admin).
    AgentConnections(crate::command::AgentKey),
    /// The calling agent's connections.
    MyConnections,
    /// Pending JIT requests (reviewers only), oldest first.
    PendingJit(PageParams),
    GetUser(UserKey),
    ListUsers(ListParams),
    UserIdentities(UserKey),
    UserEffectivePermissions(UserKey),
    LegacySamlReport {
        idp_id: Option<u64>,
    },
    /// The entities related to `anchor` through `relation` (either direction).
    Related {
        anchor: EntityKey,
        relation: Relation,
        page: PageParams,
    },
    GetGroup(GroupKey),
    ListGroups(ListParams),
    GetRole(RoleKey),
    ListRoles(ListParams),
    GetPermission(PermissionKey),
    ListPermissions(ListParams),
    PermissionUsage(PermissionKey),
    ListScopes(ListParams),
    GetScope(ScopeId),
    ListAudit(AuditQuery),
    GetAudit(AuditId),
    AuditActions(PageParams),
    AuditStats {
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    },
    ExportAudit(AuditQuery),
    AuditRetention,
    VerifyAudit,
    Settings(SettingsSection),
    /// The auth settings, read to check a password against the policy (needs only users access).
    PasswordPolicy,
    /// The auth settings, read for the client policies (CIMD) with clients access only.
    ClientPolicy,
    AllSettings,
    Tenant,
    AnalyticsDashboard,
    AnalyticsLogins {
        days: u32,
    },
    AnalyticsUsers {
        days: u32,
    },
    ListApiKeys,
    GetClient(crate::command::ClientKey),
    ListClients(ListParams),
    /// Active sessions, optionally of one user.
    ListSessions {
        list: ListParams,
        user: Option<UserKey>,
    },
    UserSessions(UserKey),
    SessionStats,
    /// Issued access tokens (filters `revoked`, `clientId`, `userId`).
    ListTokens(ListParams),
    /// Published signing keys (public halves).
    SigningKeys,
    /// The org's Zanzibar schema.
    RelationSchema,
    /// Zanzibar tuples matching a filter.
    RelationTuples {
        filter: RelationTupleFilter,
        page: PageParams,
    },
    /// Tuple changes after sequence number `after`, at most `limit`.
    RelationChanges {
        after: u64,
        limit: u64,
    },
    AbacAttributes {
        kind: Option<crate::model::AttributeKind>,
        page: PageParams,
    },
    AbacAttribute(u64),
    AbacPolicies(PageParams),
    AbacPolicy(u64),
    /// A stored attribute value (read right after it was set).
    AbacValue {
        target: crate::command::AbacValueTarget,
        slug: String,
    },
}

/// Which tuples a tuple list shows (each part narrows it; the id needs the type, the relation
/// narrows by prefix when the id is given).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationTupleFilter {
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub relation: Option<String>,
    /// The whole subject, `user:bob` or `team:eng#member`.
    pub subject: Option<String>,
}

impl Query {
    /// True for reads that touch a few keys (no scan over a whole table).
    pub fn is_point_read(&self) -> bool {
        matches!(
            self,
            Query::Me
                | Query::AgentMe
                | Query::GetAgent(_)
                | Query::JitRequest(_)
                | Query::JitTask(_)
                | Query::Approval(_)
                | Query::McpServer(_)
                | Query::AAuthAgent(_)
                | Query::AAuthResource(_)
                | Query::Webhook(_)
                | Query::WebhookDelivery { .. }
                | Query::SocialProvider(_)
                | Query::SamlApp(_)
                | Query::SamlIdp(_)
                | Query::ScimUser(_)
                | Query::ScimMe
                | Query::ScimInboundMapping
                | Query::ScimGroup(_)
                | Query::MyAuthenticators
                | Query::RecoveryCodeStatus
                | Query::TrustedDevices
                | Query::MfaChallenge(_)
                | Query::UserAuthenticators(_)
                | Query::StepUp(_)
                | Query::GetUser(_)
                | Query::UserIdentities(_)
                | Query::GetGroup(_)
                | Query::GetRole(_)
                | Query::GetPermission(_)
                | Query::GetScope(_)
                | Query::GetAudit(_)
                | Query::AuditRetention
                | Query::Settings(_)
                | Query::PasswordPolicy
                | Query::ClientPolicy
                | Query::AllSettings
                | Query::Tenant
                | Query::GetClient(_)
                | Query::SigningKeys
                | Query::RelationSchema
                | Query::AbacAttribute(_)
                | Query::AbacPolicy(_)
                | Query::AbacValue { .. }
        )
    }

    /// A short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Query::Me => "me",
            Query::GetUser(_) => "get_user",
            Query::ListUsers(_) => "list_users",
            Query::UserIdentities(_) => "user_identities",
            Query::UserEffectivePermissions(_) => "user_effective_permissions",
            Query::LegacySamlReport { .. } => "legacy_saml_report",
            Query::Related { .. } => "related",
            Query::GetGroup(_) => "get_group",
            Query::ListGroups(_) => "list_groups",
            Query::GetRole(_) => "get_role",
            Query::ListRoles(_) => "list_roles",
            Query::GetPermission(_) => "get_permission",
            Query::ListPermissions(_) => "list_permissions",
            Query::PermissionUsage(_) => "permission_usage",
            Query::ListScopes(_) => "list_scopes",
            Query::GetScope(_) => "get_scope",
            Query::ListAudit(_) => "list_audit",
            Query::GetAudit(_) => "get_audit",
            Query::AuditActions(_) => "audit_actions",
            Query::AuditStats { .. } => "audit_stats",
            Query::ExportAudit(_) => "export_audit",
            Query::AuditRetention => "audit_retention",
            Query::VerifyAudit => "verify_audit",
            Query::Settings(_) => "settings",
            Query::PasswordPolicy => "password_policy",
            Query::ClientPolicy => "client_policy",
            Query::AllSettings => "all_settings",
            Query::Tenant => "tenant",
            Query::AnalyticsDashboard => "analytics_dashboard",
            Query::AnalyticsLogins { .. } => "analytics_logins",
            Query::AnalyticsUsers { .. } => "analytics_users",
            Query::ListApiKeys => "list_api_keys",
            Query::GetClient(_) => "get_client",
            Query::ListClients(_) => "list_clients",
            Query::ListSessions { .. } => "list_sessions",
            Query::UserSessions(_) => "user_sessions",
            Query::SessionStats => "session_stats",
            Query::ListTokens(_) => "list_tokens",
            Query::SigningKeys => "signing_keys",
            Query::RelationSchema => "relation_schema",
            Query::RelationTuples { .. } => "relation_tuples",
            Query::RelationChanges { .. } => "relation_changes",
            Query::AbacAttributes { .. } => "abac_attributes",
            Query::AbacAttribute(_) => "abac_attribute",
            Query::AbacPolicies(_) => "abac_policies",
            Query::AbacPolicy(_) => "abac_policy",
            Query::AbacValue { .. } => "abac_value",
            Query::GetAgent(_) => "get_agent",
            Query::ListAgents(_) => "list_agents",
            Query::AgentMe => "agent_me",
            Query::JitRequest(_) => "jit_request",
            Query::JitTask(_) => "jit_task",
            Query::Approval(_) => "approval",
            Query::McpServer(_) => "mcp_server",
            Query::McpServers(_) => "mcp_servers",
            Query::AAuthAgent(_) => "aauth_agent",
            Query::AAuthResource(_) => "aauth_resource",
            Query::AAuthResources(_) => "aauth_resources",
            Query::MyAuthenticators => "my_authenticators",
            Query::RecoveryCodeStatus => "recovery_code_status",
            Query::TrustedDevices => "trusted_devices",
            Query::MfaChallenge(_) => "mfa_challenge",
            Query::UserAuthenticators(_) => "user_authenticators",
            Query::MfaCoverage => "mfa_coverage",
            Query::StepUp(_) => "step_up",
            Query::Webhooks(_) => "webhooks",
            Query::Webhook(_) => "webhook",
            Query::ScimUsers => "scim_users",
            Query::ScimUser(_) => "scim_user",
            Query::ScimMe => "scim_me",
            Query::ScimInboundMapping => "scim_inbound_mapping",
            Query::EmailTemplates => "email_templates",
            Query::SubOrgs(_) => "organizations",
            Query::Sandboxes => "sandboxes",
            Query::SandboxExport => "sandbox_export",
            Query::ScimGroups => "scim_groups",
            Query::ScimGroup(_) => "scim_group",
            Query::SocialProviders(_) => "social_providers",
            Query::SocialProvider(_) => "social_provider",
            Query::SamlApps(_) => "saml_apps",
            Query::SamlApp(_) => "saml_app",
            Query::SamlIdps(_) => "saml_idps",
            Query::SamlIdp(_) => "saml_idp",
            Query::WebhookDeliveries { .. } => "webhook_deliveries",
            Query::WebhookDelivery { .. } => "webhook_delivery",
            Query::AgentConnections(_) => "agent_connections",
            Query::MyConnections => "my_connections",
            Query::PendingJit(_) => "pending_jit",
        }
    }
}

/// What the caller asks an org for.
#[allow(clippy::large_enum_variant)] // one per request, moved, never stored in bulk
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    Read(Query),
    /// A write, then (optionally) a read of the result from the same replica once applied.
    Write {
        op: Op,
        then: Option<Query>,
    },
    /// Only authenticate and authorize for `family` (the API checks credentials before it
    /// reads a body).
    Admit {
        family: crate::model::Family,
        write: bool,
    },
    /// An OAuth protocol request: it authenticates its own callers (clients, users, tokens).
    Protocol(crate::protocol::ProtocolRequest),
    /// An authorization question: answered on any replica of the org's shard, never through
    /// the org actor or Raft.
    Check(crate::authz::CheckRequest),
}

/// The result of a write that was not followed by a read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    Done,
    /// An entity was created; its id as the API shows it.
    Created(String),
    ApiKey(ApiKey),
    Directory(DirectoryEntry),
    Node(crate::model::NodeRecord),
    Compacted {
        removed: u64,
    },
    /// A sign-in created this session.
    Session(crate::model::LoginSession),
    /// A failed sign-in was recorded; the account is locked until then, if at all.
    LoginFailed {
        locked_until: Option<crate::clock::Timestamp>,
    },
    /// Tokens were recorded; the access token got this id.
    TokensIssued {
        access_id: u64,
    },
    /// A token request was refused after writing (code replay, refresh reuse).
    GrantRefused {
        error: crate::protocol::ErrorCode,
        description: String,
    },
    /// How many tokens, families or sessions a revocation ended.
    Revoked {
        count: u64,
    },
    /// The user of an approval has no account here (or none that may approve): the caller is
    /// told as if an email notice went out, so accounts cannot be probed.
    ApprovalNotDelivered,
    /// An MCP tool decision.
    McpDecision {
        allowed: bool,
        reason: String,
        agent_id: String,
        resource_uri: String,
    },
    /// An Ask API decision and the audit record that holds it.
    Decision {
        allowed: bool,
        reason: String,
        decided_by: String,
        audit_id: u64,
    },
    /// Relation tuples or the relation schema changed; checks that present `token` see it.
    RelationsWritten {
        token: crate::authz::ConsistencyToken,
        written: u64,
        deleted: u64,
    },
    /// An MFA challenge as it is after the write.
    MfaChallenge(Box<crate::model::MfaChallenge>),
    /// An authenticator as it is after the write.
    Authenticator(Box<crate::model::Authenticator>),
    /// A wrong MFA answer was recorded: what is left of the challenge, and the lockout.
    MfaRefused {
        attempts_remaining: u32,
        locked_until: Option<crate::clock::Timestamp>,
    },
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u64,
    pub limit: u64,
}

impl<T> Page<T> {
    /// Cuts one page out of every item of a list.
    pub fn of(items: Vec<T>, page: PageParams) -> Page<T> {
        let total = items.len() as u64;
        let items = items
            .into_iter()
            .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
            .take(usize::try_from(page.limit).unwrap_or(usize::MAX))
            .collect();
        Page {
            items,
            total,
            page: page.page,
            limit: page.limit,
        }
    }
}

/// A user with what the API derives from relations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub user: User,
    pub is_admin: bool,
    /// Present in detail views only.
    pub roles: Option<Vec<EntityRef>>,
    pub groups: Option<Vec<EntityRef>>,
}

/// Short reference to a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRef {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub username: Option<String>,
}

/// A group with counts (and, in detail views, its roles and members).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupView {
    pub group: Group,
    pub member_count: u64,
    pub role_count: u64,
    pub roles: Option<Vec<EntityRef>>,
    pub members: Option<Vec<UserRef>>,
}

/// A role with its user count (and, in detail views, its permissions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleView {
    pub role: Role,
    pub user_count: u64,
    pub permissions: Option<Vec<Permission>>,
}

/// A permission with the number of roles holding it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermissionView {
    pub permission: Permission,
    pub role_count: u64,
}

/// Audit statistics over a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditStats {
    pub total: u64,
    pub from: Timestamp,
    pub to: Timestamp,
    pub by_event_type: BTreeMap<String, u64>,
    pub by_action: BTreeMap<String, u64>,
    pub by_severity: BTreeMap<String, u64>,
}

/// Result of checking an org's audit hash chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainReport {
    pub valid: bool,
    pub checked: u64,
    pub first_id: Option<u64>,
    pub last_id: Option<u64>,
    /// The first record whose link is broken.
    pub broken_at: Option<u64>,
    pub reason: Option<String>,
    pub head_hash: String,
}

/// The user-facing dashboard numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub users_total: u64,
    pub users_active: u64,
    pub users_blocked: u64,
    pub users_new_30d: u64,
    pub clients_total: u64,
    pub logins_7d: u64,
    pub failed_logins_7d: u64,
    pub audit_events_7d: u64,
    pub generated_at: Timestamp,
}

/// Per-day login counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginDay {
    pub date: String,
    pub successful: u64,
    pub failed: u64,
}

/// User growth over a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserGrowth {
    pub daily: Vec<(String, u64)>,
    pub verified: u64,
    pub unverified: u64,
    pub mfa_enabled: u64,
    pub mfa_disabled: u64,
}

/// A window of whole days ending now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Period {
    pub days: u32,
    pub from: Timestamp,
    pub to: Timestamp,
}

/// A user's federated identities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentitiesView {
    pub auth_source: Option<String>,
    pub ldap_only: bool,
    pub links: Vec<IdentityLink>,
}

/// Users still bound by a bare SAML NameID.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegacySamlReport {
    pub idp_count: u64,
    pub users: Vec<(User, IdentityLink)>,
    /// The org's upstream SAML IdPs.
    pub idps: Vec<crate::model::SamlIdp>,
}

/// The combined settings document (`GET ~/admin/settings`), as JSON text per section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllSettings {
    pub org_name: String,
    pub sections: BTreeMap<String, String>,
}

/// An org's configuration for a sandbox: rows as `table tag ++ key` and value (secrets taken
/// out of settings), its id counters (JSON), its region, and its parent when it is a sandbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxExport {
    pub rows: Vec<(Vec<u8>, Vec<u8>)>,
    pub counters: String,
    pub region: Option<String>,
    pub sandbox_of: Option<String>,
}

/// Every answer an org can give.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Reply {
    Done(Outcome),
    User(UserView),
    Users(Page<UserView>),
    Group(GroupView),
    Groups(Page<GroupView>),
    Role(RoleView),
    Roles(Page<RoleView>),
    Permission(PermissionView),
    Permissions(Page<PermissionView>),
    PermissionUsage(Vec<EntityRef>),
    Scopes(Page<Scope>),
    Scope(Scope),
    Refs(Page<EntityRef>),
    PermissionRefs(Page<Permission>),
    UserRefs(Page<UserRef>),
    Identities(IdentitiesView),
    LegacySaml(LegacySamlReport),
    EffectivePermissions(Vec<String>),
    Audit(AuditRecord),
    AuditPage(Page<AuditRecord>),
    AuditActions(Page<String>),
    AuditStats(AuditStats),
    AuditExport(Vec<AuditRecord>),
    Retention(AuditRetention),
    Chain(ChainReport),
    /// A JSON document as text: a settings section, or a family rendered in the contract's
    /// shapes (B2B organizations, email templates, SCIM resources).
    Json(String),
    Sandboxes(Vec<crate::model::SandboxRecord>),
    SandboxExport(SandboxExport),
    AllSettings(AllSettings),
    Tenant(OrgRecord),
    Dashboard(Dashboard),
    Logins {
        period: Period,
        days: Vec<LoginDay>,
    },
    UserGrowth {
        period: Period,
        growth: UserGrowth,
    },
    ApiKeys(Vec<ApiKey>),
    Client(crate::model::OAuthClient),
    Clients(Page<crate::model::OAuthClient>),
    Sessions(Page<crate::model::LoginSession>),
    SessionStats(SessionStats),
    Tokens(Page<crate::model::AccessTokenRecord>),
    SigningKeys(Vec<crate::model::SigningKeyRecord>),
    Me(MeView),
    /// The answer of an OAuth protocol request.
    Protocol(crate::protocol::ProtocolReply),
    /// The answer of an authorization question.
    Decision(crate::authz::Decision),
    RelationSchema(Option<crate::model::StoredSchema>),
    RelationTuples(Page<(String, crate::model::StoredTuple)>),
    AbacAttributes(Page<crate::model::AttributeDefinition>),
    AbacAttribute(crate::model::AttributeDefinition),
    AbacPolicies(Page<crate::model::AbacPolicyRecord>),
    AbacPolicy(crate::model::AbacPolicyRecord),
    AbacValue {
        value: crate::model::AttributeValue,
        /// The attribute's display name.
        name: String,
    },
    Agent(crate::model::Agent),
    Agents(Page<crate::model::Agent>),
    JitRequest(crate::model::JitRequest),
    Approval(crate::model::AgentApproval),
    McpServer(crate::model::McpServer),
    McpServers(Page<crate::model::McpServer>),
    AAuthAgent(Option<crate::model::AAuthAgent>),
    AAuthResource(crate::model::AAuthResource),
    AAuthResources(Page<crate::model::AAuthResource>),
    Webhooks(Page<crate::model::Webhook>),
    Webhook(crate::model::Webhook),
    ScimUsers(Vec<ScimUserView>),
    ScimUser(Box<ScimUserView>),
    ScimGroups(Vec<ScimGroupView>),
    ScimGroup(Box<ScimGroupView>),
    SocialProviders(Page<crate::model::SocialProvider>),
    SocialProvider(crate::model::SocialProvider),
    SamlApps(Page<crate::model::SamlApp>),
    SamlApp(Box<crate::model::SamlApp>),
    SamlIdps(Page<crate::model::SamlIdp>),
    SamlIdp(Box<crate::model::SamlIdp>),
    WebhookDeliveries {
        deliveries: Vec<crate::model::WebhookDelivery>,
        /// Dead-lettered deliveries of the webhook (whatever the filter).
        dead_lettered: u64,
    },
    WebhookDelivery(crate::model::WebhookDelivery),
    Authenticators(AuthenticatorsView),
    RecoveryCodeStatus(RecoveryStatusView),
    TrustedDevices(Vec<crate::model::TrustedDevice>),
    MfaChallenge(MfaChallengeView),
    MfaCoverage(MfaCoverageView),
    /// An agent and its vault connections.
    Connections {
        agent: crate::model::Agent,
        connections: Vec<crate::model::VaultConnection>,
    },
    /// A task with its agent's public id and the email of the user it acts for.
    JitTask {
        task: crate::model::JitTask,
        agent_id: String,
        agent_name: String,
        on_behalf_of: Option<String>,
    },
    JitRequests(Page<crate::model::JitRequest>),
    /// `agents/me`: an agent with its record, or a user with their capabilities.
    AgentMe {
        subject_type: String,
        id: String,
        agent: Option<crate::model::Agent>,
        capabilities: Option<Vec<String>>,
    },
    RelationChanges {
        changes: Vec<crate::model::TupleChange>,
        /// The newest sequence number (the cursor to poll from when nothing is new).
        last: u64,
    },
}

/// `{id, name, slug}` of the org.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantRef {
    pub id: String,
    pub name: String,
    pub slug: String,
}

/// Who a token stands for (`GET ~/me`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeView {
    /// `user` or `agent`.
    pub subject_type: String,
    pub id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub mfa_enabled: Option<bool>,
    pub roles: Option<Vec<String>>,
    pub capabilities: Option<Vec<String>>,
    pub scopes: Vec<String>,
    pub tenant: TenantRef,
}

/// Session counts (`GET ~/admin/sessions/stats`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionStats {
    pub total: u64,
    pub active: u64,
    pub inactive: u64,
}

/// A user's authenticators as the self-service and admin lists show them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthenticatorsView {
    pub items: Vec<crate::model::Authenticator>,
    /// `protected`, `add_backup` or `at_risk`.
    pub status: String,
    pub default: Option<String>,
    pub recovery: RecoveryStatusView,
    /// The factor types the org allows (for self-service: what the user may enroll).
    pub allowed_types: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecoveryStatusView {
    pub remaining: Option<u64>,
    pub generated_at: Option<crate::clock::Timestamp>,
}

/// A challenge with the factors that could answer it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MfaChallengeView {
    pub challenge: crate::model::MfaChallenge,
    /// The factor asked for.
    pub authenticator: Option<crate::model::Authenticator>,
    /// The user's other active factors.
    pub alternatives: Vec<crate::model::Authenticator>,
    /// The status as of the read (an issued challenge past its time is `expired`).
    pub status: crate::model::ChallengeStatus,
    /// A passkey challenge still open: the WebAuthn request options (JSON).
    #[serde(default)]
    pub public_key: Option<String>,
}

/// The MFA coverage report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MfaCoverageView {
    pub total_users: u64,
    pub enrolled_users: u64,
    pub by_type: std::collections::BTreeMap<String, u64>,
    /// Users by their strongest factor's tier.
    pub by_tier: std::collections::BTreeMap<String, u64>,
    pub requirement: String,
    pub in_grace: u64,
    pub past_grace: u64,
    /// Users the policy does not require MFA of who have none.
    pub deferred: u64,
}

/// What a read of B2B organizations asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubOrgRead {
    List,
    /// By id or slug.
    Get(String),
    Roles(String),
    Members(String),
    Invitations(String),
    /// One invitation of an organization, by integer id.
    Invitation(String, u64),
    /// One member of an organization, by user id or email.
    Member(String, crate::command::UserKey),
}
