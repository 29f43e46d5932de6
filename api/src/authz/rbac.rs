//! RBAC checks at `/api/v1/authz/*`: `check`, `check-bulk`, `check-any`, `check-all` and the
//! caller's `permissions`. The org comes from the credential; the subject only from `subject`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use lumo_cluster::authz::{Answer, CheckRequest, Decision, Question};
use lumo_cluster::query::{Page, Reply, Request};
use serde_json::{Map, Value, json};

use super::question::{context, freshness, parse_question, permission, permissions, subject};
use crate::envelope::pagination;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Ctx, JsonBody, ListQuery};

/// Asks the org's replicas and returns their decision.
pub async fn decide(ctx: &Ctx, request: CheckRequest) -> ApiResult<Decision> {
    match ctx.call(Request::Check(request)).await? {
        Reply::Decision(decision) => Ok(decision),
        other => Err(ApiError::unexpected(other)),
    }
}

/// The subject fields every RBAC answer carries.
struct Checked {
    fields: Map<String, Value>,
    results: Vec<(String, bool)>,
}

/// A permission question read from a body, and the context to echo.
fn question(body: &Map<String, Value>, asked: Vec<String>) -> ApiResult<(CheckRequest, Value)> {
    let request = CheckRequest {
        freshness: freshness(body)?,
        question: Question::Permissions {
            subject: subject(body)?,
            permissions: asked,
        },
    };
    Ok((request, context(body)?))
}

async fn check_permissions(ctx: &Ctx, request: CheckRequest, echoed: Value) -> ApiResult<Checked> {
    let decision = decide(ctx, request).await?;
    let Answer::Permissions {
        subject_type,
        subject_id,
        user_id,
        results,
    } = decision.answer
    else {
        return Err(ApiError::Internal(
            "a permission check got another answer".into(),
        ));
    };
    let mut fields = Map::new();
    fields.insert("subject_type".into(), json!(subject_type));
    fields.insert("subject_id".into(), json!(subject_id));
    if let Some(user_id) = user_id {
        fields.insert("user_id".into(), json!(user_id));
    }
    fields.insert("context".into(), echoed);
    fields.insert("checked_at".into(), json!(decision.checked_at.to_string()));
    Ok(Checked { fields, results })
}

fn respond(mut fields: Map<String, Value>, extra: [(&str, Value); 2]) -> Response {
    for (key, value) in extra {
        fields.insert(key.into(), value);
    }
    Json(Value::Object(fields)).into_response()
}

/// `POST /api/v1/authz/check`.
pub async fn check(ctx: Ctx, body: Result<JsonBody, ApiError>) -> ApiResult<Response> {
    let (asked, request, echoed) = parse_question(&ctx, body, |body| {
        let asked = permission(body)?;
        let (request, echoed) = question(body, vec![asked.clone()])?;
        Ok((asked, request, echoed))
    })
    .await?;
    let checked = check_permissions(&ctx, request, echoed).await?;
    let allowed = checked.results.iter().any(|(_, held)| *held);
    Ok(respond(
        checked.fields,
        [("allowed", json!(allowed)), ("permission", json!(asked))],
    ))
}

async fn many(ctx: &Ctx, body: Result<JsonBody, ApiError>) -> ApiResult<(Vec<String>, Checked)> {
    let (asked, request, echoed) = parse_question(ctx, body, |body| {
        let asked = permissions(body)?;
        let (request, echoed) = question(body, asked.clone())?;
        Ok((asked, request, echoed))
    })
    .await?;
    Ok((asked, check_permissions(ctx, request, echoed).await?))
}

/// `POST /api/v1/authz/check-bulk`.
pub async fn check_bulk(ctx: Ctx, body: Result<JsonBody, ApiError>) -> ApiResult<Response> {
    let (_, checked) = many(&ctx, body).await?;
    let results: Map<String, Value> = checked
        .results
        .into_iter()
        .map(|(slug, held)| (slug, Value::Bool(held)))
        .collect();
    let mut fields = checked.fields;
    fields.insert("results".into(), Value::Object(results));
    Ok(Json(Value::Object(fields)).into_response())
}

async fn check_combined(
    ctx: Ctx,
    body: Result<JsonBody, ApiError>,
    all: bool,
) -> ApiResult<Response> {
    let (asked, checked) = many(&ctx, body).await?;
    let allowed = if all {
        checked.results.iter().all(|(_, held)| *held)
    } else {
        checked.results.iter().any(|(_, held)| *held)
    };
    Ok(respond(
        checked.fields,
        [("allowed", json!(allowed)), ("permissions", json!(asked))],
    ))
}

/// `POST /api/v1/authz/check-any`.
pub async fn check_any(ctx: Ctx, body: Result<JsonBody, ApiError>) -> ApiResult<Response> {
    check_combined(ctx, body, false).await
}

/// `POST /api/v1/authz/check-all`.
pub async fn check_all(ctx: Ctx, body: Result<JsonBody, ApiError>) -> ApiResult<Response> {
    check_combined(ctx, body, true).await
}

/// `GET /api/v1/authz/permissions`: the calling user's effective permissions, paginated.
pub async fn my_permissions(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let page = match query.page() {
        Ok(page) => page,
        Err(problem) => return Err(ctx.credential_first(problem).await),
    };
    let decision = decide(
        &ctx,
        CheckRequest {
            freshness: None,
            question: Question::MyPermissions,
        },
    )
    .await?;
    let Answer::MyPermissions {
        user_id,
        permissions,
    } = decision.answer
    else {
        return Err(ApiError::Internal(
            "a permission list got another answer".into(),
        ));
    };
    let shown = Page::of(permissions, page);
    let items: Vec<Value> = shown
        .items
        .iter()
        .map(|p| json!({"slug": p.slug, "description": p.description, "source": p.source}))
        .collect();
    Ok(Json(json!({
        "user_id": user_id,
        "permissions": items,
        "count": shown.total,
        "data": items,
        "pagination": pagination(&shown),
    }))
    .into_response())
}
