//! Every replicated write. A command carries everything `apply` needs (ids, time, hashes), so
//! applying it is deterministic on every replica.

mod aauth;
mod agents;
mod email;
mod jit;
mod mfa;
mod oauth;
mod saml;
mod sandbox;
mod scim;
mod social;
mod suborg;
mod webhooks;

use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use aauth::{
    AAuthAgentSpec, AAuthConsent, AAuthConsentRequest, AAuthIssuance, AAuthResourceSpec,
    AAuthRevocation, AAuthTokenKind,
};
pub use agents::{
    AgentKey, AgentKeyChange, AgentPatch, AgentSwitch, AskQuestion, McpToolQuestion, NewAgent,
    NewMcpServer,
};
pub use email::EmailWrite;
pub use jit::{FinishTask, JitDecision, JitIssuance, NewApproval, NewJitRequest, NewTask};
pub use mfa::{AuthenticatorPatch, MfaProof, MfaSignIn, NewAccessCode, PasskeyUse, SecondFactor};
pub use oauth::{
    ClientKey, ClientPatch, Consume, Issuance, Lineage, LoginFailure, MetadataClient,
    NewAccessToken, NewClient, NewRefreshToken, NewRegistration, NewSigningKey, RevokeTarget,
    SignIn,
};
pub use saml::{SamlAppFields, SamlAppMore, SamlIdpFields, SamlIdpMore, SamlSpSignIn, SamlWrite};
pub use sandbox::SandboxWrite;
pub use scim::{
    ScimBatchResult, ScimGroupState, ScimLink, ScimPushReport, ScimResourceKind, ScimUserState,
    ScimWrite,
};
pub use social::{SocialProviderFields, SocialProviderKey, SocialSignIn};
pub use suborg::{SubOrgFields, SubOrgRoleFields, SubOrgRoleRef, SubOrgWrite};
pub use webhooks::{WebhookAttempt, WebhookFields, WebhookPatch};

use crate::clock::Timestamp;
use crate::ids::{ApiKeyId, GroupId, OrgId, PermissionId, RoleId, ScopeId, ShardId, UserId};
use crate::model::{EmailRequestKind, IdentityKind, NewApiKey, Principal};
use crate::settings::{SealedSecret, SettingsSection};

/// What the Raft log of any group carries.
// Commands are built once per request and moved into the log, never held in bulk, so the size
// difference between variants costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RaftCommand {
    /// A change to the cluster directory (meta group only).
    Meta(MetaCommand),
    /// A change to one org (shard groups only).
    Org(Command),
}

impl std::fmt::Display for RaftCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RaftCommand::Meta(m) => write!(f, "meta:{}", m.op.name()),
            RaftCommand::Org(c) => write!(f, "org {}:{}", c.org, c.op.name()),
        }
    }
}

/// A write to the meta group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaCommand {
    pub at: Timestamp,
    pub op: MetaOp,
}

/// Meta group operations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MetaOp {
    /// Registers a shard group (its residency region and replicas).
    RegisterShard {
        shard: ShardId,
        region: Option<String>,
        replicas: Vec<u64>,
    },
    /// Reserves a slug and places a new org on a shard (state `Provisioning`).
    RegisterOrg {
        org: OrgId,
        slug: String,
        name: String,
        region: Option<String>,
        /// SHA-256 of a caller-chosen bootstrap key, so it can be routed without a lookup in
        /// the org.
        key_route: Option<String>,
    },
    /// Marks a provisioned org as serving.
    ActivateOrg { org: OrgId },
    /// Admits a node; the same nonce always gets the same id (retried joins).
    JoinNode {
        nonce: String,
        rpc_addr: String,
        http_addr: String,
        region: Option<String>,
        zone: Option<String>,
    },
    /// Records the addresses a known node now has (after a restart on new ports).
    UpdateNode {
        node: u64,
        rpc_addr: String,
        http_addr: String,
    },
    /// Changes a node's lifecycle state.
    SetNodeState {
        node: u64,
        state: crate::model::NodeState,
    },
    /// Records the replicas of a shard after a membership change.
    SetShardReplicas { shard: ShardId, replicas: Vec<u64> },
    /// Starts moving an org to shard `to` (same residency region); its requests pause.
    BeginMove { org: OrgId, to: ShardId },
    /// Points the org at its new shard with the next epoch and resumes it.
    FinishMove { org: OrgId },
    /// Gives up a move that failed before the flip; the org resumes on its old shard.
    AbortMove { org: OrgId },
    /// Removes an org from the directory for good (a destroyed sandbox); its rows are dropped
    /// from its shard first.
    RetireOrg { org: OrgId },
}

impl MetaOp {
    fn name(&self) -> &'static str {
        match self {
            MetaOp::RegisterShard { .. } => "register_shard",
            MetaOp::RegisterOrg { .. } => "register_org",
            MetaOp::ActivateOrg { .. } => "activate_org",
            MetaOp::JoinNode { .. } => "join_node",
            MetaOp::UpdateNode { .. } => "update_node",
            MetaOp::SetNodeState { .. } => "set_node_state",
            MetaOp::SetShardReplicas { .. } => "set_shard_replicas",
            MetaOp::BeginMove { .. } => "begin_move",
            MetaOp::FinishMove { .. } => "finish_move",
            MetaOp::AbortMove { .. } => "abort_move",
            MetaOp::RetireOrg { .. } => "retire_org",
        }
    }
}

/// Who asked, from where, and when; stamped by the proposer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandMeta {
    pub at: Timestamp,
    pub actor: Principal,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// A write to one org.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    pub org: OrgId,
    /// The org's placement epoch the proposer routed with; a stale epoch is refused.
    pub epoch: u64,
    pub meta: CommandMeta,
    pub op: Op,
}

/// A user named by id or email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserKey {
    Id(UserId),
    Email(String),
}

/// A group named by id or slug.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupKey {
    Id(GroupId),
    Slug(String),
}

/// A role named by id or slug.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoleKey {
    Id(RoleId),
    Slug(String),
}

/// A permission named by id or slug.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PermissionKey {
    Id(PermissionId),
    Slug(String),
}

/// Why a path id could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadKey(pub &'static str);

impl FromStr for UserKey {
    type Err = BadKey;
    fn from_str(s: &str) -> Result<Self, BadKey> {
        if let Ok(id) = s.parse::<UserId>() {
            return Ok(UserKey::Id(id));
        }
        if s.contains('@') && s.len() <= 320 {
            return Ok(UserKey::Email(s.trim().to_lowercase()));
        }
        Err(BadKey("a user is named by its UUID or its email address"))
    }
}

impl FromStr for GroupKey {
    type Err = BadKey;
    fn from_str(s: &str) -> Result<Self, BadKey> {
        match s.parse::<GroupId>() {
            Ok(id) => Ok(GroupKey::Id(id)),
            Err(_) if !s.is_empty() && s.len() <= 200 => Ok(GroupKey::Slug(s.to_string())),
            Err(_) => Err(BadKey("a group is named by its id or its slug")),
        }
    }
}

impl FromStr for RoleKey {
    type Err = BadKey;
    fn from_str(s: &str) -> Result<Self, BadKey> {
        match s.parse::<RoleId>() {
            Ok(id) => Ok(RoleKey::Id(id)),
            Err(_) if !s.is_empty() && s.len() <= 200 => Ok(RoleKey::Slug(s.to_string())),
            Err(_) => Err(BadKey("a role is named by its id or its slug")),
        }
    }
}

impl FromStr for PermissionKey {
    type Err = BadKey;
    fn from_str(s: &str) -> Result<Self, BadKey> {
        if let Ok(n) = s.parse::<u64>() {
            return Ok(PermissionKey::Id(PermissionId(n)));
        }
        if !s.is_empty() && s.len() <= 200 {
            return Ok(PermissionKey::Slug(s.to_string()));
        }
        Err(BadKey(
            "a permission is named by its integer id or its slug",
        ))
    }
}

impl std::fmt::Display for UserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserKey::Id(id) => write!(f, "{id}"),
            UserKey::Email(e) => write!(f, "{e}"),
        }
    }
}

impl std::fmt::Display for GroupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GroupKey::Id(id) => write!(f, "{id}"),
            GroupKey::Slug(s) => write!(f, "{s}"),
        }
    }
}

impl std::fmt::Display for RoleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RoleKey::Id(id) => write!(f, "{id}"),
            RoleKey::Slug(s) => write!(f, "{s}"),
        }
    }
}

impl std::fmt::Display for PermissionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PermissionKey::Id(id) => write!(f, "{id}"),
            PermissionKey::Slug(s) => write!(f, "{s}"),
        }
    }
}

/// Any entity that takes part in a relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntityKey {
    User(UserKey),
    Group(GroupKey),
    Role(RoleKey),
    Permission(PermissionKey),
}

/// The many-to-many relations of the RBAC model, named `from -> to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Relation {
    UserRole,
    UserGroup,
    UserPermission,
    GroupRole,
    RolePermission,
}

/// How a relation change combines with what exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RelateMode {
    Add,
    Remove,
    /// The anchor's set becomes exactly the given set.
    Replace,
}

/// Fields of a new user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    pub id: UserId,
    pub email: String,
    pub password_hash: Option<String>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub picture: Option<String>,
    pub phone_number: Option<String>,
    pub email_verified: bool,
    pub locale: Option<String>,
    pub zoneinfo: Option<String>,
    pub is_active: Option<bool>,
}

/// A partial update of a user: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UserPatch {
    pub email: Option<String>,
    pub username: Option<Option<String>>,
    pub name: Option<Option<String>>,
    pub given_name: Option<Option<String>>,
    pub family_name: Option<Option<String>>,
    pub picture: Option<Option<String>>,
    pub phone_number: Option<Option<String>>,
    pub locale: Option<Option<String>>,
    pub zoneinfo: Option<Option<String>>,
    pub email_verified: Option<bool>,
    pub phone_number_verified: Option<bool>,
    pub is_active: Option<bool>,
    pub blocked: Option<bool>,
    pub password_hash: Option<String>,
}

/// Fields of a new group or role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewNamed {
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
}

/// A partial update of a group or role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NamedPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<Option<String>>,
}

/// Fields of a new custom permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPermission {
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub resource: Option<String>,
    pub action: Option<String>,
}

/// A partial update of a permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PermissionPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub resource: Option<Option<String>>,
    pub action: Option<Option<String>>,
}

/// A federated identity to bind to a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewIdentityLink {
    pub kind: IdentityKind,
    pub idp_id: Option<u64>,
    pub name_id: Option<String>,
    pub ldap_config_id: Option<u64>,
    pub dn: Option<String>,
    pub ldap_only: bool,
}

/// Org-scoped operations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// Creates the org inside its shard: profile, defaults, system roles, first admin key.
    InitOrg {
        number: u64,
        slug: String,
        name: String,
        region: Option<String>,
        admin_key: NewApiKey,
    },
    /// Tenant profile: name and free-form settings (JSON object text, merged).
    UpdateTenant {
        name: Option<String>,
        settings_patch: Option<String>,
    },
    CreateApiKey(NewApiKey),
    RevokeApiKey(ApiKeyId),

    CreateUser(NewUser),
    UpdateUser {
        user: UserKey,
        patch: UserPatch,
    },
    DeleteUser(UserKey),
    SetUserBlocked {
        user: UserKey,
        blocked: bool,
    },
    MarkUserVerified(UserKey),
    SetUserPassword {
        user: UserKey,
        password_hash: String,
    },
    RequestEmail {
        user: UserKey,
        kind: EmailRequestKind,
        token_hash: String,
        expires_at: Timestamp,
    },
    LinkIdentity {
        user: UserKey,
        link: NewIdentityLink,
    },
    UnlinkIdentity {
        user: UserKey,
        kind: IdentityKind,
    },

    Relate {
        relation: Relation,
        anchor: EntityKey,
        others: Vec<EntityKey>,
        mode: RelateMode,
    },

    CreateGroup {
        id: GroupId,
        fields: NewNamed,
    },
    UpdateGroup {
        group: GroupKey,
        patch: NamedPatch,
    },
    DeleteGroup(GroupKey),
    CreateRole {
        id: RoleId,
        fields: NewNamed,
    },
    UpdateRole {
        role: RoleKey,
        patch: NamedPatch,
    },
    DeleteRole(RoleKey),
    CreatePermission(NewPermission),
    UpdatePermission {
        permission: PermissionKey,
        patch: PermissionPatch,
    },
    DeletePermission(PermissionKey),
    CreateScope {
        name: String,
        description: Option<String>,
        is_default: bool,
    },
    DeleteScope(ScopeId),

    SetAuditRetention {
        retention_days: Option<u32>,
        auto_delete: Option<bool>,
    },
    /// Deletes audit records created before `cutoff` (decided by the proposer from the
    /// retention setting), leaving the chain anchored.
    CompactAudit {
        cutoff: Timestamp,
    },
    /// Deletes protocol state (token records, codes, requests) that expired before `cutoff`.
    PurgeExpired {
        cutoff: Timestamp,
    },

    /// Stops the org in this shard: later commands for it are refused as `WrongShard`.
    FreezeOrg,
    /// Writes a chunk of a moving org's rows (`org ++ table ++ key`, value) into this shard;
    /// the `last` chunk sets the org's new epoch and makes it active here.
    ImportOrg {
        rows: Vec<(Vec<u8>, Vec<u8>)>,
        /// The first chunk first clears what an earlier, failed attempt left here.
        first: bool,
        last: bool,
    },
    /// Resumes a frozen org in this shard (a move was given up before the flip).
    ThawOrg,
    /// Deletes every row of the org from this shard (after it moved away).
    DropOrg,
    /// Merges a JSON object (text) into a settings section after validating it; secrets were
    /// taken out of the patch and hashed by the proposer.
    UpdateSettings {
        section: SettingsSection,
        patch: String,
        secrets: Vec<SealedSecret>,
    },

    CreateClient(NewClient),
    /// Creates or refreshes the shadow client of a Client ID Metadata Document.
    SyncMetadataClient(MetadataClient),
    UpdateClient {
        client: ClientKey,
        patch: ClientPatch,
    },
    DeleteClient(ClientKey),
    /// New secret (hash); the old one keeps working until `grace_until`.
    RotateClientSecret {
        client: ClientKey,
        secret_hash: String,
        grace_until: Timestamp,
    },
    /// Adds a signing key and makes it the active one; the previous active key is published
    /// until `retain_old_until`. With `only_if_none`, does nothing when a key exists.
    AddSigningKey {
        key: NewSigningKey,
        only_if_none: bool,
        retain_old_until: Timestamp,
    },
    SignIn(SignIn),
    RecordLoginFailure(LoginFailure),
    GrantConsent {
        user: UserId,
        client_id: String,
        scopes: Vec<String>,
    },
    /// Stores a code; `pushed` names the pushed request it answers, used up in the same entry.
    IssueCode {
        hash: String,
        code: crate::model::AuthCode,
        pushed: Option<String>,
    },
    IssueTokens(Issuance),
    Revoke(RevokeTarget),
    StartDeviceGrant {
        hash: String,
        grant: crate::model::DeviceGrant,
    },
    DecideDeviceGrant {
        user_code: String,
        approve: bool,
        user: UserId,
        session: Option<u64>,
    },
    StartCiba {
        hash: String,
        request: crate::model::CibaRequest,
    },
    DecideCiba {
        id: String,
        approve: bool,
        user: UserId,
    },
    PushRequest {
        request_uri: String,
        request: crate::model::PushedRequest,
    },
    /// Replaces the org's Zanzibar schema (parsed and validated in apply; refused while
    /// existing tuples would not fit it).
    WriteRelationSchema {
        text: String,
    },
    /// Writes and deletes Zanzibar tuples at once, if every precondition holds.
    WriteRelationTuples(TupleWrite),
    CreateAbacAttribute(NewAbacAttribute),
    UpdateAbacAttribute {
        id: u64,
        patch: AbacAttributePatch,
    },
    DeleteAbacAttribute(u64),
    /// A policy (its conditions validated in apply against the org's attributes).
    CreateAbacPolicy(NewAbacPolicy),
    UpdateAbacPolicy {
        id: u64,
        patch: AbacPolicyPatch,
    },
    DeleteAbacPolicy(u64),
    /// Flips a policy between active and inactive.
    ToggleAbacPolicy(u64),
    /// Sets the value (JSON text) of a defined attribute on a user or a resource.
    SetAbacValue {
        target: AbacValueTarget,
        slug: String,
        value: String,
    },
    /// An agent and its OAuth client (or, from `agents/register`, an agent bound to an
    /// existing client; registering a client that already has an agent updates that agent).
    CreateAgent(NewAgent),
    UpdateAgent {
        agent: AgentKey,
        patch: AgentPatch,
    },
    /// Deletes the agent, its own client and every token they were issued.
    DeleteAgent(AgentKey),
    SwitchAgent {
        agent: AgentKey,
        switch: AgentSwitch,
    },
    /// Rotates (a new key) or revokes (none) the agent key.
    SetAgentKey {
        agent: AgentKey,
        change: AgentKeyChange,
    },
    /// A new client secret for the agent's client; the old one stops working at once.
    RotateAgentSecret {
        agent: AgentKey,
        secret_hash: String,
    },
    /// An Ask API decision, decided in apply from the replicated state and audited in the
    /// same entry.
    Ask(AskQuestion),
    CreateTask(NewTask),
    FinishTask(FinishTask),
    /// A JIT permission request; low risk is approved in the same entry.
    RequestPermission(NewJitRequest),
    DecideJitRequest(JitDecision),
    IssueJitToken(JitIssuance),
    /// An agent asks the user it acts for to approve an action on a signed-in device.
    CreateApproval(NewApproval),
    /// Stores a token vault connection for an agent (its upstream token sealed already).
    CreateVaultConnection {
        agent: AgentKey,
        connection: crate::model::VaultConnection,
    },
    DeleteVaultConnection {
        agent: AgentKey,
        id: String,
    },
    CreateMcpServer(NewMcpServer),
    DeleteMcpServer(String),
    /// May the calling agent invoke an MCP tool? Decided and audited in one entry.
    AuthorizeMcpTool(McpToolQuestion),
    /// The user answers an approval (from the hosted page).
    DecideApproval {
        token: String,
        user: UserId,
        approve: bool,
    },
    /// The org's Ed25519 AAuth token key (only when it has none).
    AddAAuthKey(NewSigningKey),
    /// Sets (or, with `None`, removes) an agent's AAuth identity.
    SetAAuthAgent {
        agent: AgentKey,
        identity: Option<AAuthAgentSpec>,
    },
    CreateAAuthResource(AAuthResourceSpec),
    /// Replaces a resource's fields (`resource_id` names it).
    UpdateAAuthResource(AAuthResourceSpec),
    DeleteAAuthResource(String),
    /// A signed request's nonce; refused when it was used before.
    UseAAuthNonce {
        nonce: String,
        until: Timestamp,
    },
    OpenAAuthConsent(AAuthConsentRequest),
    DecideAAuthConsent(AAuthConsent),
    IssueAAuthToken(AAuthIssuance),
    RevokeAAuthToken(AAuthRevocation),
    CreateWebhook {
        fields: WebhookFields,
        sealed_secret: String,
    },
    UpdateWebhook {
        id: crate::ids::WebhookId,
        patch: WebhookPatch,
    },
    DeleteWebhook(crate::ids::WebhookId),
    /// The new secret signs from now on; the old one too until `grace_until`.
    RotateWebhookSecret {
        id: crate::ids::WebhookId,
        sealed_secret: String,
        grace_until: Timestamp,
    },
    /// The dispatcher's results: each delivery succeeds, is rescheduled or is dead-lettered.
    RecordWebhookAttempts(Vec<WebhookAttempt>),
    /// Sends a delivery again, with the same event id, as a new delivery.
    ReplayWebhookDelivery {
        id: crate::ids::WebhookId,
        seq: u64,
    },
    /// Queues an event for one webhook only (an SSF verification event).
    SendWebhookEvent {
        id: crate::ids::WebhookId,
        event_id: String,
        event_name: String,
        /// The payload's `data`, JSON as text.
        data: String,
    },
    /// A pending authenticator of the acting user (built on the leader, secret sealed).
    EnrollAuthenticator(crate::model::Authenticator),
    /// Proof of possession that activates a pending authenticator of the acting user.
    VerifyAuthenticator {
        id: String,
        proof: MfaProof,
        /// A hosted sign-in's challenge this enrollment completes (sign-in required a factor
        /// the user did not have yet, or a temporary access code let them in to enroll one).
        approves: Option<String>,
    },
    UpdateAuthenticator {
        id: String,
        patch: AuthenticatorPatch,
    },
    /// Removes an authenticator: the acting user's own (`user` none, after a step-up with
    /// another factor) or, by an administrator, any user's.
    RemoveAuthenticator {
        user: Option<UserKey>,
        id: String,
        step_up: Option<String>,
    },
    /// Replaces the acting user's recovery codes (hashes).
    SetRecoveryCodes {
        hashes: Vec<String>,
        step_up: Option<String>,
    },
    StartMfaChallenge(crate::model::MfaChallenge),
    AnswerMfaChallenge {
        id: String,
        proof: MfaProof,
        context: crate::model::mfa::UsedContext,
    },
    RevokeTrustedDevice(String),
    IssueAccessCode(NewAccessCode),
    /// A hosted sign-in whose second factor was checked (or not required).
    SignInWithMfa(MfaSignIn),
    /// A pending passkey of the acting user and its registration ceremony.
    EnrollPasskey {
        authenticator: crate::model::Authenticator,
        ceremony: crate::model::WebauthnCeremony,
    },
    /// A challenge answered by a passkey, with its assertion ceremony.
    StartPasskeyChallenge {
        challenge: crate::model::MfaChallenge,
        ceremony: crate::model::WebauthnCeremony,
    },
    /// A passwordless sign-in's ceremony (its user is known from the answer).
    BeginPasskeySignIn(crate::model::WebauthnCeremony),
    /// A passwordless sign-in: the passkey's assertion starts the session.
    SignInWithPasskey {
        sign_in: SignIn,
        proof: PasskeyUse,
    },

    CreateSocialProvider {
        fields: SocialProviderFields,
        sealed_secret: Option<String>,
    },
    /// `sealed_secret`: `None` keeps the secret, `Some(None)` removes it.
    UpdateSocialProvider {
        id: crate::ids::SocialProviderId,
        fields: SocialProviderFields,
        sealed_secret: Option<Option<String>>,
    },
    DeleteSocialProvider(crate::ids::SocialProviderId),
    /// A login leaves for the upstream provider.
    BeginSocialLogin(crate::model::SocialLoginState),
    /// ... and comes back: answers the user it names.
    FinishSocialLogin(SocialSignIn),

    /// A SCIM provisioning write.
    Scim(ScimWrite),

    /// A write of the SAML identity provider.
    Saml(SamlWrite),

    /// A settings change carrying usable secrets: as [`Op::UpdateSettings`], plus each such
    /// secret sealed under the master key on the leader (dotted path, ciphertext).
    UpdateSettingsSealed {
        section: SettingsSection,
        patch: String,
        secrets: Vec<SealedSecret>,
        sealed: Vec<(String, String)>,
    },
    /// What the outbound SCIM client did: its deliveries' attempts, the downstream ids it
    /// learnt or forgot, and a finished full sync.
    RecordScimPushes(Box<ScimPushReport>),
    /// Queues a full outbound SCIM sync (the admin's `sync`, or the batch interval).
    QueueScimBatchSync,
    /// Email delivery and templates.
    Email(EmailWrite),
    /// B2B organizations.
    SubOrg(SubOrgWrite),
    /// Sandbox orgs.
    Sandbox(SandboxWrite),
}

/// Fields of a new ABAC attribute definition (JSON payloads as text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAbacAttribute {
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub kind: crate::model::AttributeKind,
    pub data_type: String,
    pub validation_rules: Option<String>,
    pub default_value: Option<String>,
    pub is_required: bool,
}

/// A partial update of an attribute definition (`Some(None)` clears).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AbacAttributePatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub data_type: Option<String>,
    pub validation_rules: Option<Option<String>>,
    pub default_value: Option<Option<String>>,
    pub is_required: Option<bool>,
}

/// Fields of a new ABAC policy (conditions as JSON text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAbacPolicy {
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub resource_type: String,
    pub action: String,
    pub effect: String,
    pub priority: i64,
    pub conditions: String,
    pub is_active: bool,
}

/// A partial update of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AbacPolicyPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub resource_type: Option<String>,
    pub action: Option<String>,
    pub effect: Option<String>,
    pub priority: Option<i64>,
    pub conditions: Option<String>,
    pub is_active: Option<bool>,
}

/// Whose attribute value is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AbacValueTarget {
    User(UserId),
    Resource {
        resource_type: String,
        resource_id: String,
    },
}

/// A batch of tuple changes (tuples in their text form, `document:1#viewer@user:bob`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TupleWrite {
    pub writes: Vec<String>,
    pub deletes: Vec<String>,
    pub preconditions: Vec<TuplePrecondition>,
}

/// A tuple that must (or must not) exist for a [`TupleWrite`] to apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TuplePrecondition {
    pub tuple: String,
    pub must_exist: bool,
}

impl Op {
    /// A short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Op::InitOrg { .. } => "init_org",
            Op::UpdateTenant { .. } => "update_tenant",
            Op::CreateApiKey(_) => "create_api_key",
            Op::RevokeApiKey(_) => "revoke_api_key",
            Op::CreateUser(_) => "create_user",
            Op::UpdateUser { .. } => "update_user",
            Op::DeleteUser(_) => "delete_user",
            Op::SetUserBlocked { .. } => "set_user_blocked",
            Op::MarkUserVerified(_) => "mark_user_verified",
            Op::SetUserPassword { .. } => "set_user_password",
            Op::RequestEmail { .. } => "request_email",
            Op::LinkIdentity { .. } => "link_identity",
            Op::UnlinkIdentity { .. } => "unlink_identity",
            Op::Relate { .. } => "relate",
            Op::CreateGroup { .. } => "create_group",
            Op::UpdateGroup { .. } => "update_group",
            Op::DeleteGroup(_) => "delete_group",
            Op::CreateRole { .. } => "create_role",
            Op::UpdateRole { .. } => "update_role",
            Op::DeleteRole(_) => "delete_role",
            Op::CreatePermission(_) => "create_permission",
            Op::UpdatePermission { .. } => "update_permission",
            Op::DeletePermission(_) => "delete_permission",
            Op::CreateScope { .. } => "create_scope",
            Op::DeleteScope(_) => "delete_scope",
            Op::SetAuditRetention { .. } => "set_audit_retention",
            Op::CompactAudit { .. } => "compact_audit",
            Op::PurgeExpired { .. } => "purge_expired",
            Op::UpdateSettings { .. } => "update_settings",
            Op::FreezeOrg => "freeze_org",
            Op::ImportOrg { .. } => "import_org",
            Op::DropOrg => "drop_org",
            Op::ThawOrg => "thaw_org",
            Op::CreateClient(_) => "create_client",
            Op::SyncMetadataClient(_) => "sync_metadata_client",
            Op::UpdateClient { .. } => "update_client",
            Op::DeleteClient(_) => "delete_client",
            Op::RotateClientSecret { .. } => "rotate_client_secret",
            Op::AddSigningKey { .. } => "add_signing_key",
            Op::SignIn(_) => "sign_in",
            Op::RecordLoginFailure(_) => "record_login_failure",
            Op::GrantConsent { .. } => "grant_consent",
            Op::IssueCode { .. } => "issue_code",
            Op::IssueTokens(_) => "issue_tokens",
            Op::Revoke(_) => "revoke",
            Op::StartDeviceGrant { .. } => "start_device_grant",
            Op::DecideDeviceGrant { .. } => "decide_device_grant",
            Op::StartCiba { .. } => "start_ciba",
            Op::DecideCiba { .. } => "decide_ciba",
            Op::PushRequest { .. } => "push_request",
            Op::WriteRelationSchema { .. } => "write_relation_schema",
            Op::WriteRelationTuples(_) => "write_relation_tuples",
            Op::CreateAbacAttribute(_) => "create_abac_attribute",
            Op::UpdateAbacAttribute { .. } => "update_abac_attribute",
            Op::DeleteAbacAttribute(_) => "delete_abac_attribute",
            Op::CreateAbacPolicy(_) => "create_abac_policy",
            Op::UpdateAbacPolicy { .. } => "update_abac_policy",
            Op::DeleteAbacPolicy(_) => "delete_abac_policy",
            Op::ToggleAbacPolicy(_) => "toggle_abac_policy",
            Op::SetAbacValue { .. } => "set_abac_value",
            Op::CreateAgent(_) => "create_agent",
            Op::UpdateAgent { .. } => "update_agent",
            Op::DeleteAgent(_) => "delete_agent",
            Op::SwitchAgent { .. } => "switch_agent",
            Op::SetAgentKey { .. } => "set_agent_key",
            Op::RotateAgentSecret { .. } => "rotate_agent_secret",
            Op::Ask(_) => "ask",
            Op::CreateTask(_) => "create_task",
            Op::FinishTask(_) => "finish_task",
            Op::RequestPermission(_) => "request_permission",
            Op::DecideJitRequest(_) => "decide_jit_request",
            Op::IssueJitToken(_) => "issue_jit_token",
            Op::CreateApproval(_) => "create_approval",
            Op::CreateVaultConnection { .. } => "create_vault_connection",
            Op::DeleteVaultConnection { .. } => "delete_vault_connection",
            Op::CreateMcpServer(_) => "create_mcp_server",
            Op::DeleteMcpServer(_) => "delete_mcp_server",
            Op::AuthorizeMcpTool(_) => "authorize_mcp_tool",
            Op::DecideApproval { .. } => "decide_approval",
            Op::AddAAuthKey(_) => "add_aauth_key",
            Op::SetAAuthAgent { .. } => "set_aauth_agent",
            Op::CreateAAuthResource(_) => "create_aauth_resource",
            Op::UpdateAAuthResource(_) => "update_aauth_resource",
            Op::DeleteAAuthResource(_) => "delete_aauth_resource",
            Op::UseAAuthNonce { .. } => "use_aauth_nonce",
            Op::OpenAAuthConsent(_) => "open_aauth_consent",
            Op::DecideAAuthConsent(_) => "decide_aauth_consent",
            Op::IssueAAuthToken(_) => "issue_aauth_token",
            Op::RevokeAAuthToken(_) => "revoke_aauth_token",
            Op::CreateWebhook { .. } => "create_webhook",
            Op::UpdateWebhook { .. } => "update_webhook",
            Op::DeleteWebhook(_) => "delete_webhook",
            Op::RotateWebhookSecret { .. } => "rotate_webhook_secret",
            Op::RecordWebhookAttempts(_) => "record_webhook_attempts",
            Op::ReplayWebhookDelivery { .. } => "replay_webhook_delivery",
            Op::SendWebhookEvent { .. } => "send_webhook_event",
            Op::EnrollAuthenticator(_) => "enroll_authenticator",
            Op::VerifyAuthenticator { .. } => "verify_authenticator",
            Op::UpdateAuthenticator { .. } => "update_authenticator",
            Op::RemoveAuthenticator { .. } => "remove_authenticator",
            Op::SetRecoveryCodes { .. } => "set_recovery_codes",
            Op::StartMfaChallenge(_) => "start_mfa_challenge",
            Op::AnswerMfaChallenge { .. } => "answer_mfa_challenge",
            Op::RevokeTrustedDevice(_) => "revoke_trusted_device",
            Op::IssueAccessCode(_) => "issue_temporary_access_code",
            Op::SignInWithMfa(_) => "sign_in",
            Op::EnrollPasskey { .. } => "enroll_authenticator",
            Op::StartPasskeyChallenge { .. } => "start_mfa_challenge",
            Op::BeginPasskeySignIn(_) => "begin_passkey_sign_in",
            Op::SignInWithPasskey { .. } => "sign_in",
            Op::CreateSocialProvider { .. } => "create_social_provider",
            Op::UpdateSocialProvider { .. } => "update_social_provider",
            Op::DeleteSocialProvider(_) => "delete_social_provider",
            Op::BeginSocialLogin(_) => "begin_social_login",
            Op::FinishSocialLogin(_) => "finish_social_login",
            Op::Scim(ScimWrite::PutUser { create: true, .. }) => "scim_create_user",
            Op::Scim(ScimWrite::PutUser { .. }) => "scim_replace_user",
            Op::Scim(ScimWrite::DeleteUser { .. }) => "scim_delete_user",
            Op::Scim(ScimWrite::PutGroup { create: true, .. }) => "scim_create_group",
            Op::Scim(ScimWrite::PutGroup { .. }) => "scim_replace_group",
            Op::Scim(ScimWrite::DeleteGroup { .. }) => "scim_delete_group",
            Op::Scim(ScimWrite::PutMe { .. }) => "scim_update_me",
            Op::Saml(SamlWrite::CreateApp(_)) => "create_saml_app",
            Op::Saml(SamlWrite::UpdateApp { .. }) => "update_saml_app",
            Op::Saml(SamlWrite::CreateAppWithMore(..)) => "create_saml_app",
            Op::Saml(SamlWrite::UpdateAppWithMore { .. }) => "update_saml_app",
            Op::Saml(SamlWrite::CreateIdpWithMore(..)) => "create_saml_idp",
            Op::Saml(SamlWrite::UpdateIdpWithMore { .. }) => "update_saml_idp",
            Op::Saml(SamlWrite::SignedOnInSession { .. }) => "saml_sign_on",
            Op::Saml(SamlWrite::PutLogoutChain(_)) => "saml_logout_chain",
            Op::Saml(SamlWrite::EndLogoutChain(_)) => "saml_logout_chain_end",
            Op::Saml(SamlWrite::DeleteApp(_)) => "delete_saml_app",
            Op::Saml(SamlWrite::SetIdpKey(_)) => "set_saml_idp_key",
            Op::Saml(SamlWrite::SignedOn { .. }) => "saml_sign_on",
            Op::Saml(SamlWrite::CreateIdp(_)) => "create_saml_idp",
            Op::Saml(SamlWrite::UpdateIdp { .. }) => "update_saml_idp",
            Op::Saml(SamlWrite::DeleteIdp(_)) => "delete_saml_idp",
            Op::Saml(SamlWrite::BeginSpLogin(_)) => "begin_saml_login",
            Op::Saml(SamlWrite::RelinkLegacy { .. }) => "relink_legacy_saml",
            Op::Saml(SamlWrite::FinishSpLogin(_)) => "finish_saml_login",
            Op::UpdateSettingsSealed { .. } => "update_settings",
            Op::RecordScimPushes(_) => "record_scim_pushes",
            Op::QueueScimBatchSync => "queue_scim_batch_sync",
            Op::Email(write) => write.name(),
            Op::SubOrg(write) => write.name(),
            Op::Sandbox(write) => write.name(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_keys_accept_uuid_or_email_only() {
        let id = UserId::generate();
        assert_eq!(id.to_string().parse::<UserKey>(), Ok(UserKey::Id(id)));
        assert_eq!(
            " Ada@Example.com".parse::<UserKey>(),
            Ok(UserKey::Email("ada@example.com".into()))
        );
        assert!("12345".parse::<UserKey>().is_err());
    }

    fn round_trip(op: &Op) {
        let bytes = bincode::serde::encode_to_vec(op, bincode::config::standard()).expect("encode");
        let (back, _): (Op, usize) =
            bincode::serde::decode_from_slice(&bytes, bincode::config::standard())
                .unwrap_or_else(|e| panic!("{} does not decode: {e}", op.name()));
        assert_eq!(&back, op);
    }

    /// The log codec (bincode) cannot decode free-form JSON values; a command that carried one
    /// would stop its Raft group. Every OAuth write must survive it.
    #[test]
    fn oauth_commands_survive_the_log_codec() {
        use crate::clock::Timestamp;
        use crate::model::{ApprovalState, AuthCode, DeviceGrant, LoginSession, PushedRequest};
        let user = UserId::generate();
        let at = Timestamp(1_700_000_000_000);
        let client = NewClient {
            client_id: "c".into(),
            name: "n".into(),
            description: None,
            confidential: true,
            secret_hash: Some("h".into()),
            redirect_uris: vec!["https://a/cb".into()],
            post_logout_redirect_uris: vec![],
            grant_types: vec!["authorization_code".into()],
            scopes: vec!["openid".into()],
            requires_pkce: false,
            is_active: true,
            token_endpoint_auth_method: "client_secret_basic".into(),
            access_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 60,
            skip_consent: false,
            registration: Some(NewRegistration {
                access_token_hash: "x".into(),
                metadata: r#"{"client_name":"n"}"#.into(),
            }),
            jwks: Some(r#"{"keys":[]}"#.into()),
        };
        let session = LoginSession {
            id: 0,
            secret_hash: "s".into(),
            user_id: user,
            user_email: "a@b.c".into(),
            created_at: at,
            last_activity_at: at,
            expires_at: at,
            auth_time: at,
            ip: None,
            user_agent: None,
            revoked_at: None,
            clients: vec![],
            amr: Vec::new(),
        };
        let ops = vec![
            Op::CreateClient(client),
            Op::UpdateClient {
                client: ClientKey::Id(1),
                patch: ClientPatch {
                    jwks: Some(Some("{}".into())),
                    ..ClientPatch::default()
                },
            },
            Op::AddSigningKey {
                key: NewSigningKey {
                    kid: "k".into(),
                    alg: crate::crypto::JwsAlg::ES256,
                    public_jwk: r#"{"kty":"EC"}"#.into(),
                    sealed_private: "p".into(),
                },
                only_if_none: true,
                retain_old_until: at,
            },
            Op::SignIn(SignIn {
                session,
                method: "password".into(),
                client_id: None,
            }),
            Op::IssueCode {
                hash: "h".into(),
                code: AuthCode {
                    client_id: "c".into(),
                    user_id: user,
                    session_id: 1,
                    redirect_uri: "https://a/cb".into(),
                    scopes: vec![],
                    nonce: None,
                    code_challenge: None,
                    code_challenge_method: None,
                    auth_time: at,
                    resources: vec![],
                    created_at: at,
                    expires_at: at,
                    consumed_at: None,
                    issued_jti: None,
                    issued_family: None,
                },
                pushed: Some("urn:ietf:params:oauth:request_uri:x".into()),
            },
            Op::IssueTokens(Issuance {
                consume: Some(Consume::Refresh("h".into())),
                access: NewAccessToken {
                    jti: "j".into(),
                    client_id: Some("c".into()),
                    user_id: Some(user),
                    scopes: vec![],
                    audience: vec![],
                    grant_type: "refresh_token".into(),
                    expires_at: at,
                    session_id: Some(1),
                    derived: Lineage {
                        parent_jti: Some("p".into()),
                        family: Some("f".into()),
                    },
                },
                refresh: None,
            }),
            Op::Revoke(RevokeTarget::UserSessions(UserKey::Id(user))),
            Op::StartDeviceGrant {
                hash: "h".into(),
                grant: DeviceGrant {
                    client_id: "c".into(),
                    user_code: "BCDF-GHJK".into(),
                    scopes: vec![],
                    created_at: at,
                    expires_at: at,
                    interval_secs: 5,
                    state: ApprovalState::Approved {
                        user_id: user,
                        session_id: None,
                        at,
                    },
                },
            },
            Op::PushRequest {
                request_uri: "urn:x".into(),
                request: PushedRequest {
                    client_id: "c".into(),
                    params: vec![("a".into(), "b".into())],
                    expires_at: at,
                },
            },
        ];
        for op in &ops {
            round_trip(op);
        }
    }

    #[test]
    fn commands_survive_the_log_codec() {
        let op = Op::UpdateUser {
            user: UserKey::Email("a@b.c".into()),
            patch: UserPatch {
                name: Some(None),
                given_name: Some(Some("Ada".into())),
                ..UserPatch::default()
            },
        };
        let bytes =
            bincode::serde::encode_to_vec(&op, bincode::config::standard()).expect("encode");
        let (back, _): (Op, usize) =
            bincode::serde::decode_from_slice(&bytes, bincode::config::standard()).expect("decode");
        assert_eq!(back, op);
    }
}
