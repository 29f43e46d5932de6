//! `~/jit/*`: just-in-time permissions. Agents (or user tokens delegated to an agent) make
//! tasks and RFC 9396 requests and take their grants' tokens; reviewers (user tokens with
//! `jit:approve`) list, approve and deny pending requests. Bad input answers 400
//! (`invalid_request`, `invalid_authorization_details`), as the contract declares.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lumo_cluster::ClusterError;
use lumo_cluster::clock::Timestamp;
use lumo_cluster::command::{FinishTask, JitDecision, NewJitRequest, NewTask, Op, UserKey};
use lumo_cluster::model::{
    DEFAULT_JIT_TTL_SECS, JitRequest, MAX_JIT_TTL_SECS, PENDING_TTL_SECS, TASK_TTL_SECS,
    TaskStatus, assess_risk,
};
use lumo_cluster::protocol::{ErrorCode, ProtocolReply, ProtocolRequest};
use lumo_cluster::query::{Query, Reply, Request};
use serde_json::{Map, Value, json};

use super::fields::{invalid_request, required_text, text};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Ctx, JsonBody, ListQuery, OptionalJsonBody};
use crate::oauth::proto::Proto;

/// Most entries one `authorization_details` list holds.
const MAX_DETAILS: usize = 10;
/// Largest `authorization_details` accepted, as JSON text.
const MAX_DETAILS_BYTES: usize = 8192;
const MAX_TEXT: usize = 1000;

fn bad_details(message: impl Into<String>) -> ApiError {
    ApiError::Cluster(ClusterError::oauth(
        ErrorCode::InvalidAuthorizationDetails,
        message,
    ))
}

fn seconds(body: &Map<String, Value>, field: &str) -> ApiResult<Option<u64>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) if (1..=MAX_JIT_TTL_SECS).contains(&v) => Ok(Some(v)),
            _ => Err(invalid_request(format!(
                "{field} must be 1-{MAX_JIT_TTL_SECS} seconds"
            ))),
        },
        Some(_) => Err(invalid_request(format!(
            "{field} must be an integer number of seconds"
        ))),
    }
}

/// Checks one RFC 9396 entry: a `type`, and `actions`/`locations`/`datatypes` as string
/// lists, `identifier` as a string.
fn check_detail(detail: &Value) -> ApiResult<()> {
    let Value::Object(entry) = detail else {
        return Err(bad_details(
            "each authorization_details entry must be an object",
        ));
    };
    match entry.get("type") {
        Some(Value::String(t)) if !t.trim().is_empty() && t.len() <= 128 => {}
        _ => {
            return Err(bad_details(
                "each authorization_details entry needs a type (a string)",
            ));
        }
    }
    for list in ["actions", "locations", "datatypes"] {
        match entry.get(list) {
            None => {}
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {}
            Some(_) => {
                return Err(bad_details(format!("{list} must be a list of strings")));
            }
        }
    }
    match entry.get("identifier") {
        None | Some(Value::String(_)) => Ok(()),
        Some(_) => Err(bad_details("identifier must be a string")),
    }
}

/// The validated `authorization_details` (an object or a list of objects).
fn authorization_details(body: &Map<String, Value>) -> ApiResult<Value> {
    let details = match body.get("authorization_details") {
        None | Some(Value::Null) => {
            return Err(bad_details("authorization_details is required"));
        }
        Some(details) => details.clone(),
    };
    match &details {
        Value::Array(items) if items.is_empty() || items.len() > MAX_DETAILS => {
            return Err(bad_details(format!(
                "authorization_details must hold 1-{MAX_DETAILS} entries"
            )));
        }
        Value::Array(items) => items.iter().try_for_each(check_detail)?,
        other => check_detail(other)?,
    }
    if details.to_string().len() > MAX_DETAILS_BYTES {
        return Err(bad_details(format!(
            "authorization_details must be at most {MAX_DETAILS_BYTES} bytes"
        )));
    }
    Ok(details)
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", ulid::Ulid::new().to_string().to_lowercase())
}

fn plain(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// The task as `jit/task` answers it.
fn task_json(reply: Reply) -> ApiResult<Value> {
    match reply {
        Reply::JitTask {
            task,
            agent_id,
            agent_name,
            on_behalf_of,
        } => Ok(json!({
            "task_id": task.id,
            "caep_session_id": task.caep_session_id,
            "expires_at": task.expires_at.to_rfc3339(),
            "agent_id": agent_id,
            "agent": {"agent_id": agent_id, "name": agent_name},
            "on_behalf_of": on_behalf_of,
            "name": task.name,
            "type": task.kind,
            "parent_task_id": task.parent_task_id,
            "status": task.status.as_str(),
            "completed_at": task.finished_at.map(Timestamp::to_rfc3339),
        })),
        other => Err(ApiError::unexpected(other)),
    }
}

pub(super) async fn create_task(
    ctx: Ctx,
    OptionalJsonBody(body): OptionalJsonBody,
) -> ApiResult<Response> {
    let on_behalf_of = match text(&body, "on_behalf_of", 320)? {
        Some(who) => Some(
            who.parse::<UserKey>()
                .map_err(|_| invalid_request("on_behalf_of must be a user id or email"))?,
        ),
        None => None,
    };
    let id = new_id("task_");
    let new = NewTask {
        id: id.clone(),
        name: text(&body, "name", 200)?,
        kind: text(&body, "type", 100)?,
        parent_task_id: text(&body, "parent_task_id", 100)?,
        on_behalf_of,
        caep_session_id: new_id("caep_"),
        expires_at: Timestamp::now().plus_millis((TASK_TTL_SECS as i64) * 1000),
    };
    let reply = ctx
        .write_then(Op::CreateTask(new), Query::JitTask(id))
        .await?;
    Ok(plain(StatusCode::CREATED, task_json(reply)?))
}

async fn finish(ctx: &Ctx, status: TaskStatus) -> ApiResult<Value> {
    let task_id = ctx.param("taskId")?.to_string();
    let finish = FinishTask {
        task_id: task_id.clone(),
        status,
    };
    let reply = ctx
        .write_then(Op::FinishTask(finish), Query::JitTask(task_id))
        .await?;
    task_json(reply)
}

pub(super) async fn complete_task(ctx: Ctx) -> ApiResult<Response> {
    let task = finish(&ctx, TaskStatus::Completed).await?;
    Ok(plain(
        StatusCode::OK,
        json!({
            "task_id": task["task_id"],
            "status": task["status"],
            "completed_at": task["completed_at"],
        }),
    ))
}

/// CAEP evaluation: with a `result`, the task ends that way (its grants revoked); without,
/// the task's current state is reported.
pub(super) async fn evaluate_task(
    ctx: Ctx,
    OptionalJsonBody(body): OptionalJsonBody,
) -> ApiResult<Response> {
    let status = match text(&body, "result", 20)?.as_deref() {
        None => None,
        Some("completed") => Some(TaskStatus::Completed),
        Some("failed") => Some(TaskStatus::Failed),
        Some("cancelled") => Some(TaskStatus::Cancelled),
        Some(other) => {
            return Err(invalid_request(format!(
                "result must be completed, failed or cancelled, not {other}"
            )));
        }
    };
    let _ = text(&body, "notes", MAX_TEXT)?;
    let task = match status {
        Some(status) => finish(&ctx, status).await?,
        None => {
            let id = ctx.param("taskId")?.to_string();
            task_json(ctx.read(Query::JitTask(id)).await?)?
        }
    };
    let active = task["status"] == "active";
    Ok(plain(
        StatusCode::OK,
        json!({
            "task_id": task["task_id"],
            "status": task["status"],
            "caep_session_id": task["caep_session_id"],
            "access": if active { "continue" } else { "revoked" },
            "evaluated_at": Timestamp::now().to_rfc3339(),
        }),
    ))
}

fn status_url(proto: &Proto, id: &str) -> String {
    format!("/orgs/{}/api/v1/jit/request/{id}/status", proto.org)
}

fn token_url(proto: &Proto, id: &str) -> String {
    format!("/orgs/{}/api/v1/jit/request/{id}/token", proto.org)
}

/// The request as the status endpoint (and an approved creation) shows it.
fn request_json(proto: &Proto, request: &JitRequest, now: Timestamp) -> Value {
    let status = request.status_at(now);
    let mut out = json!({
        "request_id": request.id,
        "status": status,
        "risk_level": request.risk.as_str(),
        "task_id": request.task_id,
    });
    match status {
        "approved" => {
            out["token_url"] = json!(token_url(proto, &request.id));
            out["granted_ttl"] = json!(request.granted_ttl);
        }
        "pending" => {
            out["status_url"] = json!(status_url(proto, &request.id));
            out["expires_at"] = json!(request.pending_until.to_rfc3339());
            out["delegation_consent_required"] = json!(false);
        }
        _ => {}
    }
    if request.decided_by.is_some() {
        out["has_notes"] = json!(request.notes.is_some());
        out["agent_message"] = json!(request.agent_message);
    }
    if status == "denied" {
        out["deny_reason"] = json!(request.agent_message);
    }
    out
}

pub(super) async fn request_permission(
    ctx: Ctx,
    proto: Proto,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let task_id = required_text(&body, "task_id", 100)?;
    let details = authorization_details(&body)?;
    let requested_ttl = seconds(&body, "requested_ttl")?.unwrap_or(DEFAULT_JIT_TTL_SECS);
    let callback_url = text(&body, "callback_url", 2000)?;
    if callback_url
        .as_deref()
        .is_some_and(|u| !u.starts_with("https://") && !u.starts_with("http://"))
    {
        return Err(invalid_request("callback_url must be an http(s) URL"));
    }
    let id = new_id("jit_");
    let now = Timestamp::now();
    let new = NewJitRequest {
        id: id.clone(),
        task_id,
        authorization_details: details.to_string(),
        justification: text(&body, "justification", MAX_TEXT)?,
        callback_url,
        requested_ttl,
        risk: assess_risk(&details),
        pending_until: now.plus_millis((PENDING_TTL_SECS as i64) * 1000),
    };
    let reply = ctx
        .write_then(Op::RequestPermission(new), Query::JitRequest(id))
        .await?;
    let Reply::JitRequest(request) = reply else {
        return Err(ApiError::unexpected(reply));
    };
    let mut out = request_json(&proto, &request, now);
    if out["status"] == "pending" {
        out["message"] = json!("the request waits for a reviewer; poll status_url");
    }
    Ok(plain(StatusCode::CREATED, out))
}

pub(super) async fn request_status(ctx: Ctx, proto: Proto) -> ApiResult<Response> {
    let id = ctx.param("requestId")?.to_string();
    let reply = ctx.read(Query::JitRequest(id)).await?;
    let Reply::JitRequest(request) = reply else {
        return Err(ApiError::unexpected(reply));
    };
    Ok(plain(
        StatusCode::OK,
        request_json(&proto, &request, Timestamp::now()),
    ))
}

pub(super) async fn request_token(ctx: Ctx, proto: Proto) -> ApiResult<Response> {
    let request = ProtocolRequest::JitToken {
        credential: ctx.credential.clone(),
        issuer: proto.issuer.clone(),
        request_id: ctx.param("requestId")?.to_string(),
    };
    match ctx.call(Request::Protocol(request)).await? {
        Reply::Protocol(ProtocolReply::Document(doc)) => Ok(plain(StatusCode::OK, doc)),
        other => Err(ApiError::unexpected(other)),
    }
}

pub(super) async fn pending(ctx: Ctx, proto: Proto, query: ListQuery) -> ApiResult<Response> {
    let page = query.page()?;
    let reply = ctx.read(Query::PendingJit(page)).await?;
    let Reply::JitRequests(page) = reply else {
        return Err(ApiError::unexpected(reply));
    };
    let now = Timestamp::now();
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|r| {
            let mut item = request_json(&proto, r, now);
            item["authorization_details"] =
                serde_json::from_str(&r.authorization_details).unwrap_or(Value::Null);
            item["justification"] = json!(r.justification);
            item["requested_ttl"] = json!(r.requested_ttl);
            item["on_behalf_of"] = json!(r.on_behalf_of.map(|u| u.to_string()));
            item["created_at"] = json!(r.created_at.to_rfc3339());
            item
        })
        .collect();
    Ok(plain(
        StatusCode::OK,
        json!({
            "pending_requests": items,
            "data": items,
            "count": page.total,
            "pagination": crate::envelope::pagination(&page),
        }),
    ))
}

async fn decide(ctx: &Ctx, decision: JitDecision) -> ApiResult<JitRequest> {
    let id = decision.request_id.clone();
    let reply = ctx
        .write_then(Op::DecideJitRequest(decision), Query::JitRequest(id))
        .await?;
    match reply {
        Reply::JitRequest(request) => Ok(request),
        other => Err(ApiError::unexpected(other)),
    }
}

pub(super) async fn approve(
    ctx: Ctx,
    OptionalJsonBody(body): OptionalJsonBody,
) -> ApiResult<Response> {
    let decision = JitDecision {
        request_id: ctx.param("requestId")?.to_string(),
        approve: true,
        ttl: seconds(&body, "ttl")?,
        notes: text(&body, "notes", MAX_TEXT)?,
        agent_message: text(&body, "agent_message", MAX_TEXT)?,
        reason: None,
    };
    let request = decide(&ctx, decision).await?;
    Ok(plain(
        StatusCode::OK,
        json!({
            "request_id": request.id,
            "status": request.status_at(Timestamp::now()),
            "granted_ttl": request.granted_ttl,
        }),
    ))
}

pub(super) async fn deny(
    ctx: Ctx,
    OptionalJsonBody(body): OptionalJsonBody,
) -> ApiResult<Response> {
    let decision = JitDecision {
        request_id: ctx.param("requestId")?.to_string(),
        approve: false,
        ttl: None,
        notes: None,
        agent_message: text(&body, "agent_message", MAX_TEXT)?,
        reason: text(&body, "reason", MAX_TEXT)?,
    };
    let request = decide(&ctx, decision).await?;
    Ok(plain(
        StatusCode::OK,
        json!({"request_id": request.id, "status": request.status_at(Timestamp::now())}),
    ))
}
