//! The OAuth 2.1 / OpenID Connect provider, run on the shard leader of the org: each protocol
//! request reads the org's state behind a linearizable barrier, proposes what it changes, and
//! signs tokens with the org's keys. The requests and replies are `crate::protocol`; HTTP
//! parsing and page rendering stay in `api`. One file per endpoint or hosted-page step, the
//! token endpoint's grants in `grants/`.

pub mod aauth;
pub mod agent_card;
mod approvals;
mod authorization;
mod authorization_request;
mod backchannel;
mod branding;
mod browser_bound;
mod client_auth;
mod device_authorization;
mod email_link;
mod grants;
mod introspect;
mod jit_review;
mod jwt;
pub(crate) mod login;
mod logout;
mod magic_link;
mod mcp;
mod metadata_client;
pub mod mfa;
pub(crate) mod org_choice;
pub(crate) mod org_mail;
pub(crate) mod org_settings;
mod par;
pub mod register;
pub mod resource;
mod revoke;
mod runtime;
pub mod saml;
mod scope_checks;
mod settings_secrets;
mod signing_keys;
pub mod social;
mod user_claims;
mod userinfo;
pub mod vault;
pub mod webhooks;
pub mod workload;

pub use jwt::{TokenClaims, VerifiedToken, verify_access_token};
pub use logout::urlencode;
pub use runtime::{KEY_OVERLAP_MS, OAuthRuntime, ProtocolCtx, active_key};

use crate::error::Result;
use crate::protocol::{ProtocolReply, ProtocolRequest};

/// Serves `request` for the org of `ctx`.
pub async fn handle(ctx: ProtocolCtx, request: ProtocolRequest) -> Result<ProtocolReply> {
    ctx.barrier().await?;
    match request {
        ProtocolRequest::Jwks => {
            // An org gets its first key the first time anyone looks.
            ctx.signing_key().await?;
            signing_keys::jwks(&ctx)
        }
        ProtocolRequest::Branding => {
            Ok(ProtocolReply::Branding(branding::branding(&ctx.reader())?))
        }
        ProtocolRequest::Token {
            issuer,
            client,
            request,
        } => grants::token(&ctx, &issuer, &client, request).await,
        ProtocolRequest::Introspect {
            issuer,
            client,
            token,
            hint,
        } => introspect::introspect(&ctx, &issuer, &client, &token, hint),
        ProtocolRequest::Revoke {
            client,
            token,
            hint,
        } => revoke::revoke(&ctx, &client, &token, hint).await,
        ProtocolRequest::Userinfo { token } => userinfo::userinfo(&ctx, &token),
        ProtocolRequest::Authorize {
            issuer,
            params,
            session,
            consent,
        } => authorization::authorize(&ctx, &issuer, params, session.as_deref(), consent).await,
        ProtocolRequest::LoginCandidate { email } => login::candidate(&ctx, &email),
        ProtocolRequest::SignIn {
            user,
            client_id,
            method,
        } => login::sign_in(&ctx, user, client_id, method).await,
        ProtocolRequest::LoginFailed {
            email,
            user,
            reason,
            client_id,
        } => login::failed(&ctx, email, user, reason, client_id).await,
        ProtocolRequest::Session { cookie } => login::session(&ctx, &cookie),
        ProtocolRequest::Logout {
            issuer,
            cookie,
            params,
            confirmed,
        } => logout::logout(&ctx, &issuer, cookie.as_deref(), &params, confirmed).await,
        ProtocolRequest::Par {
            issuer,
            client,
            params,
        } => par::par(&ctx, &issuer, &client, params).await,
        ProtocolRequest::DeviceAuthorize {
            issuer,
            client,
            scope,
        } => device_authorization::authorize(&ctx, &issuer, &client, scope.as_deref()).await,
        ProtocolRequest::DeviceLookup { user_code } => {
            device_authorization::lookup(&ctx, &user_code)
        }
        ProtocolRequest::DeviceDecide {
            user_code,
            approve,
            cookie,
        } => device_authorization::decide(&ctx, &user_code, approve, &cookie).await,
        ProtocolRequest::Ciba { client, params } => {
            backchannel::request(&ctx, &client, &params).await
        }
        ProtocolRequest::CibaPending { cookie } => backchannel::pending(&ctx, &cookie),
        ProtocolRequest::ApprovalsPending { cookie } => approvals::pending(&ctx, &cookie),
        ProtocolRequest::JitReviewPending { cookie } => jit_review::pending(&ctx, &cookie),
        ProtocolRequest::JitReviewDecide {
            cookie,
            request_id,
            approve,
        } => jit_review::decide(&ctx, &cookie, &request_id, approve).await,
        ProtocolRequest::StoreConnection {
            credential,
            connection,
        } => vault::store(&ctx, &credential, connection).await,
        ProtocolRequest::WebhookSecret { credential, change } => {
            webhooks::save_secret(&ctx, &credential, change).await
        }
        ProtocolRequest::UpdateSettings {
            credential,
            section,
            patch,
        } => settings_secrets::update(&ctx, &credential, section, &patch).await,
        ProtocolRequest::Mfa { credential, call } => mfa::call(&ctx, &credential, call).await,
        ProtocolRequest::LoginMfa(step) => mfa::step(&ctx, step).await,
        ProtocolRequest::EmailLink(step) => email_link::step(&ctx, step).await,
        ProtocolRequest::Social(step) => social::step(&ctx, step).await,
        ProtocolRequest::Saml(step) => saml::step(&ctx, step).await,
        ProtocolRequest::WebhookTest { credential, id } => {
            webhooks::test(&ctx, &credential, id).await
        }
        ProtocolRequest::ConnectionToken {
            credential,
            connection_id,
            user_id,
        } => vault::token(&ctx, &credential, &connection_id, user_id.as_deref()),
        ProtocolRequest::AgentWorkload { agent } => workload::binding(&ctx, &agent),
        ProtocolRequest::Attest {
            issuer,
            agent,
            token,
            keys,
        } => workload::attest(&ctx, &issuer, &agent, &token, &keys).await,
        ProtocolRequest::AgentCard { issuer, agent } => {
            agent_card::card(&ctx, &issuer, &agent).await
        }
        ProtocolRequest::McpMetadata { issuer, server_id } => {
            mcp::metadata(&ctx, &issuer, server_id.as_deref())
        }
        ProtocolRequest::McpChallenge { server_id, token } => {
            mcp::challenge(&ctx, &server_id, token.as_deref())
        }
        ProtocolRequest::ApprovalDecide {
            cookie,
            token,
            approve,
        } => approvals::decide(&ctx, &cookie, &token, approve).await,
        ProtocolRequest::CibaDecide {
            cookie,
            id,
            approve,
        } => backchannel::decide(&ctx, &cookie, &id, approve).await,
        ProtocolRequest::Register {
            issuer,
            credential,
            metadata,
        } => register::register(&ctx, &issuer, &credential, metadata).await,
        ProtocolRequest::ReadRegistration {
            issuer,
            client_id,
            token,
        } => register::read(&ctx, &issuer, &client_id, &token),
        ProtocolRequest::AgentToken {
            credential,
            issuer,
            agent,
            scopes,
            ttl_secs,
        } => {
            let request = grants::agent_token::AgentTokenRequest {
                agent,
                scopes,
                ttl_secs,
            };
            grants::agent_token::issue(&ctx, &issuer, &credential, request)
                .await
                .map(ProtocolReply::Token)
        }
        ProtocolRequest::JitToken {
            credential,
            issuer,
            request_id,
        } => grants::jit_token::issue(&ctx, &issuer, &credential, &request_id).await,
        ProtocolRequest::RotateSigningKey { credential, alg } => {
            signing_keys::rotate_signing_key(&ctx, &credential, alg).await
        }
        ProtocolRequest::MetadataClientPolicy { client_id } => {
            metadata_client::policy(&ctx, &client_id)
        }
        ProtocolRequest::SyncMetadataClient(client) => metadata_client::sync(&ctx, client).await,
        ProtocolRequest::AAuthDocument { issuer, document } => {
            aauth::document(&ctx, &issuer, document).await
        }
        ProtocolRequest::AAuthSigned {
            issuer,
            endpoint,
            message,
        } => aauth::signed(&ctx, &issuer, endpoint, message).await,
        ProtocolRequest::AAuthConsentView {
            cookie,
            request_token,
        } => aauth::consent_view(&ctx, &cookie, &request_token),
        ProtocolRequest::AAuthConsentDecide {
            cookie,
            request_token,
            approve,
        } => aauth::decide_consent(&ctx, &cookie, &request_token, approve).await,
    }
}
