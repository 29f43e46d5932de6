//! The ABAC runtime under `~/abac` (a user's bearer token only): `check`, `check-bulk` (at most
//! 100), `my-attributes`, `attribute-definitions`, resource attributes, and setting user and
//! resource attribute values. The environment of a check is enriched from the real request.

use axum::Json;
use axum::extract::OriginalUri;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use lumo_cluster::AuthzCode;
use lumo_cluster::authz::{AbacCheckItem, AbacResult, Answer, CheckRequest, Question};
use lumo_cluster::command::{AbacValueTarget, Op};
use lumo_cluster::model::AttributeKind;
use lumo_cluster::query::{Query, Reply, Request};
use serde_json::{Map, Value, json};

use super::abac_admin::{attribute_dto, policy_dto};
use super::question::{freshness, parse_question, refuse};
use super::rbac::decide;
use crate::envelope::{ListShape, list};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Ctx, JsonBody, ListQuery};

/// Most checks one bulk request may carry.
const MAX_CHECKS: usize = 100;
/// The caller's `environment` with the request's own facts (see [`super::pep`]).
fn environment(
    body: &Map<String, Value>,
    ctx: &Ctx,
    method: &Method,
    uri: &OriginalUri,
) -> ApiResult<Map<String, Value>> {
    super::pep::enriched(body, "environment", ctx, method, uri)
}

fn item(value: &Map<String, Value>) -> AbacCheckItem {
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
    let extra = value
        .iter()
        .filter(|(k, _)| !["resourceType", "action", "resourceId"].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    AbacCheckItem {
        resource_type: text("resourceType").filter(|s| !s.is_empty()),
        action: text("action").filter(|s| !s.is_empty()),
        resource_id: value.get("resourceId").and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }),
        extra,
    }
}

async fn run(ctx: &Ctx, request: CheckRequest) -> ApiResult<(String, Vec<AbacResult>)> {
    match decide(ctx, request).await?.answer {
        Answer::AbacChecks { user_id, results } => Ok((user_id, results)),
        other => Err(ApiError::unexpected(other)),
    }
}

fn matched(result: &AbacResult) -> Value {
    if !result.policies.is_empty() {
        return json!(result.policies.iter().map(policy_dto).collect::<Vec<_>>());
    }
    json!(
        result
            .matched
            .iter()
            .map(|(id, name)| json!({"id": id, "name": name}))
            .collect::<Vec<_>>()
    )
}

/// `POST ~/abac/check`.
pub async fn check(
    ctx: Ctx,
    method: Method,
    uri: OriginalUri,
    body: Result<JsonBody, ApiError>,
) -> ApiResult<Response> {
    let (checked, request) = parse_question(&ctx, body, |body| {
        let checked = item(body);
        if checked.resource_type.is_none() || checked.action.is_none() {
            return Err(refuse(
                AuthzCode::MissingFields,
                "resourceType and action are required strings",
            ));
        }
        let question = Question::AbacCheck {
            checks: vec![checked.clone()],
            environment: environment(body, &ctx, &method, &uri)?,
        };
        Ok((
            checked,
            CheckRequest {
                freshness: freshness(body)?,
                question,
            },
        ))
    })
    .await?;
    let (user_id, results) = run(&ctx, request).await?;
    let result = results
        .first()
        .ok_or_else(|| ApiError::Internal("a check without a result".into()))?;
    Ok(Json(json!({
        "allowed": result.allowed,
        "reason": result.reason,
        "matchedPolicies": matched(result),
        "user_id": user_id,
        "resourceType": checked.resource_type,
        "action": checked.action,
        "resourceId": checked.resource_id,
    }))
    .into_response())
}

/// `POST ~/abac/check-bulk`.
pub async fn check_bulk(
    ctx: Ctx,
    method: Method,
    uri: OriginalUri,
    body: Result<JsonBody, ApiError>,
) -> ApiResult<Response> {
    let (items, request) = parse_question(&ctx, body, |body| {
        if body.contains_key("requests") && !body.contains_key("checks") {
            return Err(ApiError::BadRequest(
                "the list of checks is `checks` (`requests` is no longer accepted)".into(),
            ));
        }
        let list = match body.get("checks") {
            Some(Value::Array(list)) => list,
            Some(_) => return Err(ApiError::BadRequest("checks must be a list".into())),
            None => return Err(refuse(AuthzCode::MissingFields, "checks is required")),
        };
        if list.is_empty() || list.len() > MAX_CHECKS {
            return Err(ApiError::BadRequest(format!(
                "checks must hold 1 to {MAX_CHECKS} items"
            )));
        }
        let items: Vec<AbacCheckItem> = list
            .iter()
            .map(|v| match v {
                Value::Object(map) => item(map),
                _ => item(&Map::new()),
            })
            .collect();
        let question = Question::AbacCheck {
            checks: items.clone(),
            environment: environment(body, &ctx, &method, &uri)?,
        };
        Ok((
            items,
            CheckRequest {
                freshness: freshness(body)?,
                question,
            },
        ))
    })
    .await?;
    let (user_id, results) = run(&ctx, request).await?;
    let shown: Vec<Value> = items
        .iter()
        .zip(results.iter())
        .enumerate()
        .map(|(index, (asked, result))| {
            let mut out = json!({
                "index": index,
                "resourceType": asked.resource_type.clone().unwrap_or_default(),
                "action": asked.action.clone().unwrap_or_default(),
                "resourceId": asked.resource_id,
                "allowed": result.allowed,
                "reason": result.reason,
            });
            if let (Some(error), Value::Object(map)) = (&result.error, &mut out) {
                map.insert("error".into(), json!(error));
            }
            out
        })
        .collect();
    Ok(Json(json!({"results": shown, "user_id": user_id})).into_response())
}

async fn ask(ctx: &Ctx, question: Question) -> ApiResult<Answer> {
    Ok(decide(
        ctx,
        CheckRequest {
            freshness: None,
            question,
        },
    )
    .await?
    .answer)
}

/// `GET ~/abac/my-attributes`.
pub async fn my_attributes(ctx: Ctx) -> ApiResult<Response> {
    match ask(&ctx, Question::AbacMyAttributes).await? {
        Answer::AbacAttributes {
            user_id,
            attributes,
        } => Ok(Json(json!({"user_id": user_id, "attributes": attributes})).into_response()),
        other => Err(ApiError::unexpected(other)),
    }
}

/// `GET ~/abac/attribute-definitions[?type=]`.
pub async fn definitions(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let parsed = (|| {
        let kind = match query.get("type") {
            None => None,
            Some(text) => Some(AttributeKind::parse(text).ok_or_else(|| {
                ApiError::BadRequest("type must be user, resource or environment".into())
            })?),
        };
        Ok::<_, ApiError>((kind, query.page()?))
    })();
    let (kind, page) = match parsed {
        Ok(parsed) => parsed,
        Err(problem) => return Err(ctx.credential_first(problem).await),
    };
    match ask(&ctx, Question::AbacDefinitions { kind, page }).await? {
        Answer::AbacDefinitions(page) => {
            let items: Vec<Value> = page.items.iter().map(attribute_dto).collect();
            Ok(list(&page, items, ListShape::Pagination))
        }
        other => Err(ApiError::unexpected(other)),
    }
}

/// `GET ~/abac/resources/{resourceType}/{resourceId}/attributes`.
pub async fn resource_attributes(ctx: Ctx) -> ApiResult<Response> {
    let resource_type = ctx.param("resourceType")?.to_string();
    let resource_id = ctx.param("resourceId")?.to_string();
    let question = Question::AbacResource {
        resource_type: resource_type.clone(),
        resource_id: resource_id.clone(),
    };
    match ask(&ctx, question).await? {
        Answer::AbacAttributes { attributes, .. } => Ok(Json(json!({
            "resourceType": resource_type,
            "resourceId": resource_id,
            "attributes": attributes,
        }))
        .into_response()),
        other => Err(ApiError::unexpected(other)),
    }
}

fn value_text(body: &Map<String, Value>) -> ApiResult<String> {
    match body.get("value") {
        Some(value) => Ok(value.to_string()),
        None => Err(refuse(
            AuthzCode::MissingFields,
            "value is required (any JSON)",
        )),
    }
}

async fn set(ctx: &Ctx, target: AbacValueTarget, slug: String, text: String) -> ApiResult<Reply> {
    let then = Query::AbacValue {
        target: target.clone(),
        slug: slug.clone(),
    };
    ctx.call(Request::Write {
        op: Op::SetAbacValue {
            target,
            slug,
            value: text,
        },
        then: Some(then),
    })
    .await
}

/// `PUT ~/abac/users/{userId}/attributes/{attributeSlug}` with `{value}`.
pub async fn set_user_attribute(ctx: Ctx, body: Result<JsonBody, ApiError>) -> ApiResult<Response> {
    let (user, slug, text) = parse_question(&ctx, body, |body| {
        let user = ctx.param("userId")?.parse().map_err(|_| {
            ApiError::Cluster(lumo_cluster::ClusterError::not_found(
                "user",
                ctx.param("userId").unwrap_or_default(),
            ))
        })?;
        Ok((
            user,
            ctx.param("attributeSlug")?.to_string(),
            value_text(body)?,
        ))
    })
    .await?;
    match set(&ctx, AbacValueTarget::User(user), slug.clone(), text).await? {
        Reply::AbacValue { value, .. } => Ok(Json(json!({
            "message": "Attribute value set",
            "data": {"userId": user.to_string(), "attributeSlug": slug, "value": value.value},
        }))
        .into_response()),
        other => Err(ApiError::unexpected(other)),
    }
}

/// `PUT ~/abac/resources/{resourceType}/{resourceId}/attributes/{attributeSlug}` with `{value}`.
pub async fn set_resource_attribute(
    ctx: Ctx,
    body: Result<JsonBody, ApiError>,
) -> ApiResult<Response> {
    let (resource_type, resource_id, slug, text) = parse_question(&ctx, body, |body| {
        Ok((
            ctx.param("resourceType")?.to_string(),
            ctx.param("resourceId")?.to_string(),
            ctx.param("attributeSlug")?.to_string(),
            value_text(body)?,
        ))
    })
    .await?;
    let target = AbacValueTarget::Resource {
        resource_type: resource_type.clone(),
        resource_id: resource_id.clone(),
    };
    match set(&ctx, target, slug.clone(), text).await? {
        Reply::AbacValue { value, name } => Ok(Json(json!({
            "message": "Attribute value set",
            "data": {
                "id": value.id,
                "resourceType": resource_type,
                "resourceId": resource_id,
                "attributeSlug": slug,
                "attributeName": name,
                "value": value.value,
                "createdAt": value.created_at.to_rfc3339(),
                "updatedAt": value.updated_at.map(|t| t.to_rfc3339()),
            },
        }))
        .into_response()),
        other => Err(ApiError::unexpected(other)),
    }
}
