//! Reads of org state (run on the shard leader after a linearizable read barrier, or right after
//! a write was applied).

mod abac;
mod agents;
pub(crate) mod analytics;
mod audit;
mod catalog;
mod jit;
mod mfa;
mod oauth;
mod org;
mod page;
mod relation_tuples;
pub(crate) mod sandbox;
mod scim;
mod suborg;
pub(crate) mod users;
mod webhooks;

pub use audit::verify_chain;
pub use users::{effective_permissions, role_slugs};

use crate::clock::Timestamp;
use crate::error::Result;
use crate::model::Principal;
use crate::query::{Page, Query, Reply};
use crate::tables::{OrgReader, Table};

/// Answers `query` from the committed state of the org.
pub fn run_query(
    reader: &OrgReader,
    query: &Query,
    principal: &Principal,
    now: Timestamp,
) -> Result<Reply> {
    match query {
        Query::Me => users::me(reader, principal),
        Query::MyAuthenticators => mfa::mine(reader, principal, now),
        Query::RecoveryCodeStatus => mfa::recovery_status(reader, principal),
        Query::TrustedDevices => mfa::trusted_devices(reader, principal, now),
        Query::MfaChallenge(id) => mfa::challenge(reader, principal, id, now),
        Query::UserAuthenticators(key) => mfa::of_user(reader, key, now),
        Query::MfaCoverage => mfa::coverage(reader, now),
        Query::StepUp(challenge) => mfa::step_up(reader, principal, challenge.as_deref(), now),
        Query::GetUser(key) => users::get(reader, key),
        Query::ListUsers(params) => users::list(reader, params),
        Query::UserIdentities(key) => users::identities(reader, key),
        Query::UserEffectivePermissions(key) => {
            let user = crate::lookup::user(reader, key)?;
            Ok(Reply::EffectivePermissions(effective_permissions(
                reader, user.id,
            )?))
        }
        Query::LegacySamlReport { idp_id } => users::legacy_saml(reader, *idp_id),
        Query::Related {
            anchor,
            relation,
            page,
        } => catalog::related(reader, anchor, *relation, *page),
        Query::GetGroup(key) => catalog::get_group(reader, key),
        Query::ListGroups(params) => catalog::list_groups(reader, params),
        Query::GetRole(key) => catalog::get_role(reader, key),
        Query::ListRoles(params) => catalog::list_roles(reader, params),
        Query::GetPermission(key) => catalog::get_permission(reader, key),
        Query::ListPermissions(params) => catalog::list_permissions(reader, params),
        Query::PermissionUsage(key) => catalog::permission_usage(reader, key),
        Query::ListScopes(params) => catalog::list_scopes(reader, params),
        Query::GetScope(id) => catalog::get_scope(reader, *id),
        Query::ListAudit(q) => audit::list(reader, q),
        Query::GetAudit(id) => audit::get(reader, *id),
        Query::AuditActions(page) => audit::actions(reader, *page),
        Query::AuditStats { from, to } => audit::stats(reader, *from, *to, now),
        Query::ExportAudit(q) => audit::export(reader, q),
        Query::AuditRetention => audit::retention(reader),
        Query::VerifyAudit => Ok(Reply::Chain(verify_chain(reader)?)),
        Query::Settings(section) => org::settings(reader, *section),
        Query::PasswordPolicy | Query::ClientPolicy => {
            org::settings(reader, crate::settings::SettingsSection::Auth)
        }
        Query::AllSettings => org::all_settings(reader),
        Query::Tenant => org::tenant(reader),
        Query::AnalyticsDashboard => analytics::dashboard(reader, now),
        Query::AnalyticsLogins { days } => analytics::logins(reader, *days, now),
        Query::AnalyticsUsers { days } => analytics::users(reader, *days, now),
        Query::ListApiKeys => org::api_keys(reader),
        Query::GetClient(key) => oauth::get_client(reader, key),
        Query::ListClients(params) => oauth::list_clients(reader, params),
        Query::ListSessions { list, user } => oauth::list_sessions(reader, list, user, now),
        Query::UserSessions(user) => oauth::user_sessions(reader, user, now),
        Query::SessionStats => oauth::session_stats(reader, now),
        Query::ListTokens(params) => oauth::list_tokens(reader, params, now),
        Query::SigningKeys => oauth::signing_keys(reader, now),
        Query::RelationSchema => relation_tuples::schema(reader),
        Query::RelationTuples { filter, page } => relation_tuples::tuples(reader, filter, *page),
        Query::RelationChanges { after, limit } => relation_tuples::changes(reader, *after, *limit),
        Query::AbacAttributes { kind, page } => abac::attributes(reader, *kind, *page),
        Query::AbacAttribute(id) => abac::attribute(reader, *id),
        Query::AbacPolicies(page) => abac::policies(reader, *page),
        Query::AbacPolicy(id) => abac::policy(reader, *id),
        Query::AbacValue { target, slug } => abac::value(reader, target, slug),
        Query::GetAgent(key) => agents::get(reader, key),
        Query::ListAgents(params) => agents::list(reader, params),
        Query::AgentMe => agents::me(reader, principal),
        Query::JitRequest(id) => jit::request(reader, principal, id),
        Query::JitTask(id) => jit::task(reader, principal, id),
        Query::Approval(token) => jit::approval(reader, principal, token),
        Query::AgentConnections(key) => {
            agents::connections(reader, &crate::lookup::agent(reader, key)?)
        }
        Query::MyConnections => {
            let id = principal
                .agent()
                .ok_or_else(|| crate::error::ClusterError::Forbidden {
                    message: "the token vault serves agents".into(),
                    required_scopes: Vec::new(),
                    granted_scopes: principal.scopes.clone(),
                })?;
            let agent = crate::lookup::agent(reader, &crate::command::AgentKey::Id(id))?;
            agents::connections(reader, &agent)
        }
        Query::McpServer(id) => Ok(Reply::McpServer(crate::lookup::mcp_server(reader, id)?)),
        Query::McpServers(page) => Ok(Reply::McpServers(crate::query::Page::of(
            crate::lookup::mcp_servers(reader)?,
            *page,
        ))),
        Query::PendingJit(page) => jit::pending(reader, principal, *page, now),
        Query::AAuthAgent(key) => {
            let agent = crate::lookup::agent(reader, key)?;
            Ok(Reply::AAuthAgent(crate::lookup::aauth_agent(
                reader, agent.id,
            )?))
        }
        Query::AAuthResource(id) => Ok(Reply::AAuthResource(crate::lookup::aauth_resource(
            reader, id,
        )?)),
        Query::AAuthResources(page) => Ok(Reply::AAuthResources(crate::query::Page::of(
            crate::lookup::aauth_resources(reader)?,
            *page,
        ))),
        Query::Webhooks(filter) => webhooks::list(reader, filter),
        Query::Webhook(id) => Ok(Reply::Webhook(crate::lookup::webhook(reader, *id)?)),
        Query::ScimUsers => scim::users(reader),
        Query::ScimUser(id) => scim::user(reader, *id),
        Query::ScimMe => match &principal.kind {
            crate::model::PrincipalKind::User { id, .. } => scim::user(reader, *id),
            other => Err(other.scim_me_refusal()),
        },
        Query::ScimGroups => scim::groups(reader),
        Query::ScimInboundMapping => scim::inbound_mapping(reader),
        Query::EmailTemplates => email_templates(reader),
        Query::SubOrgs(what) => suborg::read(reader, what, now),
        Query::Sandboxes => sandbox::list(reader),
        Query::SandboxExport => sandbox::export(reader),
        Query::ScimGroup(id) => scim::group(reader, *id),
        Query::SocialProviders(page) => {
            let mut all = Vec::new();
            reader.scan(Table::SocialProvider, &[], false, |_, p| {
                all.push(p);
                true
            })?;
            Ok(Reply::SocialProviders(Page::of(all, *page)))
        }
        Query::SocialProvider(key) => Ok(Reply::SocialProvider(crate::lookup::social_provider_by(
            reader, key,
        )?)),
        Query::SamlApps(page) => {
            let mut all = Vec::new();
            reader.scan(Table::SamlApp, &[], false, |_, app| {
                all.push(app);
                true
            })?;
            Ok(Reply::SamlApps(Page::of(all, *page)))
        }
        Query::SamlApp(id) => Ok(Reply::SamlApp(Box::new(crate::lookup::saml_app(
            reader, *id,
        )?))),
        Query::SamlIdps(page) => {
            let mut all = Vec::new();
            reader.scan(Table::SamlUpstream, &[], false, |_, idp| {
                all.push(idp);
                true
            })?;
            Ok(Reply::SamlIdps(Page::of(all, *page)))
        }
        Query::SamlIdp(id) => Ok(Reply::SamlIdp(Box::new(crate::lookup::saml_upstream(
            reader, *id,
        )?))),
        Query::WebhookDeliveries {
            webhook,
            status,
            limit,
        } => webhooks::deliveries(reader, *webhook, *status, *limit),
        Query::WebhookDelivery { webhook, seq } => webhooks::delivery(reader, *webhook, *seq),
    }
}

/// The org's custom email templates, with its name (previews show it).
fn email_templates(reader: &OrgReader) -> Result<Reply> {
    let mut custom = Vec::new();
    reader.scan::<crate::model::EmailTemplateRecord>(
        Table::EmailTemplate,
        &[],
        false,
        |_, record| {
            custom.push(record);
            true
        },
    )?;
    let org = crate::lookup::load_org(reader)?;
    Ok(Reply::Json(
        serde_json::json!({"org_name": org.name, "custom": custom}).to_string(),
    ))
}
