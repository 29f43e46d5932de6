//! The OAuth 2.1 / OpenID Connect provider, run on the shard leader of the org: each protocol
//! request reads the org's state behind a linearizable barrier, proposes what it changes, and
//! signs tokens with the org's keys. HTTP parsing and page rendering stay in `api`.

mod authorize;
mod client_auth;
mod device;
mod exchange;
mod introspect;
mod jwt;
mod login;
mod metadata_client;
pub mod register;
mod runtime;
mod scopes;
mod token;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use authorize::{AuthorizeOutcome, Branding};
pub use jwt::{TokenClaims, VerifiedToken, verify_access_token};
pub use login::{LoginCandidate, SessionView, urlencode};
pub use runtime::{KEY_OVERLAP_MS, OAuthRuntime, ProtocolCtx, active_key};
pub use token::GRANT_TYPES;

use crate::caller::Credential;
use crate::crypto::JwsAlg;
use crate::error::Result;
use crate::ids::UserId;

/// Token lifetimes and limits.
pub mod limits {
    /// Authorization codes live this long.
    pub const CODE_TTL_MS: i64 = 60_000;
    /// Default access token lifetime.
    pub const ACCESS_TTL_SECS: u64 = 3600;
    /// Default refresh token lifetime.
    pub const REFRESH_TTL_SECS: u64 = 30 * 86_400;
    /// Device codes and CIBA requests live this long.
    pub const DEVICE_TTL_SECS: u64 = 600;
    /// Seconds between polls of the token endpoint for device and CIBA grants.
    pub const POLL_INTERVAL_SECS: u64 = 5;
    /// Pushed authorization requests live this long.
    pub const PAR_TTL_SECS: u64 = 90;
    /// Largest pushed authorization request (names and values together).
    pub const MAX_PUSHED_BYTES: usize = 8 * 1024;
    /// Failed sign-ins in a row that lock an account.
    pub const LOCK_THRESHOLD: u32 = 5;
    /// How long a lock lasts.
    pub const LOCK_MS: i64 = 15 * 60_000;
    /// Browser sessions last this long without a `session_timeout` setting.
    pub const SESSION_TTL_SECS: u64 = 24 * 3600;
    /// Deepest delegation chain token exchange builds.
    pub const MAX_DELEGATION_DEPTH: usize = 3;
}

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
        params: Params,
    },
    /// `POST ~/oauth/introspect`.
    Introspect {
        issuer: String,
        client: ClientAuth,
        token: String,
        hint: Option<String>,
    },
    /// `POST ~/oauth/revoke`.
    Revoke {
        client: ClientAuth,
        token: String,
        hint: Option<String>,
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
    /// The org's CIMD policy and what it holds for a URL `client_id`.
    MetadataClientPolicy { client_id: String },
    /// Creates or refreshes the shadow client of a validated metadata document.
    SyncMetadataClient(crate::command::MetadataClient),
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
            ProtocolRequest::CibaDecide { .. } => "ciba_decide",
            ProtocolRequest::Register { .. } => "register",
            ProtocolRequest::ReadRegistration { .. } => "read_registration",
            ProtocolRequest::RotateSigningKey { .. } => "rotate_signing_key",
            ProtocolRequest::MetadataClientPolicy { .. } => "metadata_client_policy",
            ProtocolRequest::SyncMetadataClient(_) => "sync_metadata_client",
        }
    }
}

/// A successful token response (RFC 6749 section 5.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub scope: String,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub issued_token_type: Option<String>,
}

/// The answers of protocol requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProtocolReply {
    Jwks(Vec<serde_json::Value>),
    Branding(Branding),
    Token(TokenResponse),
    /// An introspection or userinfo document, or registration metadata.
    Document(serde_json::Value),
    Authorize(AuthorizeOutcome),
    LoginCandidate(Option<LoginCandidate>),
    SignedIn {
        cookie: String,
        session_id: u64,
        /// Seconds until the session expires.
        expires_in: u64,
    },
    LoginRecorded {
        locked_until: Option<crate::clock::Timestamp>,
    },
    Session(Option<SessionView>),
    /// Where logout sends the browser (`None`: show the signed-out page), or the
    /// confirmation page to show.
    Logout {
        redirect: Option<String>,
        confirm: bool,
        branding: Branding,
    },
    Par {
        request_uri: String,
        expires_in: u64,
    },
    DeviceAuthorization {
        device_code: String,
        user_code: String,
        expires_in: u64,
        interval: u64,
    },
    Device {
        client_name: String,
        scopes: Vec<String>,
        branding: Branding,
    },
    Ciba {
        auth_req_id: String,
        expires_in: u64,
        interval: u64,
    },
    CibaPending(Vec<CibaView>),
    Done,
}

/// A pending CIBA request, as the user sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CibaView {
    pub id: String,
    pub client_name: String,
    pub scopes: Vec<String>,
    pub binding_message: Option<String>,
}

/// Serves `request` for the org of `ctx`.
pub async fn handle(ctx: ProtocolCtx, request: ProtocolRequest) -> Result<ProtocolReply> {
    ctx.barrier().await?;
    match request {
        ProtocolRequest::Jwks => {
            // An org gets its first key the first time anyone looks.
            ctx.signing_key().await?;
            introspect::jwks(&ctx)
        }
        ProtocolRequest::Branding => {
            Ok(ProtocolReply::Branding(authorize::branding(&ctx.reader())?))
        }
        ProtocolRequest::Token {
            issuer,
            client,
            params,
        } => token::token(&ctx, &issuer, &client, &params).await,
        ProtocolRequest::Introspect {
            issuer,
            client,
            token,
            hint,
        } => introspect::introspect(&ctx, &issuer, &client, &token, hint.as_deref()),
        ProtocolRequest::Revoke {
            client,
            token,
            hint,
        } => introspect::revoke(&ctx, &client, &token, hint.as_deref()).await,
        ProtocolRequest::Userinfo { token } => introspect::userinfo(&ctx, &token),
        ProtocolRequest::Authorize {
            issuer,
            params,
            session,
            consent,
        } => authorize::authorize(&ctx, &issuer, params, session.as_deref(), consent).await,
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
        } => login::logout(&ctx, &issuer, cookie.as_deref(), &params, confirmed).await,
        ProtocolRequest::Par {
            issuer,
            client,
            params,
        } => authorize::par(&ctx, &issuer, &client, params).await,
        ProtocolRequest::DeviceAuthorize {
            issuer,
            client,
            scope,
        } => device::authorize(&ctx, &issuer, &client, scope.as_deref()).await,
        ProtocolRequest::DeviceLookup { user_code } => device::lookup(&ctx, &user_code),
        ProtocolRequest::DeviceDecide {
            user_code,
            approve,
            cookie,
        } => device::decide(&ctx, &user_code, approve, &cookie).await,
        ProtocolRequest::Ciba { client, params } => device::ciba(&ctx, &client, &params).await,
        ProtocolRequest::CibaPending { cookie } => device::ciba_pending(&ctx, &cookie),
        ProtocolRequest::CibaDecide {
            cookie,
            id,
            approve,
        } => device::ciba_decide(&ctx, &cookie, &id, approve).await,
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
        ProtocolRequest::RotateSigningKey { credential, alg } => {
            register::rotate_signing_key(&ctx, &credential, alg).await
        }
        ProtocolRequest::MetadataClientPolicy { client_id } => {
            metadata_client::policy(&ctx, &client_id)
        }
        ProtocolRequest::SyncMetadataClient(client) => metadata_client::sync(&ctx, client).await,
    }
}
