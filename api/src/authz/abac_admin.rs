//! ABAC configuration under `~/abac` (no `/admin` prefix): attribute definitions and policies,
//! with create, list, get, PUT/PATCH and delete, and `policies/{id}/toggle`.

use axum::response::Response;
use lumo_cluster::command::{
    AbacAttributePatch, AbacPolicyPatch, NewAbacAttribute, NewAbacPolicy, Op,
};
use lumo_cluster::model::{AbacPolicyRecord, AttributeDefinition, AttributeKind};
use lumo_cluster::query::{Outcome, Query, Reply};
use serde_json::{Value, json};

use super::question::refuse;
use crate::envelope::{self, ListShape};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody, ListQuery};
use lumo_cluster::AuthzCode;

/// The wire form of an attribute definition.
pub fn attribute_dto(d: &AttributeDefinition) -> Value {
    json!({
        "id": d.id,
        "name": d.name,
        "slug": d.slug,
        "description": d.description,
        "attributeType": d.kind.as_str(),
        "dataType": d.data_type,
        "validationRules": d.validation_rules,
        "defaultValue": d.default_value,
        "isRequired": d.is_required,
        "isSystem": d.is_system,
        "createdAt": d.created_at.to_rfc3339(),
        "updatedAt": d.updated_at.map(|t| t.to_rfc3339()),
    })
}

/// The wire form of a policy.
pub fn policy_dto(p: &AbacPolicyRecord) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "slug": p.slug,
        "description": p.description,
        "resourceType": p.resource_type,
        "action": p.action,
        "effect": p.effect,
        "priority": p.priority,
        "conditions": p.conditions,
        "isActive": p.is_active,
        "isSystem": p.is_system,
        "createdAt": p.created_at.to_rfc3339(),
        "updatedAt": p.updated_at.map(|t| t.to_rfc3339()),
    })
}

const MAX_NAME: usize = 255;
const MAX_SLUG: usize = 100;

fn slug_of(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect::<String>()
        .trim_matches('_')
        .to_string()
}

fn check_slug(body: &mut Body, slug: &str) {
    let ok = !slug.is_empty()
        && slug.len() <= MAX_SLUG
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.".contains(c));
    if !ok {
        body.problem("slug", "1 to 100 of a-z 0-9 _ - .");
    }
}

/// Optional JSON carried as text (`None`: absent; `Some(None)`: null).
fn json_field(body: &Body, field: &str) -> Option<Option<String>> {
    match body.raw(field) {
        None => None,
        Some(Value::Null) => Some(None),
        Some(value) => Some(Some(value.to_string())),
    }
}

/// `validationRules`: an object or null.
fn rules_field(body: &mut Body) -> Option<Option<String>> {
    if body
        .raw("validationRules")
        .is_some_and(|v| !v.is_object() && !v.is_null())
    {
        body.problem("validationRules", "must be an object or null");
        return None;
    }
    json_field(body, "validationRules")
}

/// An optional text field that, when sent, may not be blank.
fn opt_text(body: &mut Body, field: &str, max: usize) -> Option<String> {
    if body.raw(field).is_some_and(|v| match v {
        Value::Null => true,
        Value::String(text) => text.trim().is_empty(),
        _ => false,
    }) {
        body.problem(field, "may not be empty");
        return None;
    }
    body.opt_str(field, max)
}

fn conditions_text(body: &Body) -> ApiResult<Option<String>> {
    match body.raw("conditions") {
        None | Some(Value::Null) => Ok(None),
        Some(value @ Value::Object(_)) => Ok(Some(value.to_string())),
        Some(_) => Err(refuse(
            AuthzCode::InvalidConditions,
            "conditions must be an object {all, any, none}",
        )),
    }
}

fn priority(body: &mut Body) -> Option<i64> {
    match body.raw("priority") {
        None | Some(Value::Null) => None,
        Some(value) => match value.as_i64() {
            Some(p) if (-1_000_000..=1_000_000).contains(&p) => Some(p),
            _ => {
                body.problem("priority", "an integer from -1000000 to 1000000");
                None
            }
        },
    }
}

fn kind(body: &mut Body, required: bool) -> Option<AttributeKind> {
    let text = if required {
        Some(body.required_str("attributeType", 20))
    } else {
        body.opt_str("attributeType", 20)
    }?;
    let parsed = AttributeKind::parse(&text);
    if parsed.is_none() && !text.is_empty() {
        body.problem("attributeType", "user, resource or environment");
    }
    parsed
}

async fn created_id(ctx: &Ctx, op: Op) -> ApiResult<u64> {
    match ctx.write(op).await? {
        Reply::Done(Outcome::Created(id)) => id
            .parse()
            .map_err(|_| ApiError::Internal("a created id that is not a number".into())),
        other => Err(ApiError::unexpected(other)),
    }
}

async fn attribute_reply(ctx: &Ctx, id: u64) -> ApiResult<AttributeDefinition> {
    match ctx.read(Query::AbacAttribute(id)).await? {
        Reply::AbacAttribute(d) => Ok(d),
        other => Err(ApiError::unexpected(other)),
    }
}

async fn policy_reply(ctx: &Ctx, id: u64) -> ApiResult<AbacPolicyRecord> {
    match ctx.read(Query::AbacPolicy(id)).await? {
        Reply::AbacPolicy(p) => Ok(p),
        other => Err(ApiError::unexpected(other)),
    }
}

/// `POST ~/abac/attributes`.
pub async fn create_attribute(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let name = body.required_str("name", MAX_NAME);
    let slug = body
        .opt_str("slug", MAX_SLUG)
        .unwrap_or_else(|| slug_of(&name));
    check_slug(&mut body, &slug);
    let kind = kind(&mut body, true);
    let data_type = body
        .opt_str("dataType", 20)
        .unwrap_or_else(|| "string".into());
    let new = NewAbacAttribute {
        name,
        slug,
        description: body.nullable_str("description", 1000).flatten(),
        kind: kind.unwrap_or(AttributeKind::User),
        data_type,
        validation_rules: rules_field(&mut body).flatten(),
        default_value: json_field(&body, "defaultValue").flatten(),
        is_required: body.opt_bool("isRequired").unwrap_or(false),
    };
    body.finish()?;
    let id = created_id(&ctx, Op::CreateAbacAttribute(new)).await?;
    let created = attribute_reply(&ctx, id).await?;
    Ok(envelope::created(
        attribute_dto(&created),
        "Attribute created",
    ))
}

/// `GET ~/abac/attributes[?type=user|resource|environment]`.
pub async fn list_attributes(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let kind = match query.get("type").or_else(|| query.get("attributeType")) {
        None => None,
        Some(text) => Some(AttributeKind::parse(text).ok_or_else(|| {
            ApiError::BadRequest("type must be user, resource or environment".into())
        })?),
    };
    let page = query.page()?;
    match ctx.read(Query::AbacAttributes { kind, page }).await? {
        Reply::AbacAttributes(page) => {
            let items: Vec<Value> = page.items.iter().map(attribute_dto).collect();
            Ok(envelope::list(
                &page,
                items,
                ListShape::Resource("abac_attributes"),
            ))
        }
        other => Err(ApiError::unexpected(other)),
    }
}

/// `GET ~/abac/attributes/{id}`.
pub async fn get_attribute(ctx: Ctx) -> ApiResult<Response> {
    let found = attribute_reply(&ctx, ctx.number("id")?).await?;
    Ok(envelope::data(attribute_dto(&found)))
}

/// `PUT` / `PATCH ~/abac/attributes/{id}` (the slug and kind never change).
pub async fn update_attribute(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let id = ctx.number("id")?;
    let mut body = Body::new(json);
    let patch = AbacAttributePatch {
        name: opt_text(&mut body, "name", MAX_NAME),
        description: body.nullable_str("description", 1000),
        data_type: opt_text(&mut body, "dataType", 20),
        validation_rules: rules_field(&mut body),
        default_value: json_field(&body, "defaultValue"),
        is_required: body.opt_bool("isRequired"),
    };
    body.finish()?;
    ctx.write(Op::UpdateAbacAttribute { id, patch }).await?;
    let updated = attribute_reply(&ctx, id).await?;
    Ok(envelope::data_message(
        attribute_dto(&updated),
        "Attribute updated",
    ))
}

/// `DELETE ~/abac/attributes/{id}`.
pub async fn delete_attribute(ctx: Ctx) -> ApiResult<Response> {
    ctx.write(Op::DeleteAbacAttribute(ctx.number("id")?))
        .await?;
    Ok(envelope::message("Attribute deleted"))
}

fn effect(body: &mut Body) -> Option<String> {
    let effect = body.opt_str("effect", 10)?;
    if effect != "allow" && effect != "deny" {
        body.problem("effect", "allow or deny");
    }
    Some(effect)
}

/// `POST ~/abac/policies`.
pub async fn create_policy(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let conditions = conditions_text(&body)?.unwrap_or_else(|| "{}".into());
    let name = body.required_str("name", MAX_NAME);
    let slug = body
        .opt_str("slug", MAX_SLUG)
        .unwrap_or_else(|| slug_of(&name));
    check_slug(&mut body, &slug);
    let new = NewAbacPolicy {
        name,
        slug,
        description: body.nullable_str("description", 1000).flatten(),
        resource_type: body.required_str("resourceType", MAX_SLUG),
        action: body.required_str("action", MAX_SLUG),
        effect: effect(&mut body).unwrap_or_else(|| "allow".into()),
        priority: priority(&mut body).unwrap_or(0),
        conditions,
        is_active: body.opt_bool("isActive").unwrap_or(true),
    };
    body.finish()?;
    let id = created_id(&ctx, Op::CreateAbacPolicy(new)).await?;
    let created = policy_reply(&ctx, id).await?;
    Ok(envelope::created(policy_dto(&created), "Policy created"))
}

/// `GET ~/abac/policies` (highest priority first).
pub async fn list_policies(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    match ctx.read(Query::AbacPolicies(query.page()?)).await? {
        Reply::AbacPolicies(page) => {
            let items: Vec<Value> = page.items.iter().map(policy_dto).collect();
            Ok(envelope::list(
                &page,
                items,
                ListShape::Resource("abac_policies"),
            ))
        }
        other => Err(ApiError::unexpected(other)),
    }
}

/// `GET ~/abac/policies/{id}`.
pub async fn get_policy(ctx: Ctx) -> ApiResult<Response> {
    let found = policy_reply(&ctx, ctx.number("id")?).await?;
    Ok(envelope::data(policy_dto(&found)))
}

/// `PUT` / `PATCH ~/abac/policies/{id}` (the slug never changes).
pub async fn update_policy(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let id = ctx.number("id")?;
    let mut body = Body::new(json);
    let conditions = conditions_text(&body)?;
    let patch = AbacPolicyPatch {
        name: opt_text(&mut body, "name", MAX_NAME),
        description: body.nullable_str("description", 1000),
        resource_type: opt_text(&mut body, "resourceType", MAX_SLUG),
        action: opt_text(&mut body, "action", MAX_SLUG),
        effect: effect(&mut body),
        priority: priority(&mut body),
        conditions,
        is_active: body.opt_bool("isActive"),
    };
    body.finish()?;
    ctx.write(Op::UpdateAbacPolicy { id, patch }).await?;
    let updated = policy_reply(&ctx, id).await?;
    Ok(envelope::data_message(
        policy_dto(&updated),
        "Policy updated",
    ))
}

/// `DELETE ~/abac/policies/{id}`.
pub async fn delete_policy(ctx: Ctx) -> ApiResult<Response> {
    ctx.write(Op::DeleteAbacPolicy(ctx.number("id")?)).await?;
    Ok(envelope::message("Policy deleted"))
}

/// `POST ~/abac/policies/{id}/toggle`.
pub async fn toggle_policy(ctx: Ctx) -> ApiResult<Response> {
    let id = ctx.number("id")?;
    ctx.write(Op::ToggleAbacPolicy(id)).await?;
    let toggled = policy_reply(&ctx, id).await?;
    let message = if toggled.is_active {
        "Policy activated"
    } else {
        "Policy deactivated"
    };
    Ok(envelope::data_message(policy_dto(&toggled), message))
}
