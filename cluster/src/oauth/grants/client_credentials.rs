//! The client credentials grant (RFC 6749 section 4.4): a confidential client acting for
//! itself, optionally for one resource (RFC 8707).

use crate::error::{ClusterError, Result};
use crate::model::AdminScope;
use crate::protocol::ErrorCode;
use crate::protocol::scopes::is_identity_scope;
use crate::protocol::{ClientAuth, GrantType, TokenResponse};

use super::confidential_grant_client;
use super::mint::{Mint, mint};
use crate::oauth::resource::resources;
use crate::oauth::runtime::ProtocolCtx;
use crate::oauth::scope_checks::require_subset;

/// Issues an access token to the client itself: the scopes it asks for, else every scope it
/// holds except the identity scopes (they describe users).
pub(super) async fn issue(
    ctx: &ProtocolCtx,
    issuer: &str,
    auth: &ClientAuth,
    requested: Vec<String>,
    resource: Option<String>,
) -> Result<TokenResponse> {
    let client = confidential_grant_client(ctx, auth, GrantType::ClientCredentials)?;
    let scopes = match crate::lookup::agent_of_client(&ctx.reader(), &client.client_id)? {
        // An agent's client asks for its capabilities (wildcards cover what they name).
        Some(agent) => {
            // Wildcards name actions, never admin API scopes: an agent token is not an admin
            // credential.
            let refused = |s: &String| !agent.holds(s) || AdminScope::is_known(s);
            if let Some(missing) = requested.iter().find(|s| refused(s)) {
                return Err(ClusterError::oauth(
                    ErrorCode::InvalidScope,
                    format!(
                        "agent {} does not hold the capability {missing}",
                        agent.agent_id
                    ),
                ));
            }
            if requested.is_empty() {
                agent.capabilities
            } else {
                requested
            }
        }
        None => {
            require_subset(&requested, &client.scopes, "this client")?;
            if requested.is_empty() {
                client
                    .scopes
                    .iter()
                    .filter(|s| !is_identity_scope(s))
                    .cloned()
                    .collect()
            } else {
                requested
            }
        }
    };
    let mut input = Mint::for_client(&client, GrantType::ClientCredentials);
    let audience = resources(resource.as_deref())?;
    if !audience.is_empty() {
        input.audience = audience;
    }
    input.scopes = scopes;
    mint(ctx, issuer, input).await
}
