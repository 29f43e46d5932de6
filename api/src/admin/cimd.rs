//! `POST ~/admin/clients/cimd/check`: fetches a Client ID Metadata Document under the SSRF
//! guards of `oauth::cimd_fetch`, validates it (`oauth::cimd`) and reports the client it would
//! become, and the shadow client already made from it by the authorization endpoint. Nothing is
//! stored by the check itself; there is no cache to `refresh`.

use axum::response::Response;
use lumo_cluster::command::ClientKey;
use lumo_cluster::query::{Query, Reply};
use serde_json::{Value, json};

use crate::envelope;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody};
use crate::oauth::cimd::{Policy, evaluate, refused};

async fn policy(ctx: &Ctx) -> ApiResult<Policy> {
    let text = crate::reply!(ctx.read(Query::ClientPolicy).await?, Reply::Json);
    let settings: Value =
        serde_json::from_str(&text).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Policy::from_settings(&settings))
}

/// The shadow client the authorization endpoint made from this document, if any.
async fn shadow_client(ctx: &Ctx, client_id: &str) -> ApiResult<Value> {
    let key = ClientKey::ClientId(client_id.to_string());
    match ctx.read(Query::GetClient(key)).await {
        Ok(Reply::Client(client)) => Ok(match client.metadata_fetched_at {
            Some(at) => json!({"id": client.id, "last_fetched_at": at.to_rfc3339()}),
            None => Value::Null,
        }),
        Ok(other) => Err(ApiError::unexpected(other)),
        Err(ApiError::Cluster(lumo_cluster::ClusterError::NotFound { .. })) => Ok(Value::Null),
        Err(e) => Err(e),
    }
}

pub async fn check(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let client_id = body.required_str("client_id", 2048);
    let _refresh = body.opt_bool("refresh");
    body.finish()?;
    let policy = policy(&ctx).await?;
    let evaluation = evaluate(&client_id, &policy, ctx.state.config.cimd_allow_loopback).await;
    let mut warnings = evaluation.warnings;
    if !policy.switched_on {
        warnings.push("CIMD is switched off for this organization (cimd_enabled)".into());
    }
    let answer = match evaluation.outcome {
        Ok(effective) => json!({
            "ok": true,
            "client_id": client_id,
            "enabled": policy.switched_on,
            "reason": null,
            "message": null,
            "warnings": warnings,
            "document": evaluation.document,
            "effective": effective,
            "shadow_client": shadow_client(&ctx, &client_id).await?,
        }),
        Err(failure) => {
            let mut answer = refused(&client_id, failure, evaluation.document, warnings);
            answer["enabled"] = json!(policy.switched_on);
            answer
        }
    };
    Ok(envelope::data(answer))
}
