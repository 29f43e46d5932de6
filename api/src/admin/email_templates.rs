//! `~/admin/email-templates`: every kind of email with its current template (the org's custom
//! one or the built-in default), upsert (checked: syntax and the kind's variables, 422 on
//! error), preview with sample values, the kind's variables, and delete (back to the default).

use std::collections::BTreeMap;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use lumo_cluster::ClusterError;
use lumo_cluster::clock::Timestamp;
use lumo_cluster::command::{EmailWrite, Op};
use lumo_cluster::email_templates::{self, KINDS, MAX_BODY_BYTES, MAX_SUBJECT_CHARS, TemplateKind};
use lumo_cluster::model::{EmailTemplateRecord, Family};
use lumo_cluster::query::{Page, PageParams, Query, Reply};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::envelope;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody, OptionalJsonBody};
use crate::reply;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/email-templates", get(list))
        .route(
            "/admin/email-templates/{type}",
            get(show).put(upsert).delete(remove),
        )
        .route("/admin/email-templates/{type}/preview", post(preview))
        .route("/admin/email-templates/{type}/variables", get(variables))
}

#[derive(Deserialize)]
struct Stored {
    org_name: String,
    custom: Vec<EmailTemplateRecord>,
}

async fn stored(ctx: &Ctx) -> ApiResult<Stored> {
    let text = reply!(ctx.read(Query::EmailTemplates).await?, Reply::Json);
    serde_json::from_str(&text).map_err(|e| ApiError::Internal(e.to_string()))
}

/// The path's template type, once the caller was admitted (credentials before the path).
async fn kind(ctx: &Ctx, write: bool) -> ApiResult<TemplateKind> {
    ctx.admit(Family::Settings, write).await?;
    let name = ctx.param("type")?;
    TemplateKind::named(name).ok_or_else(|| {
        ApiError::Cluster(ClusterError::NotFound {
            resource: "email template type".into(),
            id: format!(
                "{name} (known: {})",
                KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
            ),
        })
    })
}

fn time(at: Option<Timestamp>) -> Value {
    at.map_or(Value::Null, |t| json!(t.to_rfc3339()))
}

/// The contract's `EmailTemplate` of `kind`: the custom one if saved, else the default.
fn render(kind: &TemplateKind, custom: Option<&EmailTemplateRecord>, with_body: bool) -> Value {
    let mut out = json!({
        "type": kind.name,
        "is_custom": custom.is_some(),
        "subject": custom.map_or(kind.default_subject, |c| c.subject.as_str()),
        "is_active": custom.is_none_or(|c| c.is_active),
        "created_at": time(custom.map(|c| c.created_at)),
        "updated_at": time(custom.map(|c| c.updated_at)),
        "variables": kind.variable_names(),
    });
    if with_body {
        out["body_html"] = json!(custom.map_or(kind.default_html, |c| c.body_html.as_str()));
    }
    out
}

async fn list(ctx: Ctx) -> ApiResult<Response> {
    let stored = stored(&ctx).await?;
    let items: Vec<Value> = KINDS
        .iter()
        .map(|k| render(k, stored.custom.iter().find(|c| c.kind == k.name), false))
        .collect();
    let page = Page::of(
        items,
        PageParams {
            page: 1,
            limit: KINDS.len() as u64,
        },
    );
    Ok(axum::Json(json!({
        "data": page.items,
        "email_templates": page.items,
        "pagination": envelope::pagination(&page),
    }))
    .into_response())
}

async fn show(ctx: Ctx) -> ApiResult<Response> {
    let kind = kind(&ctx, false).await?;
    let stored = stored(&ctx).await?;
    let custom = stored.custom.iter().find(|c| c.kind == kind.name);
    Ok(axum::Json(render(&kind, custom, true)).into_response())
}

async fn upsert(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let kind = kind(&ctx, true).await?;
    let mut body = Body::new(json);
    let subject = body.required_str("subject", MAX_SUBJECT_CHARS * 4);
    let body_html = body.required_str("body_html", MAX_BODY_BYTES);
    let is_active = body.opt_bool("is_active").unwrap_or(true);
    body.finish()?;
    let op = Op::Email(EmailWrite::PutTemplate {
        kind: kind.name.to_string(),
        subject,
        body_html,
        is_active,
    });
    ctx.write(op).await?;
    let stored = stored(&ctx).await?;
    let custom = stored.custom.iter().find(|c| c.kind == kind.name);
    Ok(axum::Json(render(&kind, custom, true)).into_response())
}

async fn remove(ctx: Ctx) -> ApiResult<Response> {
    let kind = kind(&ctx, true).await?;
    let op = Op::Email(EmailWrite::DeleteTemplate {
        kind: kind.name.to_string(),
    });
    ctx.write(op).await?;
    Ok(envelope::message(&format!(
        "Custom {} template removed; the built-in default is used",
        kind.name
    )))
}

/// Renders the saved (or default) template, or an unsaved `subject` / `body_html` sent in the
/// body, with sample values; `variables` in the body override samples.
async fn preview(ctx: Ctx, OptionalJsonBody(map): OptionalJsonBody) -> ApiResult<Response> {
    let kind = kind(&ctx, false).await?;
    let mut body = Body::new(JsonBody(map));
    let subject = body.opt_str("subject", MAX_SUBJECT_CHARS * 4);
    let body_html = body.opt_str("body_html", MAX_BODY_BYTES);
    let overrides = body.raw("variables").cloned();
    body.finish()?;
    let stored = stored(&ctx).await?;
    let custom = stored.custom.iter().find(|c| c.kind == kind.name);
    let subject = subject
        .unwrap_or_else(|| custom.map_or(kind.default_subject.to_string(), |c| c.subject.clone()));
    let body_html = body_html
        .unwrap_or_else(|| custom.map_or(kind.default_html.to_string(), |c| c.body_html.clone()));
    email_templates::check(&kind, &subject, &body_html)?;
    let mut values: BTreeMap<String, String> = kind.sample(&stored.org_name);
    match overrides {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, value) in map {
                if !values.contains_key(&name) {
                    return Err(ApiError::invalid(
                        "variables",
                        format!("{name} is not a variable of {}", kind.name),
                    ));
                }
                let text = match value {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                values.insert(name, text);
            }
        }
        Some(_) => return Err(ApiError::invalid("variables", "must be an object")),
    }
    let rendered = email_templates::render(&subject, &body_html, &values)?;
    Ok(axum::Json(json!({
        "type": kind.name,
        "subject": rendered.subject,
        "html": rendered.html,
        "text": rendered.text,
    }))
    .into_response())
}

async fn variables(ctx: Ctx) -> ApiResult<Response> {
    let kind = kind(&ctx, false).await?;
    let map: BTreeMap<&str, &str> = kind.variables.iter().copied().collect();
    Ok(axum::Json(json!({"type": kind.name, "variables": map})).into_response())
}
