//! The scope family each request touches, derived from what it reads or writes.

use crate::command::{EntityKey, Op, RevokeTarget};
use crate::model::Family;
use crate::query::{Query, Request};

/// The family a request touches and whether it writes.
pub fn access_of(request: &Request) -> (Family, bool) {
    match request {
        Request::Read(query) => (query_family(query), false),
        Request::Write { op, .. } => (op_family(op), true),
        Request::Admit { family, write } => (*family, *write),
        Request::Protocol(_) => (Family::Protocol, true),
        Request::Check(_) => (Family::Decisions, false),
    }
}

/// Relations belong to the family of the entity they hang off.
fn anchor_family(anchor: &EntityKey) -> Family {
    match anchor {
        EntityKey::User(_) => Family::Users,
        EntityKey::Group(_) => Family::Groups,
        EntityKey::Role(_) | EntityKey::Permission(_) => Family::Roles,
    }
}

/// The family a read touches.
pub fn query_family(query: &Query) -> Family {
    match query {
        Query::Me
        | Query::MyAuthenticators
        | Query::RecoveryCodeStatus
        | Query::TrustedDevices
        | Query::MfaChallenge(_)
        | Query::StepUp(_)
        // The policy a new password must meet is no secret: any credential of the org (a
        // user's token, the SCIM client) may read it.
        | Query::PasswordPolicy
        // A user's own SCIM view: any user's token.
        | Query::ScimMe => Family::Identity,
        Query::UserAuthenticators(_) | Query::MfaCoverage => Family::Users,
        Query::GetUser(_)
        | Query::ListUsers(_)
        | Query::UserIdentities(_)
        | Query::UserEffectivePermissions(_)
        | Query::LegacySamlReport { .. } => Family::Users,
        Query::Related { anchor, .. } => anchor_family(anchor),
        Query::GetGroup(_) | Query::ListGroups(_) => Family::Groups,
        Query::GetRole(_)
        | Query::ListRoles(_)
        | Query::GetPermission(_)
        | Query::ListPermissions(_)
        | Query::PermissionUsage(_)
        | Query::ListScopes(_)
        | Query::GetScope(_) => Family::Roles,
        Query::ListAudit(_)
        | Query::GetAudit(_)
        | Query::AuditActions(_)
        | Query::AuditStats { .. }
        | Query::ExportAudit(_)
        | Query::AuditRetention
        | Query::VerifyAudit => Family::Audit,
        Query::Settings(_) | Query::AllSettings | Query::Tenant | Query::EmailTemplates => {
            Family::Settings
        }
        Query::SubOrgs(_) => Family::Organizations,
        Query::Sandboxes | Query::SandboxExport => Family::Sandbox,
        Query::AnalyticsDashboard
        | Query::AnalyticsLogins { .. }
        | Query::AnalyticsUsers { .. } => Family::Analytics,
        Query::ListApiKeys => Family::ApiKeys,
        Query::GetClient(_)
        | Query::ListClients(_)
        | Query::ListTokens(_)
        | Query::ClientPolicy => Family::Clients,
        Query::ListSessions { .. } | Query::UserSessions(_) | Query::SessionStats => Family::Users,
        Query::SigningKeys => Family::Settings,
        Query::RelationSchema
        | Query::RelationTuples { .. }
        | Query::RelationChanges { .. }
        | Query::AbacAttributes { .. }
        | Query::AbacAttribute(_)
        | Query::AbacPolicies(_)
        | Query::AbacPolicy(_) => Family::Authorization,
        // Read right after a value was set by its writer (`abac_writer.rs`).
        Query::AbacValue { .. } => Family::Decisions,
        Query::GetAgent(_)
        | Query::ListAgents(_)
        | Query::McpServer(_)
        | Query::McpServers(_)
        | Query::AAuthAgent(_)
        | Query::AAuthResource(_)
        | Query::AAuthResources(_)
        | Query::AgentConnections(_) => Family::Agents,
        Query::Webhooks(_)
        | Query::Webhook(_)
        | Query::WebhookDeliveries { .. }
        | Query::WebhookDelivery { .. } => Family::Webhooks,
        Query::SocialProviders(_) | Query::SocialProvider(_) => Family::Settings,
        Query::SamlApps(_) | Query::SamlApp(_) => Family::Settings,
        Query::SamlIdps(_) | Query::SamlIdp(_) => Family::Settings,
        Query::ScimUsers
        | Query::ScimUser(_)
        | Query::ScimGroups
        | Query::ScimGroup(_)
        | Query::ScimInboundMapping => {
            Family::Scim
        }
        Query::AgentMe
        | Query::JitRequest(_)
        | Query::JitTask(_)
        | Query::PendingJit(_)
        | Query::Approval(_)
        | Query::MyConnections => Family::AgentRuntime,
    }
}

/// The family a write touches.
pub fn op_family(op: &Op) -> Family {
    match op {
        Op::InitOrg { .. } | Op::CreateApiKey(_) | Op::RevokeApiKey(_) => Family::ApiKeys,
        Op::UpdateTenant { .. } | Op::UpdateSettings { .. } => Family::Settings,
        Op::CreateUser(_)
        | Op::UpdateUser { .. }
        | Op::DeleteUser(_)
        | Op::SetUserBlocked { .. }
        | Op::MarkUserVerified(_)
        | Op::SetUserPassword { .. }
        | Op::RequestEmail { .. }
        | Op::LinkIdentity { .. }
        | Op::UnlinkIdentity { .. } => Family::Users,
        Op::Relate { anchor, .. } => anchor_family(anchor),
        Op::CreateGroup { .. } | Op::UpdateGroup { .. } | Op::DeleteGroup(_) => Family::Groups,
        Op::CreateRole { .. }
        | Op::UpdateRole { .. }
        | Op::DeleteRole(_)
        | Op::CreatePermission(_)
        | Op::UpdatePermission { .. }
        | Op::DeletePermission(_)
        | Op::CreateScope { .. }
        | Op::DeleteScope(_) => Family::Roles,
        Op::SetAuditRetention { .. } | Op::CompactAudit { .. } => Family::Audit,
        Op::PurgeExpired { .. } => Family::Protocol,
        Op::FreezeOrg | Op::ImportOrg { .. } | Op::DropOrg | Op::ThawOrg => Family::ApiKeys,
        Op::SyncMetadataClient(_) => Family::Protocol,
        Op::CreateClient(_)
        | Op::UpdateClient { .. }
        | Op::DeleteClient(_)
        | Op::RotateClientSecret { .. } => Family::Clients,
        Op::AddSigningKey { .. } => Family::Settings,
        Op::Revoke(target) => match target {
            RevokeTarget::UserTokens(_)
            | RevokeTarget::Session(_)
            | RevokeTarget::UserSessions(_)
            | RevokeTarget::AllSessions => Family::Users,
            RevokeTarget::AccessId(_) | RevokeTarget::ClientTokens(_) => Family::Clients,
            RevokeTarget::AccessJti(_) | RevokeTarget::Refresh(_) => Family::Protocol,
        },
        Op::SignIn(_)
        | Op::RecordLoginFailure(_)
        | Op::GrantConsent { .. }
        | Op::IssueCode { .. }
        | Op::IssueTokens(_)
        | Op::StartDeviceGrant { .. }
        | Op::DecideDeviceGrant { .. }
        | Op::StartCiba { .. }
        | Op::DecideCiba { .. }
        | Op::PushRequest { .. } => Family::Protocol,
        Op::WriteRelationSchema { .. }
        | Op::WriteRelationTuples(_)
        | Op::CreateAbacAttribute(_)
        | Op::UpdateAbacAttribute { .. }
        | Op::DeleteAbacAttribute(_)
        | Op::CreateAbacPolicy(_)
        | Op::UpdateAbacPolicy { .. }
        | Op::DeleteAbacPolicy(_)
        | Op::ToggleAbacPolicy(_) => Family::Authorization,
        // Values are set through the ABAC runtime by a user token only (`abac_writer.rs`).
        Op::SetAbacValue { .. } => Family::Decisions,
        Op::CreateAgent(_)
        | Op::UpdateAgent { .. }
        | Op::DeleteAgent(_)
        | Op::SwitchAgent { .. }
        | Op::SetAgentKey { .. }
        | Op::RotateAgentSecret { .. }
        | Op::CreateMcpServer(_)
        | Op::DeleteMcpServer(_)
        | Op::DeleteVaultConnection { .. }
        | Op::SetAAuthAgent { .. }
        | Op::CreateAAuthResource(_)
        | Op::UpdateAAuthResource(_)
        | Op::DeleteAAuthResource(_) => Family::Agents,
        // Sealed by the protocol side after it judged the credential (`admin:agents`).
        Op::CreateVaultConnection { .. } => Family::Protocol,
        Op::CreateWebhook { .. }
        | Op::UpdateWebhook { .. }
        | Op::DeleteWebhook(_)
        | Op::RotateWebhookSecret { .. }
        | Op::ReplayWebhookDelivery { .. }
        | Op::SendWebhookEvent { .. }
        // The dispatcher records attempts as the system; a tunnel's event stream records
        // what it handed to the developer's stream with the developer's credential.
        | Op::RecordWebhookAttempts(_) => Family::Webhooks,
        Op::CreateSocialProvider { .. }
        | Op::UpdateSocialProvider { .. }
        | Op::DeleteSocialProvider(_) => Family::Settings,
        Op::BeginSocialLogin(_) | Op::FinishSocialLogin(_) => Family::Protocol,
        Op::Scim(crate::command::ScimWrite::PutMe { .. }) => Family::Identity,
        Op::Scim(_) => Family::Scim,
        Op::UpdateSettingsSealed { .. } | Op::RecordScimPushes(_) | Op::QueueScimBatchSync => {
            Family::Settings
        }
        Op::Email(crate::command::EmailWrite::Request { .. }) => Family::Users,
        Op::Email(crate::command::EmailWrite::UseLink { .. }) => Family::Protocol,
        Op::Email(_) => Family::Settings,
        Op::SubOrg(
            crate::command::SubOrgWrite::Accept { .. } | crate::command::SubOrgWrite::Choose { .. },
        ) => Family::Protocol,
        Op::SubOrg(_) => Family::Organizations,
        // Seeding is the server's own write into a new sandbox.
        Op::Sandbox(crate::command::SandboxWrite::Seed { .. }) => Family::ApiKeys,
        Op::Sandbox(_) => Family::Sandbox,
        Op::Saml(
            crate::command::SamlWrite::CreateApp(_)
            | crate::command::SamlWrite::UpdateApp { .. }
            | crate::command::SamlWrite::CreateAppWithMore(..)
            | crate::command::SamlWrite::UpdateAppWithMore { .. }
            | crate::command::SamlWrite::CreateIdpWithMore(..)
            | crate::command::SamlWrite::UpdateIdpWithMore { .. }
            | crate::command::SamlWrite::DeleteApp(_)
            | crate::command::SamlWrite::CreateIdp(_)
            | crate::command::SamlWrite::UpdateIdp { .. }
            | crate::command::SamlWrite::DeleteIdp(_),
        ) => Family::Settings,
        Op::Saml(crate::command::SamlWrite::RelinkLegacy { .. }) => Family::Users,
        // The key and the sign-on record are written by the protocol side on the leader.
        Op::Saml(
            crate::command::SamlWrite::SetIdpKey(_)
            | crate::command::SamlWrite::SignedOn { .. }
            | crate::command::SamlWrite::SignedOnInSession { .. }
            | crate::command::SamlWrite::PutLogoutChain(_)
            | crate::command::SamlWrite::EndLogoutChain(_)
            | crate::command::SamlWrite::BeginSpLogin(_)
            | crate::command::SamlWrite::FinishSpLogin(_),
        ) => Family::Protocol,
        Op::Ask(_)
        | Op::CreateTask(_)
        | Op::FinishTask(_)
        | Op::RequestPermission(_)
        | Op::DecideJitRequest(_)
        | Op::CreateApproval(_)
        | Op::AuthorizeMcpTool(_) => Family::AgentRuntime,
        Op::IssueJitToken(_) | Op::DecideApproval { .. } => Family::Protocol,
        // Signed AAuth requests are judged by the protocol side (`oauth/aauth`).
        Op::AddAAuthKey(_)
        | Op::UseAAuthNonce { .. }
        | Op::OpenAAuthConsent(_)
        | Op::DecideAAuthConsent(_)
        | Op::IssueAAuthToken(_)
        | Op::RevokeAAuthToken(_) => Family::Protocol,
        // Secrets are checked (and sealed) by the protocol side, which judged the user first.
        Op::EnrollAuthenticator(_)
        | Op::VerifyAuthenticator { .. }
        | Op::StartMfaChallenge(_)
        | Op::AnswerMfaChallenge { .. }
        | Op::SignInWithMfa(_)
        | Op::EnrollPasskey { .. }
        | Op::StartPasskeyChallenge { .. }
        | Op::BeginPasskeySignIn(_)
        | Op::SignInWithPasskey { .. } => Family::Protocol,
        // A user's own factors: any credential may ask, apply acts only for a user's own token.
        Op::UpdateAuthenticator { .. }
        | Op::RemoveAuthenticator { user: None, .. }
        | Op::SetRecoveryCodes { .. }
        | Op::RevokeTrustedDevice(_) => Family::Identity,
        Op::RemoveAuthenticator { user: Some(_), .. } | Op::IssueAccessCode(_) => Family::Users,
    }
}
