//! Authenticating clients at protocol endpoints (`client_secret_basic`, `client_secret_post`,
//! and `none` for public clients).

use crate::clock::Timestamp;
use crate::command::ClientKey;
use crate::crypto::secret_matches;
use crate::error::{ClusterError, Result};
use crate::lookup;
use crate::model::OAuthClient;
use crate::protocol::{ClientAuth, ErrorCode, GrantType};
use crate::tables::OrgReader;

/// The client named by `client_id`, active.
pub(super) fn find_client(reader: &OrgReader, client_id: &str) -> Result<OAuthClient> {
    match lookup::client(reader, &ClientKey::ClientId(client_id.to_string())) {
        Ok(client) if client.is_active => Ok(client),
        Ok(_) => Err(ClusterError::invalid_client("the client is disabled")),
        Err(ClusterError::NotFound { .. }) => Err(ClusterError::invalid_client("unknown client")),
        Err(e) => Err(e),
    }
}

/// True when `secret` is the client's secret (or its previous one, within the grace window).
fn secret_ok(client: &OAuthClient, secret: &str, now: Timestamp) -> bool {
    let current = client
        .secret_hash
        .as_deref()
        .is_some_and(|hash| secret_matches(secret, hash));
    let previous = client
        .previous_secret
        .as_ref()
        .is_some_and(|old| old.valid_until > now && secret_matches(secret, &old.hash));
    current || previous
}

/// Authenticates the caller as a client: confidential clients must prove their secret, public
/// clients only name themselves.
pub(super) fn authenticate(
    reader: &OrgReader,
    auth: &ClientAuth,
    now: Timestamp,
) -> Result<OAuthClient> {
    let client_id = auth
        .client_id
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            ClusterError::invalid_client(
                "client authentication is required (HTTP Basic or client_id and client_secret)",
            )
        })?;
    let client = find_client(reader, client_id)?;
    if client.confidential {
        let secret = auth.secret.as_deref().ok_or_else(|| {
            ClusterError::invalid_client("this client must authenticate with its secret")
        })?;
        if !secret_ok(&client, secret, now) {
            return Err(ClusterError::invalid_client("client authentication failed"));
        }
    }
    Ok(client)
}

/// Like [`authenticate`], refusing public clients.
pub(super) fn authenticate_confidential(
    reader: &OrgReader,
    auth: &ClientAuth,
    now: Timestamp,
) -> Result<OAuthClient> {
    let client = authenticate(reader, auth, now)?;
    if !client.confidential {
        return Err(ClusterError::oauth(
            ErrorCode::UnauthorizedClient,
            "public clients cannot use this endpoint or grant",
        ));
    }
    Ok(client)
}

/// Refuses a grant the client is not registered for.
pub(super) fn require_grant(client: &OAuthClient, grant_type: GrantType) -> Result<()> {
    if client.allows_grant(grant_type.as_str()) {
        return Ok(());
    }
    Err(ClusterError::oauth(
        ErrorCode::UnauthorizedClient,
        format!("the client is not allowed to use the {grant_type} grant"),
    ))
}
