//! `~/admin/audit-logs`: list, get, actions, stats, export, retention, chain verification.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use lumo_cluster::clock::Timestamp;
use lumo_cluster::command::Op;
use lumo_cluster::ids::AuditId;
use lumo_cluster::model::AuditRetention;
use lumo_cluster::query::{AuditQuery, Query, Reply};
use serde_json::json;

use crate::dto::audit::{self, AuditEntryDto};
use crate::envelope::{self, ListShape};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody, ListQuery};
use crate::reply;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/audit-logs", get(list))
        .route("/admin/audit-logs/actions", get(actions))
        .route("/admin/audit-logs/stats", get(stats))
        .route("/admin/audit-logs/export", get(export))
        .route("/admin/audit-logs/verify", get(verify))
        .route(
            "/admin/audit-logs/retention",
            get(retention).put(set_retention).patch(set_retention),
        )
        .route("/admin/audit-logs/{logId}", get(show))
}

const FILTERS: &[&str] = &[
    "action",
    "eventType",
    "severity",
    "status",
    "actorId",
    "actorType",
    "targetType",
    "targetId",
];

fn audit_query(query: &ListQuery) -> ApiResult<AuditQuery> {
    Ok(AuditQuery {
        list: query.list(FILTERS)?,
        from: query.time(&["startDate", "from"])?,
        to: query.time(&["endDate", "to"])?,
    })
}

async fn list(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let page = reply!(
        ctx.read(Query::ListAudit(audit_query(&query)?)).await?,
        Reply::AuditPage
    );
    let items: Vec<AuditEntryDto> = page
        .items
        .iter()
        .cloned()
        .map(AuditEntryDto::from)
        .collect();
    Ok(envelope::list(
        &page,
        items,
        ListShape::Resource("audit_logs"),
    ))
}

async fn show(ctx: Ctx) -> ApiResult<Response> {
    let id = AuditId(ctx.number("logId")?);
    let record = reply!(ctx.read(Query::GetAudit(id)).await?, Reply::Audit);
    Ok(envelope::data(AuditEntryDto::from(record)))
}

async fn actions(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let page = reply!(
        ctx.read(Query::AuditActions(query.page()?)).await?,
        Reply::AuditActions
    );
    let items = page.items.clone();
    Ok(envelope::list(&page, items, ListShape::Pagination))
}

async fn stats(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let from = query.time(&["from", "startDate"])?;
    let to = query.time(&["to", "endDate"])?;
    let days = query.int("days", 1, 3650)?;
    let (from, to) = match (from, days) {
        (None, Some(days)) => {
            let to = to.unwrap_or_else(Timestamp::now);
            (Some(to.minus_days(i64::from(days))), Some(to))
        }
        _ => (from, to),
    };
    let stats = reply!(
        ctx.read(Query::AuditStats { from, to }).await?,
        Reply::AuditStats
    );
    Ok(envelope::data(audit::stats(stats)))
}

fn wants_json(headers: &HeaderMap, query: &ListQuery) -> ApiResult<bool> {
    match query.get("format") {
        Some("json") => return Ok(true),
        Some("csv") => return Ok(false),
        Some(_) => return Err(ApiError::BadRequest("format must be csv or json".into())),
        None => {}
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Ok(accept.contains("application/json") && !accept.contains("text/csv"))
}

async fn export(ctx: Ctx, headers: HeaderMap, query: ListQuery) -> ApiResult<Response> {
    let as_json = wants_json(&headers, &query)?;
    let records = reply!(
        ctx.read(Query::ExportAudit(audit_query(&query)?)).await?,
        Reply::AuditExport
    );
    let stamp = Timestamp::now();
    if as_json {
        let total = records.len();
        let items: Vec<AuditEntryDto> = records.into_iter().map(AuditEntryDto::from).collect();
        return Ok(axum::Json(json!({
            "data": items,
            "meta": {"total": total, "exportedAt": stamp.to_rfc3339()},
        }))
        .into_response());
    }
    let text = audit::csv(records).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut response = text.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let disposition = format!(
        "attachment; filename=\"audit-logs-{}.csv\"",
        stamp.to_date()
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

async fn verify(ctx: Ctx) -> ApiResult<Response> {
    let report = reply!(ctx.read(Query::VerifyAudit).await?, Reply::Chain);
    Ok(envelope::data(audit::chain(report)))
}

fn retention_json(r: AuditRetention) -> serde_json::Value {
    json!({
        "retentionDays": r.retention_days,
        "autoDelete": r.auto_delete,
        "planLimitDays": lumo_cluster::MAX_RETENTION_DAYS,
    })
}

async fn retention(ctx: Ctx) -> ApiResult<Response> {
    let r = reply!(ctx.read(Query::AuditRetention).await?, Reply::Retention);
    Ok(envelope::data(retention_json(r)))
}

async fn set_retention(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let days = body
        .opt_u64("retentionDays")
        .or_else(|| body.opt_u64("retention_days"));
    let auto_delete = body
        .opt_bool("autoDelete")
        .or_else(|| body.opt_bool("auto_delete"));
    if days.is_none() && auto_delete.is_none() {
        body.problem("retentionDays", "send retentionDays and/or autoDelete");
    }
    let days = match days.map(u32::try_from) {
        Some(Ok(d)) => Some(d),
        Some(Err(_)) => {
            body.problem("retentionDays", "is too large");
            None
        }
        None => None,
    };
    body.finish()?;
    let op = Op::SetAuditRetention {
        retention_days: days,
        auto_delete,
    };
    let r = reply!(
        ctx.write_then(op, Query::AuditRetention).await?,
        Reply::Retention
    );
    Ok(envelope::data_message(
        retention_json(r),
        "Retention settings updated",
    ))
}
