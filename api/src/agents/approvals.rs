//! `~/agents/me/approvals`: an agent asks the user it acts for to approve an action (201 with
//! a token to poll, 202 when no account can be reached, 428 when the user has no signed-in
//! device); `…/{token}/status` is what it polls. The user answers on `~/oauth/approvals`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use lumo_cluster::clock::Timestamp;
use lumo_cluster::command::{NewApproval, Op, UserKey};
use lumo_cluster::model::{APPROVAL_TTL_SECS, RiskLevel, user_number};
use lumo_cluster::protocol::ErrorCode;
use lumo_cluster::query::{Outcome, Query, Reply};
use lumo_cluster::{ClusterError, Credential};
use serde_json::{Value, json};

use super::fields::{invalid_request, required_text, text};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Ctx, JsonBody};

/// True when the bearer token was minted by an administrator for testing. The claim is read
/// without checking the signature: the org actor verifies the token on every call, and a
/// forged claim could only get its bearer refused.
fn is_test_token(credential: &Credential) -> bool {
    let Credential::Bearer(token) = credential else {
        return false;
    };
    token
        .split('.')
        .nth(1)
        .and_then(|payload| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .is_some_and(|claims| claims["lumo_test_token"] == json!(true))
}

fn impact(text: Option<&str>) -> ApiResult<RiskLevel> {
    match text {
        None | Some("medium") => Ok(RiskLevel::Medium),
        Some("low") => Ok(RiskLevel::Low),
        Some("high") => Ok(RiskLevel::High),
        Some("critical") => Ok(RiskLevel::Critical),
        Some(other) => Err(invalid_request(format!(
            "impact must be low, medium, high or critical, not {other}"
        ))),
    }
}

pub(super) async fn create(ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult<Response> {
    if is_test_token(&ctx.credential) {
        return Err(ApiError::Cluster(ClusterError::OAuth {
            error: ErrorCode::TestTokenNotAccepted,
            description: "an administrator's test token cannot ask a person for approval; use the agent's own token".into(),
            status: 403,
        }));
    }
    let task_id = required_text(&body, "task_id", 128)?;
    let reason = required_text(&body, "reason", 480)?;
    let impact = impact(text(&body, "impact", 20)?.as_deref())?;
    let who = required_text(&body, "on_behalf_of", 320)?;
    let on_behalf_of = who
        .parse::<UserKey>()
        .map_err(|_| invalid_request("on_behalf_of must be a user id or email"))?;
    let meta = match body.get("meta") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) if Value::Object(map.clone()).to_string().len() <= 4096 => {
            Some(Value::Object(map.clone()).to_string())
        }
        Some(Value::Object(_)) => {
            return Err(invalid_request("meta must be at most 4096 bytes of JSON"));
        }
        Some(_) => return Err(invalid_request("meta must be an object or null")),
    };
    let token = format!("apr_{}", lumo_cluster::crypto::random_token("", 24));
    let expires_at = Timestamp::now().plus_millis((APPROVAL_TTL_SECS as i64) * 1000);
    let new = NewApproval {
        token: token.clone(),
        task_id: task_id.clone(),
        reason,
        impact,
        on_behalf_of,
        meta,
        expires_at,
    };
    match ctx.write(Op::CreateApproval(new)).await {
        Ok(Reply::Done(Outcome::Created(_))) => Ok((
            StatusCode::CREATED,
            Json(json!({
                "approval_token": token,
                "status": "pending",
                "expires_at": expires_at.to_rfc3339(),
                "task_id": task_id,
                "impact": impact.as_str(),
            })),
        )
            .into_response()),
        Ok(Reply::Done(Outcome::ApprovalNotDelivered)) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({
                "status": "email_fallback_sent",
                "message": "No push prompt was sent: no account that can approve was found for on_behalf_of.",
                "task_id": task_id,
                "impact": impact.as_str(),
            })),
        )
            .into_response()),
        Ok(other) => Err(ApiError::unexpected(other)),
        Err(ApiError::Cluster(ClusterError::OAuth {
            error: ErrorCode::NoEnrolledDevice,
            description,
            ..
        })) => Ok((
            StatusCode::PRECONDITION_REQUIRED,
            Json(json!({
                "error": "no_enrolled_device",
                "error_description": description,
                "message": description,
                "status": 428,
                "task_id": task_id,
            })),
        )
            .into_response()),
        Err(e) => Err(e),
    }
}

pub(super) async fn status(ctx: Ctx) -> ApiResult<Response> {
    let token = ctx.param("token")?.to_string();
    let reply = ctx.read(Query::Approval(token)).await?;
    let Reply::Approval(approval) = reply else {
        return Err(ApiError::unexpected(reply));
    };
    let status = approval.status_at(Timestamp::now());
    let approved_by =
        (status == "approved").then(|| json!({"user_id": user_number(approval.user)}));
    Ok(Json(json!({
        "approval_token": approval.token,
        "status": status,
        "task_id": approval.task_id,
        "impact": approval.impact.as_str(),
        "reason": approval.reason,
        "responded_at": approval.responded_at.map(Timestamp::to_rfc3339),
        "approved_by": approved_by,
    }))
    .into_response())
}
