//! `POST ~/agents/{agentId}/attest` (public: the workload token in the body is the
//! credential): the issuer's key set is fetched here under the SSRF guard of client metadata
//! documents (from the binding's `jwksUri`, else the issuer's OpenID discovery document), the
//! token is checked against the agent's binding on the shard, and an agent token comes back.
//! Every refusal is the same 401 `workload_identity_failed`; failures count against the
//! caller's address like failed sign-ins (429 once over the limit).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lumo_cluster::ClusterError;
use lumo_cluster::command::AgentKey;
use lumo_cluster::oauth::workload::failed;
use lumo_cluster::protocol::{ErrorCode, ProtocolReply, ProtocolRequest};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::oauth::cimd_fetch::{check_client_id, fetch_document};
use crate::oauth::proto::Proto;

/// Largest workload token accepted.
const MAX_TOKEN_LEN: usize = 16 * 1024;

async fn fetch(url: &str, allow_loopback: bool) -> Option<Value> {
    let url = check_client_id(url, allow_loopback).ok()?;
    fetch_document(&url, allow_loopback).await.ok()
}

/// The issuer's public keys.
async fn issuer_keys(binding: &Value, allow_loopback: bool) -> Option<Vec<Value>> {
    let jwks_uri = match binding["jwks_uri"].as_str() {
        Some(uri) => uri.to_string(),
        None => {
            let issuer = binding["issuer"].as_str()?.trim_end_matches('/');
            let discovery = format!("{issuer}/.well-known/openid-configuration");
            fetch(&discovery, allow_loopback).await?["jwks_uri"]
                .as_str()?
                .to_string()
        }
    };
    fetch(&jwks_uri, allow_loopback).await?["keys"]
        .as_array()
        .cloned()
}

async fn exchange(proto: &Proto, agent: AgentKey, token: String) -> ApiResult<Value> {
    let allow_loopback = proto.state.config.cimd_allow_loopback;
    let binding = match proto
        .call(ProtocolRequest::AgentWorkload {
            agent: agent.clone(),
        })
        .await?
    {
        ProtocolReply::Document(binding) => binding,
        other => return Err(ApiError::unexpected(other)),
    };
    let keys = issuer_keys(&binding, allow_loopback)
        .await
        .ok_or_else(|| ApiError::Cluster(failed()))?;
    let request = ProtocolRequest::Attest {
        issuer: proto.issuer.clone(),
        agent,
        token,
        keys,
    };
    match proto.call(request).await? {
        ProtocolReply::Document(answer) => Ok(answer),
        other => Err(ApiError::unexpected(other)),
    }
}

pub(super) async fn attest(
    proto: Proto,
    axum::extract::Path((_, agent_id)): axum::extract::Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let throttle_key = format!("attest/{}", proto.org);
    let ip = proto.ip();
    if let Some(wait) = proto.state.throttle.retry_after(&throttle_key, &ip) {
        let mut response = ApiError::Cluster(ClusterError::Overloaded {
            retry_after_secs: wait,
        })
        .into_response();
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(response);
    }
    let token = match body.get("attestation_token") {
        Some(Value::String(t)) if !t.is_empty() && t.len() <= MAX_TOKEN_LEN => t.clone(),
        _ => {
            return Err(ApiError::Cluster(ClusterError::oauth(
                ErrorCode::InvalidRequest,
                format!("attestation_token is required (a JWT of at most {MAX_TOKEN_LEN} bytes)"),
            )));
        }
    };
    let outcome = match agent_id.parse::<AgentKey>() {
        Ok(agent) => exchange(&proto, agent, token).await,
        Err(_) => Err(ApiError::Cluster(failed())),
    };
    match outcome {
        Ok(answer) => Ok((StatusCode::OK, Json(answer)).into_response()),
        Err(ApiError::Cluster(ClusterError::OAuth {
            error: ErrorCode::WorkloadIdentityFailed,
            ..
        })) => {
            proto.state.throttle.fail(&throttle_key, &ip);
            let failure = json!({
                "error": "workload_identity_failed",
                "error_description": "workload attestation failed",
                "message": "workload attestation failed",
                "status": 401,
            });
            Ok((StatusCode::UNAUTHORIZED, Json(failure)).into_response())
        }
        Err(e) => Err(e),
    }
}
