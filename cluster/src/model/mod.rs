//! Entities as stored in the state machine (JSON values under org-prefixed keys).

mod aauth;
mod abac;
mod access;
mod agent;
mod api_key;
mod approval;
mod audit;
mod directory;
mod email_template;
mod grants;
mod identity;
mod jit;
mod mcp;
pub mod mfa;
mod named;
mod node;
mod oauth_client;
mod org;
pub mod passkey;
mod permission;
mod relation_tuples;
mod saml;
mod sandbox;
mod scim;
mod scim_outbound;
mod scope;
mod social;
mod suborg;
mod user;
mod vault;
mod webhook;
mod webhook_events;

pub use aauth::{
    AAuthAgent, AAuthCode, AAuthEntity, AAuthGrant, AAuthPending, AAuthRefresh, AAuthResource,
    AAuthSeen, OkpKey,
};
pub use abac::{AbacPolicyRecord, AttributeDefinition, AttributeKind, AttributeValue};
pub use access::{AdminScope, Family, Principal, PrincipalKind, SCIM_SCOPE};
pub use agent::{Agent, BudgetPolicy, DailyUsage, WorkloadBinding, capability_covers};
pub use api_key::{ApiKey, NewApiKey};
pub use approval::{
    APPROVAL_TTL_SECS, AgentApproval, ApprovalStatus as AgentApprovalStatus, user_number,
};
pub use audit::{AuditBody, AuditChainHead, AuditEvent, AuditRecord, AuditRetention, GENESIS_HASH};
pub use directory::{DirectoryEntry, NodeRecord, NodeState, OrgState, ShardDescriptor};
pub use email_template::EmailTemplateRecord;
pub use grants::{
    AccessTokenRecord, ApprovalState, AuthCode, CibaRequest, Consent, DeviceGrant, LoginFailures,
    LoginSession, PushedRequest, RefreshFamily, RefreshTokenRecord,
};
pub use identity::{IdentityKind, IdentityLink};
pub use jit::{
    DEFAULT_JIT_TTL_SECS, JitRequest, JitTask, MAX_JIT_TTL_SECS, PENDING_TTL_SECS, RequestStatus,
    RiskLevel, TASK_TTL_SECS, TaskStatus, assess_risk,
};
pub use mcp::{MCP_TOKEN_LIFETIME, McpServer, server_id_of};
pub use mfa::{
    Authenticator, AuthenticatorState, ChallengePurpose, ChallengeStatus, FactorKind, MfaChallenge,
    MfaLockout, RecoveryCodes, TemporaryAccessCode, TrustedDevice,
};
pub use named::{Group, NamedEntity, Role, slugify};
pub use node::{GroupKind, GroupStatus, NodeInfo};
pub use oauth_client::{
    ClientRegistration, OAuthClient, RetiredSecret, SigningKeyRecord, SigningKeyState,
};
pub use org::{OrgCounters, OrgRecord};
pub use passkey::{PasskeyCredential, WebauthnCeremony};
pub use permission::Permission;
pub use relation_tuples::{StoredSchema, StoredTuple, TupleChange, TupleChangeKind};
pub use saml::{
    ATTRIBUTE_SOURCES, DEFAULT_ATTRIBUTES, NAME_ID_FORMATS, SAML_CERT_DAYS, SAML_SP_LOGIN_TTL_MS,
    SamlApp, SamlHead, SamlIdp, SamlIdpKey, SamlLogoutChain, SamlSessionApp, SamlSpLogin,
    name_id_format_of, name_id_format_uri,
};
pub use sandbox::{
    DEFAULT_SANDBOX_TTL_HOURS, MAX_LIVE_SANDBOXES, MAX_SANDBOX_TTL_HOURS, SandboxRecord,
};
pub use scim::{ScimExtra, group_version, user_version, version_of};
pub use scim_outbound::{
    BATCH_EVENT, SCIM_KIND, SCIM_MAPPABLE_FIELDS, ScimResourceKind, ScimTarget, is_enabled,
    scim_link_key, scim_target_of, subscribed_events,
};
pub use scope::Scope;
pub use social::{
    SOCIAL_LOGIN_TTL_MS, SocialHead, SocialLoginState, SocialProvider, UpstreamIdentity,
    is_provider_slug,
};
pub use suborg::{
    InvitationStatus, MemberStatus, Membership, SubOrg, SubOrgChoice, SubOrgHead, SubOrgInvitation,
    SubOrgMember, SubOrgRole, choice_key, member_of_key, sub_org_key,
};
pub use user::{EmailRequest, EmailRequestKind, User, email_request_fields};
pub use vault::VaultConnection;
pub use webhook::{
    DeliveryAttempt, DeliveryStatus, EMAIL_EVENTS, EMAIL_KIND, TUNNEL_KIND, Webhook,
    WebhookDelivery, WebhookHead, hidden_owner,
};
pub use webhook_events::{is_webhook_event, webhook_event_catalog};

/// A reference to an entity as the API names it: `{id, name, slug}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EntityRef {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
}
