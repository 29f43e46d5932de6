//! What the API asks an org's authorization server: one request per protocol endpoint or
//! hosted-page step.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::token_request::TokenRequest;
use super::token_type::TokenTypeHint;
use crate::caller::Credential;
use crate::command::MetadataClient;
use crate::crypto::JwsAlg;
use crate::crypto::http_signature::HttpMessage;
use crate::ids::UserId;

/// How a client authenticated at a protocol endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientAuth {
    pub client_id: Option<String>,
    pub secret: Option<String>,
    /// `client_secret_basic`, `client_secret_post` or `none`.
    pub method: String,
}

/// Form or query parameters, by name (each sent at most once).
pub type Params = BTreeMap<String, String>;

/// A request to an org's authorization server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProtocolRequest {
    /// The published public keys.
    Jwks,
    /// The org's branding, for pages that show nothing else.
    Branding,
    /// `POST ~/oauth/token`.
    Token {
        issuer: String,
        client: ClientAuth,
        request: TokenRequest,
    },
    /// `POST ~/oauth/introspect`.
    Introspect {
        issuer: String,
        client: ClientAuth,
        token: String,
        hint: Option<TokenTypeHint>,
    },
    /// `POST ~/oauth/revoke`.
    Revoke {
        client: ClientAuth,
        token: String,
        hint: Option<TokenTypeHint>,
    },
    /// `GET|POST ~/oauth/userinfo`.
    Userinfo { token: String },
    /// `GET|POST ~/oauth/authorize`: validate, then log in, ask consent or issue a code.
    Authorize {
        issuer: String,
        params: Params,
        session: Option<String>,
        /// The consent form's decision, when this is its submission.
        consent: Option<bool>,
    },
    /// The user an email names, for the frontend to check the password.
    LoginCandidate { email: String },
    /// The password was right: start a session.
    SignIn {
        user: UserId,
        client_id: Option<String>,
        method: String,
    },
    /// The password was wrong (or the account unusable).
    LoginFailed {
        email: String,
        user: Option<UserId>,
        reason: String,
        client_id: Option<String>,
    },
    /// The session a cookie points at, if it is active.
    Session { cookie: String },
    /// RP-initiated logout.
    Logout {
        issuer: String,
        cookie: Option<String>,
        params: Params,
        confirmed: bool,
    },
    /// `POST ~/oauth/par`.
    Par {
        issuer: String,
        client: ClientAuth,
        params: Params,
    },
    /// `POST ~/oauth/device_authorization`.
    DeviceAuthorize {
        issuer: String,
        client: ClientAuth,
        scope: Option<String>,
    },
    /// The request a user code belongs to (verification page).
    DeviceLookup { user_code: String },
    /// The signed-in user approves or denies a device.
    DeviceDecide {
        user_code: String,
        approve: bool,
        cookie: String,
    },
    /// `POST ~/oauth/bc-authorize`.
    Ciba { client: ClientAuth, params: Params },
    /// Pending CIBA requests of the signed-in user.
    CibaPending { cookie: String },
    /// The signed-in user's pending agent approvals.
    ApprovalsPending { cookie: String },
    /// An administrator stores an agent's upstream token in the vault (sealed there).
    StoreConnection {
        credential: Credential,
        connection: NewConnection,
    },
    /// An administrator creates a webhook or rotates its secret; the secret is sealed on the
    /// leader, where the master key is.
    WebhookSecret {
        credential: Credential,
        change: WebhookSecretChange,
    },
    /// An administrator's settings change carrying secrets the server must use later: they
    /// are sealed on the leader, where the master key is.
    UpdateSettings {
        credential: Credential,
        section: crate::settings::SettingsSection,
        /// The JSON object, as sent.
        patch: String,
    },
    /// A user's own MFA call (enroll, verify, challenges), where secrets are.
    Mfa {
        credential: Credential,
        call: super::MfaCall,
    },
    /// A step of the page an emailed link opens (verify an address, reset a password).
    EmailLink(super::EmailLinkStep),
    /// A step of the hosted sign-in's second factor.
    LoginMfa(super::LoginStep),
    /// Social login: a provider's admin change, or a login's leg.
    Social(super::SocialStep),
    /// The SAML identity provider.
    Saml(super::SamlStep),
    /// An administrator sends a test event to a webhook, synchronously.
    WebhookTest {
        credential: Credential,
        id: crate::ids::WebhookId,
    },
    /// The calling agent takes one of its connections' upstream token.
    ConnectionToken {
        credential: Credential,
        connection_id: String,
        user_id: Option<String>,
    },
    /// The workload binding of an agent (issuer and key set URL), for attestation.
    AgentWorkload { agent: crate::command::AgentKey },
    /// Exchanges a workload's OIDC token for the agent's access token; `keys` are the
    /// issuer's public JWKs, fetched by the frontend.
    Attest {
        issuer: String,
        agent: crate::command::AgentKey,
        token: String,
        keys: Vec<serde_json::Value>,
    },
    /// An agent's signed A2A card.
    AgentCard {
        issuer: String,
        agent: crate::command::AgentKey,
    },
    /// RFC 9728 metadata of one MCP server, or of the org's servers.
    McpMetadata {
        issuer: String,
        server_id: Option<String>,
    },
    /// Judges a token as the MCP server `server_id` would.
    McpChallenge {
        server_id: String,
        token: Option<String>,
    },
    /// The org's pending JIT requests, for a signed-in reviewer.
    JitReviewPending { cookie: String },
    /// A signed-in reviewer decides a JIT request.
    JitReviewDecide {
        cookie: String,
        request_id: String,
        approve: bool,
    },
    /// The signed-in user answers an agent approval.
    ApprovalDecide {
        cookie: String,
        token: String,
        approve: bool,
    },
    /// The signed-in user approves or denies a CIBA request.
    CibaDecide {
        cookie: String,
        id: String,
        approve: bool,
    },
    /// `POST ~/connect/register` (RFC 7591).
    Register {
        issuer: String,
        credential: Credential,
        metadata: serde_json::Value,
    },
    /// `GET ~/connect/register/{clientId}` (RFC 7592).
    ReadRegistration {
        issuer: String,
        client_id: String,
        token: String,
    },
    /// Replaces the org's signing key (admin extension).
    RotateSigningKey { credential: Credential, alg: JwsAlg },
    /// The agent of an approved JIT request takes its grant's token.
    JitToken {
        credential: Credential,
        issuer: String,
        request_id: String,
    },
    /// An admin mints a token for an agent (`admin:agents`).
    AgentToken {
        credential: Credential,
        issuer: String,
        agent: crate::command::AgentKey,
        scopes: Option<Vec<String>>,
        ttl_secs: u64,
    },
    /// The org's CIMD policy and what it holds for a URL `client_id`.
    MetadataClientPolicy { client_id: String },
    /// Creates or refreshes the shadow client of a validated metadata document.
    SyncMetadataClient(MetadataClient),
    /// A public AAuth discovery document or key set.
    AAuthDocument {
        issuer: String,
        document: AAuthDocument,
    },
    /// A request to a signed AAuth endpoint, as received (verified on the leader).
    AAuthSigned {
        issuer: String,
        endpoint: AAuthEndpoint,
        message: HttpMessage,
    },
    /// What the signed-in user is asked to consent to.
    AAuthConsentView {
        cookie: String,
        request_token: String,
    },
    /// The signed-in user's answer; the reply says where the browser goes.
    AAuthConsentDecide {
        cookie: String,
        request_token: String,
        approve: bool,
    },
}

/// The public AAuth documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AAuthDocument {
    Issuer,
    IssuerJwks,
    Agents,
    Agent(String),
    AgentJwks(String),
    Resources,
    Resource(String),
    ResourceJwks(String),
}

/// The signed AAuth endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AAuthEndpoint {
    AgentToken,
    IssueAgentToken,
    PlatformToken,
    ResourceToken,
    Revoke,
    VerifyAuthToken,
    VerifyResourceToken,
}

/// A token vault connection as an administrator stores it (the token still in the clear).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewConnection {
    pub agent: crate::command::AgentKey,
    pub id: String,
    pub name: String,
    pub provider: String,
    pub provider_label: String,
    pub scopes: Vec<String>,
    pub access_token: String,
    pub expires_at: Option<crate::clock::Timestamp>,
}

impl ProtocolRequest {
    /// A short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            ProtocolRequest::Jwks => "jwks",
            ProtocolRequest::Branding => "branding",
            ProtocolRequest::Token { .. } => "token",
            ProtocolRequest::Introspect { .. } => "introspect",
            ProtocolRequest::Revoke { .. } => "revoke",
            ProtocolRequest::Userinfo { .. } => "userinfo",
            ProtocolRequest::Authorize { .. } => "authorize",
            ProtocolRequest::LoginCandidate { .. } => "login_candidate",
            ProtocolRequest::SignIn { .. } => "sign_in",
            ProtocolRequest::LoginFailed { .. } => "login_failed",
            ProtocolRequest::Session { .. } => "session",
            ProtocolRequest::Logout { .. } => "logout",
            ProtocolRequest::Par { .. } => "par",
            ProtocolRequest::DeviceAuthorize { .. } => "device_authorize",
            ProtocolRequest::DeviceLookup { .. } => "device_lookup",
            ProtocolRequest::DeviceDecide { .. } => "device_decide",
            ProtocolRequest::Ciba { .. } => "ciba",
            ProtocolRequest::CibaPending { .. } => "ciba_pending",
            ProtocolRequest::ApprovalsPending { .. } => "approvals_pending",
            ProtocolRequest::JitReviewPending { .. } => "jit_review_pending",
            ProtocolRequest::JitReviewDecide { .. } => "jit_review_decide",
            ProtocolRequest::StoreConnection { .. } => "store_connection",
            ProtocolRequest::WebhookSecret { .. } => "webhook_secret",
            ProtocolRequest::WebhookTest { .. } => "webhook_test",
            ProtocolRequest::UpdateSettings { .. } => "update_settings",
            ProtocolRequest::EmailLink(_) => "email_link",
            ProtocolRequest::Mfa { .. } => "mfa",
            ProtocolRequest::LoginMfa(_) => "login_mfa",
            ProtocolRequest::Social(_) => "social",
            ProtocolRequest::Saml(_) => "saml",
            ProtocolRequest::ConnectionToken { .. } => "connection_token",
            ProtocolRequest::AgentWorkload { .. } => "agent_workload",
            ProtocolRequest::Attest { .. } => "attest",
            ProtocolRequest::AgentCard { .. } => "agent_card",
            ProtocolRequest::McpMetadata { .. } => "mcp_metadata",
            ProtocolRequest::McpChallenge { .. } => "mcp_challenge",
            ProtocolRequest::ApprovalDecide { .. } => "approval_decide",
            ProtocolRequest::CibaDecide { .. } => "ciba_decide",
            ProtocolRequest::Register { .. } => "register",
            ProtocolRequest::ReadRegistration { .. } => "read_registration",
            ProtocolRequest::RotateSigningKey { .. } => "rotate_signing_key",
            ProtocolRequest::AgentToken { .. } => "agent_token",
            ProtocolRequest::JitToken { .. } => "jit_token",
            ProtocolRequest::MetadataClientPolicy { .. } => "metadata_client_policy",
            ProtocolRequest::SyncMetadataClient(_) => "sync_metadata_client",
            ProtocolRequest::AAuthDocument { .. } => "aauth_document",
            ProtocolRequest::AAuthSigned { .. } => "aauth_signed",
            ProtocolRequest::AAuthConsentView { .. } => "aauth_consent_view",
            ProtocolRequest::AAuthConsentDecide { .. } => "aauth_consent_decide",
        }
    }
}

/// What a [`ProtocolRequest::WebhookSecret`] does with a new plain secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WebhookSecretChange {
    Create {
        fields: crate::command::WebhookFields,
        secret: String,
    },
    Rotate {
        id: crate::ids::WebhookId,
        secret: String,
        /// Seconds the old secret stays valid (0: at once replaced).
        grace_secs: u64,
    },
}
