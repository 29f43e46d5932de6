//! Clients whose `client_id` is the URL of their metadata document (CIMD): the org's policy for
//! them, and their replicated shadow record, made or refreshed from a document the frontend
//! fetched and validated (the cluster itself never fetches).

use serde_json::json;

use crate::command::{ClientKey, MetadataClient, Op};
use crate::error::Result;
use crate::lookup;
use crate::settings::SettingsSection;

use crate::protocol::{ProtocolReply, limits};

use super::org_settings::settings;
use super::runtime::ProtocolCtx;

/// A shadow client fetched this recently is used without fetching its document again.
pub const FRESH_FOR_MS: i64 = 5 * 60_000;

/// The org's CIMD switch and rules, and what it knows of `client_id` already.
pub(super) fn policy(ctx: &ProtocolCtx, client_id: &str) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let auth = settings(&reader, SettingsSection::Auth)?;
    let shadow = lookup::client(&reader, &ClientKey::ClientId(client_id.to_string())).ok();
    let fetched_at = shadow.as_ref().and_then(|c| c.metadata_fetched_at);
    Ok(ProtocolReply::Document(json!({
        "cimd_enabled": auth["cimd_enabled"].clone(),
        "cimd_allowed_domains": auth["cimd_allowed_domains"].clone(),
        "cimd_localhost_redirect_policy": auth["cimd_localhost_redirect_policy"].clone(),
        "registered_otherwise": shadow.is_some() && fetched_at.is_none(),
        "fresh": fetched_at.is_some_and(|at| ctx.now.0 - at.0 < FRESH_FOR_MS),
        "shadow_client": shadow.as_ref().filter(|_| fetched_at.is_some()).map(|c| json!({
            "id": c.id,
            "last_fetched_at": fetched_at.map(|t| t.to_rfc3339()),
        })),
    })))
}

/// Records (or refreshes) the shadow client of a validated document.
pub(super) async fn sync(ctx: &ProtocolCtx, mut client: MetadataClient) -> Result<ProtocolReply> {
    client.access_token_ttl_secs = limits::ACCESS_TTL_SECS;
    client.refresh_token_ttl_secs = limits::REFRESH_TTL_SECS;
    let actor = ProtocolCtx::client_actor(&client.client_id, &client.name);
    let client_id = client.client_id.clone();
    ctx.propose(actor, Op::SyncMetadataClient(client)).await?;
    let stored = lookup::client(&ctx.reader(), &ClientKey::ClientId(client_id))?;
    Ok(ProtocolReply::Document(json!({"id": stored.id})))
}
