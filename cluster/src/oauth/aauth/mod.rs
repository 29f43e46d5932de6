//! AAuth (agent auth): agents prove who they are on every request with an Ed25519 HTTP
//! message signature (RFC 9421, checked by `crypto::http_signature`) instead of a bearer
//! secret. The org issues agent tokens to agents' delegates, resource tokens for registered
//! resources, and auth tokens (directly, or after a user's consent on the hosted page), and
//! verifies them for resources. Everything runs on the shard leader behind a barrier, so a
//! revocation or a spent nonce counts on every node once answered.

mod agent_token;
mod body;
mod caller;
mod consent;
mod documents;
mod endpoints;
mod tokens;

pub use documents::{AAUTH_VERSION, issuer_metadata};

use crate::crypto::http_signature::HttpMessage;
use crate::error::Result;
use crate::protocol::{AAuthEndpoint, ProtocolReply};

use super::runtime::ProtocolCtx;

pub(super) use consent::{decide as decide_consent, view as consent_view};
pub(super) use documents::document;

/// Serves a signed request to `endpoint`.
pub(super) async fn signed(
    ctx: &ProtocolCtx,
    issuer: &str,
    endpoint: AAuthEndpoint,
    message: HttpMessage,
) -> Result<ProtocolReply> {
    let signer = caller::authenticate(ctx, &message).await?;
    let body = body::Body::parse(&message.body)?;
    match endpoint {
        AAuthEndpoint::AgentToken => agent_token::token(ctx, issuer, signer.agent()?, body).await,
        AAuthEndpoint::IssueAgentToken => {
            endpoints::issue_agent_token(ctx, signer.agent()?, body).await
        }
        AAuthEndpoint::PlatformToken => {
            endpoints::platform_token(ctx, issuer, signer.agent()?, body).await
        }
        AAuthEndpoint::ResourceToken => endpoints::resource_token(ctx, issuer, signer, body).await,
        AAuthEndpoint::Revoke => endpoints::revoke(ctx, issuer, signer, body).await,
        AAuthEndpoint::VerifyAuthToken => endpoints::verify_auth(ctx, issuer, signer, body),
        AAuthEndpoint::VerifyResourceToken => endpoints::verify_resource(ctx, signer, body),
    }
}
