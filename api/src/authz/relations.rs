//! Zanzibar questions: `check` and `expand` at the root `/api/v1/authz/zanzibar/*` (org from
//! the credential; answers echo `subject`) and at `~/zanzibar/*` (answers echo `user`), and
//! `list-objects` / `list-subjects` at both. `subject` and `user` are accepted everywhere.

use axum::Json;
use axum::response::{IntoResponse, Response};
use lumo_cluster::AuthzCode;
use lumo_cluster::authz::{Answer, CheckRequest, Freshness, Question};
use lumo_cluster::query::PageParams;
use serde_json::{Map, Value, json};

use super::question::{freshness, parse_question, refuse};
use super::rbac::decide;
use crate::envelope::{ListShape, list};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Ctx, JsonBody};

/// Longest object, relation or subject string accepted.
const MAX_REF: usize = 512;

/// Which name the answer echoes the subject under.
#[derive(Clone, Copy)]
pub enum Echo {
    Subject,
    User,
}

impl Echo {
    fn key(self) -> &'static str {
        match self {
            Echo::Subject => "subject",
            Echo::User => "user",
        }
    }
}

fn text(body: &Map<String, Value>, names: &[&str]) -> ApiResult<String> {
    let name = names[0];
    match names
        .iter()
        .find_map(|n| body.get(*n).filter(|v| !v.is_null()))
    {
        Some(Value::String(value)) if !value.is_empty() && value.len() <= MAX_REF => {
            Ok(value.clone())
        }
        Some(Value::String(_)) => Err(refuse(
            AuthzCode::MissingFields,
            format!("{name} must be 1 to {MAX_REF} characters"),
        )),
        Some(_) => Err(refuse(
            AuthzCode::InvalidTuple,
            format!("{name} must be a string"),
        )),
        None => Err(refuse(
            AuthzCode::MissingFields,
            format!("{name} is required"),
        )),
    }
}

fn page(body: &Map<String, Value>) -> ApiResult<PageParams> {
    let number = |name: &str, default: u64, max: u64| match body.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(value) => value
            .as_u64()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest(format!("{name} must be an integer from 1 to {max}"))
            }),
    };
    Ok(PageParams {
        page: number("page", 1, u64::from(u32::MAX))?,
        limit: number("limit", PageParams::DEFAULT_LIMIT, PageParams::MAX_LIMIT)?,
    })
}

async fn ask(
    ctx: &Ctx,
    freshness: Option<Freshness>,
    question: Question,
) -> ApiResult<(Answer, String)> {
    let decision = decide(
        ctx,
        CheckRequest {
            freshness,
            question,
        },
    )
    .await?;
    Ok((decision.answer, decision.checked_at.to_string()))
}

/// `check`: is the subject in `object#relation`?
async fn check(ctx: &Ctx, body: Result<JsonBody, ApiError>, echo: Echo) -> ApiResult<Response> {
    let (object, relation, subject, fresh) = parse_question(ctx, body, |body| {
        Ok((
            text(body, &["object"])?,
            text(body, &["relation"])?,
            text(body, &["subject", "user"])?,
            freshness(body)?,
        ))
    })
    .await?;
    let question = Question::Relation {
        object: object.clone(),
        relation: relation.clone(),
        subject: subject.clone(),
    };
    let (answer, checked_at) = ask(ctx, fresh, question).await?;
    let Answer::Relation { allowed } = answer else {
        return Err(ApiError::unexpected(answer));
    };
    let mut out = Map::new();
    out.insert("allowed".into(), json!(allowed));
    out.insert("object".into(), json!(object));
    out.insert("relation".into(), json!(relation));
    out.insert(echo.key().into(), json!(subject));
    out.insert("checked_at".into(), json!(checked_at));
    Ok(Json(Value::Object(out)).into_response())
}

fn refs(answer: Answer, checked_at: String) -> ApiResult<Response> {
    let Answer::Refs(page) = answer else {
        return Err(ApiError::unexpected(answer));
    };
    let mut response = list(&page, page.items.clone(), ListShape::Pagination);
    if let Ok(value) = checked_at.parse() {
        response.headers_mut().insert("x-lumo-checked-at", value);
    }
    Ok(response)
}

/// `expand`: the userset tree of `object#relation`.
pub async fn expand_route(ctx: Ctx, body: Result<JsonBody, ApiError>) -> ApiResult<Response> {
    let (question, fresh) = parse_question(&ctx, body, |body| {
        let question = Question::Expand {
            object: text(body, &["object"])?,
            relation: text(body, &["relation"])?,
        };
        Ok((question, freshness(body)?))
    })
    .await?;
    let (answer, checked_at) = ask(&ctx, fresh, question).await?;
    let Answer::Expand { tree } = answer else {
        return Err(ApiError::unexpected(answer));
    };
    Ok(Json(json!({"tree": tree, "checked_at": checked_at})).into_response())
}

/// `list-objects`: the objects of `type` on which the subject has `relation`.
pub async fn list_objects(ctx: Ctx, body: Result<JsonBody, ApiError>) -> ApiResult<Response> {
    let (question, fresh) = parse_question(&ctx, body, |body| {
        let question = Question::ListObjects {
            object_type: text(body, &["type", "object_type", "resource_type"])?,
            relation: text(body, &["relation"])?,
            subject: text(body, &["subject", "user"])?,
            page: page(body)?,
        };
        Ok((question, freshness(body)?))
    })
    .await?;
    let (answer, checked_at) = ask(&ctx, fresh, question).await?;
    refs(answer, checked_at)
}

/// `list-subjects`: the concrete subjects in `object#relation`.
pub async fn list_subjects(ctx: Ctx, body: Result<JsonBody, ApiError>) -> ApiResult<Response> {
    let (question, fresh) = parse_question(&ctx, body, |body| {
        let subject_type = match body.get("subject_type").filter(|v| !v.is_null()) {
            None => None,
            Some(_) => Some(text(body, &["subject_type"])?),
        };
        let question = Question::ListSubjects {
            object: text(body, &["object"])?,
            relation: text(body, &["relation"])?,
            subject_type,
            page: page(body)?,
        };
        Ok((question, freshness(body)?))
    })
    .await?;
    let (answer, checked_at) = ask(&ctx, fresh, question).await?;
    refs(answer, checked_at)
}

/// `POST /api/v1/authz/zanzibar/check`.
pub async fn root_check(ctx: Ctx, body: Result<JsonBody, ApiError>) -> ApiResult<Response> {
    check(&ctx, body, Echo::Subject).await
}

/// `POST ~/zanzibar/check`.
pub async fn org_check(ctx: Ctx, body: Result<JsonBody, ApiError>) -> ApiResult<Response> {
    check(&ctx, body, Echo::User).await
}
