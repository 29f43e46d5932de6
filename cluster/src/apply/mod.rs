//! Deterministic `apply`: one function per resource family. Every org command runs in one
//! [`OrgTx`]; on success its writes, its audit record(s) and `last_applied` commit in one batch,
//! on failure nothing but `last_applied` is written.

mod aauth;
mod abac;
mod agents;
mod approvals;
mod audit;
mod ciba;
mod clients;
mod device;
mod email;
mod expiry;
mod federated;
pub(crate) mod grants;
mod identities;
mod jit;
mod mcp;
mod meta;
mod mfa;
mod named;
mod org;
mod par;
mod permissions;
mod relation_tuples;
mod relations;
mod saml;
mod sandbox;
mod scim;
mod scim_outbound;
mod scopes;
pub(crate) mod sessions;
mod settings;
mod signing_keys;
mod social;
mod suborg;
mod suborg_choice;
mod users;
mod webhooks;

pub use audit::{COMPACTION_BATCH, MAX_RETENTION_DAYS, append_audit};
pub use expiry::PURGE_BATCH;
pub use meta::apply_meta;
pub use relation_tuples::MAX_TUPLE_CHANGES;
pub use webhooks::KEPT_RESPONSE_BYTES;

use crate::command::{Command, Op};
use crate::error::{ClusterError, Result};
use crate::lookup::{self as resolve, load_org};
use crate::model::AuditEvent;
use crate::query::Outcome;
use crate::tables::OrgTx;

/// What an apply function returns: the outcome and the audit events it caused.
pub(crate) type Applied = (Outcome, Vec<AuditEvent>);

/// Applies `command` inside `tx`.
pub fn apply_org_command(tx: &mut OrgTx, command: &Command) -> Result<Outcome> {
    let meta = &command.meta;
    if let Op::InitOrg {
        number,
        slug,
        name,
        region,
        admin_key,
    } = &command.op
    {
        let init = org::InitOrg {
            number: *number,
            slug,
            name,
            region: region.as_deref(),
            admin_key,
            epoch: command.epoch,
        };
        let (outcome, events) = org::init_org(tx, meta, init)?;
        for event in events {
            append_audit(tx, meta, event)?;
        }
        return Ok(outcome);
    }
    if let Op::ImportOrg { rows, first, last } = &command.op {
        let (outcome, events) = org::import_org(tx, meta, command.epoch, rows, *first, *last)?;
        for event in events {
            append_audit(tx, meta, event)?;
        }
        return Ok(outcome);
    }
    // An org missing here, at another epoch, or frozen for a move is served elsewhere: the
    // caller refreshes its directory entry and retries.
    let org = match load_org(tx) {
        Ok(org) => org,
        Err(ClusterError::NotFound { .. }) => return Err(ClusterError::WrongShard),
        Err(e) => return Err(e),
    };
    let frozen_ok = matches!(command.op, Op::DropOrg | Op::ThawOrg);
    if org.epoch != command.epoch || (org.status == org::FROZEN && !frozen_ok) {
        return Err(ClusterError::WrongShard);
    }
    let (outcome, events) = match &command.op {
        Op::InitOrg { .. } | Op::ImportOrg { .. } => {
            return Err(ClusterError::internal("handled above"));
        }
        Op::FreezeOrg => org::freeze_org(tx, meta)?,
        Op::DropOrg => org::drop_org(tx)?,
        Op::ThawOrg => org::thaw_org(tx, meta)?,
        Op::UpdateTenant {
            name,
            settings_patch,
        } => org::update_tenant(tx, meta, name, settings_patch)?,
        Op::CreateApiKey(key) => org::create_api_key(tx, meta, key)?,
        Op::RevokeApiKey(id) => org::revoke_api_key(tx, meta, *id)?,
        Op::CreateUser(new) => users::create(tx, meta, new)?,
        Op::UpdateUser { user, patch } => users::update(tx, meta, user, patch)?,
        Op::DeleteUser(user) => users::delete(tx, user)?,
        Op::SetUserBlocked { user, blocked } => users::set_blocked(tx, meta, user, *blocked)?,
        Op::MarkUserVerified(user) => users::mark_verified(tx, meta, user)?,
        Op::SetUserPassword {
            user,
            password_hash,
        } => users::set_password(tx, meta, user, password_hash)?,
        Op::RequestEmail {
            user,
            kind,
            token_hash,
            expires_at,
        } => users::request_email(tx, meta, user, *kind, token_hash, *expires_at, None)?,
        Op::Email(write) => email::apply(tx, meta, write)?,
        Op::SubOrg(write) => suborg::apply(tx, meta, write)?,
        Op::Sandbox(write) => sandbox::apply(tx, meta, write)?,
        Op::LinkIdentity { user, link } => identities::link(tx, meta, user, link)?,
        Op::UnlinkIdentity { user, kind } => identities::unlink(tx, user, *kind)?,
        Op::Relate {
            relation,
            anchor,
            others,
            mode,
        } => relations::relate(tx, *relation, anchor, others, *mode)?,
        Op::CreateGroup { id, fields } => {
            named::create::<crate::ids::GroupId>(tx, meta, id.to_bytes(), fields)?
        }
        Op::UpdateGroup { group, patch } => {
            let id = resolve::group(tx, group)?.id.to_bytes();
            named::update::<crate::ids::GroupId>(tx, meta, id, patch)?
        }
        Op::DeleteGroup(group) => {
            let id = resolve::group(tx, group)?.id.to_bytes();
            named::delete::<crate::ids::GroupId>(tx, id)?
        }
        Op::CreateRole { id, fields } => {
            named::create::<crate::ids::RoleId>(tx, meta, id.to_bytes(), fields)?
        }
        Op::UpdateRole { role, patch } => {
            let id = resolve::role(tx, role)?.id.to_bytes();
            named::update::<crate::ids::RoleId>(tx, meta, id, patch)?
        }
        Op::DeleteRole(role) => {
            let id = resolve::role(tx, role)?.id.to_bytes();
            named::delete::<crate::ids::RoleId>(tx, id)?
        }
        Op::CreatePermission(new) => permissions::create(tx, meta, new)?,
        Op::UpdatePermission { permission, patch } => {
            permissions::update(tx, meta, permission, patch)?
        }
        Op::DeletePermission(permission) => permissions::delete(tx, permission)?,
        Op::CreateScope {
            name,
            description,
            is_default,
        } => scopes::create(tx, meta, name, description, *is_default)?,
        Op::DeleteScope(id) => scopes::delete(tx, *id)?,
        Op::SetAuditRetention {
            retention_days,
            auto_delete,
        } => audit::set_retention(tx, *retention_days, *auto_delete)?,
        Op::CompactAudit { cutoff } => audit::compact(tx, *cutoff)?,
        Op::PurgeExpired { cutoff } => expiry::purge(tx, *cutoff)?,
        Op::UpdateSettings {
            section,
            patch,
            secrets,
        } => settings::update(tx, meta.at, *section, patch, secrets, &[])?,
        Op::UpdateSettingsSealed {
            section,
            patch,
            secrets,
            sealed,
        } => settings::update(tx, meta.at, *section, patch, secrets, sealed)?,
        Op::RecordScimPushes(report) => scim_outbound::record(tx, report)?,
        Op::QueueScimBatchSync => scim_outbound::queue_batch(tx, meta)?,
        Op::CreateClient(new) => clients::create(tx, meta, new)?,
        Op::SyncMetadataClient(document) => clients::sync_metadata(tx, meta, document)?,
        Op::UpdateClient { client, patch } => clients::update(tx, meta, client, patch)?,
        Op::DeleteClient(client) => clients::delete(tx, meta, client)?,
        Op::RotateClientSecret {
            client,
            secret_hash,
            grace_until,
        } => clients::rotate_secret(tx, meta, client, secret_hash, *grace_until)?,
        Op::AddSigningKey {
            key,
            only_if_none,
            retain_old_until,
        } => signing_keys::add_signing_key(tx, meta, key, *only_if_none, *retain_old_until)?,
        Op::SignIn(sign_in) => sessions::sign_in(tx, meta, sign_in)?,
        Op::RecordLoginFailure(failure) => sessions::login_failure(tx, meta, failure)?,
        Op::GrantConsent {
            user,
            client_id,
            scopes,
        } => sessions::grant_consent(tx, meta, *user, client_id, scopes)?,
        Op::IssueCode { hash, code, pushed } => {
            grants::issue_code(tx, meta, hash, code, pushed.as_deref())?
        }
        Op::IssueTokens(issuance) => grants::issue_tokens(tx, meta, issuance)?,
        Op::Revoke(target) => grants::revoke_op(tx, meta, target)?,
        Op::StartDeviceGrant { hash, grant } => device::start_device_grant(tx, hash, grant)?,
        Op::DecideDeviceGrant {
            user_code,
            approve,
            user,
            session,
        } => device::decide_device_grant(tx, meta, user_code, *approve, *user, *session)?,
        Op::StartCiba { hash, request } => ciba::start_ciba(tx, hash, request)?,
        Op::DecideCiba { id, approve, user } => ciba::decide_ciba(tx, meta, id, *approve, *user)?,
        Op::PushRequest {
            request_uri,
            request,
        } => par::push_request(tx, request_uri, request)?,
        Op::WriteRelationSchema { text } => relation_tuples::write_schema(tx, meta, text)?,
        Op::WriteRelationTuples(write) => relation_tuples::write_tuples(tx, meta, write)?,
        Op::CreateAbacAttribute(new) => abac::create_attribute(tx, meta, new)?,
        Op::UpdateAbacAttribute { id, patch } => abac::update_attribute(tx, meta, *id, patch)?,
        Op::DeleteAbacAttribute(id) => abac::delete_attribute(tx, *id)?,
        Op::CreateAbacPolicy(new) => abac::create_policy(tx, meta, new)?,
        Op::UpdateAbacPolicy { id, patch } => abac::update_policy(tx, meta, *id, patch)?,
        Op::DeleteAbacPolicy(id) => abac::delete_policy(tx, *id)?,
        Op::ToggleAbacPolicy(id) => abac::toggle_policy(tx, meta, *id)?,
        Op::SetAbacValue {
            target,
            slug,
            value,
        } => abac::set_value(tx, meta, target, slug, value)?,
        Op::CreateAgent(new) => agents::create(tx, meta, new)?,
        Op::UpdateAgent { agent, patch } => agents::update(tx, meta, agent, patch)?,
        Op::DeleteAgent(agent) => agents::delete(tx, meta, agent)?,
        Op::SwitchAgent { agent, switch } => agents::switch(tx, meta, agent, *switch)?,
        Op::SetAgentKey { agent, change } => agents::set_key(tx, meta, agent, change)?,
        Op::RotateAgentSecret { agent, secret_hash } => {
            agents::rotate_secret(tx, meta, agent, secret_hash)?
        }
        // The decision's own audit record is written by `ask` (its id is the answer's).
        Op::Ask(question) => return agents::ask(tx, meta, question),
        Op::CreateTask(new) => jit::create_task(tx, meta, new)?,
        Op::FinishTask(finish) => jit::finish_task(tx, meta, finish)?,
        Op::RequestPermission(new) => jit::request_permission(tx, meta, new)?,
        Op::DecideJitRequest(decision) => jit::decide(tx, meta, decision)?,
        Op::IssueJitToken(issued) => jit::issue_token(tx, meta, issued)?,
        Op::CreateApproval(new) => approvals::create(tx, meta, new)?,
        Op::CreateVaultConnection { agent, connection } => {
            agents::create_connection(tx, agent, connection)?
        }
        Op::DeleteVaultConnection { agent, id } => agents::delete_connection(tx, agent, id)?,
        Op::CreateMcpServer(new) => mcp::create(tx, meta, new)?,
        Op::DeleteMcpServer(id) => mcp::delete(tx, id)?,
        Op::AuthorizeMcpTool(question) => mcp::authorize_tool(tx, meta, question)?,
        Op::DecideApproval {
            token,
            user,
            approve,
        } => approvals::decide(tx, meta, token, *user, *approve)?,
        Op::AddAAuthKey(key) => aauth::add_key(tx, meta, key)?,
        Op::SetAAuthAgent { agent, identity } => aauth::set_agent(tx, meta, agent, identity)?,
        Op::CreateAAuthResource(spec) => aauth::save_resource(tx, meta, spec, true)?,
        Op::UpdateAAuthResource(spec) => aauth::save_resource(tx, meta, spec, false)?,
        Op::DeleteAAuthResource(id) => aauth::delete_resource(tx, id)?,
        Op::UseAAuthNonce { nonce, until } => aauth::use_nonce(tx, meta, nonce, *until)?,
        Op::OpenAAuthConsent(request) => aauth::open_consent(tx, request)?,
        Op::DecideAAuthConsent(consent) => aauth::decide_consent(tx, meta, consent)?,
        Op::IssueAAuthToken(issued) => aauth::issue(tx, meta, issued)?,
        Op::RevokeAAuthToken(revocation) => aauth::revoke(tx, revocation)?,
        Op::CreateWebhook {
            fields,
            sealed_secret,
        } => webhooks::create(tx, meta, fields, sealed_secret)?,
        Op::UpdateWebhook { id, patch } => webhooks::update(tx, meta, *id, patch)?,
        Op::CreateSocialProvider {
            fields,
            sealed_secret,
        } => social::create(tx, meta, fields, sealed_secret.as_ref())?,
        Op::UpdateSocialProvider {
            id,
            fields,
            sealed_secret,
        } => social::update(tx, meta, *id, fields, sealed_secret.as_ref())?,
        Op::DeleteSocialProvider(id) => social::delete(tx, *id)?,
        Op::BeginSocialLogin(state) => social::begin(tx, meta.at, state)?,
        Op::FinishSocialLogin(sign_in) => social::finish(tx, meta, sign_in)?,
        Op::Scim(write) => scim::apply(tx, meta, write)?,
        Op::Saml(write) => saml::apply(tx, meta, write)?,
        Op::DeleteWebhook(id) => webhooks::delete(tx, *id)?,
        Op::RotateWebhookSecret {
            id,
            sealed_secret,
            grace_until,
        } => webhooks::rotate_secret(tx, meta, *id, sealed_secret, *grace_until)?,
        Op::RecordWebhookAttempts(attempts) => webhooks::record_attempts(tx, attempts, &[])?,
        Op::ReplayWebhookDelivery { id, seq } => webhooks::replay(tx, meta, *id, *seq)?,
        Op::SendWebhookEvent {
            id,
            event_id,
            event_name,
            data,
        } => webhooks::send_event(tx, meta, *id, event_id, event_name, data)?,
        Op::EnrollAuthenticator(new) => mfa::enroll(tx, meta, new)?,
        Op::VerifyAuthenticator {
            id,
            proof,
            approves,
        } => mfa::verify(tx, meta, id, proof, approves.as_deref())?,
        Op::UpdateAuthenticator { id, patch } => mfa::update(tx, meta, id, patch)?,
        Op::RemoveAuthenticator { user, id, step_up } => {
            mfa::remove(tx, meta, user.as_ref(), id, step_up.as_deref())?
        }
        Op::SetRecoveryCodes { hashes, step_up } => {
            mfa::set_recovery_codes(tx, meta, hashes, step_up.as_deref())?
        }
        Op::StartMfaChallenge(challenge) => mfa::start(tx, meta, challenge)?,
        Op::AnswerMfaChallenge { id, proof, context } => mfa::answer(tx, meta, id, proof, context)?,
        Op::RevokeTrustedDevice(id) => mfa::revoke_device(tx, meta, id)?,
        Op::IssueAccessCode(new) => mfa::issue_access_code(tx, meta, new)?,
        Op::SignInWithMfa(request) => mfa::sign_in_with_mfa(tx, meta, request)?,
        Op::EnrollPasskey {
            authenticator,
            ceremony,
        } => mfa::enroll_passkey(tx, meta, authenticator, ceremony)?,
        Op::StartPasskeyChallenge {
            challenge,
            ceremony,
        } => mfa::start_challenge(tx, meta, challenge, ceremony)?,
        Op::BeginPasskeySignIn(ceremony) => mfa::begin_sign_in(tx, meta, ceremony)?,
        Op::SignInWithPasskey { sign_in, proof } => {
            mfa::sign_in_with_passkey(tx, meta, sign_in, proof)?
        }
    };
    for event in events {
        append_audit(tx, meta, event)?;
    }
    Ok(outcome)
}
