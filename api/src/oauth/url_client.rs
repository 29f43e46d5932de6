//! URL `client_id`s at the authorization endpoint: when the org accepts Client ID Metadata
//! Documents, the document is fetched and checked (`cimd`) and its shadow client recorded
//! before the request is authorized like any other public client's. A recently fetched shadow
//! is used as it is.

use lumo_cluster::ClusterError;
use lumo_cluster::command::MetadataClient;
use lumo_cluster::protocol::{ErrorCode, Params, ProtocolReply, ProtocolRequest};
use serde_json::Value;

use super::cimd::{Policy, evaluate, is_url_client_id};
use super::proto::Proto;
use crate::error::{ApiError, ApiResult};

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Makes sure the shadow client of a URL `client_id` is current; other ids pass untouched.
pub async fn prepare(proto: &Proto, params: &Params) -> ApiResult<()> {
    let Some(client_id) = params.get("client_id").filter(|c| is_url_client_id(c)) else {
        return Ok(());
    };
    let state = match proto
        .call(ProtocolRequest::MetadataClientPolicy {
            client_id: client_id.clone(),
        })
        .await?
    {
        ProtocolReply::Document(state) => state,
        other => return Err(ApiError::unexpected(other)),
    };
    if state["registered_otherwise"] == true {
        return Ok(());
    }
    let policy = Policy::from_settings(&state);
    if !policy.switched_on {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidClient,
            "this organization does not accept client metadata documents as client_id",
        )
        .into());
    }
    if state["fresh"] == true {
        return Ok(());
    }
    let evaluation = evaluate(client_id, &policy, proto.state.config.cimd_allow_loopback).await;
    // Nothing about the failure reaches the browser: reasons like dns_error or timeout would
    // let anyone probe the network through this server. Admins see them at cimd/check.
    let effective = evaluation.outcome.map_err(|_| {
        ClusterError::oauth(
            ErrorCode::InvalidClient,
            "the client's metadata document could not be used",
        )
    })?;
    let client = MetadataClient {
        client_id: client_id.clone(),
        name: effective["client_name"]
            .as_str()
            .unwrap_or(client_id)
            .to_string(),
        redirect_uris: strings(&effective["redirect_uris"]),
        grant_types: strings(&effective["grant_types"]),
        scopes: strings(&effective["scopes"]),
        access_token_ttl_secs: 0,
        refresh_token_ttl_secs: 0,
    };
    proto
        .call(ProtocolRequest::SyncMetadataClient(client))
        .await?;
    Ok(())
}
