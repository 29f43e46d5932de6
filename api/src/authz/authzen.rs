//! AuthZEN 1.0: `POST /api/v1/authz/v1/evaluation` and `.../evaluations` (boxcarred; top-level
//! `subject`, `action`, `resource` are defaults each item may override; order is kept).

use axum::Json;
use axum::response::{IntoResponse, Response};
use lumo_cluster::authz::{
    Answer, CheckRequest, Evaluation, EvaluationResult, Freshness, MAX_EVALUATIONS, Question,
};
use serde_json::{Map, Value, json};

use super::question::{freshness, parse_question};
use super::rbac::decide;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Ctx, JsonBody};

/// Longest type, id or action name accepted.
const MAX_NAME: usize = 256;

fn field<'a>(
    item: &'a Map<String, Value>,
    defaults: &'a Map<String, Value>,
    name: &str,
) -> ApiResult<&'a Map<String, Value>> {
    match item.get(name).or_else(|| defaults.get(name)) {
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(ApiError::BadRequest(format!("{name} must be an object"))),
        None => Err(ApiError::BadRequest(format!("{name} is required"))),
    }
}

fn name(entity: &Map<String, Value>, entity_name: &str, key: &str) -> ApiResult<String> {
    match entity.get(key) {
        Some(Value::String(text)) if !text.is_empty() && text.len() <= MAX_NAME => Ok(text.clone()),
        _ => Err(ApiError::BadRequest(format!(
            "{entity_name}.{key} must be a string of 1 to {MAX_NAME} characters"
        ))),
    }
}

fn evaluation(item: &Map<String, Value>, defaults: &Map<String, Value>) -> ApiResult<Evaluation> {
    let subject = field(item, defaults, "subject")?;
    let action = field(item, defaults, "action")?;
    let resource = field(item, defaults, "resource")?;
    Ok(Evaluation {
        subject_type: name(subject, "subject", "type")?,
        subject_id: name(subject, "subject", "id")?,
        action: name(action, "action", "name")?,
        resource_type: name(resource, "resource", "type")?,
        resource_id: name(resource, "resource", "id")?,
    })
}

async fn evaluate(
    ctx: &Ctx,
    freshness: Option<Freshness>,
    evaluations: Vec<Evaluation>,
) -> ApiResult<Response> {
    let decision = decide(
        ctx,
        CheckRequest {
            freshness,
            question: Question::Evaluations(evaluations),
        },
    )
    .await?;
    let Answer::Evaluations(results) = decision.answer else {
        return Err(ApiError::unexpected(decision.answer));
    };
    let shown: Vec<Value> = results
        .iter()
        .enumerate()
        .map(|(i, r)| shown(r, i))
        .collect();
    Ok(Json(json!({"evaluations": shown})).into_response())
}

fn shown(result: &EvaluationResult, id: usize) -> Value {
    json!({
        "decision": result.decision,
        "context": {"id": id.to_string(), "reason_admin": {"en": result.reason}},
    })
}

/// `POST /api/v1/authz/v1/evaluation`.
pub async fn evaluation_route(ctx: Ctx, body: Result<JsonBody, ApiError>) -> ApiResult<Response> {
    let (asked, fresh) = parse_question(&ctx, body, |body| {
        Ok((evaluation(body, &Map::new())?, freshness(body)?))
    })
    .await?;
    let decision = decide(
        &ctx,
        CheckRequest {
            freshness: fresh,
            question: Question::Evaluations(vec![asked]),
        },
    )
    .await?;
    let Answer::Evaluations(results) = decision.answer else {
        return Err(ApiError::unexpected(decision.answer));
    };
    let first = results
        .first()
        .ok_or_else(|| ApiError::Internal("an evaluation without a result".into()))?;
    Ok(Json(shown(first, 0)).into_response())
}

/// The evaluations of a boxcarred request (top-level fields are the defaults).
fn evaluations(body: &Map<String, Value>) -> ApiResult<Vec<Evaluation>> {
    let items = match body.get("evaluations") {
        Some(Value::Array(items)) => items,
        Some(_) => return Err(ApiError::BadRequest("evaluations must be a list".into())),
        None => return Err(ApiError::BadRequest("evaluations is required".into())),
    };
    if items.len() > MAX_EVALUATIONS {
        return Err(ApiError::BadRequest(format!(
            "at most {MAX_EVALUATIONS} evaluations per request"
        )));
    }
    if items.is_empty() {
        // AuthZEN: without items the top-level request is the one evaluation.
        return Ok(vec![evaluation(body, &Map::new())?]);
    }
    items
        .iter()
        .map(|item| match item {
            Value::Object(map) => evaluation(map, body),
            _ => Err(ApiError::BadRequest(
                "each evaluation must be an object".into(),
            )),
        })
        .collect()
}

/// `POST /api/v1/authz/v1/evaluations`.
pub async fn evaluations_route(ctx: Ctx, body: Result<JsonBody, ApiError>) -> ApiResult<Response> {
    let (asked, fresh) = parse_question(&ctx, body, |body| {
        Ok((evaluations(body)?, freshness(body)?))
    })
    .await?;
    evaluate(&ctx, fresh, asked).await
}
